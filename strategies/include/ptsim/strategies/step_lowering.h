// Lowers one training step of a transformer Scenario to a sim::TaskGraph, with per
// simulated rank streams for compute, TP/CP/EP collectives, pipeline sends and DP
// reduction, and NVLink and network ports. Collapsed: one representative rank per pipeline
// stage (where the ranks of a stage are equivalent, one stands for all; rank_asymmetry()
// says when they are not, docs/ARCHITECTURE.md "Which ranks are simulated"). Full: every
// rank, each collective one task on all its members carrying every member's flows, the
// fabric above the NICs as shared per-pod links. Also records per task what it is
// (TaskLabel) and per stage its costs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ptsim/sim/task_graph.h"
#include "ptsim/sim/time.h"
#include "ptsim/strategies/scenario.h"
#include "ptsim/strategies/task_labels.h"

namespace ptsim::strategies {

enum class LoweringMode : std::uint8_t {
  automatic,  // collapsed when rank_asymmetry() finds no difference between ranks, else full
  collapsed,  // one representative per stage, even where ranks differ (tests, comparisons)
  full,       // every rank of the job
};

struct StagePlan {
  int stage = 0;
  int rank = 0;                      // the representative: TP 0, CP 0, DP replica 0
  sim::ProcessId process = 0;        // the representative's
  sim::StreamId compute_stream = 0;  // the representative's
  std::int64_t first_layer = 0;
  std::int64_t num_layers = 0;
  double parameters = 0;        // held by one GPU of this stage
  sim::Time forward;            // one micro-batch block, kernels + TP collectives
  sim::Time backward;           // one micro-batch block, including recompute (zb-h1: B + W)
  sim::Time layer_forward;      // one transformer layer of that block (mean over the stage's layers)
  sim::Time layer_backward;     // one layer's backward, including its recompute (and zb-h1's W)
  sim::Time send_forward;       // activation transfer to the next stage (0 on the last)
  sim::Time send_backward;      // gradient transfer to the previous stage (0 on the first)
  sim::Time dp_all_reduce;      // gradient all-reduce (0 when dp == 1)
  // Tied embeddings with pp > 1: the first and last stage all-reduce the word embedding's
  // gradient between them before their optimizers (alone; 0 on other stages or untied).
  sim::Time embedding_all_reduce;
  sim::Time optimizer;
  // Lower bounds on the parts of a block, for the layout search's bound (step_bound.h):
  // kernels and the collectives they wait for, each alone; an exchange and the kernel
  // beside it as the longer of the two, a CP ring step at its ring's slowest step. One
  // layer (backward with its recompute), the embedding (first stage), the final norm, LM
  // head and loss (last stage).
  sim::Time layer_forward_bound;
  sim::Time layer_backward_bound;
  // zb-h1: the backward's B pass (with its recompute) and W pass apart (each the cheaper
  // kind's); otherwise the whole backward and zero.
  sim::Time layer_input_grad_bound;
  sim::Time layer_weight_grad_bound;
  sim::Time embedding_forward;
  sim::Time embedding_backward;
  sim::Time head_forward;
  sim::Time head_backward;
  // Per-layer data-parallel collectives alone (0 when not used): ZeRO 3's parameter
  // all-gather, and the gradient reduction of ZeRO 3 or overlap_grad_reduce.
  sim::Time dp_layer_gather;
  sim::Time dp_layer_reduce;
  // What the representative sends through each of its ports, as seconds at the port's
  // capacity (bytes / capacity): the flows on a port can never move faster, so a port's
  // total over the step bounds the step (step_bound.h). Sent bytes only (never received).
  struct PortLoad {
    double nvlink_s = 0;
    double network_s = 0;
    double spine_s = 0;  // traffic leaving the pod, at the per-GPU spine share
    PortLoad& add(const PortLoad& o, double times = 1) {
      nvlink_s += o.nvlink_s * times;
      network_s += o.network_s * times;
      spine_s += o.spine_s * times;
      return *this;
    }
  };
  PortLoad microbatch_load;    // one micro-batch's forward and backward blocks (all chunks)
  PortLoad layers_gather_load;  // ZeRO 3: one gather of every layer of the stage
  PortLoad layers_reduce_load;  // one per-layer reduction of every layer of the stage
  PortLoad tail_load;           // the gradient reduction (and ZeRO's gather) after the last backward
  PortLoad send_forward_load;   // one activation send to the next stage
  PortLoad send_backward_load;  // one gradient send to the previous stage
};

struct LoweredStep {
  sim::TaskGraph graph;
  TaskLabels labels;  // per task
  std::vector<StagePlan> stages;
  LoweringMode mode = LoweringMode::collapsed;  // what was lowered: collapsed or full
  std::int64_t simulated_ranks = 0;
  std::string fallback_reason;  // automatic mode lowered every rank: why (rank_asymmetry)
};

LoweredStep lower_step(const Scenario& scenario, LoweringMode mode = LoweringMode::automatic);

// Why one representative per pipeline stage cannot stand for the stage's other ranks, or
// nothing when it can: within a stage, the TP groups, the CP groups and ring pairs, the EP
// groups, the DP (x CP) groups and the pipeline-send pairs of every rank must each be
// placed alike (same size, same number of NVLink domains and ranks per domain, same pod
// crossing). E.g. "the TP groups of stage 0 are placed differently: ranks 0,1 (...) and
// ranks 6,7,... (...)".
std::optional<std::string> rank_asymmetry(const Scenario& scenario);

// Per-layer costs remembered across plan_stages calls on scenarios that differ only in
// their layout (the same model, cluster and training): a layer's kernels and collectives
// depend on the layout only through its shape (tp, cp, ep, micro-batch, sequence
// parallelism, recompute, zb-h1's split) and its groups' placement, which is the key.
// The layout search shares one between its threads (lookups are locked).
class StagePlanCache {
 public:
  StagePlanCache();
  ~StagePlanCache();
  StagePlanCache(const StagePlanCache&) = delete;
  StagePlanCache& operator=(const StagePlanCache&) = delete;
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// The per-stage costs of lower_step without emitting the step's tasks (much cheaper).
// process and compute_stream are 0 (no graph is built).
std::vector<StagePlan> plan_stages(const Scenario& scenario, StagePlanCache* cache = nullptr);

}  // namespace ptsim::strategies

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
  sim::Time optimizer;
  // Lower bounds on the parts of a block, for the layout search's bound (step_bound.h):
  // kernels and the collectives they wait for, each alone; an exchange that runs beside a
  // kernel counts as nothing. One layer (backward with its recompute), the embedding (first
  // stage), the final norm, LM head and loss (last stage).
  sim::Time layer_forward_bound;
  sim::Time layer_backward_bound;
  sim::Time embedding_forward;
  sim::Time embedding_backward;
  sim::Time head_forward;
  sim::Time head_backward;
  // Per-layer data-parallel collectives alone (0 when not used): ZeRO 3's parameter
  // all-gather, and the gradient reduction of ZeRO 3 or overlap_grad_reduce.
  sim::Time dp_layer_gather;
  sim::Time dp_layer_reduce;
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

// The per-stage costs of lower_step without emitting the step's tasks (much cheaper).
std::vector<StagePlan> plan_stages(const Scenario& scenario);

}  // namespace ptsim::strategies

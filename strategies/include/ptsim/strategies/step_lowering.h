// Lowers one training step of a transformer Scenario to a sim::TaskGraph: per pipeline
// stage one representative rank (DP replicas and the TP ranks of a stage do identical work
// on identical links, so one stands for all; see docs/ARCHITECTURE.md), with streams for
// compute, TP collectives, pipeline sends and DP reduction, and exclusive NVLink and
// network ports. Also records per task what it is (TaskLabel) and per stage its costs.
#pragma once

#include <cstdint>
#include <vector>

#include "ptsim/sim/task_graph.h"
#include "ptsim/sim/time.h"
#include "ptsim/strategies/scenario.h"
#include "ptsim/strategies/task_labels.h"

namespace ptsim::strategies {

struct StagePlan {
  int stage = 0;
  int rank = 0;
  sim::ProcessId process = 0;
  sim::StreamId compute_stream = 0;
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
  std::vector<TaskLabel> labels;  // per task
  std::vector<StagePlan> stages;
};

LoweredStep lower_step(const Scenario& scenario);

// The per-stage costs of lower_step without emitting the step's tasks (much cheaper).
std::vector<StagePlan> plan_stages(const Scenario& scenario);

}  // namespace ptsim::strategies

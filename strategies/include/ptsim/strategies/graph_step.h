// A training step of a layer-graph Scenario (Scenario::graph set): per-layer kernel times
// from the roofline cost model, the partition into layout.pp stages (graph_partition.h),
// the lowering of the step through the same lower_pipeline/PipelineHooks as transformers
// (one representative rank per stage; activations of the cut sent to the next stage, the
// gradient all-reduce over the data-parallel group after the last backward, the optimizer
// step), its memory per stage and the StepResult the usual reports print.
// Graph models run without tensor, context or expert parallelism (io/ checks the layout).
#pragma once

#include <string>
#include <vector>

#include "ptsim/sim/task_simulator.h"
#include "ptsim/sim/time.h"
#include "ptsim/strategies/graph_partition.h"
#include "ptsim/strategies/memory_model.h"
#include "ptsim/strategies/scenario.h"
#include "ptsim/strategies/step_lowering.h"
#include "ptsim/strategies/step_result.h"

namespace ptsim::strategies {

// Per layer, one micro-batch on one GPU: kernel times (each kernel rounded to ns as the
// simulator runs it) and the output tensor's bytes in the activation format.
struct GraphLayerTimes {
  std::vector<sim::Time> forward;
  std::vector<sim::Time> backward;
  std::vector<double> output_bytes;
  // The host's time to issue each layer's kernels (kernels x host_issue_s).
  std::vector<sim::Time> forward_host_issue;
  std::vector<sim::Time> backward_host_issue;
};
GraphLayerTimes graph_layer_times(const Scenario& scenario);

// The partitioning problem of the scenario: layer times, cut tensors and the point-to-point
// time between the ranks of adjacent stages (the collective model's send_recv plan).
PartitionProblem graph_partition_problem(const Scenario& scenario, const GraphLayerTimes& times);
Partition partition_scenario(const Scenario& scenario);

// What `ptsim partition` prints: per stage its layers, time, memory and outgoing cut, and
// the bottleneck against the perfect balance sum(T_i) / p.
struct StagePartition {
  int stage = 0;
  std::vector<std::string> layers;  // in topological order
  double compute_s = 0;             // forward + backward of one micro-batch
  double comm_s = 0;                // its sends: activations forward, gradients backward
  double cost_s = 0;
  double parameters = 0;
  double memory_bytes = 0;          // per GPU, memory_model's accounting
  double cut_bytes_out = 0;         // activations sent to the next stage per micro-batch
};
struct PartitionSummary {
  std::string method;
  std::vector<StagePartition> stages;
  double bottleneck_s = 0;
  double balanced_s = 0;  // sum of layer times / p
  double gap_fraction = 0;  // bottleneck / balanced - 1
};
PartitionSummary summarize_partition(const Scenario& scenario, const Partition& partition);

LoweredStep lower_graph_step(const Scenario& scenario, const Partition& partition);
MemoryReport estimate_graph_memory(const Scenario& scenario, const Partition& partition);
StepResult compute_graph_step_result(const Scenario& scenario, const LoweredStep& lowered,
                                     const sim::Timeline& timeline);

}  // namespace ptsim::strategies

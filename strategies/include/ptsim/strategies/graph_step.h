// A training step of a layer-graph Scenario (Scenario::graph set): per-layer kernel times
// from the roofline cost model, the partition into layout.pp stages (graph_partition.h),
// the lowering of the step through the same lower_pipeline/PipelineHooks as transformers
// (one representative rank per stage; activations of the cut sent to the next stage, the
// gradient all-reduce over the data-parallel group after the last backward, the optimizer
// step), its memory per stage and the StepResult the usual reports print.
// Graph models run without tensor, context or expert parallelism (io/ checks the layout).
#pragma once

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
};
GraphLayerTimes graph_layer_times(const Scenario& scenario);

// The partitioning problem of the scenario: layer times, cut tensors and the point-to-point
// time between the ranks of adjacent stages (the collective model's send_recv plan).
PartitionProblem graph_partition_problem(const Scenario& scenario, const GraphLayerTimes& times);
Partition partition_scenario(const Scenario& scenario);

LoweredStep lower_graph_step(const Scenario& scenario, const Partition& partition);
MemoryReport estimate_graph_memory(const Scenario& scenario, const Partition& partition);
StepResult compute_graph_step_result(const Scenario& scenario, const LoweredStep& lowered,
                                     const sim::Timeline& timeline);

}  // namespace ptsim::strategies

// Turns the Timeline of a lowered step into what users read: step time, throughput,
// model and hardware FLOP/s per GPU (MFU against the dense peak of the training
// precision), and the per-stage breakdown of where the time went.
#pragma once

#include <span>
#include <vector>

#include "ptsim/sim/task_simulator.h"
#include "ptsim/strategies/scenario.h"
#include "ptsim/strategies/step_lowering.h"
#include "ptsim/strategies/step_result.h"

namespace ptsim::strategies {

// Per process: each instant of [0, makespan) attributed once (see Breakdown). With
// `processes` given, only those are measured (the others stay zero): a full-mode step has
// one process per rank, and the report reads one per stage.
std::vector<Breakdown> breakdown_per_process(const sim::TaskGraph& graph, const sim::Timeline& timeline,
                                             std::span<const sim::ProcessId> processes = {});

StepResult compute_step_result(const Scenario& scenario, const LoweredStep& lowered,
                               const sim::Timeline& timeline);

// Fills r.stages (one per StagePlan, its representative's breakdown) and r.breakdown /
// r.breakdown_stage from the busiest stage; shared by transformer and layer-graph steps.
void fill_stage_results(const LoweredStep& lowered, const sim::Timeline& timeline, StepResult& r);

// The whole path: lower, simulate, measure. Keeps the graph and timeline for traces.
struct SimulatedStep {
  LoweredStep lowered;
  sim::Timeline timeline;
  StepResult result;
};
// automatic: one representative per stage where the ranks are equivalent, else every rank.
SimulatedStep simulate_step(const Scenario& scenario, LoweringMode mode = LoweringMode::automatic);

}  // namespace ptsim::strategies

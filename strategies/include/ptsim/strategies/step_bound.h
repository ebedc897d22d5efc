// A proven lower bound on the simulated step time of a scenario, from the per-stage costs
// of plan_stages (no simulation). The layout search sorts and prunes by it, so it must
// never exceed what simulate_step reports; docs/search.md gives the argument, and
// step_bound_test.cc checks it against the simulator on many layouts.
#pragma once

#include <vector>

#include "ptsim/sim/time.h"
#include "ptsim/strategies/scenario.h"
#include "ptsim/strategies/step_lowering.h"

namespace ptsim::strategies {

// max over stages s of: the forward of micro-batch 0 through the virtual stages before
// s, plus all of s's blocks back to back, plus the longer of the last micro-batch's
// backward through the virtual stages below and s's own gradient reduction, optimizer
// and parameter gather; for the sequential schedule also every micro-batch's full round
// trip one after another. Every term is a chain of dependencies in the lowered graph,
// each task at least its time alone.
sim::Time step_time_lower_bound(const Scenario& scenario, const std::vector<StagePlan>& stages);

// The layout whose plan_stages the bound of `layout` may use instead of its own (the
// same plans): the stage plans depend on the schedule only through zb-h1's split
// backward, on ZeRO only through stages 0, 1-2 and 3, and, when every layer is of one
// kind, on the virtual stages only through whether the last stage sends on to the first
// (v > 1). So 1f1b stands for sequential and GPipe, ZeRO 1 for 2, and 2 virtual stages
// for any v > 1. The layout search plans each such class once.
Layout bound_plan_layout(const TransformerConfig& model, const Layout& layout);
sim::Time step_time_lower_bound(const Scenario& scenario);

// A tighter bound, linear in the step's blocks (the layout search computes it only for
// layouts the closed form could not rule out): the longest path through the pipeline's
// blocks in each stage's schedule order, each block at least its chain of kernels and
// waited-for collectives, each activation or gradient send at least its time alone after
// the block it follows and after the sender's previous send (one pp-send stream per
// rank), each stage's tail after its last backward. Where layers reduce their gradients
// as they go (ZeRO 3, overlap_grad_reduce) it walks layer by layer and follows each
// stage's FIFO dp-comm stream too (gathers before their layers, reductions after them, in
// emit_block's order). Every edge is a dependency of the lowered graph (lower_pipeline,
// emit_block) or the order of a stream, so the simulated step is at least as long.
sim::Time pipeline_lower_bound(const Scenario& scenario, const std::vector<StagePlan>& stages);

}  // namespace ptsim::strategies

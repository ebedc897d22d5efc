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
sim::Time step_time_lower_bound(const Scenario& scenario);

}  // namespace ptsim::strategies

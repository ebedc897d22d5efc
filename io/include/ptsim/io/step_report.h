// A simulated step as users read it: the JSON object of DESIGN.md's output contract
// (`ptsim simulate --json`) and the human-readable table printed by default. Both are pure
// functions of the scenario and result, so the same input gives byte-identical output.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "ptsim/strategies/scenario.h"
#include "ptsim/strategies/step_result.h"

namespace ptsim::io {

nlohmann::json step_report_json(const strategies::Scenario& scenario, const strategies::StepResult& result);
std::string step_report_table(const strategies::Scenario& scenario, const strategies::StepResult& result);

}  // namespace ptsim::io

// `ptsim plan` as users read it: the options table sorted by cost with the ones meeting
// the deadline / GPU budget marked, and the same as one JSON object (--json).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptsim/strategies/capacity_plan.h"

namespace ptsim::io {

nlohmann::json plan_report_json(const strategies::PlanRequest& request, const std::vector<strategies::PlanOption>& options);
std::string plan_report_table(const strategies::PlanRequest& request, const std::vector<strategies::PlanOption>& options);

}  // namespace ptsim::io

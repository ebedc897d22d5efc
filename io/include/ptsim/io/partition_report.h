// `ptsim partition` output: the stages of a layer-graph partition (layers, time, memory,
// cut bytes) and the gap between the bottleneck and the perfect balance, as a table or one
// JSON object. Pure functions of their input: byte-identical output for the same input.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "ptsim/strategies/graph_step.h"
#include "ptsim/strategies/scenario.h"

namespace ptsim::io {

nlohmann::json partition_report_json(const strategies::Scenario& scenario, const strategies::PartitionSummary& summary);
std::string partition_report_table(const strategies::Scenario& scenario, const strategies::PartitionSummary& summary);

}  // namespace ptsim::io

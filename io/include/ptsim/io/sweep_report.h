// The rows of a sweep as users and plots/ read them: JSON (each simulated point carries the
// whole `ptsim simulate --json` object plus its status, speedup and scaling efficiency), CSV
// (one flat row per point, empty cells where a point was not simulated) and a short table.
// Pure functions of their inputs: the same sweep gives byte-identical output.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptsim/strategies/sweep.h"

namespace ptsim::io {

struct SweepInfo {
  std::string scenario;             // the base scenario's name
  std::vector<std::string> keys;    // as given to --vary, in order
  std::vector<std::string> paths;   // the scenario field each sets
};

nlohmann::json sweep_json(const SweepInfo& info, const std::vector<strategies::SweepPoint>& points);
std::string sweep_csv(const std::vector<strategies::SweepPoint>& points);
std::string sweep_table(const SweepInfo& info, const std::vector<strategies::SweepPoint>& points);

// CSV header, in column order (docs/sweep.md lists what each column is).
const std::vector<std::string>& sweep_csv_columns();

}  // namespace ptsim::io

// A sweep: scenario knobs varied over ranges of values (`ptsim sweep --vary KEY=SPEC`, given
// once per knob; several knobs give their cartesian product). This file holds the parts that
// know no JSON: the value-range syntax (geometric `64:4096:x2`, arithmetic `1:8:+1`, list
// `a,b,c`), the grid of points, the per-point result, and the scaling math (speedup and
// scaling efficiency against the baseline point). io/ applies values to scenario documents
// and writes the rows; apps/commands/sweep.cc runs the points (with `--search`, each point's
// best layout from the layout search).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ptsim/strategies/layout_search.h"
#include "ptsim/strategies/scenario.h"
#include "ptsim/strategies/step_result.h"

namespace ptsim::strategies {

// The values of a sweep spec, as text (a knob may be a number, a boolean or a name), or why
// the spec is malformed. Range forms need positive integers, start <= stop, a factor >= 2 or
// a step >= 1; stop is included when the progression reaches it. At most kMaxSweepPoints.
struct SweepValues {
  std::vector<std::string> values;
  std::string error;  // empty when values is usable
};
inline constexpr std::size_t kMaxSweepPoints = 256;
SweepValues parse_sweep_spec(const std::string& spec);

// One varied knob: the key as the user wrote it and its values.
struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
};
using SweepAssignment = std::vector<std::pair<std::string, std::string>>;  // (key, value) per axis

// Every combination of the axes' values, the first axis varying slowest; empty when the grid
// would exceed kMaxSweepPoints.
std::vector<SweepAssignment> sweep_grid(const std::vector<SweepAxis>& axes);

// How a point is named in tables and CSV: the value alone for one axis, "k1=v1 k2=v2" else.
std::string sweep_point_label(const SweepAssignment& assignment);

enum class SweepStatus {
  ok,            // simulated, fits in memory
  does_not_fit,  // simulated, but a stage needs more memory than the GPU has
  invalid,       // the point is not a valid scenario (reason says which field and why)
  no_layout,     // `--search`: no layout of the point is valid and fits in memory
};
const char* to_string(SweepStatus s);

struct SweepPoint {
  SweepAssignment assignment;  // the swept values as given
  std::string value;           // sweep_point_label(assignment)
  SweepStatus status = SweepStatus::invalid;
  std::string reason;         // why the point is invalid or does not fit; empty when ok
  std::optional<Scenario> scenario;   // set unless invalid
  std::optional<StepResult> result;   // set unless invalid or no_layout
  // `--search`: the layout search of this point (its scenario then has the best layout).
  std::optional<SearchCounts> search;
  // `--search`: false when layouts too large to simulate could beat the chosen one
  // (ranking_unproven, layout_search.h).
  bool proven_best = true;
  // Against the baseline (the first point that is ok); unset without a baseline or for
  // invalid points. speedup = tokens/s over the baseline's; scaling efficiency = speedup
  // divided by the GPU-count ratio (1 when the GPU count does not change).
  std::optional<double> speedup;
  std::optional<double> scaling_efficiency;
};

// Index of the first ok point, if any.
std::optional<std::size_t> sweep_baseline(const std::vector<SweepPoint>& points);

// Fills speedup and scaling_efficiency of every simulated point against the baseline.
void compute_scaling(std::vector<SweepPoint>& points);

}  // namespace ptsim::strategies

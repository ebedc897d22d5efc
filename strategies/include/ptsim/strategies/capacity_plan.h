// Capacity planning (`ptsim plan`): for each GPU type and GPU count, the fastest layout the
// layout search finds, and what training a given number of tokens on it takes: steps,
// days, GPU-hours, rental cost and GPU board energy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ptsim/strategies/layout_search.h"
#include "ptsim/strategies/scenario.h"

namespace ptsim::strategies {

struct PlanRequest {
  double tokens = 0;                        // tokens to train on
  std::vector<std::string> gpu_types;       // GPU preset names
  std::vector<double> price_per_gpu_hour;   // US dollars, one per gpu_types entry
  std::vector<std::int64_t> gpu_counts;     // counts to consider, for every type
  std::optional<double> deadline_days;      // options slower than this do not fit
  std::optional<std::int64_t> gpu_budget;   // options with more GPUs do not fit
  unsigned threads = 1;
};

struct PlanOption {
  std::string gpu_type;
  std::int64_t num_gpus = 0;
  bool fits_memory = false;  // false: no valid layout fits; the figures below are 0
  Layout layout;
  double step_time_s = 0;
  double steps = 0;          // ceil(tokens / (global_batch_size * seq_length))
  double days = 0;           // steps * step_time_s / 86400
  double gpu_hours = 0;      // num_gpus * steps * step_time_s / 3600
  double price_per_gpu_hour = 0;
  double cost_usd = 0;       // gpu_hours * price_per_gpu_hour
  double energy_mwh = 0;     // gpu_hours * tdp_watts / 1e6 (board power only)
  bool meets_constraints = false;  // fits memory, within deadline and GPU budget
  // False when layouts too large to simulate rank by rank could beat `layout`
  // (ranking_unproven, layout_search.h); `ptsim search` on the option says which.
  bool proven_best = true;
};

// The scenario `base` unchanged when `gpu_type` is its own GPU; otherwise with its cluster
// swapped for the node preset of `gpu_type` (the first node preset with that GPU; a bare
// 8-GPU node of it if none). Throws
// std::invalid_argument for an unknown GPU type.
Scenario with_gpu_type(const Scenario& base, const std::string& gpu_type);

// Steps to train `tokens`: ceil(tokens / (global_batch_size * seq_length)).
double plan_steps(const Scenario& s, double tokens);

// One option per (gpu type, count), sorted: fitting ones by cost (then days, type, count),
// those that do not fit in memory last.
std::vector<PlanOption> plan_capacity(const Scenario& base, const SearchSpace& space, const PlanRequest& request);

}  // namespace ptsim::strategies

// The layout search: every valid parallel layout of a scenario's model, cluster and batch
// (the knobs the user left open), discarded per broken rule or for not fitting in memory,
// then ranked by simulated step time or cost. Branch and bound on a proven lower bound
// (step_bound.h): layouts are simulated in order of their bound, and the search stops
// once the next bound cannot beat the N-th best simulated layout, so the top N are exact.
// Work is spread over threads; the result does not depend on the thread count.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "ptsim/strategies/layout_rules.h"
#include "ptsim/strategies/scenario.h"
#include "ptsim/strategies/step_result.h"

namespace ptsim::strategies {

// The knobs the search varies; a knob with a value is fixed (the scenario gave it). The
// scenario's other layout fields (cp_comm, rank_order, overlap_grad_reduce,
// tp_comm_overlap, uneven first/last stages) apply to every layout.
struct SearchSpace {
  std::optional<std::int64_t> tp, pp, dp, cp, ep, micro_batch_size, virtual_stages, zero_stage;
  std::optional<Schedule> schedule;
  std::optional<Recompute> recompute;
  std::optional<bool> sequence_parallel;
  // GPU counts to try; empty: the scenario's cluster. Each is one node of that many GPUs
  // when below gpus_per_node, else a multiple of gpus_per_node.
  std::vector<std::int64_t> gpu_counts;
};

enum class Objective { step_time, cost, tokens_per_dollar };
std::string_view to_string(Objective o);

struct SearchOptions {
  Objective objective = Objective::step_time;
  double price_per_gpu_hour = 0;  // US dollars; needed by the cost objectives
  std::size_t top = 10;           // exact best layouts to return
  unsigned threads = 1;
  // Evaluate only the valid layouts whose enumeration index % shard_count == shard_index.
  std::int64_t shard_index = 0;
  std::int64_t shard_count = 1;
  // A layout whose ranks are not alike (rank_asymmetry) is simulated rank by rank; one
  // whose full simulation would take more tasks than this is not simulated (it would need
  // gigabytes: ~90 bytes a task) and is counted in SearchCounts::too_large.
  std::int64_t max_full_tasks = 60'000'000;
  // Called from the calling thread with (done, total) of the current phase.
  std::function<void(std::string_view phase, std::size_t done, std::size_t total)> progress;
};

// One simulated layout.
struct SearchRow {
  std::int64_t index = 0;  // position in the enumeration: the tie-break, shard-independent
  std::int64_t num_gpus = 0;
  Layout layout;
  double step_time_s = 0;
  double score = 0;        // step time (s) or cost per step (US dollars); lower is better
  double mfu = 0;
  double tokens_per_s = 0;
  double peak_memory_bytes = 0;
  double capacity_bytes = 0;
  Breakdown breakdown;
};

// Layouts enumerated, and why those not simulated were left out.
struct SearchCounts {
  std::int64_t enumerated = 0;
  std::array<std::int64_t, kLayoutRuleCount> invalid{};  // per LayoutRule
  std::int64_t valid = 0;            // in this shard
  std::int64_t does_not_fit = 0;     // memory over the GPU's capacity
  std::int64_t simulated = 0;
  std::int64_t pruned_by_bound = 0;  // lower bound no better than the N-th best
  // Of those, ruled out by pipeline_lower_bound after the closed form could not.
  std::int64_t pruned_by_pipeline_bound = 0;
  // Reached the front (lower bound below the N-th best at the time) but not simulated:
  // simulating every rank would exceed SearchOptions::max_full_tasks. The ranking is exact
  // only if the lowest of their bounds is no better than the N-th best score.
  std::int64_t too_large = 0;
  double too_large_min_score = 0;  // lowest lower bound (as a score) among them; 0 if none
  // Counts `n` more such layouts whose lowest bound is `min_score`.
  void add_too_large(std::int64_t n, double min_score) {
    if (n <= 0) return;
    too_large_min_score = too_large == 0 ? min_score : std::min(too_large_min_score, min_score);
    too_large += n;
  }
};


struct SearchResult {
  SearchCounts counts;
  std::vector<SearchRow> rows;  // best first, at most options.top
};

// Whether layouts left out as too large could have been in the top N: their lowest bound
// is better than the N-th best score found (or fewer than N rows were found).
bool ranking_unproven(const SearchResult& result, std::size_t top);

// The scenario's layout is ignored except for the fields SearchSpace says apply to all.
SearchResult search_layouts(const Scenario& base, const SearchSpace& space, const SearchOptions& options);

// Order of rows: by score, then by enumeration index.
bool row_before(const SearchRow& a, const SearchRow& b);

// The scenario `base` with `num_gpus` GPUs (cluster resized as described in SearchSpace)
// and `layout`.
Scenario with_layout(const Scenario& base, std::int64_t num_gpus, const Layout& layout);
// The same in place: `s`, a copy of `base`, takes `num_gpus` and `layout` (what the search
// does per layout, without copying the scenario each time).
void assign_layout(Scenario& s, const Scenario& base, std::int64_t num_gpus, const Layout& layout);

// Merges shard results: counts summed, rows re-ranked, the best `top` kept.
SearchResult merge_search_results(const std::vector<SearchResult>& shards, std::size_t top);

}  // namespace ptsim::strategies

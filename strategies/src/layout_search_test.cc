// The layout search against brute force (every layout simulated), and its determinism:
// the same answer with 1 or 2 threads and when sharded then merged.
#include "ptsim/strategies/layout_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "ptsim/strategies/capacity_plan.h"
#include "ptsim/strategies/memory_model.h"
#include "ptsim/strategies/step_lowering.h"
#include "ptsim/strategies/step_metrics.h"
#include "test_scenario.h"

namespace ptsim::strategies {
namespace {

Scenario small_base() {
  // 8 GPUs of one node, a 4-layer model and an 8-sequence batch: a few thousand layouts.
  Scenario s = testing::make_scenario("megatron-1.7b", "dgx-a100", 2048, 8, 1, 1, 8);
  s.model.num_layers = 4;
  return s;
}

// Every layout of the knobs' full ranges, checked, filtered by memory and simulated: the
// step times of all of them, best first. Written without the search's enumerator.
std::vector<double> brute_force_times(const Scenario& base) {
  std::vector<double> times;
  const std::int64_t g = base.cluster.num_gpus();
  for (std::int64_t tp = 1; tp <= g; ++tp) {
    for (std::int64_t pp = 1; pp <= g; ++pp) {
      for (std::int64_t cp = 1; cp <= g; ++cp) {
        if (g % (tp * pp * cp) != 0) continue;
        for (std::int64_t mbs = 1; mbs <= base.training.global_batch_size; ++mbs) {
          for (Schedule sch : {Schedule::sequential, Schedule::gpipe, Schedule::one_f_one_b, Schedule::zb_h1}) {
            for (std::int64_t v = 1; v <= base.model.num_layers; ++v) {
              for (Recompute rc : {Recompute::none, Recompute::selective, Recompute::full}) {
                for (bool sp : {false, true}) {
                  for (std::int64_t zero = 0; zero <= 3; ++zero) {
                    Layout l = base.layout;
                    l.tp = tp, l.pp = pp, l.cp = cp, l.dp = g / (tp * pp * cp), l.micro_batch_size = mbs;
                    // pp not dividing the layers: Megatron's uneven split, the middle stages
                    // at the rounded-up share and the first and last halving the rest.
                    const std::int64_t layers = base.model.num_layers;
                    if (pp > 1 && layers % pp != 0) {
                      const std::int64_t rest = layers - (pp - 2) * ((layers + pp - 1) / pp);
                      if (rest < 2) continue;
                      l.num_layers_in_first_pipeline_stage = rest - rest / 2;
                      l.num_layers_in_last_pipeline_stage = rest / 2;
                    }
                    l.schedule = sch, l.virtual_stages = v, l.recompute = rc, l.sequence_parallel = sp;
                    l.zero_stage = zero;
                    if (check_layout(l, base.model, base.training, g)) continue;
                    const Scenario s = with_layout(base, g, l);
                    if (!estimate_memory(s).fits) continue;
                    times.push_back(simulate_step(s).result.step_time.seconds());
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  std::sort(times.begin(), times.end());
  return times;
}

// The search's top N against brute force over the same space. Brute force also simulates
// layouts the search folds together (a schedule at pp 1, ZeRO at dp 1), so its list repeats
// times: the best is the same, the rest no better, and each of the search's is among them.
SearchResult expect_search_is_brute_force(const Scenario& base, std::size_t top) {
  SearchOptions opt;
  opt.top = top;
  opt.threads = 2;
  const SearchResult r = search_layouts(base, SearchSpace{}, opt);
  const std::vector<double> brute = brute_force_times(base);
  EXPECT_GE(brute.size(), top);
  EXPECT_EQ(r.rows.size(), top);
  if (r.rows.empty() || brute.size() < top) return r;
  EXPECT_EQ(r.rows[0].step_time_s, brute[0]);
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    EXPECT_GE(r.rows[i].step_time_s, brute[i]) << "rank " << i;
    EXPECT_NE(std::find(brute.begin(), brute.end(), r.rows[i].step_time_s), brute.end()) << "rank " << i;
  }
  EXPECT_GT(r.counts.pruned_by_bound, 0);  // the bound did prune
  EXPECT_LT(r.counts.simulated, static_cast<std::int64_t>(brute.size()));
  return r;
}

TEST(LayoutSearch, FindsExactlyTheBruteForceBest) {
  Scenario base = small_base();
  base.model.hidden_size = 1024;  // tight memory: a 4 GiB GPU leaves some layouts out
  base.model.num_attention_heads = 16;
  base.model.num_query_groups = 16;
  base.model.ffn_hidden_size = 4096;
  base.cluster.gpu.hbm_capacity_bytes = 4.0 * (1 << 30);
  const SearchResult r = expect_search_is_brute_force(base, 5);
  EXPECT_GT(r.counts.does_not_fit, 0);
  // Every enumerated layout is accounted for exactly once.
  const std::int64_t invalid = std::accumulate(r.counts.invalid.begin(), r.counts.invalid.end(), std::int64_t{0});
  EXPECT_EQ(r.counts.enumerated, invalid + r.counts.valid);
  EXPECT_EQ(r.counts.valid, r.counts.does_not_fit + r.counts.simulated + r.counts.pruned_by_bound);
}

// Two nodes: context-parallel rings that leave the node for some steps (lowered to every
// rank), ZeRO 3 gathers and pipeline sends over the network; every valid layout simulated.
TEST(LayoutSearch, FindsExactlyTheBruteForceBestAcrossTwoNodes) {
  Scenario base = testing::make_scenario("megatron-1.7b", "dgx-a100", 4096, 4, 1, 1, 16);
  base.model.num_layers = 2;
  expect_search_is_brute_force(base, 3);
}

// Six layers on eight GPUs: pp 4 does not divide them and runs as 1 + 2 + 2 + 1 (the
// uneven split the search enumerates, docs/search.md); interleaving is then impossible.
TEST(LayoutSearch, FindsExactlyTheBruteForceBestWithUnevenStages) {
  Scenario base = small_base();
  base.model.num_layers = 6;
  expect_search_is_brute_force(base, 3);
  SearchOptions opt;
  opt.top = 3;
  opt.threads = 2;
  SearchSpace uneven;
  uneven.pp = 4;
  const SearchResult u = search_layouts(base, uneven, opt);
  ASSERT_FALSE(u.rows.empty());
  EXPECT_EQ(u.rows[0].layout.num_layers_in_first_pipeline_stage, 1);
  EXPECT_EQ(u.rows[0].layout.num_layers_in_last_pipeline_stage, 1);
}

// A layout whose ranks differ is simulated rank by rank; above max_full_tasks it is left
// out, counted, and its bound decides whether the ranking is still proven.
TEST(LayoutSearch, LayoutsTooLargeToSimulateRankByRankAreCountedNotSimulated) {
  Scenario base = testing::make_scenario("megatron-1.7b", "dgx-a100", 4096, 4, 1, 1, 16);
  base.model.num_layers = 2;
  SearchSpace space;
  SearchOptions opt;
  opt.top = 100000;  // more than there are layouts: every one reaches the front
  opt.threads = 2;
  opt.max_full_tasks = 1;
  const SearchResult r = search_layouts(base, space, opt);
  EXPECT_GT(r.counts.too_large, 0);
  EXPECT_GT(r.counts.too_large_min_score, 0);
  EXPECT_EQ(r.counts.valid, r.counts.does_not_fit + r.counts.simulated + r.counts.pruned_by_bound + r.counts.too_large);
  for (const SearchRow& row : r.rows) {
    EXPECT_FALSE(rank_asymmetry(with_layout(base, row.num_gpus, row.layout))) << "rank-by-rank layout simulated";
  }
  EXPECT_TRUE(ranking_unproven(r, opt.top));  // fewer rows than asked for
  opt.max_full_tasks = SearchOptions{}.max_full_tasks;
  const SearchResult all = search_layouts(base, space, opt);
  EXPECT_EQ(all.counts.too_large, 0);
  EXPECT_FALSE(ranking_unproven(all, opt.top));
  EXPECT_EQ(static_cast<std::int64_t>(all.rows.size()), all.counts.simulated);
  EXPECT_EQ(all.counts.simulated, r.counts.simulated + r.counts.too_large);
  // Top 3: proven exactly when the skipped layouts' best bound is no better than the third.
  SearchResult top3 = r;
  top3.rows.resize(std::min<std::size_t>(3, r.rows.size()));
  EXPECT_EQ(ranking_unproven(top3, 3), top3.rows.size() < 3 || r.counts.too_large_min_score < top3.rows.back().score);
}

void expect_same(const SearchResult& a, const SearchResult& b) {
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (std::size_t i = 0; i < a.rows.size(); ++i) {
    EXPECT_EQ(a.rows[i].index, b.rows[i].index);
    EXPECT_EQ(a.rows[i].step_time_s, b.rows[i].step_time_s);
    EXPECT_EQ(a.rows[i].score, b.rows[i].score);
  }
  EXPECT_EQ(a.counts.enumerated, b.counts.enumerated);
  EXPECT_EQ(a.counts.invalid, b.counts.invalid);
  EXPECT_EQ(a.counts.valid, b.counts.valid);
  EXPECT_EQ(a.counts.does_not_fit, b.counts.does_not_fit);
}

TEST(LayoutSearch, SameResultWithOneOrTwoThreads) {
  const Scenario base = small_base();
  SearchOptions one;
  one.threads = 1;
  SearchOptions two = one;
  two.threads = 2;
  const SearchResult a = search_layouts(base, {}, one);
  const SearchResult b = search_layouts(base, {}, two);
  expect_same(a, b);
  EXPECT_EQ(a.counts.simulated, b.counts.simulated);
}

TEST(LayoutSearch, ShardsMergedGiveTheSameRanking) {
  const Scenario base = small_base();
  SearchOptions opt;
  opt.top = 7;
  const SearchResult whole = search_layouts(base, {}, opt);
  std::vector<SearchResult> parts;
  for (std::int64_t i = 0; i < 3; ++i) {
    SearchOptions shard = opt;
    shard.shard_index = i;
    shard.shard_count = 3;
    parts.push_back(search_layouts(base, {}, shard));
  }
  expect_same(whole, merge_search_results(parts, opt.top));
}

TEST(LayoutSearch, FixedKnobsAndCostObjective) {
  const Scenario base = small_base();
  SearchSpace space;
  space.tp = 2;
  space.schedule = Schedule::one_f_one_b;
  space.gpu_counts = {4, 8};
  SearchOptions opt;
  opt.objective = Objective::cost;
  opt.price_per_gpu_hour = 36;  // one cent per GPU-second
  const SearchResult r = search_layouts(base, space, opt);
  ASSERT_FALSE(r.rows.empty());
  for (const SearchRow& row : r.rows) {
    EXPECT_EQ(row.layout.tp, 2);
    EXPECT_EQ(row.layout.schedule, Schedule::one_f_one_b);
    EXPECT_DOUBLE_EQ(row.score, row.step_time_s * static_cast<double>(row.num_gpus) * 0.01);
  }
  EXPECT_TRUE(std::is_sorted(r.rows.begin(), r.rows.end(), row_before));
}

TEST(LayoutSearch, CountsDiscardsPerRule) {
  Scenario base = small_base();
  SearchSpace space;
  space.tp = 3;  // does not divide 8 GPUs nor 24 heads... 24 % 3 == 0, 8 % 3 != 0
  const SearchResult r = search_layouts(base, space, {});
  EXPECT_EQ(r.counts.valid, 0);
  EXPECT_GT(r.counts.invalid[static_cast<std::size_t>(LayoutRule::gpu_count)], 0);
  EXPECT_TRUE(r.rows.empty());
}

// Planning on the scenario's own GPU keeps its cluster (pods, oversubscription); another
// GPU type takes that GPU's node preset.
TEST(CapacityPlan, OwnGpuTypeKeepsTheScenariosCluster) {
  Scenario base = testing::make_scenario("megatron-1.7b", "dgx-h100", 2048, 8, 1, 1, 64);
  base.cluster.pod_gpus = 16;
  base.cluster.oversubscription = 4;
  const Scenario same = with_gpu_type(base, base.cluster.gpu.name);
  EXPECT_EQ(same.cluster.pod_gpus, 16);
  EXPECT_EQ(same.cluster.oversubscription, 4);
  const Scenario other = with_gpu_type(base, "a100-sxm-80gb");
  EXPECT_EQ(other.cluster.gpu.name, "a100-sxm-80gb");
  EXPECT_EQ(other.cluster.pod_gpus, costmodel::find_node_preset("dgx-a100")->pod_gpus);
}

}  // namespace
}  // namespace ptsim::strategies

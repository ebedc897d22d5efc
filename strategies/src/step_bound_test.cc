// The lower bound never exceeds the simulated step time, on every valid layout of small
// spaces (all schedules, interleaving, recompute, ZeRO, sequence and context parallelism,
// MoE), and the schedule facts it relies on hold.
#include "ptsim/strategies/step_bound.h"

#include <gtest/gtest.h>

#include "ptsim/strategies/layout_search.h"
#include "ptsim/strategies/pipeline_schedule.h"
#include "ptsim/strategies/step_metrics.h"
#include "test_scenario.h"

namespace ptsim::strategies {
namespace {

TEST(StepBound, StagesStartWithForwardZeroAndEndWithTheLastMicrobatchsBackwardOfChunkZero) {
  for (Schedule sch : {Schedule::sequential, Schedule::gpipe, Schedule::one_f_one_b, Schedule::zb_h1}) {
    for (int p : {1, 2, 3, 4}) {
      for (int v : {1, 2, 3}) {
        if (v > 1 && (sch != Schedule::one_f_one_b || p < 2)) continue;
        for (std::int64_t m : {1, 2, 4, 8, 12}) {
          if (v > 1 && m % p != 0) continue;
          for (int s = 0; s < p; ++s) {
            const auto order = stage_order(sch, s, p, m, v);
            ASSERT_FALSE(order.empty());
            EXPECT_EQ(order.front(), (PipelineStep{0, Phase::forward, 0}));
            // zb-h1 ends with a W pass; the bound does not use the chain below it there.
            if (sch != Schedule::zb_h1) {
              EXPECT_EQ(order.back(), (PipelineStep{m - 1, Phase::backward, 0}));
            }
          }
        }
      }
    }
  }
}

// Simulates every valid layout of `base` (layout open) and checks bound <= step time.
int check_all(const Scenario& base, const SearchSpace& space) {
  SearchOptions all;
  all.top = 1000000;  // nothing pruned: every fitting layout is simulated
  all.threads = 2;
  const SearchResult r = search_layouts(base, space, all);
  EXPECT_EQ(r.counts.pruned_by_bound, 0);
  int checked = 0;
  for (const SearchRow& row : r.rows) {
    const Scenario s = with_layout(base, row.num_gpus, row.layout);
    const sim::Time bound = step_time_lower_bound(s);
    const sim::Time simulated = simulate_step(s).result.step_time;
    EXPECT_LE(bound.count_ns(), simulated.count_ns()) << "layout index " << row.index << " tp " << row.layout.tp << " pp "
                                          << row.layout.pp << " dp " << row.layout.dp << " schedule "
                                          << to_string(row.layout.schedule) << " v " << row.layout.virtual_stages;
    ++checked;
  }
  return checked;
}

TEST(StepBound, NeverAboveTheSimulatedStepTimeDense) {
  Scenario base = testing::make_scenario("megatron-1.7b", "dgx-a100", 2048, 8, 1, 1, 16);
  base.model.num_layers = 4;  // small graphs: every layout is simulated
  SearchSpace space;
  space.micro_batch_size = 1;
  EXPECT_GT(check_all(base, space), 200);
}

TEST(StepBound, NeverAboveTheSimulatedStepTimeWithOverlapsAndUnevenStages) {
  Scenario base = testing::make_scenario("megatron-1.7b", "dgx-a100", 2048, 32, 1, 1, 16);
  base.model.num_layers = 8;
  base.layout.overlap_grad_reduce = true;
  base.layout.tp_comm_overlap = true;
  SearchSpace space;
  space.micro_batch_size = 2;
  space.recompute = Recompute::selective;
  EXPECT_GT(check_all(base, space), 20);

  base.layout.tp_comm_overlap = false;
  base.layout.num_layers_in_first_pipeline_stage = 2;
  base.layout.num_layers_in_last_pipeline_stage = 2;
  space.pp = 4;  // 2 + 4 + 4 + 2
  space.zero_stage = 1;
  EXPECT_GT(check_all(base, space), 3);
}

TEST(StepBound, NeverAboveTheSimulatedStepTimeContextAndExpertParallel) {
  Scenario base = testing::make_scenario("llama3-8b", "dgx-h100", 8192, 8, 1, 1, 8);
  base.model.num_layers = 4;  // keep the simulations small
  SearchSpace space;
  space.micro_batch_size = 1;
  space.recompute = Recompute::full;
  EXPECT_GT(check_all(base, space), 20);

  Scenario moe = testing::make_scenario("mixtral-8x7b", "dgx-h100", 4096, 16, 1, 1, 16);
  moe.model.num_layers = 4;
  SearchSpace moe_space;
  moe_space.micro_batch_size = 1;
  moe_space.recompute = Recompute::full;
  moe_space.sequence_parallel = true;
  EXPECT_GT(check_all(moe, moe_space), 5);
}

}  // namespace
}  // namespace ptsim::strategies

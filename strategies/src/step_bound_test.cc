// The lower bound never exceeds the simulated step time, on every valid layout of small
// spaces (all schedules, interleaving, recompute, ZeRO, sequence and context parallelism,
// MoE), and the schedule facts it relies on hold.
#include "ptsim/strategies/step_bound.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ptsim/strategies/layout_search.h"
#include "ptsim/strategies/pipeline_schedule.h"
#include "ptsim/strategies/step_lowering.h"
#include "ptsim/strategies/step_metrics.h"
#include "ptsim/strategies/transformer_ops.h"
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
  StagePlanCache cache;  // as the search plans: shared, and per bound_plan_layout class
  for (const SearchRow& row : r.rows) {
    const Scenario s = with_layout(base, row.num_gpus, row.layout);
    const sim::Time bound = step_time_lower_bound(s);
    const sim::Time searched = step_time_lower_bound(
        s, plan_stages(with_layout(base, row.num_gpus, bound_plan_layout(base.model, row.layout)), &cache));
    const std::vector<StagePlan> searched_plans =
        plan_stages(with_layout(base, row.num_gpus, bound_plan_layout(base.model, row.layout)), &cache);
    const sim::Time pipeline = pipeline_lower_bound(s, plan_stages(s));
    const sim::Time simulated = simulate_step(s).result.step_time;
    const auto& l = row.layout;
    const std::string what = "layout index " + std::to_string(row.index) + ": tp " + std::to_string(l.tp) + " cp " +
                             std::to_string(l.cp) + " pp " + std::to_string(l.pp) + " dp " + std::to_string(l.dp) +
                             " schedule " + std::string(to_string(l.schedule)) + " v " + std::to_string(l.virtual_stages) +
                             " zero " + std::to_string(l.zero_stage) + " recompute " + std::string(to_string(l.recompute));
    EXPECT_LE(bound.count_ns(), simulated.count_ns()) << what;
    // The search's plans (one per class of layouts) give the same bound as the layout's own.
    EXPECT_EQ(searched.count_ns(), bound.count_ns()) << what;
    EXPECT_LE(pipeline.count_ns(), simulated.count_ns()) << what;
    EXPECT_EQ(pipeline_lower_bound(s, searched_plans).count_ns(), pipeline.count_ns()) << what;
    EXPECT_GT(pipeline.count_ns(), 0) << what;
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

TEST(StepBound, NeverAboveTheSimulatedStepTimeZero3WithoutResharding) {
  Scenario base = testing::make_scenario("megatron-1.7b", "dgx-a100", 2048, 16, 1, 1, 16);
  base.model.num_layers = 4;
  base.layout.reshard_after_forward = false;  // the backward reuses the forward's gather
  SearchSpace space;
  space.micro_batch_size = 1;
  space.zero_stage = 3;
  EXPECT_GT(check_all(base, space), 20);
}

// Two nodes in two pods: context-parallel rings, interleaved pipelines' wrap-around sends,
// data-parallel reductions and ZeRO 3 gathers over the network and across the spine,
// where the bound's chains of exchanges and port loads matter.
TEST(StepBound, NeverAboveTheSimulatedStepTimeAcrossNodesAndPods) {
  Scenario base = testing::make_scenario("llama3-8b", "dgx-h100", 8192, 8, 1, 1, 16);
  base.model.num_layers = 4;
  base.cluster.pod_gpus = 8;
  base.cluster.oversubscription = 4;
  SearchSpace space;
  space.micro_batch_size = 1;
  space.recompute = Recompute::full;
  space.sequence_parallel = true;
  EXPECT_GT(check_all(base, space), 30);
}

// Context-parallel rings that leave the NVLink domain for some of their steps (cp x tp >
// 8 on 8-GPU nodes: those layouts are lowered to every rank), with and without TP
// communication overlapped beside its GEMMs: the bound counts each ring step at its
// ring's slowest pair and each overlapped pair at the longer of the two.
TEST(StepBound, NeverAboveTheSimulatedStepTimeWithContextRingsAcrossNodes) {
  Scenario base = testing::make_scenario("llama3-8b", "dgx-h100", 8192, 4, 1, 1, 16);
  base.model.num_layers = 2;
  SearchSpace space;
  space.micro_batch_size = 1;
  space.recompute = Recompute::selective;
  space.zero_stage = 1;
  EXPECT_GT(check_all(base, space), 20);
  base.layout.tp_comm_overlap = true;
  space.sequence_parallel = true;
  space.recompute = Recompute::none;
  EXPECT_GT(check_all(base, space), 10);
}

// A ring step is one task over the whole ring in full mode: the representative's chain
// waits for the steps that cross the network, not only for its own step inside the node.
TEST(StepBound, RingStepsCountAtTheirSlowestPair) {
  Scenario across = testing::make_scenario("llama3-8b", "dgx-h100", 8192, 1, 1, 1, 1, 16);
  across.model.num_layers = 2;
  ASSERT_TRUE(rank_asymmetry(across).has_value());  // steps 7->8 and 15->0 leave the node
  Scenario within = across;
  within.cluster.nvlink_domain_gpus = 16;  // the same ring inside one NVLink domain
  ASSERT_FALSE(rank_asymmetry(within).has_value());
  const StagePlan a = plan_stages(across).front();
  const StagePlan w = plan_stages(within).front();
  // The same kernels; the ring's network steps make the difference.
  EXPECT_GT(a.layer_forward_bound.count_ns(), w.layer_forward_bound.count_ns());
  EXPECT_GT(a.layer_backward_bound.count_ns(), w.layer_backward_bound.count_ns());
  // Each of the 15 steps takes at least a network step alone (latency, then the chunk at
  // the achievable network bandwidth).
  const ShapeContext shape = shape_context(across);
  const costmodel::GroupShape net_pair{2, 1, 2, false};
  const double capacity = across.cluster.network_bandwidth_bytes_per_s *
                          across.cluster.gpu.efficiency.network_bandwidth_fraction;
  auto ring_steps = [&](const std::vector<OpStep>& ops) -> sim::Time {
    sim::Time t;
    for (const OpStep& op : ops) {
      if (op.op != OpId::cp_kv_exchange) continue;
      const auto plan = costmodel::plan_collective(op.collective, net_pair, op.collective_bytes, across.cluster);
      const auto& ph = plan.phases.front();
      EXPECT_GT(ph.network_bytes, 0);
      t += sim::Time::from_seconds(ph.latency_s) +
           sim::Time::ns(static_cast<std::int64_t>(
               std::ceil(ph.network_bytes * 1e9 / std::min(ph.network_rate_bytes_per_s, capacity))));
    }
    return t;
  };
  const sim::Time fwd = ring_steps(layer_forward_ops(across.model, LayerKind::dense, shape));
  const sim::Time bwd = ring_steps(layer_backward_ops(across.model, LayerKind::dense, shape));
  EXPECT_GE(a.layer_forward_bound.count_ns(), fwd.count_ns());
  EXPECT_GE(a.layer_backward_bound.count_ns(), bwd.count_ns());
  EXPECT_LE(step_time_lower_bound(across).count_ns(), simulate_step(across).result.step_time.count_ns());
}

// ZeRO 3 on one stage over two nodes: each layer's gather waits in the FIFO dp-comm stream
// behind the previous layer's gradient reduce-scatter, which waits for that layer's
// backward, also from one block to the next. The closed form sees that only inside a block
// (there it equals the block-level walk); the layer-level walk sees it across blocks too.
TEST(StepBound, WalkFollowsTheDataParallelStreamAcrossBlocks) {
  Scenario s = testing::make_scenario("megatron-1.7b", "dgx-a100", 2048, 64, 1, 1, 16);
  s.model.num_layers = 4;
  s.layout.zero_stage = 3;
  ASSERT_EQ(s.num_microbatches(), 4);
  const std::vector<StagePlan> plans = plan_stages(s);
  const sim::Time closed = step_time_lower_bound(s, plans);
  const sim::Time walk = pipeline_lower_bound(s, plans);
  const sim::Time simulated = simulate_step(s).result.step_time;
  EXPECT_GT(walk.count_ns(), closed.count_ns());
  EXPECT_LE(walk.count_ns(), simulated.count_ns());
  // The first forward's first gather (less the embedding beside it); between micro-batches,
  // the last layer's reduce-scatter and the next forward's first gather (less the
  // embedding's backward and forward); before the tail, the last reduce-scatter (less the
  // embedding's backward). Here the closed form is the chain m x (forward + backward) +
  // tail, so the walk exceeds it by exactly these.
  const StagePlan& p = plans.front();
  const sim::Time zero;
  const sim::Time first = std::max(zero, p.dp_layer_gather - p.embedding_forward);
  const sim::Time between = std::max(zero, p.dp_layer_reduce + p.dp_layer_gather - p.embedding_backward - p.embedding_forward);
  const sim::Time before_tail = std::max(zero, p.dp_layer_reduce - p.embedding_backward);
  EXPECT_GT(between.count_ns(), 0);
  EXPECT_EQ(walk.count_ns(), (closed + first + between * 3 + before_tail).count_ns());
}

}  // namespace
}  // namespace ptsim::strategies

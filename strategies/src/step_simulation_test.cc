// Whole-path tests: a transformer Scenario lowered, simulated and measured, checked against
// closed forms computed independently from the per-stage costs.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "ptsim/costmodel/collective_algorithms.h"
#include "ptsim/strategies/rank_grid.h"
#include "ptsim/strategies/step_metrics.h"
#include "test_scenario.h"

namespace ptsim::strategies {
namespace {

using sim::Time;

Scenario small_scenario(Schedule schedule, std::int64_t tp, std::int64_t pp, std::int64_t dp,
                        std::int64_t global_batch) {
  Scenario s = testing::make_scenario("megatron-1.7b", "dgx-a100", 2048, global_batch, tp, pp, dp);
  s.training.precision = costmodel::Dtype::fp16;
  s.layout.schedule = schedule;
  return s;
}

TEST(StepSimulation, SequentialStepIsExactlyTheSumOfStageTimes) {
  for (std::int64_t pp : {1, 2, 4}) {
    for (Recompute rc : {Recompute::none, Recompute::full}) {
      Scenario s = small_scenario(Schedule::sequential, 2, pp, 1, 3);
      s.layout.recompute = rc;
      s.cluster.gpu.efficiency.host_issue_s = 0;  // the closed form has no host (tests below)
      const SimulatedStep out = simulate_step(s);
      const auto& st = out.lowered.stages;
      const std::int64_t m = s.num_microbatches();
      // T = sum over micro-batches and stages of forward, backward and both transfers.
      Time chain;
      for (const auto& plan : st) chain += m * (plan.forward + plan.backward + plan.send_forward + plan.send_backward);
      // Stage i finishes its last backward when the gradient has still to pass stages < i.
      // With pp > 1 the first and last stage then all-reduce the tied embedding's gradient
      // (after both have reduced theirs) before either runs its optimizer.
      std::vector<Time> reduced(st.size());
      Time downstream;
      for (std::size_t i = 0; i < st.size(); ++i) {
        if (i > 0) downstream += st[i - 1].backward + st[i].send_backward;
        reduced[i] = chain - downstream + st[i].dp_all_reduce;
      }
      const Time tied = std::max(reduced.front(), reduced.back()) + st.front().embedding_all_reduce;
      Time expected;
      for (std::size_t i = 0; i < st.size(); ++i) {
        const bool ends = pp > 1 && (i == 0 || i + 1 == st.size());
        expected = std::max(expected, (ends ? std::max(reduced[i], tied) : reduced[i]) + st[i].optimizer);
      }
      EXPECT_EQ(st.front().embedding_all_reduce, st.back().embedding_all_reduce);
      EXPECT_EQ(st.front().embedding_all_reduce > Time::zero(), pp > 1) << "pp=" << pp;
      EXPECT_EQ(out.result.step_time, expected) << "pp=" << pp;
      EXPECT_GT(out.result.step_time, Time::zero());
    }
  }
}

// One GPU, no communication: the compute stream's tasks in order, kernel k starting when
// both the kernel before it has ended and the host has issued it (the sum of the host issue
// costs up to k): start_k = max(end_{k-1}, H_k).
Time host_issue_closed_form(const SimulatedStep& out, Time* busy) {
  const auto& g = out.lowered.graph;
  Time end, issued;
  *busy = Time::zero();
  for (sim::TaskId t = 0; t < g.num_tasks(); ++t) {
    EXPECT_FALSE(g.is_transfer(t));
    issued += g.host_issue(t);
    end = std::max(end, issued) + g.duration(t);
    *busy += g.duration(t);
  }
  return end;
}

Scenario one_h100(std::int64_t layers, std::int64_t hidden, std::int64_t vocab, std::int64_t seq) {
  Scenario s = testing::make_scenario("megatron-1.7b", "dgx-h100", seq, 1, 1, 1, 1);
  s.model.num_layers = layers;
  s.model.hidden_size = hidden;
  s.model.num_attention_heads = 4;
  s.model.ffn_hidden_size = 4 * hidden;
  s.model.vocab_size = vocab;
  s.training.precision = costmodel::Dtype::bf16;
  return s;
}

// A tiny model's kernels are shorter than the host's 13.48 us to issue each: the step is
// host-bound, the GPU idle while it waits (counted as idle, the breakdown's bubble).
TEST(StepSimulation, TinyKernelsMakeTheStepHostBound) {
  const Scenario s = one_h100(2, 64, 1024, 128);
  ASSERT_EQ(s.cluster.gpu.efficiency.host_issue_s, 13.48e-6);
  const SimulatedStep out = simulate_step(s);
  Time busy;
  EXPECT_EQ(out.result.step_time, host_issue_closed_form(out, &busy));
  EXPECT_GT(out.result.step_time.seconds(), 2 * busy.seconds());  // mostly waiting for the host
  EXPECT_NEAR(out.result.breakdown.bubble_s, (out.result.step_time - busy).seconds(), 1e-12);
  Scenario off = s;
  off.cluster.gpu.efficiency.host_issue_s = 0;
  EXPECT_EQ(simulate_step(off).result.step_time, busy);
}

// A large model's kernels outlast their issue cost: the host runs ahead after the first
// kernel, which alone waits for it.
TEST(StepSimulation, LongKernelsHideTheHostBehindTheFirstKernel) {
  const Scenario s = one_h100(4, 8192, 51200, 4096);
  const SimulatedStep out = simulate_step(s);
  Time busy;
  EXPECT_EQ(out.result.step_time, host_issue_closed_form(out, &busy));
  Scenario off = s;
  off.cluster.gpu.efficiency.host_issue_s = 0;
  EXPECT_EQ(out.result.step_time, simulate_step(off).result.step_time + out.lowered.graph.host_issue(0));
  EXPECT_EQ(out.result.step_time, busy + out.lowered.graph.host_issue(0));
}

// Tied embeddings on two stages: the word embedding's gradient, (V/t) x h elements in the
// gradient precision, all-reduced by the two ranks that hold it (a 2-rank ring: each sends
// and receives all of it once); untied models and one-stage pipelines have none.
TEST(StepSimulation, TiedEmbeddingGradientIsAllReducedBetweenFirstAndLastStage) {
  Scenario s = small_scenario(Schedule::one_f_one_b, 1, 4, 1, 8);
  s.cluster.gpu.efficiency.host_issue_s = 0;
  const SimulatedStep out = simulate_step(s);
  const auto& st = out.lowered.stages;
  const double bytes = static_cast<double>(s.model.vocab_size) * static_cast<double>(s.model.hidden_size) * 2;  // fp16, tp 1
  const std::array<int, 2> pair{st.front().rank, st.back().rank};
  const auto plan = costmodel::plan_collective(costmodel::CollectiveOp::all_reduce,
                                               costmodel::group_shape(s.cluster, pair), bytes, s.cluster);
  ASSERT_EQ(plan.phases.size(), 1u);
  EXPECT_EQ(plan.phases.front().nvlink_bytes, bytes);  // stages 0 and 3 of 4 GPUs share a node
  EXPECT_GT(st.front().embedding_all_reduce, Time::zero());
  EXPECT_EQ(st[1].embedding_all_reduce, Time::zero());
  std::size_t tasks = 0;
  for (const auto& label : out.lowered.labels) tasks += label.op == OpId::embedding_all_reduce ? 1 : 0;
  EXPECT_EQ(tasks, 1u);
  Scenario untied = s;
  untied.model.untie_embeddings_and_output_weights = true;
  EXPECT_EQ(simulate_step(untied).lowered.stages.front().embedding_all_reduce, Time::zero());
}

TEST(StepSimulation, DataParallelAllReduceIsTheRingFormula) {
  const Scenario s = small_scenario(Schedule::one_f_one_b, 1, 2, 8, 64);
  const SimulatedStep out = simulate_step(s);
  // Ranks tp + tp*(dp + dp*pp): stage 0's DP group is ranks 0..7, one node: an NVLink ring
  // in NCCL's Simple regime, 2(n-1) steps of alpha and 2(n-1)/n S at the achievable rate.
  const auto& plan = out.lowered.stages[0];
  const double n = 8;
  const double bytes = plan.parameters * 2;  // fp16 gradients
  const auto& eff = s.cluster.gpu.efficiency;
  const double rate = 300e9 * eff.nvlink_bandwidth_fraction;
  const Time ring = Time::from_seconds(2 * (n - 1) * eff.intra_node_step_latency_s) +
                    Time::ns(static_cast<std::int64_t>(std::ceil(2 * (n - 1) / n * bytes * 1e9 / rate)));
  EXPECT_EQ(plan.dp_all_reduce, ring);
  // Nothing else touches stage 0's ports then, so the simulated transfer takes exactly that.
  for (sim::TaskId t = 0; t < out.lowered.graph.num_tasks(); ++t) {
    if (out.lowered.labels[t].op == OpId::dp_all_reduce &&
        out.lowered.graph.stream(out.lowered.graph.streams_of(t)[0]).process == plan.process) {
      EXPECT_EQ(out.timeline.end[t] - out.timeline.start[t], ring);
    }
  }
}

TEST(StepSimulation, DataParallelAcrossNodesUsesTheNetwork) {
  const Scenario s = small_scenario(Schedule::one_f_one_b, 8, 1, 4, 32);
  const SimulatedStep out = simulate_step(s);
  const auto& plan = out.lowered.stages[0];
  // DP group 0, 8, 16, 24: one GPU on each of 4 nodes, a ring over rail-0 NICs:
  // 2(n-1) network steps, 2(n-1)/n S through each NIC.
  const auto& eff = s.cluster.gpu.efficiency;
  const double rate = 25e9 * eff.network_bandwidth_fraction;
  const double bytes = plan.parameters * 2;
  const Time ring = Time::from_seconds(6 * eff.inter_node_step_latency_s) +
                    Time::ns(static_cast<std::int64_t>(std::ceil(2 * 3.0 / 4 * bytes * 1e9 / rate)));
  EXPECT_EQ(plan.dp_all_reduce, ring);
  EXPECT_GT(out.result.breakdown.exposed_dp_s, 0);
  EXPECT_GT(out.result.breakdown.exposed_tp_s, 0);
}

TEST(StepSimulation, BreakdownAccountsForEveryInstantOfTheStep) {
  for (Schedule sch : {Schedule::sequential, Schedule::gpipe, Schedule::one_f_one_b}) {
    Scenario s = small_scenario(sch, 2, 4, 2, 16);
    s.layout.recompute = Recompute::full;
    const SimulatedStep out = simulate_step(s);
    for (const auto& stage : out.result.stages) {
      EXPECT_NEAR(stage.breakdown.total_s(), out.result.step_time.seconds(), 1e-12);
      EXPECT_GT(stage.breakdown.recompute_s, 0);
    }
    EXPECT_GT(out.result.breakdown.bubble_s, 0);
    EXPECT_GT(out.result.breakdown.exposed_pp_s, 0);
  }
}

TEST(StepSimulation, OneFOneBKeepsAtMostPMicroBatchesInFlightOnStageZero) {
  const Scenario s = small_scenario(Schedule::one_f_one_b, 1, 4, 1, 12);
  const SimulatedStep out = simulate_step(s);
  const auto& labels = out.lowered.labels;
  const auto& g = out.lowered.graph;
  const auto stage0 = out.lowered.stages[0].process;
  std::vector<std::int64_t> first_fwd(12, INT64_MAX), last_bwd(12, -1);
  for (sim::TaskId t = 0; t < g.num_tasks(); ++t) {
    if (g.stream(g.streams_of(t)[0]).process != stage0 || labels[t].microbatch < 0) continue;
    const auto j = static_cast<std::size_t>(labels[t].microbatch);
    if (labels[t].kind == TaskKind::forward) first_fwd[j] = std::min(first_fwd[j], out.timeline.start[t].count_ns());
    if (labels[t].kind == TaskKind::backward) last_bwd[j] = std::max(last_bwd[j], out.timeline.end[t].count_ns());
  }
  for (std::size_t j = 0; j < 12; ++j) {
    int in_flight = 0;
    for (std::size_t k = 0; k < 12; ++k) {
      if (first_fwd[k] <= first_fwd[j] && last_bwd[k] > first_fwd[j]) ++in_flight;
    }
    EXPECT_LE(in_flight, 4) << "micro-batch " << j;
  }
}

TEST(StepSimulation, MetricsAreConsistent) {
  const Scenario s = small_scenario(Schedule::one_f_one_b, 2, 2, 2, 16);
  const StepResult r = simulate_step(s).result;
  EXPECT_EQ(r.num_gpus, 8);
  EXPECT_EQ(r.num_microbatches, 8);
  EXPECT_DOUBLE_EQ(r.tokens_per_step, 16.0 * 2048);
  EXPECT_DOUBLE_EQ(r.tokens_per_s, r.tokens_per_step / r.step_time.seconds());
  EXPECT_DOUBLE_EQ(r.mfu, r.model_tflops_per_gpu * 1e12 / 312e12);
  EXPECT_GT(r.mfu, 0.05);
  EXPECT_LT(r.mfu, 0.8);
  EXPECT_EQ(r.simulated_ranks, 2);
}

TEST(StepSimulation, SameScenarioTwiceGivesIdenticalTimelines) {
  const Scenario s = small_scenario(Schedule::one_f_one_b, 2, 4, 2, 16);
  const SimulatedStep a = simulate_step(s);
  const SimulatedStep b = simulate_step(s);
  EXPECT_EQ(a.timeline.start, b.timeline.start);
  EXPECT_EQ(a.timeline.end, b.timeline.end);
}

}  // namespace
}  // namespace ptsim::strategies

namespace ptsim::strategies {
namespace {

TEST(RankGridOrder, FastestDimensionIsConsecutive) {
  const RankGrid megatron(4, 2, 3);
  EXPECT_EQ(megatron.tp_group(1, 2), (std::vector<int>{20, 21, 22, 23}));
  EXPECT_EQ(megatron.dp_group(0, 1), (std::vector<int>{8, 12}));
  const RankGrid dp_first(4, 2, 3, RankOrder::dp_tp_pp);
  EXPECT_EQ(dp_first.dp_group(3, 0), (std::vector<int>{6, 7}));
  EXPECT_EQ(dp_first.tp_group(0, 0), (std::vector<int>{0, 2, 4, 6}));
}

TEST(RankGridOrder, TensorParallelAcrossNodesIsSlower) {
  // 2 nodes of 8: TP 8 inside a node (Megatron's order) vs TP 8 spread over both nodes.
  Scenario inside = small_scenario(Schedule::one_f_one_b, 8, 1, 2, 16);
  Scenario across = inside;
  across.layout.rank_order = RankOrder::dp_tp_pp;
  const auto a = simulate_step(inside).result;
  const auto b = simulate_step(across).result;
  EXPECT_GT(b.breakdown.exposed_tp_s, 1.2 * a.breakdown.exposed_tp_s);
  EXPECT_GT(b.step_time, a.step_time);
}

}  // namespace
}  // namespace ptsim::strategies

// Equivalence of the collapsed and full lowerings: on layouts whose ranks are equivalent
// (rank_asymmetry() finds nothing), one representative per stage and every rank give the
// same step time to the nanosecond and the same breakdowns, for every schedule and
// strategy; where ranks are not equivalent, the automatic mode simulates every rank.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "ptsim/strategies/step_lowering.h"
#include "ptsim/strategies/step_metrics.h"
#include "ptsim/strategies/task_labels.h"
#include "test_scenario.h"

namespace ptsim::strategies {
namespace {

// A small model (few layers) so that full mode stays cheap: every rank is simulated.
Scenario small(std::string_view model, std::string_view node, std::int64_t seq, std::int64_t batch, std::int64_t tp,
               std::int64_t pp, std::int64_t dp, std::int64_t cp = 1, std::int64_t layers = 8) {
  Scenario s = testing::make_scenario(model, node, seq, batch, tp, pp, dp, cp);
  s.model.num_layers = layers;
  return s;
}

struct Case {
  std::string name;
  std::function<Scenario()> make;
};

void expect_same_breakdown(const Breakdown& a, const Breakdown& b, const std::string& where) {
  EXPECT_EQ(a.compute_s, b.compute_s) << where;
  EXPECT_EQ(a.recompute_s, b.recompute_s) << where;
  EXPECT_EQ(a.bubble_s, b.bubble_s) << where;
  EXPECT_EQ(a.optimizer_s, b.optimizer_s) << where;
  EXPECT_EQ(a.exposed_tp_s, b.exposed_tp_s) << where;
  EXPECT_EQ(a.exposed_dp_s, b.exposed_dp_s) << where;
  EXPECT_EQ(a.exposed_pp_s, b.exposed_pp_s) << where;
  EXPECT_EQ(a.exposed_cp_s, b.exposed_cp_s) << where;
  EXPECT_EQ(a.exposed_ep_s, b.exposed_ep_s) << where;
}

std::vector<Case> cases() {
  std::vector<Case> c;
  auto add = [&c](std::string name, std::function<Scenario()> make) { c.push_back({std::move(name), std::move(make)}); };
  add("sequential_tp2_pp2_dp2", [] {
    Scenario s = small("megatron-1.7b", "dgx-a100", 2048, 8, 2, 2, 2);
    s.layout.schedule = Schedule::sequential;
    return s;
  });
  add("gpipe_tp2_pp4_dp2", [] {
    Scenario s = small("megatron-1.7b", "dgx-a100", 2048, 16, 2, 4, 2);
    s.layout.schedule = Schedule::gpipe;
    return s;
  });
  add("1f1b_tp4_pp4_dp4", [] { return small("llama3-8b", "dgx-h100", 4096, 32, 4, 4, 4); });
  add("interleaved_v2_tp2_pp4_dp2", [] {
    Scenario s = small("llama3-8b", "dgx-h100", 4096, 16, 2, 4, 2, 1, 16);
    s.layout.virtual_stages = 2;
    return s;
  });
  add("zb_h1_tp2_pp4_dp2", [] {
    Scenario s = small("llama3-8b", "dgx-h100", 4096, 16, 2, 4, 2);
    s.layout.schedule = Schedule::zb_h1;
    return s;
  });
  add("tp8_sequence_parallel_recompute_selective", [] {
    Scenario s = small("llama3-70b", "dgx-h100", 4096, 8, 8, 2, 2);
    s.layout.sequence_parallel = true;
    s.layout.recompute = Recompute::selective;
    return s;
  });
  add("tp_comm_overlap_recompute_full", [] {
    Scenario s = small("llama3-70b", "dgx-h100", 4096, 8, 8, 2, 2);
    s.layout.sequence_parallel = true;
    s.layout.tp_comm_overlap = true;
    s.layout.recompute = Recompute::full;
    return s;
  });
  for (int zero = 0; zero <= 3; ++zero) {
    add("dp8_zero" + std::to_string(zero), [zero] {
      Scenario s = small("llama3-8b", "dgx-h100", 4096, 16, 2, 2, 8);
      s.layout.zero_stage = zero;
      return s;
    });
  }
  add("zero3_keep_after_forward", [] {
    Scenario s = small("llama3-8b", "dgx-h100", 4096, 16, 2, 2, 8);
    s.layout.zero_stage = 3;
    s.layout.reshard_after_forward = false;
    return s;
  });
  add("overlap_grad_reduce_zero1", [] {
    Scenario s = small("llama3-8b", "dgx-h100", 4096, 16, 2, 2, 8);
    s.layout.zero_stage = 1;
    s.layout.overlap_grad_reduce = true;
    return s;
  });
  add("cp2_ring", [] { return small("llama3-8b", "dgx-h100", 16384, 4, 2, 2, 2, 2); });
  add("cp4_all_gather", [] {
    Scenario s = small("llama3-8b", "dgx-h100", 16384, 4, 2, 2, 2, 4);
    s.layout.cp_comm = ContextParallelComm::all_gather;
    return s;
  });
  add("moe_ep8_over_nodes", [] {
    Scenario s = small("mixtral-8x7b", "dgx-h100", 4096, 32, 2, 2, 8);
    s.layout.ep = 8;
    return s;
  });
  add("moe_ep4_over_dp2_cp2", [] {
    Scenario s = small("mixtral-8x7b", "dgx-h100", 8192, 8, 2, 2, 2, 2);
    s.layout.ep = 4;
    return s;
  });
  add("deepseek_v3_dense_and_moe_layers_ep8", [] {
    // MLA attention; layers 0-2 dense, the rest MoE: stage 0 holds both kinds.
    Scenario s = small("deepseek-v3", "dgx-h100", 4096, 16, 2, 2, 8);
    s.layout.ep = 8;
    s.layout.zero_stage = 1;
    s.layout.overlap_grad_reduce = true;
    return s;
  });
  add("uneven_stages", [] {
    Scenario s = small("llama3-8b", "dgx-h100", 4096, 16, 2, 4, 2, 1, 14);
    s.layout.num_layers_in_first_pipeline_stage = 2;
    s.layout.num_layers_in_last_pipeline_stage = 4;
    return s;
  });
  add("pods_oversubscribed_dp_across", [] {
    // 128 GPUs in pods of 32, 4:1 above them: every DP group spans four pods.
    Scenario s = small("llama3-8b", "dgx-h100", 4096, 64, 4, 2, 16);
    s.cluster.pod_gpus = 32;
    s.cluster.oversubscription = 4;
    s.layout.zero_stage = 1;
    s.layout.overlap_grad_reduce = true;
    return s;
  });
  add("pods_oversubscribed_pp_across", [] {
    // 256 GPUs, a stage per pod of 64 (2:1 above): every pipeline send crosses pods.
    Scenario s = small("llama3-70b", "dgx-h100", 4096, 32, 8, 4, 8);
    s.cluster.pod_gpus = 64;
    s.cluster.oversubscription = 2;
    return s;
  });
  add("rank_order_tp_pp_dp_with_pods", [] {
    // A pipeline per pod: DP groups cross pods, pipeline sends stay inside.
    Scenario s = small("llama3-8b", "dgx-h100", 4096, 32, 2, 4, 8);
    s.layout.rank_order = RankOrder::tp_pp_dp;
    s.cluster.pod_gpus = 8;
    s.cluster.oversubscription = 3;
    return s;
  });
  return c;
}

class FullMode : public ::testing::TestWithParam<Case> {};

TEST_P(FullMode, SameStepTimeAndBreakdownsAsCollapsed) {
  const Scenario s = GetParam().make();
  ASSERT_FALSE(rank_asymmetry(s).has_value()) << *rank_asymmetry(s);
  const SimulatedStep collapsed = simulate_step(s, LoweringMode::collapsed);
  const SimulatedStep full = simulate_step(s, LoweringMode::full);
  EXPECT_EQ(collapsed.lowered.mode, LoweringMode::collapsed);
  EXPECT_EQ(full.lowered.mode, LoweringMode::full);
  EXPECT_EQ(collapsed.result.simulated_ranks, s.layout.pp);
  EXPECT_EQ(full.result.simulated_ranks, s.layout.num_gpus());
  EXPECT_GT(collapsed.result.step_time.count_ns(), 0);
  EXPECT_GT(full.result.tasks, collapsed.result.tasks);
  EXPECT_EQ(collapsed.result.step_time.count_ns(), full.result.step_time.count_ns());
  EXPECT_EQ(collapsed.result.breakdown_stage, full.result.breakdown_stage);
  expect_same_breakdown(collapsed.result.breakdown, full.result.breakdown, "busiest stage");
  ASSERT_EQ(collapsed.result.stages.size(), full.result.stages.size());
  for (std::size_t i = 0; i < collapsed.result.stages.size(); ++i) {
    const auto& a = collapsed.result.stages[i];
    const auto& b = full.result.stages[i];
    EXPECT_EQ(a.rank, b.rank);
    EXPECT_EQ(a.forward_s, b.forward_s);
    EXPECT_EQ(a.backward_s, b.backward_s);
    expect_same_breakdown(a.breakdown, b.breakdown, "stage " + std::to_string(i));
  }
  // The automatic mode keeps the representative.
  EXPECT_EQ(lower_step(s).mode, LoweringMode::collapsed);
}

INSTANTIATE_TEST_SUITE_P(Layouts, FullMode, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

// Every rank of a stage finishes each block at the same time as the representative does
// (equivalent ranks), and a collective is one task on every member's stream.
TEST(FullModeStructure, CollectiveIsOneTaskOnEveryMembersStream) {
  Scenario s = small("llama3-8b", "dgx-h100", 4096, 8, 4, 2, 2);
  const LoweredStep full = lower_step(s, LoweringMode::full);
  const auto timeline = sim::simulate(full.graph);
  std::size_t tp_tasks = 0;
  for (sim::TaskId t = 0; t < full.graph.num_tasks(); ++t) {
    if (full.labels[t].kind != TaskKind::comm_tp) continue;
    ++tp_tasks;
    const auto streams = full.graph.streams_of(t);
    ASSERT_EQ(streams.size(), 4u);
    // Members are the four ranks of one TP group (four processes), on their tp-comm streams,
    // and the task carries every member's flows (NVLink tx and rx each).
    std::vector<sim::ProcessId> members;
    for (const sim::StreamId st : streams) {
      EXPECT_EQ(full.graph.stream(st).name, "tp-comm");
      members.push_back(full.graph.stream(st).process);
    }
    std::sort(members.begin(), members.end());
    EXPECT_EQ(std::unique(members.begin(), members.end()), members.end());
    EXPECT_EQ(full.graph.flows_of(t).size(), 8u);
  }
  const LoweredStep collapsed = lower_step(s, LoweringMode::collapsed);
  std::size_t collapsed_tp = 0;
  for (const auto& l : collapsed.labels) collapsed_tp += l.kind == TaskKind::comm_tp ? 1 : 0;
  // One collective task per TP group: dp x stages groups, each doing what the representative does.
  EXPECT_EQ(tp_tasks, collapsed_tp * static_cast<std::size_t>(s.layout.dp));
  EXPECT_EQ(timeline.makespan, sim::simulate(collapsed.graph).makespan);
}

// What keeps a full-mode step small (docs/performance.md): the ranks of a stage run the
// same ops, so their tasks share (duration, tag, kind) records, their flows share (bytes,
// cap) records and their labels share entries. A change that stored these per rank again
// would multiply the records by the ranks per stage (here 32) and fail this. (Measured:
// 22,432 tasks, 824 labels, 26 task records; 9,856 flows, 5 flow records.)
TEST(FullModeStructure, RanksOfAStageShareTaskFlowAndLabelRecords) {
  Scenario s = small("llama3-8b", "dgx-h100", 4096, 16, 8, 2, 4);
  const LoweredStep full = lower_step(s, LoweringMode::full);
  const LoweredStep collapsed = lower_step(s, LoweringMode::collapsed);
  const auto& g = full.graph;
  ASSERT_EQ(full.simulated_ranks, 64);  // 32 per stage
  // Labels: one entry per run of equal labels; each run is one op of one block on every
  // rank, at most what the representative alone lowers.
  EXPECT_LE(full.labels.num_distinct(), collapsed.graph.num_tasks());
  EXPECT_GT(g.num_tasks(), 20 * full.labels.num_distinct());
  EXPECT_GT(g.num_tasks(), 20 * g.num_task_records());
  EXPECT_GT(g.num_flows(), 20 * g.num_flow_specs());
  // The shared records read back what each task and flow was given.
  for (sim::TaskId t = 0; t < collapsed.graph.num_tasks(); ++t) {
    EXPECT_EQ(collapsed.graph.tag(t), static_cast<std::uint32_t>(collapsed.labels[t].kind));
  }
}

// A TP group that straddles NVLink domains unevenly: 6-GPU domains, TP groups of 4. Ranks
// 0-3 talk over NVLink; ranks 4-7 span two domains and need the network. One
// representative cannot stand for both.
TEST(RankAsymmetry, TpGroupsStraddlingDomainsUnevenlyFallBackToFull) {
  Scenario s = small("llama3-8b", "dgx-h100", 4096, 8, 4, 1, 3);
  s.cluster.gpus_per_node = 6;
  s.cluster.num_nodes = 2;
  const auto why = rank_asymmetry(s);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("TP groups of stage 0"), std::string::npos) << *why;
  const SimulatedStep automatic = simulate_step(s);
  EXPECT_EQ(automatic.lowered.mode, LoweringMode::full);
  EXPECT_EQ(automatic.result.fallback_reason, *why);
  // The group that needs the network is slower, and every TP collective waits for it.
  const SimulatedStep collapsed = simulate_step(s, LoweringMode::collapsed);
  EXPECT_GT(automatic.result.step_time, collapsed.result.step_time);
}

// Context-parallel ring steps: with tp 4 and cp 4 on 8-GPU nodes, CP ranks 0 and 4 share
// a node but 4 and 8 do not, so some ring steps cross the network.
TEST(RankAsymmetry, CpRingPairsPlacedDifferentlyAreNamed) {
  const Scenario s = small("llama3-8b", "dgx-h100", 16384, 2, 4, 1, 1, 4);
  const auto why = rank_asymmetry(s);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("CP ring steps of stage 0"), std::string::npos) << *why;
  const SimulatedStep full = simulate_step(s, LoweringMode::full);
  const SimulatedStep collapsed = simulate_step(s, LoweringMode::collapsed);
  // The representative's ring step stays on NVLink; in full, every step waits for the
  // members whose step crosses the network. (Here the exchanges hide behind attention.)
  auto longest_cp = [](const SimulatedStep& step) {
    sim::Time longest;
    for (sim::TaskId t = 0; t < step.lowered.graph.num_tasks(); ++t) {
      if (step.lowered.labels[t].kind != TaskKind::comm_cp) continue;
      longest = std::max(longest, step.timeline.end[t] - step.timeline.start[t]);
    }
    return longest;
  };
  EXPECT_GT(longest_cp(full), longest_cp(collapsed));
  EXPECT_GE(full.result.step_time, collapsed.result.step_time);
}

// Groups whose pod crossing differs between replicas of one stage: data-parallel ranks
// consecutive (dp_tp_pp), pods of 24 GPUs. TP group (d, d + 16) stays in pod 0 for d < 8
// and crosses into pod 1 for d >= 8 (and TP rank 0's DP group stays in pod 0 while TP
// rank 1's crosses).
TEST(RankAsymmetry, GroupsCrossingPodsUnevenly) {
  Scenario s = small("llama3-8b", "dgx-h100", 4096, 16, 2, 1, 16);
  s.cluster.pod_gpus = 24;
  s.cluster.oversubscription = 2;
  s.layout.rank_order = RankOrder::dp_tp_pp;  // DP group of TP rank t: ranks 16 t .. 16 t + 15
  const auto why = rank_asymmetry(s);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("across pods"), std::string::npos) << *why;
  EXPECT_NE(why->find("one pod"), std::string::npos) << *why;
}

TEST(RankAsymmetry, NoneForTheReferenceLayouts) {
  EXPECT_FALSE(rank_asymmetry(small("gpt3-175b", "dgx-a100", 2048, 16, 8, 4, 2)).has_value());
}

}  // namespace
}  // namespace ptsim::strategies

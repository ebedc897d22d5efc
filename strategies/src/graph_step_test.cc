// Layer-graph steps end to end: the sequential pipeline of any partition against the closed
// form T = sum of layer times (plus the transfers and the tail), and data parallelism.
#include "ptsim/strategies/graph_step.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>

#include "ptsim/costmodel/named_presets.h"
#include "ptsim/strategies/layer_graph.h"
#include "ptsim/strategies/step_metrics.h"

namespace ptsim::strategies {
namespace {

using sim::Time;
constexpr unsigned kSeed = 20261123;

Scenario graph_scenario(std::string_view preset, std::int64_t pp, std::int64_t dp, std::int64_t global_batch,
                        std::int64_t micro_batch, Schedule schedule) {
  Scenario s;
  s.name = "test";
  s.graph = std::make_shared<const LayerGraph>(LayerGraph::build(*find_layer_graph_preset(preset)));
  s.cluster = *costmodel::find_node_preset("dgx-a100");
  s.training.seq_length = s.graph->tokens_per_sample();
  s.training.global_batch_size = global_batch;
  s.layout.pp = pp;
  s.layout.dp = dp;
  s.layout.micro_batch_size = micro_batch;
  s.layout.schedule = schedule;
  const auto gpus = static_cast<int>(s.layout.num_gpus());
  if (gpus < s.cluster.gpus_per_node) {
    s.cluster.gpus_per_node = gpus;
  } else {
    s.cluster.num_nodes = gpus / s.cluster.gpus_per_node;
  }
  return s;
}

// A random valid partition: a random split of the topological order, then random legal
// single-layer moves between adjacent stages.
Partition random_partition(const LayerGraph& g, int p, std::mt19937& rng) {
  const auto& order = g.topological_order();
  const std::size_t n = order.size();
  std::vector<std::size_t> cuts(n - 1);
  for (std::size_t i = 0; i < cuts.size(); ++i) cuts[i] = i + 1;
  std::shuffle(cuts.begin(), cuts.end(), rng);
  cuts.resize(static_cast<std::size_t>(p - 1));
  std::sort(cuts.begin(), cuts.end());
  Partition part;
  part.num_stages = p;
  part.stage_of.assign(n, 0);
  int s = 0;
  for (std::size_t i = 0, c = 0; i < n; ++i) {
    while (c < cuts.size() && cuts[c] == i) ++s, ++c;
    part.stage_of[order[i]] = s;
  }
  for (int k = 0; k < 50; ++k) {
    const std::size_t v = std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    auto moved = part.stage_of;
    moved[v] += k % 2 ? 1 : -1;
    if (is_valid_partition(g, moved, p)) part.stage_of = moved;
  }
  return part;
}

TEST(GraphStep, SequentialPipelineOfAnyPartitionIsExactlyTheSumOfLayerTimes) {
  std::mt19937 rng(kSeed);
  for (const char* preset : {"mnist-cnn", "resnet50"}) {
    for (int p : {1, 2, 3, 5}) {
      Scenario s = graph_scenario(preset, p, 1, 12, 4, Schedule::sequential);
      s.cluster.gpu.efficiency.host_issue_s = 0;  // the closed form has no host issue
      const Partition part = random_partition(*s.graph, p, rng);
      const LoweredStep lowered = lower_graph_step(s, part);
      const sim::Timeline timeline = sim::simulate(lowered.graph);
      const GraphLayerTimes t = graph_layer_times(s);
      const std::int64_t m = s.num_microbatches();
      Time layers;  // sum of T_i = forward + backward of every layer, one micro-batch
      for (std::size_t v = 0; v < t.forward.size(); ++v) layers += t.forward[v] + t.backward[v];
      const auto& st = lowered.stages;
      Time sends;
      for (const auto& plan : st) sends += plan.send_forward + plan.send_backward;
      // Stage i's last backward ends when the gradient still has to pass stages < i.
      const Time chain = m * (layers + sends);
      Time expected, downstream;
      for (std::size_t i = 0; i < st.size(); ++i) {
        if (i > 0) downstream += st[i - 1].backward + st[i].send_backward;
        expected = std::max(expected, chain - downstream + st[i].optimizer);
      }
      EXPECT_EQ(timeline.makespan, expected) << preset << " p " << p << " seed " << kSeed;
      if (p == 1) {
        EXPECT_EQ(timeline.makespan, m * layers + st[0].optimizer);
      }
    }
  }
}

TEST(GraphStep, PipelineSchedulesKeepTheirOrderOfMakespans) {
  for (Schedule sched : {Schedule::sequential, Schedule::gpipe, Schedule::one_f_one_b}) {
    const Scenario s = graph_scenario("resnet50", 4, 2, 256, 8, sched);
    const SimulatedStep out = simulate_step(s);
    const Partition part = partition_scenario(s);
    const PartitionCost cost = evaluate_partition(graph_partition_problem(s, graph_layer_times(s)), part.stage_of);
    // No schedule beats m x the bottleneck stage's compute.
    double bottleneck_compute = 0;
    for (double c : cost.compute_s) bottleneck_compute = std::max(bottleneck_compute, c);
    EXPECT_GE(out.result.step_time.seconds(), static_cast<double>(s.num_microbatches()) * bottleneck_compute);
    EXPECT_GT(out.result.breakdown.exposed_dp_s, 0);
    EXPECT_EQ(out.result.stages.size(), 4u);
  }
  const auto time = [](Schedule sched) {
    return simulate_step(graph_scenario("resnet50", 4, 2, 256, 8, sched)).result.step_time;
  };
  EXPECT_LT(time(Schedule::one_f_one_b), time(Schedule::sequential));
  EXPECT_LT(time(Schedule::gpipe), time(Schedule::sequential));
}

TEST(GraphStep, ResNet50DataParallelScalesOnA100s) {
  double previous = 0;
  for (std::int64_t dp : {8, 16, 32, 64}) {
    const Scenario s = graph_scenario("resnet50", 1, dp, 64 * dp, 64, Schedule::one_f_one_b);
    const StepResult r = simulate_step(s).result;
    EXPECT_TRUE(r.memory.fits) << dp;
    EXPECT_EQ(r.parameters_total, 25557032);
    EXPECT_GT(r.breakdown.exposed_dp_s, 0) << dp;
    EXPECT_GT(r.tokens_per_s, previous) << dp;  // images/s grow with the GPUs (weak scaling)
    EXPECT_GT(r.mfu, 0.05);
    EXPECT_LT(r.mfu, 0.8);
    previous = r.tokens_per_s;
  }
}

}  // namespace
}  // namespace ptsim::strategies

// Contention on the flow network: collectives lowered to flows on a rank's ports slow each
// other down when they overlap, as NCCL collectives sharing NICs do.
#include <gtest/gtest.h>

#include <vector>

#include "ptsim/costmodel/collective_algorithms.h"
#include "ptsim/sim/task_simulator.h"

namespace ptsim::strategies {
namespace {

using costmodel::CollectiveOp;
using sim::Time;

struct Rank {
  sim::ProcessId process;
  sim::LinkId net_tx, net_rx;
};

Rank add_rank(sim::TaskGraph& g, double capacity) {
  Rank r{};
  r.process = g.add_process("rank");
  r.net_tx = g.add_link(r.process, "net-tx", capacity);
  r.net_rx = g.add_link(r.process, "net-rx", capacity);
  return r;
}

// One transfer for a single-phase network plan on the rank's NIC.
sim::TaskId add_network_collective(sim::TaskGraph& g, const Rank& r, const costmodel::CollectivePlan& plan) {
  const auto& ph = plan.phases.at(0);
  const std::vector<sim::FlowSpec> flows = {{{r.net_tx}, ph.network_bytes, ph.network_rate_bytes_per_s},
                                            {{r.net_rx}, ph.network_bytes, ph.network_rate_bytes_per_s}};
  const auto stream = g.add_stream(r.process, "comm");
  return g.add_transfer(stream, flows, Time::from_seconds(ph.latency_s), 0);
}

costmodel::ClusterSpec dgx_a100(int nodes) {
  costmodel::ClusterSpec c = *costmodel::find_node_preset("dgx-a100");
  c.num_nodes = nodes;
  return c;
}

double nic_capacity(const costmodel::ClusterSpec& c) {
  return c.network_bandwidth_bytes_per_s * c.gpu.efficiency.network_bandwidth_fraction;
}

TEST(NetworkContention, TwoAllReducesSharingNicsEachTakeTwiceAsLong) {
  const auto c = dgx_a100(16);
  const auto plan = costmodel::plan_collective(CollectiveOp::all_reduce, {16, 1, 16, false}, 1e9, c);
  ASSERT_EQ(plan.phases.size(), 1u);

  sim::TaskGraph alone;
  const Rank a = add_rank(alone, nic_capacity(c));
  const auto t = add_network_collective(alone, a, plan);
  const auto tl_alone = sim::simulate(alone);
  const double one = (tl_alone.end[t] - tl_alone.start[t]).seconds();

  sim::TaskGraph shared;
  const Rank b = add_rank(shared, nic_capacity(c));
  const auto t1 = add_network_collective(shared, b, plan);
  const auto t2 = add_network_collective(shared, b, plan);
  const auto tl = sim::simulate(shared);
  for (auto task : {t1, t2}) {
    const double both = (tl.end[task] - tl.start[task]).seconds();
    EXPECT_NEAR(both / one, 2.0, 0.02) << both << " vs " << one;
  }
}

TEST(NetworkContention, DataParallelAllReduceAndPipelineTrafficSlowEachOther) {
  // A DP all-reduce over 128 nodes (rail 0) and pipeline sends to the next node on the same
  // rail share the GPU's NIC.
  const auto c = dgx_a100(256);
  const auto dp = costmodel::plan_collective(CollectiveOp::all_reduce, {128, 1, 128, false}, 2e9, c);
  const auto pp = costmodel::plan_collective(CollectiveOp::send_recv, {2, 1, 2, false}, 100e6, c);

  auto run = [&](bool with_dp, bool with_pp) {
    sim::TaskGraph g;
    const Rank r = add_rank(g, nic_capacity(c));
    const Rank peer = add_rank(g, nic_capacity(c));
    std::vector<sim::TaskId> dp_tasks, pp_tasks;
    if (with_dp) dp_tasks.push_back(add_network_collective(g, r, dp));
    if (with_pp) {
      const auto stream = g.add_stream(r.process, "pp");
      const auto& ph = pp.phases.at(0);
      std::optional<sim::TaskId> prev;
      for (int i = 0; i < 8; ++i) {  // a train of micro-batch sends
        const sim::FlowSpec f{{r.net_tx, peer.net_rx}, ph.network_bytes, ph.network_rate_bytes_per_s};
        const auto t = g.add_transfer(stream, std::span<const sim::FlowSpec>(&f, 1), Time::from_seconds(ph.latency_s), 0);
        pp_tasks.push_back(t);
      }
    }
    const auto tl = sim::simulate(g);
    Time dp_time, pp_time;
    for (auto t : dp_tasks) dp_time += tl.end[t] - tl.start[t];
    if (!pp_tasks.empty()) pp_time = tl.end[pp_tasks.back()] - tl.start[pp_tasks.front()];
    return std::pair{dp_time, pp_time};
  };
  const auto dp_alone = run(true, false).first;
  const auto pp_alone = run(false, true).second;
  const auto [dp_shared, pp_shared] = run(true, true);
  EXPECT_GT(dp_shared.seconds(), 1.05 * dp_alone.seconds());
  EXPECT_GT(pp_shared.seconds(), 1.5 * pp_alone.seconds());
}

}  // namespace
}  // namespace ptsim::strategies

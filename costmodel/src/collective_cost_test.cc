#include "ptsim/costmodel/collective_cost.h"

#include <gtest/gtest.h>

#include <vector>

namespace ptsim::costmodel {
namespace {

TEST(CollectiveTime, RingAllReduceClosedForm) {
  const LinkParams link{100e9, 5e-6};
  for (int n : {2, 3, 8, 64}) {
    const double s = 256e6;
    const double expected = 2.0 * (n - 1) / n * s / 100e9 + 2.0 * (n - 1) * 5e-6;
    EXPECT_DOUBLE_EQ(collective_time_s(Collective::all_reduce, n, s, link), expected) << n;
  }
}

TEST(CollectiveTime, GatherScatterAndPointToPoint) {
  const LinkParams link{50e9, 2e-6};
  const double s = 1e9;
  EXPECT_DOUBLE_EQ(collective_time_s(Collective::all_gather, 4, s, link), 0.75 * s / 50e9 + 3 * 2e-6);
  EXPECT_DOUBLE_EQ(collective_time_s(Collective::reduce_scatter, 4, s, link), 0.75 * s / 50e9 + 3 * 2e-6);
  EXPECT_DOUBLE_EQ(collective_time_s(Collective::send_recv, 2, s, link), s / 50e9 + 2e-6);
  EXPECT_EQ(collective_time_s(Collective::all_reduce, 1, s, link), 0);
}

TEST(GroupLink, NvlinkInsideANodeNetworkAcross) {
  ClusterSpec c = *find_node_preset("dgx-a100");
  c.num_nodes = 4;
  const std::vector<int> tp_group{8, 9, 10, 11, 12, 13, 14, 15};
  const std::vector<int> dp_group{0, 8, 16, 24};
  const LinkParams intra = group_link(c, tp_group);
  EXPECT_DOUBLE_EQ(intra.bandwidth_bytes_per_s, 300e9 * c.gpu.efficiency.nvlink_bandwidth_fraction);
  EXPECT_DOUBLE_EQ(intra.step_latency_s, c.gpu.efficiency.intra_node_step_latency_s);
  const LinkParams inter = group_link(c, dp_group);
  EXPECT_DOUBLE_EQ(inter.bandwidth_bytes_per_s, 25e9 * c.gpu.efficiency.network_bandwidth_fraction);
  EXPECT_TRUE(group_spans_nodes(c, dp_group));
  EXPECT_FALSE(group_spans_nodes(c, tp_group));
}

}  // namespace
}  // namespace ptsim::costmodel

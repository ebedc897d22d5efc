#include "ptsim/costmodel/collective_algorithms.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>

namespace ptsim::costmodel {
namespace {

ClusterSpec node(const char* preset, int nodes = 1) {
  ClusterSpec c = *find_node_preset(preset);
  c.num_nodes = nodes;
  return c;
}

double busbw_gb_per_s(const CollectivePlan& plan, CollectiveOp op, int n, double bytes) {
  return bytes / plan.time_s * bus_bandwidth_factor(op, n) / 1e9;
}

// nccl-tests all_reduce_perf in-place busbw (GB/s), one 8-GPU VM, sizes 1 MiB .. 8 GiB in
// powers of two: Azure AI-benchmarking-guide ND A100 v4 and ND H100 v5 results (commit
// 8fd0c6e), as collected in ../shared/validation/interconnect_nccl.json.
constexpr std::array<double, 14> kA100 = {36.22,  53.54,  71.43,  89.99,  109.22, 132.77, 166.63,
                                          174.18, 213.87, 221.58, 228.1,  230.22, 230.48, 231.58};
constexpr std::array<double, 14> kH100 = {43.7,   81.93,  128.73, 172.13, 234.45, 295.53, 361.78,
                                          400.61, 423.38, 438.46, 466.35, 472.36, 475.54, 478.87};

void expect_curve(const char* preset, const std::array<double, 14>& measured) {
  const ClusterSpec c = node(preset);
  const GroupShape shape{8, 8, 1, false};
  for (std::size_t i = 0; i < measured.size(); ++i) {
    const double bytes = std::ldexp(1.0, 20 + static_cast<int>(i));
    const CollectivePlan plan = plan_collective(CollectiveOp::all_reduce, shape, bytes, c);
    const double model = busbw_gb_per_s(plan, CollectiveOp::all_reduce, 8, bytes);
    EXPECT_NEAR(model / measured[i], 1.0, 0.10)
        << preset << " " << bytes << " B: model " << model << " GB/s (" << to_string(plan.algorithm) << "/"
        << plan.protocol << "), measured " << measured[i];
  }
}

TEST(CollectiveAlgorithms, A100EightGpuAllReduceCurveWithinTenPercent) { expect_curve("dgx-a100", kA100); }
TEST(CollectiveAlgorithms, H100EightGpuAllReduceCurveWithinTenPercent) { expect_curve("dgx-h100", kH100); }

TEST(CollectiveAlgorithms, MaintainersLargeMessageFigures) {
  const GroupShape eight{8, 8, 1, false};
  const double big = std::ldexp(1.0, 33);  // 8 GiB
  // A100: ~230 GB/s all-reduce busbw (nccl-tests #149).
  const auto a100 = plan_collective(CollectiveOp::all_reduce, eight, big, node("dgx-a100"));
  EXPECT_NEAR(busbw_gb_per_s(a100, CollectiveOp::all_reduce, 8, big), 230, 10);
  // H100: NVLS all-reduce ~480, ring collectives ~370 (nccl-tests #212).
  const auto h100 = plan_collective(CollectiveOp::all_reduce, eight, big, node("dgx-h100"));
  EXPECT_EQ(h100.algorithm, Algorithm::nvls);
  EXPECT_NEAR(busbw_gb_per_s(h100, CollectiveOp::all_reduce, 8, big), 480, 15);
  const auto ag = plan_collective(CollectiveOp::all_gather, eight, big, node("dgx-h100"));
  EXPECT_EQ(ag.algorithm, Algorithm::ring);
  EXPECT_NEAR(busbw_gb_per_s(ag, CollectiveOp::all_gather, 8, big), 370, 10);
}

TEST(CollectiveAlgorithms, SmallMessagesUseLowLatencyProtocol) {
  const auto plan = plan_collective(CollectiveOp::all_reduce, {8, 8, 1, false}, 64 * 1024, node("dgx-a100"));
  EXPECT_EQ(plan.protocol, "LL");
  const auto big = plan_collective(CollectiveOp::all_reduce, {8, 8, 1, false}, 1 << 30, node("dgx-a100"));
  EXPECT_EQ(big.protocol, "Simple");
}

TEST(CollectiveAlgorithms, AcrossNodesEachGpuSendsItsShareOverItsOwnNic) {
  // 16 GPUs on 2 DGX A100: rings per rail; a GPU's NIC carries 1/8 of the ring volume.
  const ClusterSpec c = node("dgx-a100", 2);
  const double s = 1e9;
  const auto plan = plan_collective(CollectiveOp::all_gather, {16, 8, 2, false}, s, c);
  ASSERT_EQ(plan.algorithm, Algorithm::ring);
  ASSERT_EQ(plan.phases.size(), 1u);
  EXPECT_DOUBLE_EQ(plan.phases[0].network_bytes, 15.0 / 16 * s / 8);
  EXPECT_DOUBLE_EQ(plan.phases[0].nvlink_bytes, 7.0 / 8 * 15.0 / 16 * s);
}

TEST(CollectiveAlgorithms, LargeScaleAllReducePrefersLogarithmicLatency) {
  // 1,024 nodes, one GPU each in the group, a small message: a ring's 2(n-1) network steps
  // cost far more than a tree's 2 log2(n).
  ClusterSpec c = node("dgx-h100", 1024);
  const auto plan = plan_collective(CollectiveOp::all_reduce, {1024, 1, 1024, false}, 1 << 20, c);
  EXPECT_EQ(plan.algorithm, Algorithm::tree);
  const auto big = plan_collective(CollectiveOp::all_reduce, {16, 8, 2, false}, 1 << 30, c);
  EXPECT_NE(big.algorithm, Algorithm::nvls);  // NVLS is inside one NVLink domain only
}

TEST(CollectiveAlgorithms, OversubscribedPodsSlowCrossPodTraffic) {
  ClusterSpec c = node("dgx-h100", 16);
  c.pod_gpus = 64;
  c.oversubscription = 7;
  const auto inside = plan_collective(CollectiveOp::all_reduce, {8, 1, 8, false}, 1 << 30, c);
  const auto across = plan_collective(CollectiveOp::all_reduce, {16, 1, 16, true}, 1 << 30, c);
  EXPECT_GT(across.time_s, 5 * inside.time_s);
}

TEST(CollectiveAlgorithms, RingClosedForms) {
  // Inside one node a large all-reduce on A100 is NCCL's ring in the Simple regime:
  // exactly 2(n-1)/n S/B + 2(n-1) alpha; all-gather and reduce-scatter (n-1)/n S/B + (n-1) alpha.
  const ClusterSpec c = node("dgx-a100");
  const auto& eff = c.gpu.efficiency;
  const double b = 300e9 * eff.nvlink_bandwidth_fraction, alpha = eff.intra_node_step_latency_s;
  const double s = 4e9;
  for (int n : {2, 4, 8}) {
    const GroupShape shape{n, n, 1, false};
    const auto ar = plan_collective(CollectiveOp::all_reduce, shape, s, c);
    EXPECT_EQ(ar.algorithm, Algorithm::ring);
    EXPECT_DOUBLE_EQ(ar.time_s, alpha * (2 * (n - 1)) + 2.0 * (n - 1) / n * s / b) << n;
    const auto ag = plan_collective(CollectiveOp::all_gather, shape, s, c);
    EXPECT_DOUBLE_EQ(ag.time_s, alpha * (n - 1) + (n - 1.0) / n * s / b) << n;
    const auto rs = plan_collective(CollectiveOp::reduce_scatter, shape, s, c);
    EXPECT_DOUBLE_EQ(rs.time_s, ag.time_s);
  }
  const auto p2p = plan_collective(CollectiveOp::send_recv, {2, 2, 1, false}, s, c);
  EXPECT_DOUBLE_EQ(p2p.time_s, alpha + s / b);
  EXPECT_EQ(plan_collective(CollectiveOp::all_reduce, {1, 1, 1, false}, s, c).time_s, 0);
}

TEST(CollectiveAlgorithms, BusBandwidthFactorsAreNcclTests) {
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::all_reduce, 8), 1.75);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::all_gather, 8), 0.875);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::reduce_scatter, 4), 0.75);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::all_to_all, 2), 0.5);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::broadcast, 8), 1);
}

}  // namespace
}  // namespace ptsim::costmodel

#include "ptsim/costmodel/profile.h"

#include <cmath>
#include <memory>

#include <gtest/gtest.h>

namespace ptsim::costmodel {
namespace {

// A 2x2x2 grid whose times follow t = c * m * n * k exactly: log-space interpolation is
// exact for a power law, so any point inside the grid must come back exactly.
GemmTable power_law_table() {
  GemmTable t;
  t.dtype = Dtype::bf16;
  t.m = {1024, 16384};
  t.n = {1024, 8192};
  t.k = {2048, 8192};
  for (double m : t.m)
    for (double n : t.n)
      for (double k : t.k) t.time_s.push_back(1e-15 * m * n * k);
  t.fitted_efficiency = 0.5;
  return t;
}

TEST(Profile, GemmInterpolationIsExactForAPowerLawInLogSpace) {
  const GemmTable t = power_law_table();
  EXPECT_NEAR(*gemm_table_time_s(t, 4096, 2048, 4096), 1e-15 * 4096.0 * 2048 * 4096, 1e-15);
  EXPECT_DOUBLE_EQ(*gemm_table_time_s(t, 1024, 1024, 2048), 1e-15 * 1024.0 * 1024 * 2048);
  EXPECT_FALSE(gemm_table_time_s(t, 512, 2048, 4096).has_value());
  EXPECT_FALSE(gemm_table_time_s(t, 4096, 2048, 16384).has_value());
}

TEST(Profile, GemmOutsideTheGridUsesTheRooflineWithTheFittedEfficiency) {
  GpuSpec gpu = *find_gpu_preset("a100-sxm-80gb");
  gpu.efficiency.kernel_launch_overhead_s = 0;
  HardwareProfile p;
  p.gemm.push_back(power_law_table());
  const double m = 65536, n = 4096, k = 4096;
  KernelWork w{OpClass::gemm, Dtype::bf16, 2 * m * n * k, gemm_bytes(m, n, k, 2), 1};
  w.shape.m = m;
  w.shape.n = n;
  w.shape.k = k;
  EXPECT_DOUBLE_EQ(profiled_kernel_time_s(w, gpu, p), 2 * m * n * k / (312e12 * 0.5));
  // Inside the grid: the table, forward only.
  w.shape.m = 4096;
  EXPECT_NEAR(profiled_kernel_time_s(w, gpu, p), 1e-15 * 4096.0 * 4096 * 4096, 1e-15);
  // Backward (two passes): data gradient m x k x n plus weight gradient k x n x m.
  w.launches = 2;
  EXPECT_NEAR(profiled_kernel_time_s(w, gpu, p), 2e-15 * 4096.0 * 4096 * 4096, 1e-15);
}

TEST(Profile, KernelTimeConsultsTheProfileOnTheGpu) {
  GpuSpec gpu = *find_gpu_preset("a100-sxm-80gb");
  const double bytes = 1e8;
  const KernelWork w{OpClass::memory, Dtype::bf16, 0, bytes, 1};
  const double roofline = kernel_time_s(w, gpu);
  auto p = std::make_shared<HardwareProfile>();
  p->memory.push_back({"elementwise", {1e6, 1e9}, {1e11, 1e12}});
  gpu.profile = p;
  // 1e8 bytes sits halfway between 1e6 and 1e9... in log space: 10^(2/3) of the way.
  const double bw = std::exp(std::log(1e11) + (2.0 / 3.0) * (std::log(1e12) - std::log(1e11)));
  EXPECT_NEAR(kernel_time_s(w, gpu), bytes / bw, 1e-12);
  EXPECT_NE(kernel_time_s(w, gpu), roofline);
}

TEST(Profile, MeasuredCollectiveCurveReplacesTheModelTime) {
  ClusterSpec c = *find_node_preset("dgx-a100");
  const GroupShape shape{8, 8, 1, false};
  const double model = plan_collective(CollectiveOp::all_reduce, shape, 64e6, c).time_s;
  auto p = std::make_shared<HardwareProfile>();
  CollectiveCurve curve;
  curve.op = CollectiveOp::all_reduce;
  curve.ranks = curve.ranks_per_domain = 8;
  curve.bytes = {1e6, 1e9};
  curve.time_s = {50e-6, 8e-3};
  curve.alpha_s = 40e-6;
  curve.beta_s_per_byte = 8e-12;
  p->collectives.push_back(curve);
  c.gpu.profile = p;
  const CollectivePlan plan = plan_collective(CollectiveOp::all_reduce, shape, 64e6, c);
  const double expected = interpolate_log(curve.bytes, curve.time_s, 64e6);
  EXPECT_DOUBLE_EQ(plan.time_s, expected);
  EXPECT_NE(plan.time_s, model);
  double phases = 0;  // the phases add up to the measured time
  for (const auto& ph : plan.phases) {
    double t = 0;
    if (ph.nvlink_bytes > 0) t = std::max(t, ph.nvlink_bytes / ph.nvlink_rate_bytes_per_s);
    if (ph.network_bytes > 0) t = std::max(t, ph.network_bytes / ph.network_rate_bytes_per_s);
    phases += ph.latency_s + t;
  }
  EXPECT_NEAR(phases, expected, 1e-15);
  // Outside the measured sizes: the alpha-beta fit.
  EXPECT_DOUBLE_EQ(plan_collective(CollectiveOp::all_reduce, shape, 4e9, c).time_s, 40e-6 + 8e-12 * 4e9);
  // Another group shape or op: the network model.
  const GroupShape four{4, 4, 1, false};
  ClusterSpec bare = c;
  bare.gpu.profile = nullptr;
  EXPECT_DOUBLE_EQ(plan_collective(CollectiveOp::all_reduce, four, 64e6, c).time_s,
                   plan_collective(CollectiveOp::all_reduce, four, 64e6, bare).time_s);
  EXPECT_DOUBLE_EQ(plan_collective(CollectiveOp::all_gather, shape, 64e6, c).time_s,
                   plan_collective(CollectiveOp::all_gather, shape, 64e6, bare).time_s);
}

}  // namespace
}  // namespace ptsim::costmodel

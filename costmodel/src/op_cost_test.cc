#include "ptsim/costmodel/op_cost.h"

#include <gtest/gtest.h>

namespace ptsim::costmodel {
namespace {

GpuSpec a100() { return *find_gpu_preset("a100-sxm-80gb"); }

TEST(KernelTime, ComputeBoundGemmUsesAchievableFlops) {
  const GpuSpec gpu = a100();
  const double m = 8192, n = 8192, k = 8192;
  const KernelWork gemm{OpClass::gemm, Dtype::bf16, 2 * m * n * k, gemm_bytes(m, n, k, 2)};
  const double expected = 2 * m * n * k / (312e12 * gpu.efficiency.gemm_flops_fraction) +
                          gpu.efficiency.kernel_launch_overhead_s;
  EXPECT_DOUBLE_EQ(kernel_time_s(gemm, gpu), expected);
}

TEST(KernelTime, MemoryBoundKernelUsesAchievableBandwidth) {
  const GpuSpec gpu = a100();
  const double bytes = 1e9;
  const KernelWork norm{OpClass::memory, Dtype::bf16, 5e6, bytes};
  const double expected = bytes / (2039e9 * gpu.efficiency.memory_bandwidth_fraction) +
                          gpu.efficiency.kernel_launch_overhead_s;
  EXPECT_DOUBLE_EQ(kernel_time_s(norm, gpu), expected);
}

TEST(KernelTime, AttentionUsesItsOwnFraction) {
  GpuSpec gpu = a100();
  gpu.efficiency.kernel_launch_overhead_s = 0;
  const KernelWork attn{OpClass::attention, Dtype::fp16, 1e12, 0};
  EXPECT_DOUBLE_EQ(kernel_time_s(attn, gpu), 1e12 / (312e12 * gpu.efficiency.attention_flops_fraction));
}

TEST(Presets, SpecSheetPeaks) {
  EXPECT_DOUBLE_EQ(a100().peak(Dtype::bf16), 312e12);
  EXPECT_DOUBLE_EQ(a100().peak(Dtype::fp8), 0);  // A100 has no FP8 tensor cores
  const GpuSpec h100 = *find_gpu_preset("h100-sxm-80gb");
  EXPECT_DOUBLE_EQ(h100.peak(Dtype::bf16), 989.5e12);
  EXPECT_DOUBLE_EQ(h100.peak(Dtype::fp8), 1979e12);
  EXPECT_DOUBLE_EQ(find_gpu_preset("h200-sxm-141gb")->hbm_bandwidth_bytes_per_s, 4800e9);
  const ClusterSpec dgx = *find_node_preset("dgx-a100");
  EXPECT_EQ(dgx.gpus_per_node, 8);
  EXPECT_DOUBLE_EQ(dgx.network_bandwidth_bytes_per_s, 25e9);  // 200 Gb/s HDR per GPU
  EXPECT_DOUBLE_EQ(find_node_preset("dgx-h100")->network_bandwidth_bytes_per_s, 50e9);
  EXPECT_FALSE(find_gpu_preset("v100").has_value());
}

}  // namespace
}  // namespace ptsim::costmodel

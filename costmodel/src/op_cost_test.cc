#include "ptsim/costmodel/op_cost.h"

#include <gtest/gtest.h>

#include <utility>

namespace ptsim::costmodel {
namespace {

GpuSpec a100() { return *find_gpu_preset("a100-sxm-80gb"); }

TEST(KernelTime, ComputeBoundGemmUsesAchievableFlops) {
  const GpuSpec gpu = a100();
  const double m = 8192, n = 8192, k = 8192;
  const KernelWork gemm{OpClass::gemm, Dtype::bf16, 2 * m * n * k, gemm_bytes(m, n, k, 2)};  // shape unknown
  const double expected = 2 * m * n * k / (312e12 * gpu.efficiency.gemm_flops_fraction) +
                          gpu.efficiency.kernel_launch_overhead_s;
  EXPECT_DOUBLE_EQ(kernel_time_s(gemm, gpu), expected);
}

TEST(GemmWaves, TileAndWaveQuantization) {
  const GpuSpec gpu = a100();  // 108 SMs, 128 x 128 tiles
  // 8192^2: 64 x 64 = 4096 tiles in 38 waves of 108.
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency({8192, 8192, 8192}, gpu), 4096.0 / (38 * 108));
  // 1024^2: 64 tiles, one wave with 44 SMs idle.
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency({1024, 1024, 1024}, gpu), 64.0 / 108);
  // 200 columns pad to 256: tile quantization, 16 x 2 tiles in one wave.
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency({2048, 200, 1024}, gpu), (2048.0 * 200) / (108 * 128.0 * 128));
  // Batched: 32 x (4 x 4 tiles) = 512 tiles, 5 waves.
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency({512, 512, 64, 32}, gpu), 512.0 / (5 * 108));
  // Backward: data gradient 8192 x 1024 (512 tiles, 5 waves) and weight gradient
  // 1024 x 128 (8 tiles, 1 wave) of equal FLOPs: harmonic mean.
  const double dgrad = 512.0 / (5 * 108), wgrad = 8.0 / 108;
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency({8192, 128, 1024, 1, true}, gpu), 2 / (1 / dgrad + 1 / wgrad));
  // Unknown shape or SM count: no quantization.
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency({}, gpu), 1.0);
  GpuSpec inline_gpu = gpu;
  inline_gpu.num_sms = 0;
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency({1024, 1024, 1024}, inline_gpu), 1.0);
}

TEST(GemmWaves, KernelTimeDividesByTheFill) {
  GpuSpec gpu = a100();
  gpu.efficiency.kernel_launch_overhead_s = 0;
  const double m = 1024, n = 1024, k = 1024;
  const KernelWork gemm{OpClass::gemm, Dtype::fp16, 2 * m * n * k, 0, 1, {m, n, k}};
  EXPECT_DOUBLE_EQ(kernel_time_s(gemm, gpu),
                   2 * m * n * k / (312e12 * gpu.efficiency.gemm_flops_fraction * (64.0 / 108)));
}

// The shape model against Azure's cuBLASLt fp16 square GEMMs on A100
// (../shared/validation/interconnect_nccl.json): within 15% from 1024^3 to 16384^3.
TEST(GemmWaves, A100SquareGemmsNearMeasured) {
  const GpuSpec gpu = a100();
  const std::pair<double, double> measured[] = {{1024, 119.4}, {2048, 221.8}, {4096, 228.0}, {8192, 253.7}, {16384, 256.5}};
  for (const auto& [size, tflops] : measured) {
    const double flops = 2 * size * size * size;
    const KernelWork gemm{OpClass::gemm, Dtype::fp16, flops, gemm_bytes(size, size, size, 2), 1, {size, size, size}};
    const double predicted = flops / kernel_time_s(gemm, gpu) / 1e12;
    EXPECT_NEAR(predicted / tflops, 1.0, 0.15) << size << "^3: predicted " << predicted << " TFLOP/s";
  }
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

TEST(KernelBesideCollective, GemmRunsOnTheSmsNcclLeaves) {
  const GpuSpec gpu = a100();  // 108 SMs, NCCL holds 24 while a collective runs
  ASSERT_EQ(gpu.nccl.collective_sms, 24);
  const double m = 8192;
  const KernelWork gemm{OpClass::gemm, Dtype::bf16, 2 * m * m * m, gemm_bytes(m, m, m, 2), 1, {m, m, m}};
  const double gap = gpu.efficiency.kernel_launch_overhead_s;
  const double whole = kernel_time_s(gemm, gpu);
  // 4096 tiles: 38 waves on 108 SMs, 49 waves on 84 SMs at 84/108 of the peak.
  const double shared = 2 * m * m * m / (312e12 * 84.0 / 108 * gpu.efficiency.gemm_flops_fraction *
                                         (m * m / (49 * 84 * 128.0 * 128))) + gap;
  EXPECT_DOUBLE_EQ(kernel_time_beside_collective_s(gemm, gpu, 1.0), shared);  // collective outlasts it
  // The collective ends after 1 ms: the GEMM did 1 ms / shared of its work on 84 SMs.
  EXPECT_DOUBLE_EQ(kernel_time_beside_collective_s(gemm, gpu, 1e-3), 1e-3 + whole * (1 - 1e-3 / shared));
  EXPECT_DOUBLE_EQ(kernel_time_beside_collective_s(gemm, gpu, 0), whole);
}

TEST(KernelBesideCollective, MemoryBoundKernelAndNoChannelCountAreUnchanged) {
  GpuSpec gpu = a100();
  const KernelWork norm{OpClass::memory, Dtype::bf16, 0, 1e9};
  EXPECT_DOUBLE_EQ(kernel_time_beside_collective_s(norm, gpu, 1.0), kernel_time_s(norm, gpu));
  gpu.nccl.collective_sms = 0;  // not modelled (an inline GPU)
  const KernelWork gemm{OpClass::gemm, Dtype::bf16, 1e12, 1e8, 1, {4096, 4096, 4096}};
  EXPECT_DOUBLE_EQ(kernel_time_beside_collective_s(gemm, gpu, 1.0), kernel_time_s(gemm, gpu));
}

}  // namespace
}  // namespace ptsim::costmodel

#include "ptsim/costmodel/op_cost.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "ptsim/costmodel/profile.h"

namespace ptsim::costmodel {

namespace {

// One GEMM's output m x n (times batch): tiles, whole waves of one tile per SM.
double wave_fill(double m, double n, double batch, const GpuSpec& gpu) {
  const double tm = gpu.efficiency.gemm_tile_m;
  const double tn = gpu.efficiency.gemm_tile_n;
  const double sms = static_cast<double>(gpu.num_sms);
  const double tiles = std::ceil(m / tm) * std::ceil(n / tn) * batch;
  const double waves = std::ceil(tiles / sms);
  return (m * n * batch) / (waves * sms * tm * tn);
}

}  // namespace

double gemm_wave_efficiency(const GemmShape& s, const GpuSpec& gpu) {
  if (gpu.num_sms <= 0 || s.m <= 0 || s.n <= 0 || s.k <= 0 || gpu.efficiency.gemm_tile_m <= 0 ||
      gpu.efficiency.gemm_tile_n <= 0) {
    return 1.0;
  }
  if (!s.backward) return wave_fill(s.m, s.n, s.batch, gpu);
  // Data and weight gradients do equal FLOPs: the pair's time is the sum of both halves.
  const double dgrad = wave_fill(s.m, s.k, s.batch, gpu);
  const double wgrad = wave_fill(s.k, s.n, s.batch, gpu);
  return 2.0 / (1.0 / dgrad + 1.0 / wgrad);
}

double kernel_time_s(const KernelWork& work, const GpuSpec& gpu) {
  if (gpu.profile != nullptr) return profiled_kernel_time_s(work, gpu, *gpu.profile);
  const Efficiency& eff = gpu.efficiency;
  double compute_s = 0;
  if (work.flops > 0) {
    double fraction = eff.attention_flops_fraction;
    if (work.op_class != OpClass::attention) fraction = eff.gemm_flops_fraction * gemm_wave_efficiency(work.shape, gpu);
    const double peak = gpu.peak(work.dtype);
    assert(peak > 0 && "validated upstream: the GPU supports the dtype");
    compute_s = work.flops / (peak * fraction);
  }
  const double memory_s =
      work.bytes > 0 ? work.bytes / (gpu.hbm_bandwidth_bytes_per_s * eff.memory_bandwidth_fraction)
                     : 0.0;
  return std::max(compute_s, memory_s) + work.launches * eff.kernel_launch_overhead_s;
}

double kernel_time_beside_collective_s(const KernelWork& work, const GpuSpec& gpu, double comm_s) {
  const double whole = kernel_time_s(work, gpu);
  const std::int64_t taken = gpu.nccl.collective_sms;
  if (comm_s <= 0 || gpu.num_sms <= 0 || taken <= 0 || taken >= gpu.num_sms || gpu.profile != nullptr) return whole;
  GpuSpec rest = gpu;
  rest.num_sms = gpu.num_sms - taken;
  const double share = static_cast<double>(rest.num_sms) / static_cast<double>(gpu.num_sms);
  for (double& peak : rest.peak_flops) peak *= share;
  const double shared = kernel_time_s(work, rest);
  if (shared <= whole) return whole;  // memory-bound: the HBM, not the SMs, limits it
  if (comm_s >= shared) return shared;
  // The collective ends first: the kernel did comm_s / shared of its work on the fewer SMs.
  return comm_s + whole * (1.0 - comm_s / shared);
}

}  // namespace ptsim::costmodel

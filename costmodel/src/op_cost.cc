#include "ptsim/costmodel/op_cost.h"

#include <algorithm>
#include <cassert>

#include "ptsim/costmodel/profile.h"

namespace ptsim::costmodel {

double kernel_time_s(const KernelWork& work, const GpuSpec& gpu) {
  if (gpu.profile != nullptr) return profiled_kernel_time_s(work, gpu, *gpu.profile);
  const Efficiency& eff = gpu.efficiency;
  double compute_s = 0;
  if (work.flops > 0) {
    const double fraction = work.op_class == OpClass::attention ? eff.attention_flops_fraction
                                                                : eff.gemm_flops_fraction;
    const double peak = gpu.peak(work.dtype);
    assert(peak > 0 && "validated upstream: the GPU supports the dtype");
    compute_s = work.flops / (peak * fraction);
  }
  const double memory_s =
      work.bytes > 0 ? work.bytes / (gpu.hbm_bandwidth_bytes_per_s * eff.memory_bandwidth_fraction)
                     : 0.0;
  return std::max(compute_s, memory_s) + work.launches * eff.kernel_launch_overhead_s;
}

}  // namespace ptsim::costmodel

// Time of one GPU kernel under cost model v1: a roofline with achievable rather than peak
// rates, plus a fixed launch gap:
//   t = max(flops / (peak(dtype) * flops_fraction(class)), bytes / (hbm * memory_fraction))
//       + launches * kernel_launch_overhead
// Durations are returned in seconds; the simulator converts them to integer time once.
#pragma once

#include "ptsim/costmodel/dtype.h"
#include "ptsim/costmodel/hardware.h"

namespace ptsim::costmodel {

enum class OpClass { gemm, attention, memory };

struct KernelWork {
  OpClass op_class = OpClass::memory;
  Dtype dtype = Dtype::bf16;
  double flops = 0;  // floating-point operations executed
  double bytes = 0;  // bytes read from and written to HBM
  int launches = 1;  // kernels this work is split into; each pays the launch gap
  // A GEMM's forward shape C[m,n] = A[m,k] B[k,n] (0: not a GEMM or unknown); a measured
  // profile looks GEMMs up by shape (profile.h).
  double gemm_m = 0, gemm_n = 0, gemm_k = 0;
};

// With gpu.profile set, the measured profile is consulted first (profiled_kernel_time_s).
double kernel_time_s(const KernelWork& work, const GpuSpec& gpu);

// Bytes a GEMM C[m,n] = A[m,k] * B[k,n] moves when each operand is read once.
constexpr double gemm_bytes(double m, double n, double k, double element_bytes) {
  return (m * k + k * n + m * n) * element_bytes;
}

}  // namespace ptsim::costmodel

// Time of one GPU kernel under cost model v1: a roofline with achievable rather than peak
// rates, plus a fixed launch gap:
//   t = max(flops / (peak(dtype) * flops_fraction(class) * waves), bytes / (hbm * memory_fraction))
//       + launches * kernel_launch_overhead
// where `waves` (GEMMs with known shape only, else 1) is the share of the SMs' tile slots a
// GEMM fills: its output padded to whole tiles, the tiles run in whole waves of one tile
// per SM (tile and wave quantization; docs/cost-model.md).
// Durations are returned in seconds; the simulator converts them to integer time once.
#pragma once

#include "ptsim/costmodel/dtype.h"
#include "ptsim/costmodel/hardware.h"

namespace ptsim::costmodel {

enum class OpClass { gemm, attention, memory };

// The shape of a GEMM C[m,n] = A[m,k] * B[k,n] (`batch` independent ones). A backward
// GEMM pair is the data gradient (output m x k) and the weight gradient (output k x n).
struct GemmShape {
  double m = 0, n = 0, k = 0;  // 0: shape unknown, no quantization
  double batch = 1;
  bool backward = false;
};

struct KernelWork {
  OpClass op_class = OpClass::memory;
  Dtype dtype = Dtype::bf16;
  double flops = 0;  // floating-point operations executed
  double bytes = 0;  // bytes read from and written to HBM
  int launches = 1;  // kernels this work is split into; each pays the launch gap
  // GEMMs: the forward shape, for tile and wave quantization and for a measured profile's
  // lookup by shape (profile.h); m = 0: not a GEMM or unknown.
  GemmShape shape{};
};

// With gpu.profile set, the measured profile is consulted first (profiled_kernel_time_s).
double kernel_time_s(const KernelWork& work, const GpuSpec& gpu);

// The kernel's time while a collective of `comm_s` seconds runs beside it: during the
// overlap the kernel has the SMs the collective leaves (num_sms - nccl.collective_sms: peak
// FLOP/s scaled by the SM share, GEMM waves re-quantized on the fewer SMs; HBM bandwidth
// unchanged), after it the whole GPU. Equal to kernel_time_s without an SM count, without
// collective_sms, or for comm_s = 0.
double kernel_time_beside_collective_s(const KernelWork& work, const GpuSpec& gpu, double comm_s);

// Fraction of the GPU's tile slots a GEMM's output tiles fill (1 when the GPU has no SM
// count or the shape is unknown): m*n*batch / (waves * SMs * tile_m * tile_n).
double gemm_wave_efficiency(const GemmShape& shape, const GpuSpec& gpu);

// Bytes a GEMM C[m,n] = A[m,k] * B[k,n] moves when each operand is read once.
constexpr double gemm_bytes(double m, double n, double k, double element_bytes) {
  return (m * k + k * n + m * n) * element_bytes;
}

}  // namespace ptsim::costmodel

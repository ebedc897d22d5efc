// A measured hardware profile (written by ptsim-calibrate, read through io/) as lookup
// tables: GEMM times on an M x N x K grid per dtype, bandwidth curves of memory-bound
// kernels, and per-collective, per-group-shape time curves with their alpha-beta fits.
// The cost model consults it first (kernel_time_s, plan_collective) and falls back to the
// roofline with the profile's fitted efficiencies, or the network model, outside it.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ptsim/costmodel/collective_algorithms.h"
#include "ptsim/costmodel/dtype.h"
#include "ptsim/costmodel/op_cost.h"

namespace ptsim::costmodel {

// Measured times of C[m,n] = A[m,k] B[k,n] on the full grid m x n x k (each axis strictly
// ascending), time_s indexed (i * n.size() + j) * k.size() + l.
struct GemmTable {
  Dtype dtype = Dtype::bf16;
  std::vector<double> m, n, k;
  std::vector<double> time_s;
  // Fraction of the GPU's peak(dtype) that the roofline uses outside the grid.
  double fitted_efficiency = 0;
};

// Achieved bandwidth of a memory-bound kernel over sizes (bytes read + written), bytes
// strictly ascending.
struct BandwidthCurve {
  std::string kernel;  // "elementwise", "layernorm", "softmax", "d2d_copy"
  std::vector<double> bytes;
  std::vector<double> bytes_per_s;
};

// One collective on one group shape: measured times over buffer sizes (nccl-tests'
// convention for `bytes`, strictly ascending), and the least-squares fit
// t = alpha + beta * bytes with its root-mean-square relative residual.
struct CollectiveCurve {
  CollectiveOp op = CollectiveOp::all_reduce;
  int ranks = 1;
  int ranks_per_domain = 1;
  int domains = 1;
  std::vector<double> bytes;
  std::vector<double> time_s;
  double alpha_s = 0;
  double beta_s_per_byte = 0;
  double rms_relative_residual = 0;
};

struct HardwareProfile {
  std::string gpu;  // the GPU preset name the measurements are for ("h100-sxm-80gb")
  std::vector<std::string> sources;                          // where each number came from
  std::vector<std::pair<std::string, std::string>> device;  // name, clocks, versions
  std::vector<GemmTable> gemm;
  std::optional<double> attention_flops_fraction;
  std::vector<BandwidthCurve> memory;
  std::optional<double> kernel_launch_overhead_s;
  std::vector<CollectiveCurve> collectives;

  const GemmTable* gemm_table(Dtype d) const;
  const BandwidthCurve* memory_curve(const std::string& kernel) const;
  const CollectiveCurve* collective_curve(CollectiveOp op, const GroupShape& shape) const;
};

// Piecewise-linear interpolation of log(y) over log(x) on an ascending axis; x outside
// [xs.front(), xs.back()] is clamped to the ends. Needs at least one point.
double interpolate_log(const std::vector<double>& xs, const std::vector<double>& ys, double x);

// Time of one m x n x k GEMM by trilinear interpolation of log(time) in log(m), log(n),
// log(k); nullopt outside the grid.
std::optional<double> gemm_table_time_s(const GemmTable& t, double m, double n, double k);

// The measured time of `bytes` on the curve: interpolated inside the measured sizes, the
// alpha-beta fit outside them.
double collective_curve_time_s(const CollectiveCurve& c, double bytes);

// The kernel's time under the profile: a GEMM with its shape inside the measured grid
// from the table (forward pass m x n x k; backward adds the data-gradient m x k x n and
// the weight-gradient k x n x m GEMMs), memory-bound kernels from the "elementwise"
// bandwidth curve, everything else the roofline of `gpu` with the profile's fitted
// efficiencies and launch overhead.
double profiled_kernel_time_s(const KernelWork& work, const GpuSpec& gpu, const HardwareProfile& profile);

// A model plan rescaled so that its uncontended time is `time_s`: every phase's latency
// multiplied and every rate cap divided by time_s / plan.time_s, so the simulator still
// shares links between the phases' flows.
CollectivePlan rescaled_plan(CollectivePlan plan, double time_s);

}  // namespace ptsim::costmodel

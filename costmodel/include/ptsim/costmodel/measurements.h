// Raw calibration measurements, before fitting: what `ptsim-calibrate gpu|nccl` measures
// and `import-nccl-tests` reads from logs. `ptsim-calibrate fit` turns them into a
// HardwareProfile (profile.h); io/ reads and writes both as JSON.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ptsim/costmodel/collective_algorithms.h"
#include "ptsim/costmodel/dtype.h"

namespace ptsim::costmodel {

// Median time of repeated runs; spread = (max - min) / median over the timed repetitions.
struct GemmSample {
  Dtype dtype = Dtype::bf16;
  double m = 0, n = 0, k = 0;
  double time_s = 0;
  double spread = 0;
};

// A memory-bound kernel or copy moving `bytes` (read + written) in time_s.
struct BandwidthSample {
  std::string kernel;
  double bytes = 0;
  double time_s = 0;
  double spread = 0;
};

// Attention core (forward or backward) of one shape, with the FLOPs it executes.
struct AttentionSample {
  Dtype dtype = Dtype::bf16;
  bool backward = false;
  int batch = 0, heads = 0, seq = 0, head_dim = 0;
  double flops = 0;
  double time_s = 0;
  double spread = 0;
};

// One collective of `bytes` (nccl-tests' size column) on a group of `ranks` GPUs spread
// over `domains` NVLink domains (nodes) of `ranks_per_domain`.
struct CollectiveSample {
  CollectiveOp op = CollectiveOp::all_reduce;
  int ranks = 1;
  int ranks_per_domain = 1;
  int domains = 1;
  double bytes = 0;
  double time_s = 0;
};

struct Measurements {
  std::vector<std::pair<std::string, std::string>> device;  // name, clocks, versions
  std::vector<std::string> sources;                          // where each part came from
  std::vector<GemmSample> gemm;
  std::vector<AttentionSample> attention;
  std::vector<BandwidthSample> bandwidth;
  std::optional<double> kernel_launch_overhead_s;
  std::vector<CollectiveSample> collectives;
};

}  // namespace ptsim::costmodel

// The measuring half of ptsim-calibrate (CUDA, cuBLASLt, NCCL; built only where the
// toolkit and NCCL are found). Each entry point checks for a GPU first and throws
// DeviceError, one line, where there is none; the results are raw Measurements that
// `ptsim-calibrate fit` turns into a profile.
#pragma once

#include <cstdint>
#include <stdexcept>

#include "ptsim/costmodel/measurements.h"

namespace ptsim::calibrate::cuda {

struct DeviceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct GpuOptions {
  bool quick = false;  // a small grid and few sizes: a smoke test, not a profile
  int repetitions = 15;
};

struct NcclOptions {
  std::int64_t min_bytes = 1024;
  std::int64_t max_bytes = std::int64_t{8} << 30;
  int repetitions = 20;
};

// Throws DeviceError unless at least `min_gpus` CUDA devices are usable.
int require_gpus(int min_gpus);

costmodel::Measurements measure_gpu(const GpuOptions& opt);
costmodel::Measurements measure_nccl(const NcclOptions& opt);

}  // namespace ptsim::calibrate::cuda

// Error checks and event timing shared by the CUDA benchmarks: every failing CUDA,
// cuBLASLt or NCCL call becomes a DeviceError naming the call; time_median runs a launch
// function with warm-up and returns the median per-launch time and the spread.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "benchmarks.h"

namespace ptsim::calibrate::cuda {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw DeviceError(std::string(what) + ": " + cudaGetErrorString(e));
}

struct Timing {
  double median_s = 0;
  double spread = 0;  // (max - min) / median over the repetitions
};

// Each repetition times `batch` back-to-back launches between two events; batch grows
// until one repetition takes at least 0.5 ms, so event resolution does not matter.
template <class Launch>
Timing time_median(Launch&& launch, cudaStream_t stream, int repetitions) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  auto run = [&](int batch) {
    check(cudaEventRecord(start, stream), "cudaEventRecord");
    for (int i = 0; i < batch; ++i) launch();
    check(cudaEventRecord(stop, stream), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    return static_cast<double>(ms) * 1e-3 / batch;
  };
  run(2);  // warm-up: caches, clocks, lazy module loading
  int batch = 1;
  for (double t = run(1); t * batch < 0.5e-3 && batch < 4096;) batch *= 2;
  std::vector<double> times;
  for (int r = 0; r < repetitions; ++r) times.push_back(run(batch));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  Timing t;
  t.median_s = times[times.size() / 2];
  t.spread = (times.back() - times.front()) / t.median_s;
  return t;
}

// A device buffer freed on scope exit.
struct DeviceBuffer {
  void* ptr = nullptr;
  explicit DeviceBuffer(std::size_t bytes) { check(cudaMalloc(&ptr, std::max<std::size_t>(bytes, 256)), "cudaMalloc"); }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

}  // namespace ptsim::calibrate::cuda

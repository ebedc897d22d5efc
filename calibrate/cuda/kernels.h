// Small memory-bound CUDA kernels the calibration times as bandwidth curves: an
// elementwise scale-and-add, a row layer norm and a row softmax (rows of `cols` floats),
// and an empty kernel for launch overhead. Launchers are plain C++ so the .cc benchmarks
// need no nvcc.
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

namespace ptsim::calibrate::cuda {

void launch_elementwise(const float* x, float* y, std::size_t n, cudaStream_t s);
void launch_layernorm(const float* x, float* y, std::size_t rows, int cols, cudaStream_t s);
void launch_softmax(const float* x, float* y, std::size_t rows, int cols, cudaStream_t s);
void launch_empty(cudaStream_t s);

}  // namespace ptsim::calibrate::cuda

#include "kernels.h"

namespace ptsim::calibrate::cuda {
namespace {

__global__ void elementwise(const float* x, float* y, std::size_t n) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n; i += std::size_t{gridDim.x} * blockDim.x) {
    y[i] = 1.5f * x[i] + 0.25f;
  }
}

// One block per row; blockDim.x = 256. Sum and sum of squares by shared-memory reduction.
__device__ float block_sum(float v, float* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
    __syncthreads();
  }
  const float out = shared[0];
  __syncthreads();
  return out;
}

__device__ float block_max(float v, float* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) shared[threadIdx.x] = fmaxf(shared[threadIdx.x], shared[threadIdx.x + s]);
    __syncthreads();
  }
  const float out = shared[0];
  __syncthreads();
  return out;
}

__global__ void layernorm(const float* x, float* y, int cols) {
  __shared__ float shared[256];
  const float* row = x + blockIdx.x * std::size_t(cols);
  float s = 0, sq = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    s += row[c];
    sq += row[c] * row[c];
  }
  const float mean = block_sum(s, shared) / cols;
  const float var = block_sum(sq, shared) / cols - mean * mean;
  const float inv = rsqrtf(var + 1e-5f);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) y[blockIdx.x * std::size_t(cols) + c] = (row[c] - mean) * inv;
}

__global__ void softmax(const float* x, float* y, int cols) {
  __shared__ float shared[256];
  const float* row = x + blockIdx.x * std::size_t(cols);
  float m = -INFINITY;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, row[c]);
  m = block_max(m, shared);
  float s = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) s += __expf(row[c] - m);
  s = block_sum(s, shared);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) y[blockIdx.x * std::size_t(cols) + c] = __expf(row[c] - m) / s;
}

__global__ void empty() {}

unsigned grid_for(std::size_t n) {
  const std::size_t blocks = (n + 255) / 256;
  return static_cast<unsigned>(blocks < 65536 * 8 ? (blocks > 0 ? blocks : 1) : 65536 * 8);
}

}  // namespace

void launch_elementwise(const float* x, float* y, std::size_t n, cudaStream_t s) {
  elementwise<<<grid_for(n), 256, 0, s>>>(x, y, n);
}
void launch_layernorm(const float* x, float* y, std::size_t rows, int cols, cudaStream_t s) {
  layernorm<<<static_cast<unsigned>(rows), 256, 0, s>>>(x, y, cols);
}
void launch_softmax(const float* x, float* y, std::size_t rows, int cols, cudaStream_t s) {
  softmax<<<static_cast<unsigned>(rows), 256, 0, s>>>(x, y, cols);
}
void launch_empty(cudaStream_t s) { empty<<<1, 1, 0, s>>>(); }

}  // namespace ptsim::calibrate::cuda

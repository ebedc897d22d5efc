// One cuBLASLt matmul configuration: D[m,n] = A^T[m,k] B[k,n] (column-major, A stored
// k x m: the "TN" layout every dtype including fp8 supports), optionally batched with
// strides, with the first algorithm cuBLASLt's heuristic returns for a 32 MiB workspace.
#pragma once

#include <cstdint>

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "ptsim/costmodel/dtype.h"

namespace ptsim::calibrate::cuda {

class LtGemm {
 public:
  // Throws DeviceError when cuBLASLt has no algorithm for this shape and dtype.
  LtGemm(cublasLtHandle_t handle, costmodel::Dtype dtype, std::int64_t m, std::int64_t n, std::int64_t k,
         int batch = 1);
  ~LtGemm();
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;

  // Operand sizes in bytes (all batches).
  std::size_t a_bytes() const;
  std::size_t b_bytes() const;
  std::size_t d_bytes() const;
  void run(const void* a, const void* b, void* d, void* workspace, cudaStream_t stream) const;

  static constexpr std::size_t kWorkspaceBytes = std::size_t{32} << 20;

 private:
  cublasLtHandle_t handle_;
  std::int64_t m_, n_, k_;
  int batch_;
  std::size_t in_elem_, out_elem_;
  cublasLtMatmulDesc_t op_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, d_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
};

void check_lt(cublasStatus_t s, const char* what);

}  // namespace ptsim::calibrate::cuda

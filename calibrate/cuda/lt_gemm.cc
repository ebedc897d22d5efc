#include "lt_gemm.h"

#include <string>

#include "benchmarks.h"

namespace ptsim::calibrate::cuda {
namespace {

struct Types {
  cudaDataType_t in, out, scale;
  cublasComputeType_t compute;
  std::size_t in_elem, out_elem;
};

Types types_of(costmodel::Dtype d) {
  switch (d) {
    case costmodel::Dtype::fp32: return {CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, 4, 4};
    case costmodel::Dtype::tf32: return {CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, 4, 4};
    case costmodel::Dtype::fp16: return {CUDA_R_16F, CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F, 2, 2};
    case costmodel::Dtype::bf16: return {CUDA_R_16BF, CUDA_R_16BF, CUDA_R_32F, CUBLAS_COMPUTE_32F, 2, 2};
    case costmodel::Dtype::fp8: return {CUDA_R_8F_E4M3, CUDA_R_16BF, CUDA_R_32F, CUBLAS_COMPUTE_32F, 1, 2};
  }
  return {CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, 4, 4};
}

void set_batch(cublasLtMatrixLayout_t l, int batch, std::int64_t stride) {
  check_lt(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof(batch)),
           "cublasLtMatrixLayoutSetAttribute(BATCH_COUNT)");
  check_lt(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
           "cublasLtMatrixLayoutSetAttribute(STRIDED_BATCH_OFFSET)");
}

}  // namespace

void check_lt(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw DeviceError(std::string(what) + ": cuBLAS status " + std::to_string(static_cast<int>(s)));
}

LtGemm::LtGemm(cublasLtHandle_t handle, costmodel::Dtype dtype, std::int64_t m, std::int64_t n, std::int64_t k, int batch)
    : handle_(handle), m_(m), n_(n), k_(k), batch_(batch) {
  const Types t = types_of(dtype);
  in_elem_ = t.in_elem;
  out_elem_ = t.out_elem;
  check_lt(cublasLtMatmulDescCreate(&op_, t.compute, t.scale), "cublasLtMatmulDescCreate");
  const cublasOperation_t trans = CUBLAS_OP_T, none = CUBLAS_OP_N;
  check_lt(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof(trans)), "TRANSA");
  check_lt(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSB, &none, sizeof(none)), "TRANSB");
  check_lt(cublasLtMatrixLayoutCreate(&a_, t.in, static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(m), k), "layout A");
  check_lt(cublasLtMatrixLayoutCreate(&b_, t.in, static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(n), k), "layout B");
  check_lt(cublasLtMatrixLayoutCreate(&d_, t.out, static_cast<std::uint64_t>(m), static_cast<std::uint64_t>(n), m), "layout D");
  if (batch > 1) {
    set_batch(a_, batch, k * m);
    set_batch(b_, batch, k * n);
    set_batch(d_, batch, m * n);
  }
  cublasLtMatmulPreference_t pref;
  check_lt(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
  const std::size_t ws = kWorkspaceBytes;
  check_lt(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)),
           "workspace preference");
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(handle, op_, a_, b_, d_, d_, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (s != CUBLAS_STATUS_SUCCESS || found == 0) {
    this->~LtGemm();
    throw DeviceError("cuBLASLt has no algorithm for " + std::string(costmodel::to_string(dtype)) + " " +
                      std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k));
  }
  algo_ = result.algo;
}

LtGemm::~LtGemm() {
  if (d_) cublasLtMatrixLayoutDestroy(d_);
  if (b_) cublasLtMatrixLayoutDestroy(b_);
  if (a_) cublasLtMatrixLayoutDestroy(a_);
  if (op_) cublasLtMatmulDescDestroy(op_);
  d_ = b_ = a_ = nullptr;
  op_ = nullptr;
}

std::size_t LtGemm::a_bytes() const { return static_cast<std::size_t>(batch_ * m_ * k_) * in_elem_; }
std::size_t LtGemm::b_bytes() const { return static_cast<std::size_t>(batch_ * k_ * n_) * in_elem_; }
std::size_t LtGemm::d_bytes() const { return static_cast<std::size_t>(batch_ * m_ * n_) * out_elem_; }

void LtGemm::run(const void* a, const void* b, void* d, void* workspace, cudaStream_t stream) const {
  const float alpha = 1, beta = 0;
  check_lt(cublasLtMatmul(handle_, op_, &alpha, a, a_, b, b_, &beta, d, d_, d, d_, &algo_, workspace, kWorkspaceBytes,
                          stream),
           "cublasLtMatmul");
}

}  // namespace ptsim::calibrate::cuda

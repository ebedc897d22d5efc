// `ptsim-calibrate gpu`: device identity, the cuBLASLt GEMM grid per dtype, unfused
// attention (batched GEMMs + softmax; see docs/calibration.md for why not cuDNN SDPA),
// memory-bound kernels and device-to-device copies over sizes, and launch overhead.
#include <cstdio>
#include <string>
#include <vector>

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "benchmarks.h"
#include "cuda_check.h"
#include "kernels.h"
#include "lt_gemm.h"

namespace ptsim::calibrate::cuda {
namespace {

using costmodel::Dtype;

int attribute(cudaDeviceAttr a, int dev) {
  int v = 0;
  check(cudaDeviceGetAttribute(&v, a, dev), "cudaDeviceGetAttribute");
  return v;
}

void record_device(costmodel::Measurements& m, int dev, cublasLtHandle_t) {
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties");
  int driver = 0, runtime = 0;
  check(cudaDriverGetVersion(&driver), "cudaDriverGetVersion");
  check(cudaRuntimeGetVersion(&runtime), "cudaRuntimeGetVersion");
  m.device.emplace_back("name", prop.name);
  m.device.emplace_back("compute_capability", std::to_string(prop.major) + "." + std::to_string(prop.minor));
  m.device.emplace_back("sm_count", std::to_string(prop.multiProcessorCount));
  m.device.emplace_back("memory_bytes", std::to_string(prop.totalGlobalMem));
  m.device.emplace_back("sm_clock_max_khz", std::to_string(attribute(cudaDevAttrClockRate, dev)));
  m.device.emplace_back("memory_clock_max_khz", std::to_string(attribute(cudaDevAttrMemoryClockRate, dev)));
  m.device.emplace_back("memory_bus_bits", std::to_string(attribute(cudaDevAttrGlobalMemoryBusWidth, dev)));
  m.device.emplace_back("driver_cuda_version", std::to_string(driver));
  m.device.emplace_back("runtime_cuda_version", std::to_string(runtime));
  m.device.emplace_back("cublaslt_version", std::to_string(cublasLtGetVersion()));
}

bool supported(Dtype d, const cudaDeviceProp& prop) {
  const int cc = prop.major * 10 + prop.minor;
  switch (d) {
    case Dtype::fp8: return cc >= 89;
    case Dtype::bf16:
    case Dtype::tf32: return cc >= 80;
    default: return true;
  }
}

void measure_gemms(costmodel::Measurements& m, cublasLtHandle_t lt, cudaStream_t s, const cudaDeviceProp& prop,
                   const GpuOptions& opt) {
  DeviceBuffer workspace(LtGemm::kWorkspaceBytes);
  for (const Dtype d : {Dtype::bf16, Dtype::fp16, Dtype::fp8, Dtype::tf32, Dtype::fp32}) {
    if (!supported(d, prop)) continue;
    const bool wide = d == Dtype::fp32 || d == Dtype::tf32;
    // Tokens (b x s) and hidden-size dimensions of transformer layers (docs/calibration.md).
    std::vector<std::int64_t> ms = {1024, 4096, 16384, 65536}, nk = {1024, 4096, 16384, 32768};
    if (wide) ms = nk = {1024, 4096, 16384};
    if (opt.quick) ms = nk = {1024, 4096};
    for (const auto mm : ms) {
      for (const auto nn : nk) {
        for (const auto kk : nk) {
          LtGemm g(lt, d, mm, nn, kk);
          DeviceBuffer a(g.a_bytes()), b(g.b_bytes()), out(g.d_bytes());
          check(cudaMemsetAsync(a.ptr, 0, g.a_bytes(), s), "cudaMemset");
          check(cudaMemsetAsync(b.ptr, 0, g.b_bytes(), s), "cudaMemset");
          const Timing t = time_median([&] { g.run(a.ptr, b.ptr, out.ptr, workspace.ptr, s); }, s, opt.repetitions);
          m.gemm.push_back({d, static_cast<double>(mm), static_cast<double>(nn), static_cast<double>(kk), t.median_s, t.spread});
          std::fprintf(stderr, "gemm %-4s %6lld x %6lld x %6lld  %10.3f us  %7.1f TFLOP/s\n",
                       std::string(costmodel::to_string(d)).c_str(), (long long)mm, (long long)nn, (long long)kk,
                       t.median_s * 1e6, 2.0 * static_cast<double>(mm) * static_cast<double>(nn) * static_cast<double>(kk) / t.median_s / 1e12);
        }
      }
    }
  }
}

// Unfused attention of one shape: S = Q K^T, P = softmax(S), O = P V (forward); the
// backward's four GEMMs (dV, dP, dQ, dK) plus one softmax-sized pass for dS.
void measure_attention(costmodel::Measurements& m, cublasLtHandle_t lt, cudaStream_t s, const GpuOptions& opt) {
  DeviceBuffer workspace(LtGemm::kWorkspaceBytes);
  const int d = 128;
  std::vector<int> seqs = {1024, 2048, 4096, 8192};
  if (opt.quick) seqs = {1024};
  for (const int seq : seqs) {
    const int batch_heads = std::max(1, 16384 / seq) * 8;  // 8 heads, 16K tokens in all
    LtGemm qk(lt, Dtype::bf16, seq, seq, d, batch_heads);   // S[seq, seq] per head
    LtGemm pv(lt, Dtype::bf16, seq, d, seq, batch_heads);   // O[seq, d] per head
    DeviceBuffer q(qk.a_bytes()), k(qk.b_bytes()), scores(qk.d_bytes()), v(pv.b_bytes()), o(pv.d_bytes());
    DeviceBuffer sf(std::size_t(batch_heads) * seq * seq * 4), sf_out(std::size_t(batch_heads) * seq * seq * 4);
    const std::size_t rows = std::size_t(batch_heads) * seq;
    auto forward = [&] {
      qk.run(q.ptr, k.ptr, scores.ptr, workspace.ptr, s);
      launch_softmax(static_cast<const float*>(sf.ptr), static_cast<float*>(sf_out.ptr), rows, seq, s);
      pv.run(scores.ptr, v.ptr, o.ptr, workspace.ptr, s);
    };
    auto backward = [&] {
      for (int i = 0; i < 2; ++i) qk.run(q.ptr, k.ptr, scores.ptr, workspace.ptr, s);
      for (int i = 0; i < 2; ++i) pv.run(scores.ptr, v.ptr, o.ptr, workspace.ptr, s);
      launch_softmax(static_cast<const float*>(sf.ptr), static_cast<float*>(sf_out.ptr), rows, seq, s);
    };
    const double fwd_flops = 4.0 * batch_heads * double(seq) * seq * d;
    const Timing f = time_median(forward, s, opt.repetitions);
    const Timing b = time_median(backward, s, opt.repetitions);
    m.attention.push_back({Dtype::bf16, false, batch_heads / 8, 8, seq, d, fwd_flops, f.median_s, f.spread});
    m.attention.push_back({Dtype::bf16, true, batch_heads / 8, 8, seq, d, 2 * fwd_flops, b.median_s, b.spread});
    std::fprintf(stderr, "attention seq %5d  fwd %9.1f us  bwd %9.1f us\n", seq, f.median_s * 1e6, b.median_s * 1e6);
  }
}

void measure_memory(costmodel::Measurements& m, cudaStream_t s, const GpuOptions& opt) {
  const std::size_t max_bytes = opt.quick ? std::size_t{64} << 20 : std::size_t{4} << 30;  // per buffer
  DeviceBuffer x(max_bytes), y(max_bytes);
  check(cudaMemsetAsync(x.ptr, 0, max_bytes, s), "cudaMemset");
  const int cols = 4096;
  for (std::size_t bytes = 64 << 10; bytes <= max_bytes; bytes *= 4) {
    const std::size_t n = bytes / 4;
    const double moved = 2.0 * static_cast<double>(bytes);  // read + written
    const auto* in = static_cast<const float*>(x.ptr);
    auto* out = static_cast<float*>(y.ptr);
    const Timing e = time_median([&] { launch_elementwise(in, out, n, s); }, s, opt.repetitions);
    m.bandwidth.push_back({"elementwise", moved, e.median_s, e.spread});
    if (n >= std::size_t(cols)) {
      const Timing l = time_median([&] { launch_layernorm(in, out, n / cols, cols, s); }, s, opt.repetitions);
      m.bandwidth.push_back({"layernorm", moved, l.median_s, l.spread});
      const Timing sm = time_median([&] { launch_softmax(in, out, n / cols, cols, s); }, s, opt.repetitions);
      m.bandwidth.push_back({"softmax", moved, sm.median_s, sm.spread});
    }
    const Timing c = time_median([&] { check(cudaMemcpyAsync(y.ptr, x.ptr, bytes, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync"); },
                                 s, opt.repetitions);
    m.bandwidth.push_back({"d2d_copy", moved, c.median_s, c.spread});
    std::fprintf(stderr, "memory %12zu B  elementwise %8.1f GB/s  copy %8.1f GB/s\n", bytes, moved / e.median_s / 1e9,
                 moved / c.median_s / 1e9);
  }
  const Timing launch = time_median([&] { launch_empty(s); }, s, opt.repetitions);
  m.kernel_launch_overhead_s = launch.median_s;
}

}  // namespace

int require_gpus(int min_gpus) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) throw DeviceError(std::string("no usable CUDA GPU: ") + cudaGetErrorString(e));
  if (n < min_gpus) {
    throw DeviceError("needs " + std::to_string(min_gpus) + " CUDA GPU(s), found " + std::to_string(n));
  }
  return n;
}

costmodel::Measurements measure_gpu(const GpuOptions& opt) {
  require_gpus(1);
  check(cudaSetDevice(0), "cudaSetDevice");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  cudaStream_t s;
  check(cudaStreamCreate(&s), "cudaStreamCreate");
  cublasLtHandle_t lt;
  check_lt(cublasLtCreate(&lt), "cublasLtCreate");
  costmodel::Measurements m;
  record_device(m, 0, lt);
  m.sources.push_back(std::string("ptsim-calibrate gpu on ") + prop.name + (opt.quick ? " (--quick)" : ""));
  measure_memory(m, s, opt);
  measure_gemms(m, lt, s, prop, opt);
  measure_attention(m, lt, s, opt);
  cublasLtDestroy(lt);
  cudaStreamDestroy(s);
  return m;
}

}  // namespace ptsim::calibrate::cuda

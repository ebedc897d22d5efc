// `ptsim-calibrate nccl`: every collective over all GPUs of this node from one process
// (ncclCommInitAll), sizes doubling from min to max bytes, timed with CUDA events on each
// GPU's stream (the slowest GPU counts). Sizes follow nccl-tests (the full buffer), and
// the table printed to stderr has its algbw/busbw columns.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <cuda_runtime.h>
#include <nccl.h>

#include "benchmarks.h"
#include "cuda_check.h"
#include "ptsim/costmodel/collective_algorithms.h"

namespace ptsim::calibrate::cuda {
namespace {

using costmodel::CollectiveOp;

void check_nccl(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) throw DeviceError(std::string(what) + ": " + ncclGetErrorString(r));
}

struct Node {
  int n = 0;
  std::vector<ncclComm_t> comms;
  std::vector<cudaStream_t> streams;
  std::vector<void*> send, recv;
  std::vector<cudaEvent_t> start, stop;
};

// One collective of `bytes` (float elements) on every GPU, as nccl-tests sizes it.
void launch(Node& node, CollectiveOp op, std::size_t bytes) {
  const std::size_t n = static_cast<std::size_t>(node.n);
  const std::size_t count = bytes / sizeof(float);
  check_nccl(ncclGroupStart(), "ncclGroupStart");
  for (int r = 0; r < node.n; ++r) {
    void* sb = node.send[r];
    void* rb = node.recv[r];
    ncclComm_t c = node.comms[r];
    cudaStream_t s = node.streams[r];
    switch (op) {
      case CollectiveOp::all_reduce: check_nccl(ncclAllReduce(sb, rb, count, ncclFloat, ncclSum, c, s), "ncclAllReduce"); break;
      case CollectiveOp::all_gather: check_nccl(ncclAllGather(sb, rb, count / n, ncclFloat, c, s), "ncclAllGather"); break;
      case CollectiveOp::reduce_scatter:
        check_nccl(ncclReduceScatter(sb, rb, count / n, ncclFloat, ncclSum, c, s), "ncclReduceScatter");
        break;
      case CollectiveOp::broadcast: check_nccl(ncclBroadcast(sb, rb, count, ncclFloat, 0, c, s), "ncclBroadcast"); break;
      case CollectiveOp::all_to_all:
        for (int p = 0; p < node.n; ++p) {
          const std::size_t chunk = count / n;
          check_nccl(ncclSend(static_cast<float*>(sb) + p * chunk, chunk, ncclFloat, p, c, s), "ncclSend");
          check_nccl(ncclRecv(static_cast<float*>(rb) + p * chunk, chunk, ncclFloat, p, c, s), "ncclRecv");
        }
        break;
      case CollectiveOp::send_recv:
        check_nccl(ncclSend(sb, count, ncclFloat, (r + 1) % node.n, c, s), "ncclSend");
        check_nccl(ncclRecv(rb, count, ncclFloat, (r + node.n - 1) % node.n, c, s), "ncclRecv");
        break;
    }
  }
  check_nccl(ncclGroupEnd(), "ncclGroupEnd");
}

double time_collective(Node& node, CollectiveOp op, std::size_t bytes, int reps) {
  for (int w = 0; w < 3; ++w) launch(node, op, bytes);
  for (int r = 0; r < node.n; ++r) {
    check(cudaSetDevice(r), "cudaSetDevice");
    check(cudaEventRecord(node.start[r], node.streams[r]), "cudaEventRecord");
  }
  for (int i = 0; i < reps; ++i) launch(node, op, bytes);
  double slowest = 0;
  for (int r = 0; r < node.n; ++r) {
    check(cudaSetDevice(r), "cudaSetDevice");
    check(cudaEventRecord(node.stop[r], node.streams[r]), "cudaEventRecord");
  }
  for (int r = 0; r < node.n; ++r) {
    check(cudaEventSynchronize(node.stop[r]), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, node.start[r], node.stop[r]), "cudaEventElapsedTime");
    slowest = std::max(slowest, static_cast<double>(ms) * 1e-3 / reps);
  }
  return slowest;
}

}  // namespace

costmodel::Measurements measure_nccl(const NcclOptions& opt) {
  Node node;
  node.n = require_gpus(2);
  std::size_t max_bytes = static_cast<std::size_t>(opt.max_bytes);
  for (int r = 0; r < node.n; ++r) {  // two buffers per GPU, a quarter of free memory each at most
    check(cudaSetDevice(r), "cudaSetDevice");
    std::size_t free_bytes = 0, total = 0;
    check(cudaMemGetInfo(&free_bytes, &total), "cudaMemGetInfo");
    while (max_bytes > free_bytes / 4) max_bytes /= 2;
  }
  node.comms.resize(node.n);
  check_nccl(ncclCommInitAll(node.comms.data(), node.n, nullptr), "ncclCommInitAll");
  node.streams.resize(node.n);
  node.send.resize(node.n);
  node.recv.resize(node.n);
  node.start.resize(node.n);
  node.stop.resize(node.n);
  for (int r = 0; r < node.n; ++r) {
    check(cudaSetDevice(r), "cudaSetDevice");
    check(cudaStreamCreate(&node.streams[r]), "cudaStreamCreate");
    check(cudaMalloc(&node.send[r], max_bytes), "cudaMalloc");
    check(cudaMalloc(&node.recv[r], max_bytes), "cudaMalloc");
    check(cudaMemset(node.send[r], 0, max_bytes), "cudaMemset");
    check(cudaEventCreate(&node.start[r]), "cudaEventCreate");
    check(cudaEventCreate(&node.stop[r]), "cudaEventCreate");
  }
  costmodel::Measurements m;
  int version = 0;
  check_nccl(ncclGetVersion(&version), "ncclGetVersion");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  m.device.emplace_back("name", prop.name);
  m.device.emplace_back("nccl_version", std::to_string(version));
  m.sources.push_back("ptsim-calibrate nccl on " + std::to_string(node.n) + " x " + prop.name);
  const CollectiveOp ops[] = {CollectiveOp::all_reduce, CollectiveOp::all_gather, CollectiveOp::reduce_scatter,
                              CollectiveOp::all_to_all, CollectiveOp::broadcast, CollectiveOp::send_recv};
  for (const CollectiveOp op : ops) {
    std::fprintf(stderr, "# %s on %d GPUs\n#%12s %10s %8s %8s\n", std::string(costmodel::to_string(op)).c_str(), node.n,
                 "size(B)", "time(us)", "algbw", "busbw");
    for (std::size_t bytes = static_cast<std::size_t>(opt.min_bytes); bytes <= max_bytes; bytes *= 2) {
      const std::size_t unit = sizeof(float) * static_cast<std::size_t>(node.n);
      const std::size_t b = bytes / unit * unit;  // divisible into per-rank float chunks
      if (b == 0) continue;
      const double t = time_collective(node, op, b, opt.repetitions);
      const double algbw = static_cast<double>(b) / t / 1e9;
      std::fprintf(stderr, "%13zu %10.2f %8.2f %8.2f\n", b, t * 1e6, algbw,
                   algbw * costmodel::bus_bandwidth_factor(op, node.n));
      m.collectives.push_back({op, node.n, node.n, 1, static_cast<double>(b), t});
    }
  }
  for (int r = 0; r < node.n; ++r) {
    cudaSetDevice(r);
    cudaFree(node.send[r]);
    cudaFree(node.recv[r]);
    cudaStreamDestroy(node.streams[r]);
    cudaEventDestroy(node.start[r]);
    cudaEventDestroy(node.stop[r]);
    ncclCommDestroy(node.comms[r]);
  }
  return m;
}

}  // namespace ptsim::calibrate::cuda

// NCCL-like collective algorithms: for a collective of a given size on a process group of
// a given shape, the algorithm and protocol NCCL would pick and the bytes each GPU moves
// over NVLink and over the network, phase by phase. `ptsim collective` prints their
// uncontended time in nccl-tests' columns; the simulator turns each phase into flows that
// share links with everything else in flight. Choice = the fastest applicable algorithm
// and protocol under this model, as NCCL's tuner does with its own (table in
// docs/network.md).
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "ptsim/costmodel/hardware.h"

namespace ptsim::costmodel {

enum class CollectiveOp { all_reduce, all_gather, reduce_scatter, all_to_all, broadcast, send_recv };
enum class Algorithm { ring, tree, nvls, hierarchical, direct, point_to_point };

std::string_view to_string(CollectiveOp op);
std::string_view to_string(Algorithm a);
bool parse_collective_op(std::string_view name, CollectiveOp& out);

// Where a group's ranks sit: up to `ranks_per_domain` GPUs in each of `domains` NVLink
// domains (the busiest domain's count when they are uneven).
struct GroupShape {
  int ranks = 1;
  int ranks_per_domain = 1;
  int domains = 1;
  bool crosses_pods = false;
};

// One phase of an algorithm: per GPU, bytes sent (and as many received) over NVLink and
// over the network, at most at the protocol's achievable rate, plus a fixed latency.
struct CollectivePhase {
  double latency_s = 0;
  double nvlink_bytes = 0;
  double network_bytes = 0;
  double nvlink_rate_bytes_per_s = 0;   // protocol-limited rate cap
  double network_rate_bytes_per_s = 0;
};

struct CollectivePlan {
  CollectiveOp op = CollectiveOp::all_reduce;
  Algorithm algorithm = Algorithm::ring;
  std::string protocol;  // "LL", "LL128", "Simple" (NCCL's names), or "NVLS"; owned: a plan may outlive its cluster
  std::vector<CollectivePhase> phases;
  double time_s = 0;           // uncontended: sum over phases of latency + slowest transfer
};

// `bytes` follows nccl-tests: the full buffer (the all-gather result, the reduce-scatter
// input, the all-reduce buffer). A group of one rank costs nothing.
CollectivePlan plan_collective(CollectiveOp op, const GroupShape& shape, double bytes, const ClusterSpec& cluster);

// The shape of a group of global ranks on a cluster.
GroupShape group_shape(const ClusterSpec& cluster, std::span<const int> ranks);

// nccl-tests' bus-bandwidth factor (doc/PERFORMANCE.md): busbw = algbw * factor.
double bus_bandwidth_factor(CollectiveOp op, int ranks);

}  // namespace ptsim::costmodel

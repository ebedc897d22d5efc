// Collective communication under the alpha-beta model with ring algorithms, as NCCL runs
// them when bandwidth-bound. For a group of n GPUs whose slowest link gives bandwidth B
// (bytes/s, per direction, already scaled by the achievable fraction) and step latency a:
//   all-reduce       2(n-1)/n * S/B + 2(n-1) * a      (reduce-scatter then all-gather)
//   all-gather       (n-1)/n * S/B + (n-1) * a        (S = the gathered result)
//   reduce-scatter   (n-1)/n * S/B + (n-1) * a        (S = the full input)
//   send/recv        S/B + a
// S follows nccl-tests' convention: the full buffer size in bytes. A group of one costs 0.
#pragma once

#include <span>

#include "ptsim/costmodel/hardware.h"

namespace ptsim::costmodel {

enum class Collective { all_reduce, all_gather, reduce_scatter, send_recv };

struct LinkParams {
  double bandwidth_bytes_per_s = 0;  // achievable, per direction
  double step_latency_s = 0;
};

double collective_time_s(Collective collective, int group_size, double bytes,
                         const LinkParams& link);

// The bottleneck link of a group of global ranks: NVLink when all share a node, the
// network otherwise.
LinkParams group_link(const ClusterSpec& cluster, std::span<const int> ranks);
bool group_spans_nodes(const ClusterSpec& cluster, std::span<const int> ranks);

}  // namespace ptsim::costmodel

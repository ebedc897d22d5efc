#include "ptsim/costmodel/collective_cost.h"

#include <cassert>

namespace ptsim::costmodel {

double collective_time_s(Collective collective, int group_size, double bytes,
                         const LinkParams& link) {
  assert(group_size >= 1 && bytes >= 0 && link.bandwidth_bytes_per_s > 0);
  const double n = group_size;
  const double s_over_b = bytes / link.bandwidth_bytes_per_s;
  switch (collective) {
    case Collective::all_reduce:
      if (group_size == 1) return 0;
      return 2 * (n - 1) / n * s_over_b + 2 * (n - 1) * link.step_latency_s;
    case Collective::all_gather:
    case Collective::reduce_scatter:
      if (group_size == 1) return 0;
      return (n - 1) / n * s_over_b + (n - 1) * link.step_latency_s;
    case Collective::send_recv:
      return s_over_b + link.step_latency_s;
  }
  return 0;
}

bool group_spans_nodes(const ClusterSpec& cluster, std::span<const int> ranks) {
  if (ranks.empty()) return false;
  const int node = cluster.node_of(ranks.front());
  for (int r : ranks) {
    if (cluster.node_of(r) != node) return true;
  }
  return false;
}

LinkParams group_link(const ClusterSpec& cluster, std::span<const int> ranks) {
  const Efficiency& eff = cluster.gpu.efficiency;
  if (group_spans_nodes(cluster, ranks)) {
    return {cluster.network_bandwidth_bytes_per_s * eff.network_bandwidth_fraction,
            eff.inter_node_step_latency_s};
  }
  return {cluster.gpu.nvlink_bandwidth_bytes_per_s * eff.nvlink_bandwidth_fraction,
          eff.intra_node_step_latency_s};
}

}  // namespace ptsim::costmodel

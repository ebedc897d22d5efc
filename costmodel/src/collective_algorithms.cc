#include "ptsim/costmodel/collective_algorithms.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "ptsim/costmodel/profile.h"

namespace ptsim::costmodel {
namespace {

struct Regime {
  std::string_view name;
  double step_latency_s;
  double nvlink_fraction;
};

std::vector<Regime> nvlink_regimes(const GpuSpec& gpu) {
  std::vector<Regime> r;
  for (const auto& p : gpu.nccl.small_message_regimes) r.push_back({p.name, p.step_latency_s, p.bandwidth_fraction});
  r.push_back({"Simple", gpu.efficiency.intra_node_step_latency_s, gpu.efficiency.nvlink_bandwidth_fraction});
  return r;
}

double phase_time(const CollectivePhase& p) {
  double t = 0;
  if (p.nvlink_bytes > 0) t = std::max(t, p.nvlink_bytes / p.nvlink_rate_bytes_per_s);
  if (p.network_bytes > 0) t = std::max(t, p.network_bytes / p.network_rate_bytes_per_s);
  return p.latency_s + t;
}

CollectivePlan finish(CollectiveOp op, Algorithm alg, std::string_view protocol, std::vector<CollectivePhase> phases) {
  CollectivePlan plan{op, alg, std::string(protocol), std::move(phases), 0};
  for (const auto& p : plan.phases) plan.time_s += phase_time(p);
  return plan;
}

// Bytes each GPU sends in a ring over n ranks, for a buffer of S bytes.
double ring_volume(CollectiveOp op, double n, double s) {
  switch (op) {
    case CollectiveOp::all_reduce: return 2 * (n - 1) / n * s;
    case CollectiveOp::all_gather:
    case CollectiveOp::reduce_scatter: return (n - 1) / n * s;
    case CollectiveOp::broadcast: return s;
    default: return s;
  }
}

double ring_steps(CollectiveOp op, double n) {
  return op == CollectiveOp::all_reduce ? 2 * (n - 1) : n - 1;
}

}  // namespace

std::string_view to_string(CollectiveOp op) {
  switch (op) {
    case CollectiveOp::all_reduce: return "all_reduce";
    case CollectiveOp::all_gather: return "all_gather";
    case CollectiveOp::reduce_scatter: return "reduce_scatter";
    case CollectiveOp::all_to_all: return "all_to_all";
    case CollectiveOp::broadcast: return "broadcast";
    case CollectiveOp::send_recv: return "send_recv";
  }
  return "?";
}

std::string_view to_string(Algorithm a) {
  switch (a) {
    case Algorithm::ring: return "ring";
    case Algorithm::tree: return "tree";
    case Algorithm::nvls: return "nvls";
    case Algorithm::hierarchical: return "hierarchical";
    case Algorithm::direct: return "direct";
    case Algorithm::point_to_point: return "p2p";
  }
  return "?";
}

bool parse_collective_op(std::string_view name, CollectiveOp& out) {
  for (CollectiveOp op : {CollectiveOp::all_reduce, CollectiveOp::all_gather, CollectiveOp::reduce_scatter,
                          CollectiveOp::all_to_all, CollectiveOp::broadcast, CollectiveOp::send_recv}) {
    if (to_string(op) == name) {
      out = op;
      return true;
    }
  }
  return false;
}

GroupShape group_shape(const ClusterSpec& cluster, std::span<const int> ranks) {
  std::vector<int> domains;
  std::vector<int> pods;
  for (int r : ranks) {
    domains.push_back(cluster.domain_of(r));
    pods.push_back(cluster.pod_of(r));
  }
  std::sort(domains.begin(), domains.end());
  std::sort(pods.begin(), pods.end());
  int most = 0;
  int distinct = 0;
  for (std::size_t i = 0; i < domains.size();) {
    std::size_t j = i;
    while (j < domains.size() && domains[j] == domains[i]) ++j;
    most = std::max(most, static_cast<int>(j - i));
    ++distinct;
    i = j;
  }
  const bool crosses_pods = !pods.empty() && pods.front() != pods.back();
  return GroupShape{static_cast<int>(ranks.size()), std::max(most, 1), std::max(distinct, 1), crosses_pods};
}

double bus_bandwidth_factor(CollectiveOp op, int ranks) {
  const double n = ranks;
  switch (op) {
    case CollectiveOp::all_reduce: return 2 * (n - 1) / n;
    case CollectiveOp::all_gather:
    case CollectiveOp::reduce_scatter:
    case CollectiveOp::all_to_all: return (n - 1) / n;
    case CollectiveOp::broadcast:
    case CollectiveOp::send_recv: return 1;
  }
  return 1;
}

CollectivePlan plan_collective(CollectiveOp op, const GroupShape& shape, double bytes, const ClusterSpec& cluster) {
  assert(shape.ranks >= 1 && shape.ranks <= shape.ranks_per_domain * shape.domains && bytes >= 0);
  const GpuSpec& gpu = cluster.gpu;
  const Efficiency& eff = gpu.efficiency;
  if (shape.ranks == 1 && op != CollectiveOp::send_recv) return finish(op, Algorithm::ring, "Simple", {});
  if (gpu.profile != nullptr) {  // a measured curve for this op and group shape wins
    if (const CollectiveCurve* c = gpu.profile->collective_curve(op, shape)) {
      ClusterSpec model = cluster;
      model.gpu.profile = nullptr;
      return rescaled_plan(plan_collective(op, shape, bytes, model), collective_curve_time_s(*c, bytes));
    }
  }

  const double s = bytes;
  const double n = shape.ranks;
  const double k = shape.ranks_per_domain;
  const double d = shape.domains;
  const double b_nvl = gpu.nvlink_bandwidth_bytes_per_s;
  const double b_net = cluster.network_bandwidth_bytes_per_s * eff.network_bandwidth_fraction /
                       (shape.crosses_pods ? cluster.oversubscription : 1.0);
  const double a_net = eff.inter_node_step_latency_s;

  std::vector<CollectivePlan> candidates;
  for (const Regime& r : nvlink_regimes(gpu)) {
    const double r_nvl = b_nvl * r.nvlink_fraction;
    auto phase = [&](double latency, double nvl, double net) {
      return CollectivePhase{latency, nvl, net, r_nvl, b_net};
    };
    if (op == CollectiveOp::send_recv) {
      candidates.push_back(finish(op, Algorithm::point_to_point, r.name,
                                  {d > 1 ? phase(a_net, 0, s) : phase(r.step_latency_s, s, 0)}));
      continue;
    }
    if (op == CollectiveOp::all_to_all) {
      // Every rank sends 1/n of its buffer to every other rank at once.
      const double intra = (k - 1) / n * s;
      const double inter = (n - k) / n * s;
      candidates.push_back(finish(op, Algorithm::direct, r.name,
                                  {phase(d > 1 ? std::max(a_net, r.step_latency_s) : r.step_latency_s, intra, inter)}));
      continue;
    }
    const double x = ring_volume(op, n, s);
    if (d == 1) {
      candidates.push_back(finish(op, Algorithm::ring, r.name, {phase(ring_steps(op, n) * r.step_latency_s, x, 0)}));
      continue;
    }
    // Across domains: one ring per rail (NCCL channels), each crossing the network once per
    // domain, so a GPU's share of network traffic is 1/k of the ring volume.
    const double step = std::max(r.step_latency_s, a_net);
    candidates.push_back(
        finish(op, Algorithm::ring, r.name, {phase(ring_steps(op, n) * step, (k - 1) / k * x, x / k)}));
    if (op == CollectiveOp::all_reduce) {
      // Double binary tree between domains, chains inside: logarithmic latency.
      const double depth = std::ceil(std::log2(d));
      candidates.push_back(finish(op, Algorithm::tree, r.name,
                                  {phase(2 * (depth * a_net + (k - 1) * r.step_latency_s), 2 * (k - 1) / k * s,
                                         2 * s / k)}));
      if (k > 1) {
        // Reduce-scatter inside, all-reduce of 1/k across, all-gather inside.
        const CollectivePhase intra = phase((k - 1) * r.step_latency_s, (k - 1) / k * s, 0);
        const CollectivePhase inter = phase(2 * (d - 1) * a_net, 0, 2 * (d - 1) / d * s / k);
        candidates.push_back(finish(op, Algorithm::hierarchical, r.name, {intra, inter, intra}));
      }
    }
  }
  if (op == CollectiveOp::all_reduce && gpu.nccl.nvls && shape.domains == 1 && shape.ranks >= 2) {
    // In-switch reduction: each GPU sends its buffer once and receives the result once.
    candidates.push_back(finish(op, Algorithm::nvls, "NVLS",
                                {CollectivePhase{gpu.nccl.nvls_latency_s, s, 0,
                                                 b_nvl * gpu.nccl.nvls_bandwidth_fraction, b_net}}));
  }
  assert(!candidates.empty());
  return *std::min_element(candidates.begin(), candidates.end(),
                           [](const CollectivePlan& a, const CollectivePlan& b) { return a.time_s < b.time_s; });
}

}  // namespace ptsim::costmodel

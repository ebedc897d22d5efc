#include "ptsim/strategies/graph_partition.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace ptsim::strategies {
namespace {

// Lexicographic: bottleneck first, then the sum of squared stage costs (spreads the rest).
struct Key {
  double bottleneck = 0;
  double squares = 0;
};

bool better(const Key& a, const Key& b) {
  constexpr double kRel = 1e-12;
  const double tol = kRel * std::max(std::abs(a.bottleneck), std::abs(b.bottleneck));
  if (a.bottleneck < b.bottleneck - tol) return true;
  if (a.bottleneck > b.bottleneck + tol) return false;
  return a.squares < b.squares - kRel * std::max(a.squares, b.squares);
}

Key key_of(const PartitionCost& c) {
  Key k{c.bottleneck_s, 0};
  for (std::size_t s = 0; s < c.compute_s.size(); ++s) k.squares += c.cost(static_cast<int>(s)) * c.cost(static_cast<int>(s));
  return k;
}

}  // namespace

bool is_valid_partition(const LayerGraph& g, const std::vector<int>& stage_of, int p) {
  if (stage_of.size() != g.num_layers()) return false;
  std::vector<int> count(static_cast<std::size_t>(p), 0);
  for (std::size_t v = 0; v < stage_of.size(); ++v) {
    if (stage_of[v] < 0 || stage_of[v] >= p) return false;
    ++count[static_cast<std::size_t>(stage_of[v])];
    for (std::size_t w : g.successors(v)) {
      if (stage_of[w] < stage_of[v]) return false;
    }
  }
  return std::all_of(count.begin(), count.end(), [](int c) { return c > 0; });
}

PartitionCost evaluate_partition(const PartitionProblem& pr, const std::vector<int>& stage_of) {
  const int p = pr.num_stages;
  const auto& g = *pr.graph;
  PartitionCost c;
  c.compute_s.assign(static_cast<std::size_t>(p), 0);
  c.comm_s.assign(static_cast<std::size_t>(p), 0);
  c.num_layers.assign(static_cast<std::size_t>(p), 0);
  c.cut_bytes.assign(static_cast<std::size_t>(std::max(p - 1, 0)), 0);
  double total = 0;
  for (std::size_t v = 0; v < g.num_layers(); ++v) {
    const auto s = static_cast<std::size_t>(stage_of[v]);
    c.compute_s[s] += pr.layer_time_s[v];
    total += pr.layer_time_s[v];
    ++c.num_layers[s];
    int last = stage_of[v];
    for (std::size_t w : g.successors(v)) last = std::max(last, stage_of[w]);
    for (int cut = stage_of[v]; cut < last; ++cut) c.cut_bytes[static_cast<std::size_t>(cut)] += pr.output_bytes[v];
  }
  for (int cut = 0; cut + 1 < p; ++cut) {
    const double t = pr.transfer_s(cut, c.cut_bytes[static_cast<std::size_t>(cut)]);
    c.comm_s[static_cast<std::size_t>(cut)] += t;      // activations forward
    c.comm_s[static_cast<std::size_t>(cut + 1)] += t;  // gradients backward
  }
  for (int s = 0; s < p; ++s) c.bottleneck_s = std::max(c.bottleneck_s, c.cost(s));
  c.balanced_s = total / p;
  return c;
}

std::vector<int> split_order_optimally(const PartitionProblem& pr, const std::vector<std::size_t>& order) {
  const auto& g = *pr.graph;
  const std::size_t n = order.size();
  const int p = pr.num_stages;
  assert(p >= 1 && static_cast<std::size_t>(p) <= n);
  std::vector<std::size_t> pos(n);
  for (std::size_t i = 0; i < n; ++i) pos[order[i]] = i;
  std::vector<double> prefix(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + pr.layer_time_s[order[i]];
  // cut[a]: bytes of tensors made before position a and used at or after it.
  std::vector<double> diff(n + 1, 0), cut(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t last = i;
    for (std::size_t w : g.successors(order[i])) last = std::max(last, pos[w]);
    if (last > i) {
      diff[i + 1] += pr.output_bytes[order[i]];
      diff[last + 1] -= pr.output_bytes[order[i]];
    }
  }
  double run = 0;
  for (std::size_t a = 0; a <= n; ++a) cut[a] = run += diff[a];

  // Transfer times per (cut index, position), computed once.
  std::vector<std::vector<double>> tr(static_cast<std::size_t>(std::max(p - 1, 0)), std::vector<double>(n + 1, 0));
  for (int c = 0; c + 1 < p; ++c) {
    for (std::size_t a = 1; a < n; ++a) tr[static_cast<std::size_t>(c)][a] = pr.transfer_s(c, cut[a]);
  }
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // best[s][b]: the smallest bottleneck of stages 0..s covering positions [0, b).
  std::vector<std::vector<double>> best(static_cast<std::size_t>(p), std::vector<double>(n + 1, kInf));
  std::vector<std::vector<std::size_t>> from(static_cast<std::size_t>(p), std::vector<std::size_t>(n + 1, 0));
  auto stage_cost = [&](int s, std::size_t a, std::size_t b) {
    double c = prefix[b] - prefix[a];
    if (s > 0) c += tr[static_cast<std::size_t>(s - 1)][a];
    if (s < p - 1) c += tr[static_cast<std::size_t>(s)][b];
    return c;
  };
  for (std::size_t b = 1; b + static_cast<std::size_t>(p - 1) <= n; ++b) best[0][b] = stage_cost(0, 0, b);
  for (int s = 1; s < p; ++s) {
    const auto su = static_cast<std::size_t>(s);
    for (std::size_t b = su + 1; b + static_cast<std::size_t>(p - 1 - s) <= n; ++b) {
      for (std::size_t a = su; a < b; ++a) {
        const double v = std::max(best[su - 1][a], stage_cost(s, a, b));
        if (v < best[su][b]) {
          best[su][b] = v;
          from[su][b] = a;
        }
      }
    }
  }
  std::vector<int> stage_of(n, 0);
  std::size_t b = n;
  for (int s = p - 1; s >= 0; --s) {
    const std::size_t a = s > 0 ? from[static_cast<std::size_t>(s)][b] : 0;
    for (std::size_t i = a; i < b; ++i) stage_of[order[i]] = s;
    b = a;
  }
  return stage_of;
}

std::vector<int> refine_partition(const PartitionProblem& pr, std::vector<int> stage_of) {
  const auto& g = *pr.graph;
  const std::size_t n = g.num_layers();
  const int p = pr.num_stages;
  if (p < 2) return stage_of;
  std::vector<std::vector<std::size_t>> preds(n), succs(n);
  for (std::size_t v = 0; v < n; ++v) {
    preds[v] = g.predecessors(v);
    succs[v] = g.successors(v);
  }
  Key best_key = key_of(evaluate_partition(pr, stage_of));
  constexpr int kMaxPasses = 8;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    std::vector<int> cur = stage_of;
    std::vector<int> count(static_cast<std::size_t>(p), 0);
    for (int s : cur) ++count[static_cast<std::size_t>(s)];
    std::vector<bool> locked(n, false);
    Key pass_key = best_key;
    std::vector<int> pass_best;
    for (std::size_t step = 0; step < n; ++step) {
      bool found = false;
      Key move_key;
      std::size_t move_v = 0;
      int move_to = 0;
      for (std::size_t v = 0; v < n; ++v) {
        if (locked[v]) continue;
        const int s = cur[v];
        if (count[static_cast<std::size_t>(s)] < 2) continue;
        for (int to : {s + 1, s - 1}) {
          if (to < 0 || to >= p) continue;
          const bool ok = to > s ? std::all_of(succs[v].begin(), succs[v].end(), [&](std::size_t w) { return cur[w] >= to; })
                                 : std::all_of(preds[v].begin(), preds[v].end(), [&](std::size_t u) { return cur[u] <= to; });
          if (!ok) continue;
          cur[v] = to;
          const Key k = key_of(evaluate_partition(pr, cur));
          cur[v] = s;
          if (!found || better(k, move_key)) {
            found = true;
            move_key = k;
            move_v = v;
            move_to = to;
          }
        }
      }
      if (!found) break;
      --count[static_cast<std::size_t>(cur[move_v])];
      ++count[static_cast<std::size_t>(move_to)];
      cur[move_v] = move_to;
      locked[move_v] = true;
      if (better(move_key, pass_key)) {
        pass_key = move_key;
        pass_best = cur;
      }
    }
    if (pass_best.empty()) break;
    stage_of = std::move(pass_best);
    best_key = pass_key;
  }
  return stage_of;
}

Partition partition_layer_graph(const PartitionProblem& pr) {
  Partition out;
  out.num_stages = pr.num_stages;
  out.stage_of = split_order_optimally(pr, pr.graph->topological_order());
  if (pr.graph->is_chain()) {
    out.method = "exact dynamic programming (chain)";
  } else {
    out.stage_of = refine_partition(pr, std::move(out.stage_of));
    out.method = "dynamic programming over a topological order + Kernighan-Lin refinement";
  }
  assert(is_valid_partition(*pr.graph, out.stage_of, pr.num_stages));
  return out;
}

}  // namespace ptsim::strategies

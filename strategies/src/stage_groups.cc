#include "stage_groups.h"

#include <algorithm>
#include <cassert>

namespace ptsim::strategies::detail {
namespace {

// Builds one GroupSet from groups given as lane lists; `ring`: members send to the next
// member and receive from the previous one (pairs), else the whole group's shape.
class GroupSetBuilder {
 public:
  GroupSetBuilder(const Scenario& s, const RankGrid& grid, int stage, bool all_lanes)
      : s_(s), grid_(grid), stage_(stage), all_lanes_(all_lanes) {}

  void add(std::span<const std::uint32_t> lanes, bool ring, GroupSet& set) const {
    const bool has_rep = std::find(lanes.begin(), lanes.end(), 0u) != lanes.end();
    if (!all_lanes_ && !has_rep) return;
    std::vector<int> ranks;
    ranks.reserve(lanes.size());
    for (std::uint32_t l : lanes) ranks.push_back(lane_rank(s_, grid_, stage_, l));
    const std::size_t n = lanes.size();
    if (!ring) {
      const std::uint16_t cls = classify(set, ranks);
      for (std::uint32_t l : lanes) {
        if (!all_lanes_ && l != 0) continue;
        set.members.push_back(l);
        set.tx_class.push_back(cls);
        set.rx_class.push_back(cls);
      }
    } else {
      assert(n >= 2);
      if (has_rep && set.num_groups() == 0) {
        // A pair's shape (what group_shape gives for two ranks): within an NVLink domain,
        // across domains, across pods. In the order first seen.
        std::array<bool, 3> seen{};
        for (std::size_t i = 0; i < n; ++i) {
          const int a = ranks[i], b = ranks[(i + 1) % n];
          const bool same_domain = s_.cluster.domain_of(a) == s_.cluster.domain_of(b);
          const bool crosses_pods = s_.cluster.pod_of(a) != s_.cluster.pod_of(b);
          const std::size_t kind = crosses_pods ? 2 : (same_domain ? 0 : 1);
          if (seen[kind]) continue;
          seen[kind] = true;
          set.rep_ring_shapes.push_back(same_domain ? costmodel::GroupShape{2, 2, 1, crosses_pods}
                                                    : costmodel::GroupShape{2, 1, 2, crosses_pods});
        }
      }
      for (std::size_t i = 0; i < n; ++i) {
        if (!all_lanes_ && lanes[i] != 0) continue;
        const std::array<int, 2> out{ranks[i], ranks[(i + 1) % n]};
        const std::array<int, 2> in{ranks[(i + n - 1) % n], ranks[i]};
        const std::uint16_t tx = classify(set, out);
        // Collapsed: the representative's step stands for its receive too.
        const std::uint16_t rx = all_lanes_ ? classify(set, in) : tx;
        set.members.push_back(lanes[i]);
        set.tx_class.push_back(tx);
        set.rx_class.push_back(rx);
      }
    }
    set.offsets.push_back(static_cast<std::uint32_t>(set.members.size()));
  }

 private:
  std::uint16_t classify(GroupSet& set, std::span<const int> ranks) const {
    const costmodel::GroupShape shape = costmodel::group_shape(s_.cluster, ranks);
    for (std::size_t c = 0; c < set.shapes.size(); ++c) {
      if (same_shape(set.shapes[c], shape)) return static_cast<std::uint16_t>(c);
    }
    set.shapes.push_back(shape);
    set.examples.emplace_back(ranks.begin(), ranks.end());
    return static_cast<std::uint16_t>(set.shapes.size() - 1);
  }

  const Scenario& s_;
  const RankGrid& grid_;
  int stage_;
  bool all_lanes_;
};

}  // namespace

bool same_shape(const costmodel::GroupShape& a, const costmodel::GroupShape& b) {
  return a.ranks == b.ranks && a.ranks_per_domain == b.ranks_per_domain && a.domains == b.domains &&
         a.crosses_pods == b.crosses_pods;
}

std::int64_t lanes_per_stage(const Scenario& s) { return s.layout.tp * s.layout.cp * s.layout.dp; }

int lane_rank(const Scenario& s, const RankGrid& grid, int stage, std::uint32_t lane) {
  const std::int64_t tp = s.layout.tp, cp = s.layout.cp;
  const std::int64_t t = lane % tp;
  const std::int64_t j = lane / tp;  // (cp, dp) index, cp fastest
  return grid.rank(t, j / cp, stage, j % cp);
}

StageGroups build_stage_groups(const Scenario& s, const RankGrid& grid, int st, bool all_lanes) {
  StageGroups g;
  g.stage = st;
  const GroupSetBuilder b(s, grid, st, all_lanes);
  const auto tp = static_cast<std::uint32_t>(s.layout.tp);
  const auto cp = static_cast<std::uint32_t>(s.layout.cp);
  const auto dp = static_cast<std::uint32_t>(s.layout.dp);
  const auto ep = static_cast<std::uint32_t>(s.layout.ep);
  const std::uint32_t dpcp = dp * cp;
  std::vector<std::uint32_t> lanes;
  // Without all lanes only the groups holding lane 0 are kept: the first of each loop.
  const auto upto = [all_lanes](std::uint32_t n) { return all_lanes ? n : std::min(n, 1u); };
  // TP groups: consecutive lanes. Representative's group first, so its class is 0.
  for (std::uint32_t j = 0; j < upto(dpcp); ++j) {
    lanes.clear();
    for (std::uint32_t t = 0; t < tp; ++t) lanes.push_back(t + tp * j);
    b.add(lanes, false, g.tp);
  }
  if (cp > 1) {
    for (std::uint32_t d = 0; d < upto(dp); ++d) {
      for (std::uint32_t t = 0; t < upto(tp); ++t) {
        lanes.clear();
        for (std::uint32_t c = 0; c < cp; ++c) lanes.push_back(t + tp * (c + cp * d));
        b.add(lanes, false, g.cp);
        b.add(lanes, true, g.cp_ring);
      }
    }
  }
  if (ep > 1) {
    // Megatron's tp-cp-ep-dp order: an EP group is ep consecutive (cp, dp) indices.
    for (std::uint32_t k = 0; k < upto(dpcp / ep); ++k) {
      for (std::uint32_t t = 0; t < upto(tp); ++t) {
        lanes.clear();
        for (std::uint32_t e = 0; e < ep; ++e) lanes.push_back(t + tp * (k * ep + e));
        b.add(lanes, false, g.ep);
      }
    }
  }
  if (dpcp > 1) {
    for (std::uint32_t t = 0; t < upto(tp); ++t) {
      lanes.clear();
      for (std::uint32_t j = 0; j < dpcp; ++j) lanes.push_back(t + tp * j);
      b.add(lanes, false, g.dp);
    }
  }
  const int p = static_cast<int>(s.layout.pp);
  const bool wraps = s.layout.virtual_stages > 1;  // interleaved: the last stage feeds the first
  for (int dir = 0; dir < 2; ++dir) {
    int to = dir == 0 ? st + 1 : st - 1;
    if (wraps) to = (to + p) % p;
    if (to < 0 || to >= p || to == st) continue;
    g.send_to[static_cast<std::size_t>(dir)] = to;
    GroupSet& set = g.send[static_cast<std::size_t>(dir)];
    const std::uint32_t n = all_lanes ? tp * dpcp : 1;
    for (std::uint32_t l = 0; l < n; ++l) {
      const std::array<int, 2> pair{lane_rank(s, grid, st, l), lane_rank(s, grid, to, l)};
      const costmodel::GroupShape shape = costmodel::group_shape(s.cluster, pair);
      std::uint16_t cls = 0;
      while (cls < set.shapes.size() && !same_shape(set.shapes[cls], shape)) ++cls;
      if (cls == set.shapes.size()) {
        set.shapes.push_back(shape);
        set.examples.emplace_back(pair.begin(), pair.end());
      }
      set.members.push_back(l);
      set.tx_class.push_back(cls);
      set.rx_class.push_back(cls);
      set.offsets.push_back(static_cast<std::uint32_t>(set.members.size()));
    }
  }
  return g;
}

std::string describe_group(const std::vector<int>& ranks, const costmodel::GroupShape& shape) {
  std::string list;
  const std::size_t shown = std::min<std::size_t>(ranks.size(), 4);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i > 0) list += ',';
    list += std::to_string(ranks[i]);
  }
  if (ranks.size() > shown) list += ",...";
  return "ranks " + list + " (" + std::to_string(shape.domains) + " NVLink domain(s) of up to " +
         std::to_string(shape.ranks_per_domain) + " rank(s), " + (shape.crosses_pods ? "across pods" : "one pod") + ")";
}

}  // namespace ptsim::strategies::detail

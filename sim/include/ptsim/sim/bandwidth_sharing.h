// Bandwidth sharing: how concurrent flows divide the capacity of the links they cross.
// A model reads a static FlowNetwork (borrowed; it must outlive the model), is told which
// flows start and finish, and after each batch of such changes recomputes rates and names
// the flows whose rate changed. Invariants: no link carries more than its capacity (up to
// rounding), a flow never exceeds its cap, and some active flow always has a rate > 0, so
// every flow eventually finishes (under max-min every active flow has a rate > 0).
//
// Costs per recompute, and measured (bench/flow_bench.cc, 10,000 flows on a 1,024-GPU
// leaf-spine link set, 2-core CI-class machine):
//   MaxMinFairSharing  O(P log L) over the connected component of the flows that started
//                      or ended (P path entries, L links): progressive filling on an
//                      indexed heap. 4.4 s per run when all active flows form one
//                      component (~10K recomputes of ~5K flows), 0.53 s when each leaf
//                      is its own component.
//   FifoSharing        O(path length) per flow that starts, ends or reaches the head of
//                      its queues: 3.3 ms per run (~3 M flows/s).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ptsim/sim/task_graph.h"

namespace ptsim::sim {
namespace detail {
class FlowSlots;
}

enum class SharingPolicy : std::uint8_t {
  max_min,  // max-min fair (progressive filling), the default
  fifo,     // each link serves one flow at a time, oldest first
};

// The static network the models work on, as views of flat arrays (TaskGraph's).
struct FlowNetwork {
  std::span<const double> link_capacity_bytes_per_s;  // per link; > 0 on every path
  std::span<const std::uint32_t> path_offsets;        // per flow + 1
  std::span<const LinkId> path_links;                 // flow f: [offsets[f], offsets[f+1])
  // Per flow its cap (0 = none); or, when max_rate_index is given, per entry of that table
  // and flow f's cap is max_rate_bytes_per_s[max_rate_index[f]] (TaskGraph shares one
  // (bytes, cap) record among the flows that have the same).
  std::span<const double> max_rate_bytes_per_s;
  std::span<const std::uint32_t> max_rate_index = {};

  static FlowNetwork of(const TaskGraph& graph) {
    return {graph.link_capacities(), graph.path_offsets(), graph.path_links(), graph.flow_spec_max_rates(),
            graph.flow_spec_ids()};
  }
  std::size_t num_links() const { return link_capacity_bytes_per_s.size(); }
  std::size_t num_flows() const {
    return max_rate_index.empty() ? max_rate_bytes_per_s.size() : max_rate_index.size();
  }
  double max_rate(FlowId f) const {
    return max_rate_index.empty() ? max_rate_bytes_per_s[f] : max_rate_bytes_per_s[max_rate_index[f]];
  }
  std::span<const LinkId> path(FlowId f) const {
    return path_links.subspan(path_offsets[f], path_offsets[f + 1] - path_offsets[f]);
  }
};

class BandwidthSharing {
 public:
  virtual ~BandwidthSharing() = default;
  // `flow` starts sending; its rate stays 0 until the next recompute(). Flows added
  // between two recomputes arrive together (FIFO orders them by id).
  virtual void add_flow(FlowId flow) = 0;
  // An active `flow` has finished and leaves its links; its rate becomes 0.
  virtual void remove_flow(FlowId flow) = 0;
  // Recomputes the rates affected by the add/remove calls since the last recompute and
  // replaces `changed` by the active flows whose rate changed, in a deterministic order.
  virtual void recompute(std::vector<FlowId>& changed) = 0;
  virtual double rate_bytes_per_s(FlowId flow) const = 0;
  // After recompute(): the new rate of each flow in `changed`, in the same order (what
  // rate_bytes_per_s() would return, without looking each flow up).
  std::span<const double> changed_rates() const { return changed_rates_; }

 protected:
  std::vector<double> changed_rates_;
};

// Max-min fairness by progressive filling: all rates rise together; a link whose capacity
// is used up freezes its flows at the current level, and a capped flow freezes at its cap.
// Only the connected component (flows joined by shared links, transitively) of the flows
// that started or finished is recomputed. A rate that moves by less than one part in 1e12
// is kept as it was, so rounding noise does not reschedule unaffected flows.
// Memory: per link a few words; per flow nothing until it starts, then a slot (reused once
// it ends) with its rate, stamps and its positions on its links' member lists.
class MaxMinFairSharing final : public BandwidthSharing {
 public:
  explicit MaxMinFairSharing(FlowNetwork network);
  ~MaxMinFairSharing() override;
  void add_flow(FlowId flow) override;
  void remove_flow(FlowId flow) override;
  void recompute(std::vector<FlowId>& changed) override;
  double rate_bytes_per_s(FlowId flow) const override;

 private:
  struct Member {  // an active flow (its slot) on a link, and which entry of its path this is
    std::uint32_t slot;
    std::uint32_t entry;
  };
  // A bottleneck candidate in the filling heap: a link at its current fair share, or a
  // capped flow at its cap. Nodes number links first, then flows (num_links() + flow id),
  // which orders ties; a flow's entry also names its slot.
  struct Level {
    double share;
    std::uint32_t node;
    std::uint32_t slot;  // flows only
    bool operator<(const Level& other) const;
  };
  // Per active flow, indexed by its slot.
  struct Active {
    FlowId flow = 0;
    double rate = 0;
    std::uint64_t seen = 0;  // in the component when == epoch_, frozen when == frozen_epoch_
    std::uint32_t heap_pos = 0;
    bool live = false;  // false once removed (the slot waits for reuse)
    std::vector<std::uint32_t> member_pos;  // per path entry: index in members_[link]
  };
  void visit_link(LinkId link);
  void visit_flow(std::uint32_t slot);
  void freeze(std::uint32_t slot, double rate);
  void fill();
  // An indexed binary min-heap on (share, node): each node at most once, updated in place.
  void heap_set(std::uint32_t node, double share);
  void heap_erase(std::uint32_t node, std::uint32_t slot);
  std::uint32_t& heap_pos(const Level& level);
  void heapify();
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);

  FlowNetwork net_;
  std::uint32_t num_links_ = 0;
  std::vector<std::vector<Member>> members_;   // per link: active flows on it
  std::unique_ptr<detail::FlowSlots> slots_;   // active flow -> slot
  std::vector<Active> active_;                 // per slot
  std::vector<std::uint32_t> added_;           // slots
  std::vector<FlowId> removed_;
  // Scratch for one recompute; stamps avoid clearing per-link/per-flow state.
  std::uint64_t epoch_ = 0;
  std::uint64_t frozen_epoch_ = 0;
  std::uint64_t touch_epoch_ = 0;
  std::vector<std::uint64_t> link_seen_;
  std::vector<std::uint64_t> link_touched_;
  std::vector<LinkId> component_links_;
  std::size_t component_size_ = 0;             // flows in the component not yet frozen
  std::vector<LinkId> touched_;
  std::vector<double> remaining_capacity_;     // per link
  std::vector<std::uint32_t> unfrozen_;        // per link
  std::vector<FlowId>* changed_ = nullptr;     // recompute()'s output, during fill()
  std::vector<Level> heap_;
  std::vector<std::uint32_t> link_heap_pos_;   // per link: index in heap_, or none
  double level_ = 0;
};

// First come, first served: each link serves the flows on it in arrival order (ties by
// flow id). A flow sends, at the smallest capacity on its path (and at most its cap), only
// while it is the oldest unfinished flow on every link of its path; otherwise its rate is
// 0. Arrival order is one total order, so the oldest active flow always sends.
class FifoSharing final : public BandwidthSharing {
 public:
  explicit FifoSharing(FlowNetwork network);
  void add_flow(FlowId flow) override;
  void remove_flow(FlowId flow) override;
  void recompute(std::vector<FlowId>& changed) override;
  double rate_bytes_per_s(FlowId flow) const override { return rate_[flow]; }

 private:
  struct Queue {  // flows in arrival order; [head, flows.size()) are waiting or sending
    std::vector<FlowId> flows;
    std::size_t head = 0;
  };
  void pop_finished(LinkId link);
  bool is_head_everywhere(FlowId flow) const;

  FlowNetwork net_;
  std::vector<Queue> queues_;          // per link
  std::vector<std::uint8_t> active_;   // per flow
  std::vector<double> rate_;           // per flow
  std::vector<double> solo_rate_;      // per flow: its rate when sending
  std::vector<FlowId> added_;
  std::vector<FlowId> candidates_;
  std::vector<std::uint64_t> seen_;    // per flow: dedupes candidates_
  std::uint64_t epoch_ = 0;
};

std::unique_ptr<BandwidthSharing> make_bandwidth_sharing(SharingPolicy policy, FlowNetwork network);

}  // namespace ptsim::sim

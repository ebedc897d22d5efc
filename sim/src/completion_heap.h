// Private to sim/: the pending completion times of sending flows, as an indexed binary
// min-heap keyed by (time, flow id) so ties resolve the same way on every run. A flow is
// in the heap at most once; set() moves it when its rate changes, so no stale entries
// pile up. Storage is sized once for all flows; operations do not allocate.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "ptsim/sim/task_graph.h"
#include "ptsim/sim/time.h"

namespace ptsim::sim::detail {

class CompletionHeap {
 public:
  explicit CompletionHeap(std::size_t num_flows) : pos_(num_flows, kAbsent), key_(num_flows) {
    heap_.reserve(num_flows);
  }

  bool empty() const { return heap_.empty(); }
  FlowId top() const { return heap_.front(); }
  Time top_time() const { return key_[heap_.front()]; }

  // Inserts `flow` at `at`, or moves it there if present.
  void set(FlowId flow, Time at) {
    key_[flow] = at;
    if (pos_[flow] == kAbsent) {
      pos_[flow] = static_cast<std::uint32_t>(heap_.size());
      heap_.push_back(flow);
      sift_up(pos_[flow]);
    } else {
      sift_up(pos_[flow]);
      sift_down(pos_[flow]);
    }
  }

  void erase(FlowId flow) {
    const std::uint32_t i = pos_[flow];
    if (i == kAbsent) return;
    pos_[flow] = kAbsent;
    const FlowId last = heap_.back();
    heap_.pop_back();
    if (last == flow) return;
    heap_[i] = last;
    pos_[last] = i;
    sift_up(i);
    sift_down(pos_[last]);
  }

  void pop() { erase(heap_.front()); }

 private:
  static constexpr std::uint32_t kAbsent = std::numeric_limits<std::uint32_t>::max();

  bool before(FlowId a, FlowId b) const {
    return key_[a] != key_[b] ? key_[a] < key_[b] : a < b;
  }
  void place(std::uint32_t i, FlowId flow) {
    heap_[i] = flow;
    pos_[flow] = i;
  }
  void sift_up(std::uint32_t i) {
    const FlowId flow = heap_[i];
    while (i > 0) {
      const std::uint32_t parent = (i - 1) / 2;
      if (!before(flow, heap_[parent])) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, flow);
  }
  void sift_down(std::uint32_t i) {
    const FlowId flow = heap_[i];
    const auto n = static_cast<std::uint32_t>(heap_.size());
    while (true) {
      std::uint32_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
      if (!before(heap_[child], flow)) break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, flow);
  }

  std::vector<FlowId> heap_;
  std::vector<std::uint32_t> pos_;  // per flow: index in heap_, or kAbsent
  std::vector<Time> key_;           // per flow: completion time while in the heap
};

}  // namespace ptsim::sim::detail

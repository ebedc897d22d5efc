// Private to sim/: the pending completion times of sending flows, as an indexed binary
// min-heap keyed by (time, flow id) so ties resolve the same way on every run. Entries are
// the flows' slots (flow_slots.h); a slot is in the heap at most once; set() moves it when
// its rate changes, so no stale entries pile up. Storage grows with the slots in use and
// stops allocating once the most flows ever active have been seen.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "ptsim/sim/task_graph.h"
#include "ptsim/sim/time.h"

namespace ptsim::sim::detail {

class CompletionHeap {
 public:
  bool empty() const { return heap_.empty(); }
  std::uint32_t top() const { return heap_.front(); }  // a slot
  Time top_time() const { return key_[heap_.front()]; }

  // Inserts slot `flow` (sending flow `id`) at `at`, or moves it there if present.
  void set(std::uint32_t flow, FlowId id, Time at) {
    if (flow >= pos_.size()) {
      pos_.resize(flow + 1, kAbsent);
      key_.resize(flow + 1);
      id_.resize(flow + 1);
    }
    key_[flow] = at;
    id_[flow] = id;
    if (pos_[flow] == kAbsent) {
      pos_[flow] = static_cast<std::uint32_t>(heap_.size());
      heap_.push_back(flow);
      sift_up(pos_[flow]);
    } else {
      sift_up(pos_[flow]);
      sift_down(pos_[flow]);
    }
  }

  void erase(std::uint32_t flow) {
    if (flow >= pos_.size()) return;
    const std::uint32_t i = pos_[flow];
    if (i == kAbsent) return;
    pos_[flow] = kAbsent;
    const std::uint32_t last = heap_.back();
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

  bool before(std::uint32_t a, std::uint32_t b) const {
    return key_[a] != key_[b] ? key_[a] < key_[b] : id_[a] < id_[b];
  }
  void place(std::uint32_t i, std::uint32_t flow) {
    heap_[i] = flow;
    pos_[flow] = i;
  }
  void sift_up(std::uint32_t i) {
    const std::uint32_t flow = heap_[i];
    while (i > 0) {
      const std::uint32_t parent = (i - 1) / 2;
      if (!before(flow, heap_[parent])) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, flow);
  }
  void sift_down(std::uint32_t i) {
    const std::uint32_t flow = heap_[i];
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

  std::vector<std::uint32_t> heap_;  // slots
  std::vector<std::uint32_t> pos_;   // per slot: index in heap_, or kAbsent
  std::vector<Time> key_;            // per slot: completion time while in the heap
  std::vector<FlowId> id_;           // per slot: its flow, the tie-break
};

}  // namespace ptsim::sim::detail

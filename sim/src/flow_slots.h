// Private to sim/: dense slots for the flows that are sending at one time. A flow gets a
// slot when it starts and gives it back when it ends; slots are reused last-freed first,
// so per-flow run-time state lives in arrays sized by the most flows ever active at once
// (thousands), not by every flow of the graph (tens of millions in a full-mode step).
// FlowId -> slot is an open-addressing hash table (linear probing, backward-shift
// deletion); nothing here depends on iteration order, so results stay deterministic.
#pragma once

#include <cassert>
#include <cstdint>
#include <limits>
#include <vector>

#include "ptsim/sim/task_graph.h"

namespace ptsim::sim::detail {

class FlowSlots {
 public:
  static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

  // Slots handed out so far (every slot index is below this): size per-slot arrays to it.
  std::size_t capacity() const { return flow_of_slot_.size(); }
  FlowId flow(std::uint32_t slot) const { return flow_of_slot_[slot]; }

  // A slot for `flow`, which must not hold one.
  std::uint32_t insert(FlowId flow) {
    assert(find(flow) == kNone && "flow inserted twice");
    std::uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
      flow_of_slot_[slot] = flow;
    } else {
      slot = static_cast<std::uint32_t>(flow_of_slot_.size());
      flow_of_slot_.push_back(flow);
    }
    ++size_;
    if (2 * size_ > table_.size()) grow();
    place(flow, slot);
    return slot;
  }

  // `flow`'s slot, or kNone.
  std::uint32_t find(FlowId flow) const {
    if (table_.empty()) return kNone;
    for (std::size_t i = home(flow);; i = (i + 1) & mask_) {
      const Entry& e = table_[i];
      if (e.slot == kNone) return kNone;
      if (e.flow == flow) return e.slot;
    }
  }

  // Frees `flow`'s slot (it must hold one) and returns it.
  std::uint32_t erase(FlowId flow) {
    std::size_t i = home(flow);
    while (table_[i].flow != flow || table_[i].slot == kNone) {
      assert(table_[i].slot != kNone && "erasing a flow without a slot");
      i = (i + 1) & mask_;
    }
    const std::uint32_t freed = table_[i].slot;
    free_.push_back(freed);
    --size_;
    // Backward shift: move later entries of the probe run into the hole when their home
    // position allows, so lookups never need tombstones.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; table_[j].slot != kNone; j = (j + 1) & mask_) {
      const std::size_t h = home(table_[j].flow);
      // j may move to the hole when h is not in the cyclic range (hole, j].
      const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (!stays) {
        table_[hole] = table_[j];
        hole = j;
      }
    }
    table_[hole] = Entry{};
    return freed;
  }

 private:
  struct Entry {
    FlowId flow = 0;
    std::uint32_t slot = kNone;  // kNone: empty
  };

  std::size_t home(FlowId flow) const {
    return static_cast<std::size_t>((std::uint64_t{flow} * 0x9E3779B97F4A7C15ull) >> 32) & mask_;
  }
  void place(FlowId flow, std::uint32_t slot) {
    std::size_t i = home(flow);
    while (table_[i].slot != kNone) i = (i + 1) & mask_;
    table_[i] = Entry{flow, slot};
  }
  void grow() {
    std::vector<Entry> old = std::move(table_);
    table_.assign(old.empty() ? 64 : old.size() * 2, Entry{});
    mask_ = table_.size() - 1;
    for (const Entry& e : old) {
      if (e.slot != kNone) place(e.flow, e.slot);
    }
  }

  std::vector<Entry> table_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::vector<FlowId> flow_of_slot_;
  std::vector<std::uint32_t> free_;
};

}  // namespace ptsim::sim::detail

// The pending-event set of an Engine, behind a small interface so implementations can be
// swapped and benchmarked (bench/engine_bench.cc). Events are totally ordered by
// (time, priority, sequence): lower priority values run first at equal times, and the
// engine-assigned sequence breaks the remaining ties in insertion order.
//
// Measured costs (bench/engine_bench, 2-core CI-class machine; see docs/performance.md):
//   BinaryHeapEventQueue   O(log n) push/pop (4-ary heap), contiguous storage, the default
//   OrderedSetEventQueue   O(log n) push/pop, one node allocation per event; reference only
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <vector>

#include "ptsim/sim/time.h"

namespace ptsim::sim {

// (time, priority, sequence) packed into two words so a comparison is two integer compares:
// `order` holds the priority, biased to unsigned, in its top 24 bits and the sequence in the
// low 40 bits (10^12 events per engine; make() refuses more, and priorities outside 24 bits).
struct EventKey {
  static constexpr int kSequenceBits = 40;
  static constexpr std::uint64_t kMaxSequence = (std::uint64_t{1} << kSequenceBits) - 1;
  static constexpr std::int32_t kMinPriority = -(1 << 23);
  static constexpr std::int32_t kMaxPriority = (1 << 23) - 1;

  Time time;
  std::uint64_t order = 0;

  static EventKey make(Time time, std::int32_t priority, std::uint64_t sequence) {
    if (priority < kMinPriority || priority > kMaxPriority || sequence > kMaxSequence) {
      throw_out_of_range(priority, sequence);
    }
    const auto biased = static_cast<std::uint64_t>(static_cast<std::int64_t>(priority) - kMinPriority);
    return EventKey{time, (biased << kSequenceBits) | sequence};
  }
  [[noreturn]] static void throw_out_of_range(std::int32_t priority, std::uint64_t sequence);
  std::int32_t priority() const {
    return static_cast<std::int32_t>(static_cast<std::int64_t>(order >> kSequenceBits) + kMinPriority);
  }
  std::uint64_t sequence() const { return order & kMaxSequence; }
  friend constexpr bool operator<(const EventKey& a, const EventKey& b) {
    return a.time < b.time || (a.time == b.time && a.order < b.order);
  }
  friend constexpr bool operator==(const EventKey&, const EventKey&) = default;
};

// An event as the queue sees it: its key and the engine's handle for the callback.
struct QueuedEvent {
  EventKey key;
  std::uint32_t slot = 0;
};

class EventQueue {
 public:
  virtual ~EventQueue() = default;
  virtual void push(const QueuedEvent& event) = 0;
  // Removes and returns the smallest event. Precondition: !empty().
  virtual QueuedEvent pop() = 0;
  virtual bool empty() const = 0;
  virtual std::size_t size() const = 0;
};

// A 4-ary min-heap in one vector: half the depth of a binary heap, and the four children
// of a node share a cache line or two. Defined inline so the Engine's fast path (which
// knows it holds this type) compiles to direct calls.
class BinaryHeapEventQueue final : public EventQueue {
 public:
  void push(const QueuedEvent& event) override {
    std::size_t hole = heap_.size();
    heap_.push_back(event);
    while (hole > 0) {
      const std::size_t parent = (hole - 1) / kArity;
      if (!(event.key < heap_[parent].key)) break;
      heap_[hole] = heap_[parent];
      hole = parent;
    }
    heap_[hole] = event;
  }
  QueuedEvent pop() override {
    const QueuedEvent top = heap_.front();
    const QueuedEvent last = heap_.back();
    heap_.pop_back();
    const std::size_t n = heap_.size();
    if (n == 0) return top;
    std::size_t hole = 0;
    for (;;) {
      const std::size_t first = hole * kArity + 1;
      if (first >= n) break;
      std::size_t best = first;
      const std::size_t end = first + kArity < n ? first + kArity : n;
      for (std::size_t c = first + 1; c < end; ++c) {
        if (heap_[c].key < heap_[best].key) best = c;
      }
      if (!(heap_[best].key < last.key)) break;
      heap_[hole] = heap_[best];
      hole = best;
    }
    heap_[hole] = last;
    return top;
  }
  bool empty() const override { return heap_.empty(); }
  std::size_t size() const override { return heap_.size(); }

 private:
  static constexpr std::size_t kArity = 4;
  std::vector<QueuedEvent> heap_;
};

class OrderedSetEventQueue final : public EventQueue {
 public:
  void push(const QueuedEvent& event) override;
  QueuedEvent pop() override;
  bool empty() const override { return set_.empty(); }
  std::size_t size() const override { return set_.size(); }

 private:
  struct ByKey {
    bool operator()(const QueuedEvent& a, const QueuedEvent& b) const { return a.key < b.key; }
  };
  std::set<QueuedEvent, ByKey> set_;
};

std::unique_ptr<EventQueue> make_default_event_queue();

}  // namespace ptsim::sim

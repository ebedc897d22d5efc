// The pending-event set of an Engine, behind a small interface so implementations can be
// swapped and benchmarked (bench/engine_bench.cc). Events are totally ordered by
// (time, priority, sequence): lower priority values run first at equal times, and the
// engine-assigned sequence breaks the remaining ties in insertion order.
//
// Measured costs (bench/engine_bench, 2-core CI-class machine; see docs/performance.md):
//   BinaryHeapEventQueue   O(log n) push/pop, contiguous storage, the default
//   OrderedSetEventQueue   O(log n) push/pop, one node allocation per event; reference only
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <set>
#include <vector>

#include "ptsim/sim/time.h"

namespace ptsim::sim {

struct EventKey {
  Time time;
  std::int32_t priority = 0;
  std::uint64_t sequence = 0;
  friend constexpr auto operator<=>(const EventKey&, const EventKey&) = default;
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

class BinaryHeapEventQueue final : public EventQueue {
 public:
  void push(const QueuedEvent& event) override;
  QueuedEvent pop() override;
  bool empty() const override { return heap_.empty(); }
  std::size_t size() const override { return heap_.size(); }

 private:
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

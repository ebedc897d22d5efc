// The discrete-event engine: a clock, a pending-event set, and a run loop that pops the
// smallest (time, priority, sequence) event, checks time does not go backwards, sets the
// clock and runs the callback. An Engine is a plain value with no global state, so any
// number can run in one process. Callbacks are typed closures, never void*.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "ptsim/sim/event_queue.h"
#include "ptsim/sim/time.h"

namespace ptsim::sim {

class Engine {
 public:
  using Callback = std::function<void()>;

  explicit Engine(std::unique_ptr<EventQueue> queue = make_default_event_queue());
  Engine(Engine&&) noexcept = default;
  Engine& operator=(Engine&&) noexcept = default;

  Time now() const { return now_; }

  // Schedules `callback` at absolute time `at` (>= now()). Lower `priority` runs first
  // among events at the same time; equal keys run in scheduling order.
  void schedule_at(Time at, std::int32_t priority, Callback callback);
  void schedule_in(Time delay, std::int32_t priority, Callback callback) {
    schedule_at(now_ + delay, priority, std::move(callback));
  }

  // Runs one event; returns false when none is pending.
  bool step();
  // Runs until no event is pending.
  void run();

  std::uint64_t events_processed() const { return events_processed_; }
  std::size_t pending() const { return queue_->size(); }

 private:
  std::unique_ptr<EventQueue> queue_;
  // Callbacks live in a slab indexed by QueuedEvent::slot; freed slots are reused, so a
  // steady-state run does not allocate per event.
  std::vector<Callback> slots_;
  std::vector<std::uint32_t> free_slots_;
  Time now_;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t events_processed_ = 0;
};

}  // namespace ptsim::sim

// The discrete-event engine: a clock, a pending-event set, and a run loop that pops the
// smallest (time, priority, sequence) event, checks time does not go backwards, sets the
// clock and runs the callback. An Engine is a plain value with no global state, so any
// number can run in one process. Callbacks are typed closures, never void* handed in by
// the caller.
//
// Hot path: a closure that is trivially copyable and at most 16 bytes (the simulator's
// [this, id] captures) is stored inline in a slot and run through one function pointer, so
// scheduling and running an event allocates nothing and calls no copy/destroy manager. Any
// other closure is boxed in a std::function beside the slots (correct, just slower).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "ptsim/sim/event_queue.h"
#include "ptsim/sim/time.h"

namespace ptsim::sim {

class Engine {
 public:
  explicit Engine(std::unique_ptr<EventQueue> queue = make_default_event_queue());
  Engine(Engine&&) noexcept = default;
  Engine& operator=(Engine&&) noexcept = default;

  Time now() const { return now_; }

  // Schedules `callback` (any void() closure) at absolute time `at` (>= now()). Lower
  // `priority` runs first among events at the same time; equal keys run in scheduling order.
  template <class F>
  void schedule_at(Time at, std::int32_t priority, F&& callback);
  template <class F>
  void schedule_in(Time delay, std::int32_t priority, F&& callback) {
    schedule_at(now_ + delay, priority, std::forward<F>(callback));
  }

  // Runs one event; returns false when none is pending.
  bool step();
  // Runs until no event is pending.
  void run();

  std::uint64_t events_processed() const { return events_processed_; }
  std::size_t pending() const { return queue_->size(); }

 private:
  static constexpr std::size_t kInlineBytes = 16;
  // A pending event's closure: inline bytes and the function that runs them.
  struct Slot {
    void (*invoke)(Engine&, unsigned char*) = nullptr;
    alignas(void*) unsigned char storage[kInlineBytes];
  };

  template <class Fn>
  static constexpr bool stored_inline =
      sizeof(Fn) <= kInlineBytes && alignof(Fn) <= alignof(void*) && std::is_trivially_copyable_v<Fn>;

  std::uint32_t acquire_slot() {
    if (!free_slots_.empty()) {
      const std::uint32_t slot = free_slots_.back();
      free_slots_.pop_back();
      return slot;
    }
    return grow_slots();
  }
  std::uint32_t grow_slots();
  std::uint32_t box(std::function<void()> callback);
  void push(Time at, std::int32_t priority, std::uint32_t slot);
  static void run_boxed(Engine& engine, unsigned char* storage);

  std::unique_ptr<EventQueue> queue_;
  // The default queue's type when queue_ holds one, so the hot loop calls it directly.
  BinaryHeapEventQueue* heap_ = nullptr;
  // Slots are indexed by QueuedEvent::slot; freed slots are reused, so a steady-state run
  // does not allocate.
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::function<void()>> boxed_;
  std::vector<std::uint32_t> free_boxed_;
  Time now_;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t events_processed_ = 0;
};

template <class F>
void Engine::schedule_at(Time at, std::int32_t priority, F&& callback) {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_r_v<void, Fn&>, "an engine callback takes no arguments");
  const std::uint32_t slot = acquire_slot();
  if constexpr (stored_inline<Fn>) {
    ::new (static_cast<void*>(slots_[slot].storage)) Fn(std::forward<F>(callback));
    slots_[slot].invoke = [](Engine&, unsigned char* storage) { (*std::launder(reinterpret_cast<Fn*>(storage)))(); };
  } else {
    const std::uint32_t index = box(std::function<void()>(std::forward<F>(callback)));
    std::memcpy(slots_[slot].storage, &index, sizeof(index));
    slots_[slot].invoke = &Engine::run_boxed;
  }
  push(at, priority, slot);
}

}  // namespace ptsim::sim

#include "ptsim/sim/engine.h"

#include <cassert>
#include <stdexcept>
#include <utility>

namespace ptsim::sim {

Engine::Engine(std::unique_ptr<EventQueue> queue) : queue_(std::move(queue)) {
  if (!queue_) throw std::invalid_argument("Engine needs an event queue");
}

void Engine::schedule_at(Time at, std::int32_t priority, Callback callback) {
  if (at < now_) throw std::logic_error("Engine::schedule_at: event scheduled in the past");
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = std::move(callback);
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(std::move(callback));
  }
  queue_->push(QueuedEvent{EventKey{at, priority, next_sequence_++}, slot});
}

bool Engine::step() {
  if (queue_->empty()) return false;
  const QueuedEvent event = queue_->pop();
  assert(event.key.time >= now_ && "event queue returned an event from the past");
  now_ = event.key.time;
  Callback callback = std::move(slots_[event.slot]);
  slots_[event.slot] = nullptr;
  free_slots_.push_back(event.slot);
  ++events_processed_;
  callback();
  return true;
}

void Engine::run() {
  while (step()) {
  }
}

}  // namespace ptsim::sim

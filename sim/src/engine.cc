#include "ptsim/sim/engine.h"

#include <cassert>
#include <stdexcept>
#include <utility>

namespace ptsim::sim {

Engine::Engine(std::unique_ptr<EventQueue> queue) : queue_(std::move(queue)) {
  if (!queue_) throw std::invalid_argument("Engine needs an event queue");
  heap_ = dynamic_cast<BinaryHeapEventQueue*>(queue_.get());
}

std::uint32_t Engine::grow_slots() {
  slots_.emplace_back();
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

std::uint32_t Engine::box(std::function<void()> callback) {
  if (!free_boxed_.empty()) {
    const std::uint32_t index = free_boxed_.back();
    free_boxed_.pop_back();
    boxed_[index] = std::move(callback);
    return index;
  }
  boxed_.push_back(std::move(callback));
  return static_cast<std::uint32_t>(boxed_.size() - 1);
}

void Engine::run_boxed(Engine& engine, unsigned char* storage) {
  std::uint32_t index;
  std::memcpy(&index, storage, sizeof(index));
  // Moved out before the call: the callback may schedule boxed events that grow boxed_.
  std::function<void()> callback = std::move(engine.boxed_[index]);
  engine.boxed_[index] = nullptr;
  engine.free_boxed_.push_back(index);
  callback();
}

void Engine::push(Time at, std::int32_t priority, std::uint32_t slot) {
  if (at < now_) {
    free_slots_.push_back(slot);
    throw std::logic_error("Engine::schedule_at: event scheduled in the past");
  }
  const QueuedEvent event{EventKey::make(at, priority, next_sequence_++), slot};
  if (heap_ != nullptr) {
    heap_->push(event);
  } else {
    queue_->push(event);
  }
}

bool Engine::step() {
  QueuedEvent event;
  if (heap_ != nullptr) {
    if (heap_->empty()) return false;
    event = heap_->pop();
  } else {
    if (queue_->empty()) return false;
    event = queue_->pop();
  }
  assert(event.key.time >= now_ && "event queue returned an event from the past");
  now_ = event.key.time;
  // Copied out (not run in place): the callback may schedule events that grow slots_.
  Slot slot = slots_[event.slot];
  free_slots_.push_back(event.slot);
  ++events_processed_;
  slot.invoke(*this, slot.storage);
  return true;
}

void Engine::run() {
  while (step()) {
  }
}

}  // namespace ptsim::sim

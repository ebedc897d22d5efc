#include "ptsim/sim/event_queue.h"

#include <cassert>
#include <stdexcept>
#include <string>

namespace ptsim::sim {

void EventKey::throw_out_of_range(std::int32_t priority, std::uint64_t sequence) {
  if (sequence > kMaxSequence) throw std::out_of_range("more than 2^40 events scheduled on one engine");
  throw std::out_of_range("event priority " + std::to_string(priority) + " outside the 24-bit range");
}

void OrderedSetEventQueue::push(const QueuedEvent& event) { set_.insert(event); }

QueuedEvent OrderedSetEventQueue::pop() {
  assert(!set_.empty());
  auto first = set_.begin();
  QueuedEvent top = *first;
  set_.erase(first);
  return top;
}

std::unique_ptr<EventQueue> make_default_event_queue() {
  return std::make_unique<BinaryHeapEventQueue>();
}

}  // namespace ptsim::sim

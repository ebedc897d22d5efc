#include "ptsim/sim/event_queue.h"

#include <algorithm>
#include <cassert>

namespace ptsim::sim {
namespace {
// std::push_heap builds a max-heap; invert the order to pop the smallest key first.
struct Later {
  bool operator()(const QueuedEvent& a, const QueuedEvent& b) const { return b.key < a.key; }
};
}  // namespace

void BinaryHeapEventQueue::push(const QueuedEvent& event) {
  heap_.push_back(event);
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

QueuedEvent BinaryHeapEventQueue::pop() {
  assert(!heap_.empty());
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  QueuedEvent top = heap_.back();
  heap_.pop_back();
  return top;
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

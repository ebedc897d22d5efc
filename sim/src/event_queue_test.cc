#include "ptsim/sim/event_queue.h"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace ptsim::sim {
namespace {

TEST(EventKey, PackingKeepsPriorityAndSequenceAndTheirOrder) {
  const EventKey a = EventKey::make(Time::ns(5), -3, 7);
  EXPECT_EQ(a.priority(), -3);
  EXPECT_EQ(a.sequence(), 7u);
  const EventKey lo = EventKey::make(Time::ns(5), EventKey::kMinPriority, EventKey::kMaxSequence);
  const EventKey hi = EventKey::make(Time::ns(5), EventKey::kMaxPriority, 0);
  EXPECT_EQ(lo.priority(), EventKey::kMinPriority);
  EXPECT_EQ(hi.priority(), EventKey::kMaxPriority);
  EXPECT_TRUE(lo < hi);  // priority dominates sequence
  EXPECT_TRUE(EventKey::make(Time::ns(4), EventKey::kMaxPriority, 9) < lo);  // time dominates both
  EXPECT_THROW(EventKey::make(Time::ns(0), EventKey::kMaxPriority + 1, 0), std::out_of_range);
  EXPECT_THROW(EventKey::make(Time::ns(0), 0, EventKey::kMaxSequence + 1), std::out_of_range);
}

// Both queues must pop any interleaving of pushes and pops in exactly (time, priority,
// sequence) order; the ordered set is the reference.
TEST(EventQueue, HeapAndOrderedSetPopTheSameTotalOrder) {
  std::mt19937_64 rng(42);
  BinaryHeapEventQueue heap;
  OrderedSetEventQueue set;
  std::uint64_t sequence = 0;
  std::vector<std::tuple<std::int64_t, std::int32_t, std::uint64_t>> popped;
  for (int round = 0; round < 20000; ++round) {
    if (set.empty() || rng() % 3 != 0) {
      const QueuedEvent e{EventKey::make(Time::ns(static_cast<std::int64_t>(rng() % 64)),
                                         static_cast<std::int32_t>(rng() % 5) - 2, sequence++),
                          static_cast<std::uint32_t>(round)};
      heap.push(e);
      set.push(e);
    } else {
      const QueuedEvent a = heap.pop();
      const QueuedEvent b = set.pop();
      ASSERT_EQ(a.key, b.key);
      ASSERT_EQ(a.slot, b.slot);
    }
    ASSERT_EQ(heap.size(), set.size());
  }
  EventKey last{Time::ns(-1), 0};
  while (!heap.empty()) {
    const QueuedEvent a = heap.pop();
    EXPECT_EQ(a.key, set.pop().key);
    EXPECT_FALSE(a.key < last);
    last = a.key;
  }
  EXPECT_TRUE(set.empty());
}

}  // namespace
}  // namespace ptsim::sim

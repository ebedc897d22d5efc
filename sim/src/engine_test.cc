#include "ptsim/sim/engine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ptsim::sim {
namespace {

std::vector<std::string> run_scripted(std::unique_ptr<EventQueue> queue) {
  Engine engine(std::move(queue));
  std::vector<std::string> order;
  auto log = [&](std::string s) { return [&order, s] { order.push_back(s); }; };
  engine.schedule_at(Time::ns(20), 0, log("t20-p0-a"));
  engine.schedule_at(Time::ns(10), 5, log("t10-p5"));
  engine.schedule_at(Time::ns(20), -1, log("t20-p-1"));
  engine.schedule_at(Time::ns(20), 0, log("t20-p0-b"));
  engine.schedule_at(Time::ns(10), 0, [&] {
    order.push_back("t10-p0");
    // Scheduled from a callback at the current time: key (10, 0, seq) sorts before
    // t10-p5's (10, 5, ...), so it runs before that older event.
    engine.schedule_in(Time::zero(), 0, log("t10-p0-nested"));
  });
  engine.run();
  EXPECT_EQ(engine.now(), Time::ns(20));
  EXPECT_EQ(engine.events_processed(), 6u);
  return order;
}

TEST(Engine, RunsEventsInTimePrioritySequenceOrder) {
  const std::vector<std::string> expected = {"t10-p0", "t10-p0-nested", "t10-p5",
                                             "t20-p-1", "t20-p0-a", "t20-p0-b"};
  EXPECT_EQ(run_scripted(std::make_unique<BinaryHeapEventQueue>()), expected);
  EXPECT_EQ(run_scripted(std::make_unique<OrderedSetEventQueue>()), expected);
}

TEST(Engine, RefusesEventsInThePast) {
  Engine engine;
  engine.schedule_at(Time::ns(10), 0, [&] {
    EXPECT_THROW(engine.schedule_at(Time::ns(5), 0, [] {}), std::logic_error);
  });
  engine.run();
}

TEST(Engine, TwoEnginesInOneProcessAreIndependent) {
  Engine a;
  Engine b;
  int ran_a = 0;
  int ran_b = 0;
  a.schedule_at(Time::ns(100), 0, [&] { ++ran_a; });
  b.schedule_at(Time::ns(7), 0, [&] { ++ran_b; });
  b.run();
  EXPECT_EQ(b.now(), Time::ns(7));
  EXPECT_EQ(a.now(), Time::zero());
  EXPECT_EQ(a.pending(), 1u);
  a.run();
  EXPECT_EQ(ran_a, 1);
  EXPECT_EQ(ran_b, 1);
  EXPECT_EQ(a.now(), Time::ns(100));
}

// Closures too big or not trivially copyable for the inline slot are boxed; they must run
// in the same order, see their captures intact, and be destroyed after running.
TEST(Engine, BoxedAndInlineCallbacksInterleaveInOrder) {
  Engine engine;
  std::vector<std::string> order;
  auto shared = std::make_shared<int>(0);
  for (int i = 0; i < 100; ++i) {
    if (i % 2 == 0) {
      engine.schedule_at(Time::ns(100 - i), 0, [&order, i] { order.push_back("inline" + std::to_string(i)); });
    } else {
      const std::string label = "boxed" + std::to_string(i);
      engine.schedule_at(Time::ns(100 - i), 0, [&order, label, shared] { order.push_back(label); });
    }
  }
  EXPECT_EQ(shared.use_count(), 51);
  engine.run();
  EXPECT_EQ(shared.use_count(), 1);
  ASSERT_EQ(order.size(), 100u);
  EXPECT_EQ(order.front(), "boxed99");
  EXPECT_EQ(order.back(), "inline0");
}

}  // namespace
}  // namespace ptsim::sim

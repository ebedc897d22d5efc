#include "ptsim/sim/task_simulator.h"

#include <gtest/gtest.h>

#include <array>

namespace ptsim::sim {
namespace {

TEST(TaskSimulator, StreamRunsTasksOneAtATimeInIssueOrder) {
  TaskGraph g;
  const auto p = g.add_process("rank0");
  const auto s = g.add_stream(p, "compute");
  const auto a = g.add_task(s, Time::ns(10), 0);
  const auto b = g.add_task(s, Time::ns(20), 0);
  const auto c = g.add_task(s, Time::ns(5), 0);
  const Timeline t = simulate(g);
  EXPECT_EQ(t.start[a], Time::ns(0));
  EXPECT_EQ(t.start[b], Time::ns(10));
  EXPECT_EQ(t.start[c], Time::ns(30));
  EXPECT_EQ(t.makespan, Time::ns(35));
  EXPECT_EQ(t.stream_busy[s], Time::ns(35));
}

TEST(TaskSimulator, IndependentStreamsOverlapAndDependenciesSerialise) {
  TaskGraph g;
  const auto p = g.add_process("rank0");
  const auto compute = g.add_stream(p, "compute");
  const auto comm = g.add_stream(p, "comm");
  const auto f = g.add_task(compute, Time::ns(100), 0);
  const auto x = g.add_task(comm, Time::ns(30), 0);    // no deps: overlaps f
  const auto y = g.add_task(comm, Time::ns(40), 0);    // waits for f
  g.add_dependency(f, y);
  const auto z = g.add_task(compute, Time::ns(10), 0);  // waits for y
  g.add_dependency(y, z);
  const Timeline t = simulate(g);
  EXPECT_EQ(t.start[x], Time::ns(0));
  EXPECT_EQ(t.start[y], Time::ns(100));
  EXPECT_EQ(t.start[z], Time::ns(140));
  EXPECT_EQ(t.makespan, Time::ns(150));
  EXPECT_EQ(t.stream_busy[comm], Time::ns(70));
}

TEST(TaskSimulator, LinkIsHeldExclusivelyAndGrantedInWaitingOrder) {
  TaskGraph g;
  const auto p = g.add_process("rank0");
  const auto link = g.add_link(p, "nic");
  std::array<StreamId, 3> s{g.add_stream(p, "a"), g.add_stream(p, "b"), g.add_stream(p, "c")};
  std::array<TaskId, 3> task{};
  for (int i = 0; i < 3; ++i) {
    task[i] = g.add_task(std::span<const StreamId>(&s[i], 1), std::span<const LinkId>(&link, 1),
                         Time::ns(10 * (i + 1)), 0);
  }
  const Timeline t = simulate(g);
  EXPECT_EQ(t.start[task[0]], Time::ns(0));
  EXPECT_EQ(t.start[task[1]], Time::ns(10));
  EXPECT_EQ(t.start[task[2]], Time::ns(30));
  EXPECT_EQ(t.makespan, Time::ns(60));
}

TEST(TaskSimulator, MultiStreamTaskWaitsForEveryStream) {
  TaskGraph g;
  const auto p0 = g.add_process("rank0");
  const auto p1 = g.add_process("rank1");
  const auto s0 = g.add_stream(p0, "comm");
  const auto s1 = g.add_stream(p1, "comm");
  g.add_task(s0, Time::ns(5), 0);
  g.add_task(s1, Time::ns(25), 0);
  const std::array<StreamId, 2> both{s0, s1};
  const auto collective = g.add_task(both, {}, Time::ns(10), 0);
  const Timeline t = simulate(g);
  EXPECT_EQ(t.start[collective], Time::ns(25));
  EXPECT_EQ(t.end[collective], Time::ns(35));
}

TEST(TaskSimulator, ZeroDurationTasksChainAtTheSameInstant) {
  TaskGraph g;
  const auto p = g.add_process("rank0");
  const auto s = g.add_stream(p, "compute");
  const auto a = g.add_task(s, Time::zero(), 0);
  const auto b = g.add_task(s, Time::zero(), 0);
  g.add_dependency(a, b);
  const Timeline t = simulate(g);
  EXPECT_EQ(t.end[b], Time::zero());
  EXPECT_EQ(t.events, 2u);
}

TEST(TaskSimulator, DependencyCycleIsADeadlockErrorNotAHang) {
  TaskGraph g;
  const auto p = g.add_process("rank0");
  const auto s0 = g.add_stream(p, "a");
  const auto s1 = g.add_stream(p, "b");
  const auto a = g.add_task(s0, Time::ns(1), 0);
  const auto b = g.add_task(s1, Time::ns(1), 0);
  g.add_dependency(a, b);
  g.add_dependency(b, a);
  try {
    simulate(g);
    FAIL() << "expected DeadlockError";
  } catch (const DeadlockError& e) {
    EXPECT_EQ(e.unfinished(), 2u);
    EXPECT_NE(std::string(e.what()).find("deadlocked"), std::string::npos);
  }
}

TEST(TaskSimulator, CollectivesIssuedInOppositeOrdersAreADeadlock) {
  // Two collectives X and Y span the comm streams of two ranks. Rank 0 issues X then Y,
  // rank 1 issues Y then X: each waits to reach the head of the other's stream, as NCCL
  // would hang. The simulator must say so instead of hanging or finishing early.
  TaskGraph g;
  const auto p0 = g.add_process("rank0");
  const auto p1 = g.add_process("rank1");
  const auto s0 = g.add_stream(p0, "comm");
  const auto s1 = g.add_stream(p1, "comm");
  const std::array<StreamId, 1> only0{s0};
  const std::array<StreamId, 1> only1{s1};
  const std::array<StreamId, 2> both{s0, s1};
  TaskGraph ok = g;
  ok.add_task(both, {}, Time::ns(1), 0);  // X
  ok.add_task(both, {}, Time::ns(1), 0);  // Y
  EXPECT_EQ(simulate(ok).makespan, Time::ns(2));

  // Build the crossed order: placeholders fix each stream's issue order.
  const auto pre0 = g.add_task(only0, {}, Time::ns(1), 0);
  const auto x = g.add_task(both, {}, Time::ns(1), 0);      // s0: pre0, x ; s1: x
  const auto y = g.add_task(only1, {}, Time::ns(1), 0);     // s1: x, y
  g.add_dependency(y, pre0);                                // pre0 waits for y, y waits for x
  (void)x;
  EXPECT_THROW(simulate(g), DeadlockError);
}

TEST(TaskSimulator, SameGraphGivesIdenticalTimelines) {
  TaskGraph g;
  const auto p = g.add_process("rank0");
  const auto link = g.add_link(p, "nvlink");
  for (int i = 0; i < 50; ++i) {
    std::string name = "s";  // not "s" + to_string(i): GCC 12 -Wrestrict false positive
    name += std::to_string(i);
    const auto s = g.add_stream(p, name);
    g.add_task(std::span<const StreamId>(&s, 1), std::span<const LinkId>(&link, 1),
               Time::ns(1 + (i * 7) % 13), 0);
  }
  const Timeline a = simulate(g);
  const Timeline b = simulate(g);
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.end, b.end);
  EXPECT_EQ(a.makespan, b.makespan);
}

}  // namespace
}  // namespace ptsim::sim

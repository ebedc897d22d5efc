#include "ptsim/sim/task_simulator.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "flow_slots.h"

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

// A host that needs longer to issue a kernel than the kernel runs: kernel k starts when the
// host has issued it, k * issue; the stream ends at n * issue + the last kernel.
TEST(TaskSimulator, ShortKernelsWaitForTheHostToIssueThem) {
  TaskGraph g;
  const auto p = g.add_process("rank0");
  const auto s = g.add_stream(p, "compute");
  std::vector<TaskId> k;
  for (int i = 0; i < 4; ++i) k.push_back(g.add_task(s, Time::ns(3), 0, Time::ns(10)));
  EXPECT_EQ(g.host_issue(k[0]), Time::ns(10));
  const Timeline t = simulate(g);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t.start[k[static_cast<std::size_t>(i)]], Time::ns(10 * (i + 1)));
  EXPECT_EQ(t.makespan, Time::ns(4 * 10 + 3));
  EXPECT_EQ(t.stream_busy[s], Time::ns(12));  // waiting for the host is idle time
}

// Kernels longer than their issue cost: the host runs ahead, only the first one waits.
TEST(TaskSimulator, LongKernelsHideTheHostAfterTheFirst) {
  TaskGraph g;
  const auto p = g.add_process("rank0");
  const auto s = g.add_stream(p, "compute");
  const auto comm = g.add_stream(p, "comm");
  std::vector<TaskId> k;
  for (int i = 0; i < 3; ++i) k.push_back(g.add_task(s, Time::ns(100), 0, Time::ns(10)));
  const auto x = g.add_task(comm, Time::ns(50), 0);  // another stream: no host cost, starts at 0
  const Timeline t = simulate(g);
  EXPECT_EQ(t.start[k[0]], Time::ns(10));
  EXPECT_EQ(t.start[k[1]], Time::ns(110));
  EXPECT_EQ(t.start[k[2]], Time::ns(210));
  EXPECT_EQ(t.start[x], Time::ns(0));
  EXPECT_EQ(t.makespan, Time::ns(310));
}

// The host issues ahead while a kernel waits for a dependency: once the dependency ends,
// the queued kernels start back to back; a kernel issued later than that still waits.
TEST(TaskSimulator, HostIssuesAheadWhileAKernelWaitsForADependency) {
  TaskGraph g;
  const auto p = g.add_process("rank0");
  const auto s = g.add_stream(p, "compute");
  const auto comm = g.add_stream(p, "comm");
  const auto x = g.add_task(comm, Time::ns(100), 0);
  const auto a = g.add_task(s, Time::ns(5), 0, Time::ns(10));
  g.add_dependency(x, a);
  const auto b = g.add_task(s, Time::ns(5), 0, Time::ns(10));
  const auto c = g.add_task(s, Time::ns(5), 0, Time::ns(200));  // issued at 220
  const Timeline t = simulate(g);
  EXPECT_EQ(t.start[a], Time::ns(100));
  EXPECT_EQ(t.start[b], Time::ns(105));
  EXPECT_EQ(t.start[c], Time::ns(220));
  EXPECT_EQ(t.makespan, Time::ns(225));
}

TEST(TaskSimulator, NegativeHostIssueIsRejected) {
  TaskGraph g;
  const auto s = g.add_stream(g.add_process("rank0"), "compute");
  EXPECT_THROW(g.add_task(s, Time::ns(1), 0, Time::ns(-1)), std::invalid_argument);
  EXPECT_EQ(g.num_tasks(), 0u);
  EXPECT_FALSE(g.has_host_issue());
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


// Tasks and flows that repeat share records; each still reads back what it was given,
// including values that compare equal but differ in bits (-0.0 and 0.0).
TEST(TaskGraph, SharedRecordsReadBackEachTasksAndFlowsOwnValues) {
  TaskGraph g;
  const auto p = g.add_process("rank0");
  const auto s = g.add_stream(p, "compute");
  const auto l = g.add_link(p, "nvlink", 100.0);
  std::vector<TaskId> tasks;
  for (int i = 0; i < 3000; ++i) {
    tasks.push_back(g.add_task(s, Time::ns(i % 7), static_cast<std::uint32_t>(i % 3)));
    const std::vector<FlowSpec> flows = {FlowSpec{{l}, static_cast<double>(i % 5), 0.0},
                                         FlowSpec{{l}, i % 2 == 0 ? -0.0 : 0.0, 0.0}};
    tasks.push_back(g.add_transfer(s, flows, Time::ns(i % 11), 9));
  }
  EXPECT_LE(g.num_task_records(), 7u * 3 + 11);  // 21 (duration, tag) pairs, 11 latencies
  EXPECT_LE(g.num_flow_specs(), 5u + 1);
  for (int i = 0; i < 3000; ++i) {
    const TaskId t = tasks[2 * static_cast<std::size_t>(i)];
    const TaskId x = tasks[2 * static_cast<std::size_t>(i) + 1];
    EXPECT_EQ(g.duration(t), Time::ns(i % 7));
    EXPECT_EQ(g.tag(t), static_cast<std::uint32_t>(i % 3));
    EXPECT_FALSE(g.is_transfer(t));
    EXPECT_EQ(g.duration(x), Time::ns(i % 11));
    EXPECT_TRUE(g.is_transfer(x));
    const auto flows = g.flows_of(x);
    ASSERT_EQ(flows.size(), 2u);
    EXPECT_EQ(g.flow_bytes(flows.first), static_cast<double>(i % 5));
    EXPECT_EQ(std::signbit(g.flow_bytes(flows.first + 1)), i % 2 == 0);
    EXPECT_EQ(g.task_of(flows.first), x);
    EXPECT_EQ(g.task_of(flows.first + 1), x);
  }
  EXPECT_THROW((void)g.task_of(static_cast<FlowId>(g.num_flows())), std::out_of_range);
}

// Slots are dense and reused last-freed first; lookups survive erasures anywhere in a
// probe run (backward-shift deletion), including past the table's wrap-around.
TEST(FlowSlots, DenseReusedSlotsAndLookupsThroughErasures) {
  detail::FlowSlots slots;
  std::vector<std::uint32_t> slot_of(5000, detail::FlowSlots::kNone);
  for (FlowId f = 0; f < 5000; f += 2) slot_of[f] = slots.insert(f * 7919u);
  EXPECT_EQ(slots.capacity(), 2500u);
  const std::uint32_t last_freed = slot_of[4998];
  for (FlowId f = 0; f < 5000; f += 6) {
    slots.erase(f * 7919u);
    slot_of[f] = detail::FlowSlots::kNone;
  }
  for (FlowId f = 0; f < 5000; ++f) {
    const std::uint32_t found = slots.find(f * 7919u);
    EXPECT_EQ(found, slot_of[f]) << f;
    if (found != detail::FlowSlots::kNone) {
      EXPECT_EQ(slots.flow(found), f * 7919u);
    }
  }
  // New flows take the freed slots (the most recently freed first): no growth.
  const std::uint32_t reused = slots.insert(1);
  EXPECT_EQ(reused, last_freed);
  EXPECT_EQ(slots.find(1), reused);
  EXPECT_EQ(slots.capacity(), 2500u);
  EXPECT_EQ(slots.flow(reused), 1u);
}

}  // namespace
}  // namespace ptsim::sim

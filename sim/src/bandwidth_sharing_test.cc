#include "ptsim/sim/bandwidth_sharing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "ptsim/sim/task_simulator.h"

namespace ptsim::sim {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

Time seconds(std::int64_t s) { return Time::ns(s * kSecond); }

// A process with one stream and links of the given capacities, for small graphs.
struct Net {
  TaskGraph g;
  ProcessId p = g.add_process("rank0");
  std::vector<LinkId> links;
  Net() = default;
  explicit Net(std::initializer_list<double> capacities) {
    for (double c : capacities) links.push_back(g.add_link(p, "link", c));
  }
  StreamId stream() { return g.add_stream(p, "stream"); }
  TaskId transfer(std::vector<FlowSpec> flows, Time latency = Time::zero()) {
    return g.add_transfer(stream(), flows, latency, 0);
  }
};

FlowSpec flow(std::vector<LinkId> path, double bytes, double cap = 0) {
  return FlowSpec{std::move(path), bytes, cap};
}

// ---- single flows, latency, degenerate transfers --------------------------------------

TEST(Transfer, OneFlowTakesBytesOverCapacityRoundedUpPlusLatency) {
  Net n({3.0});
  const auto t = n.transfer({flow({n.links[0]}, 1000)}, Time::ns(5));
  const Timeline tl = simulate(n.g);
  EXPECT_EQ(tl.start[t], Time::zero());
  EXPECT_EQ(tl.flow_end[0], Time::ns(333'333'333'334));  // ceil(1000 / 3 s)
  EXPECT_EQ(tl.end[t], Time::ns(333'333'333'334 + 5));
  EXPECT_EQ(tl.makespan, tl.end[t]);
  EXPECT_DOUBLE_EQ(tl.link_bytes[n.links[0]], 1000.0);
  EXPECT_EQ(tl.stream_busy[0], tl.end[t]);
}

TEST(Transfer, WithoutFlowsOrBytesTakesExactlyTheLatency) {
  Net n({100.0});
  const auto none = n.transfer({}, Time::ns(7));
  const auto zero = n.transfer({flow({n.links[0]}, 0), flow({n.links[0]}, 0)}, Time::ns(9));
  const Timeline tl = simulate(n.g);
  EXPECT_EQ(tl.end[none], Time::ns(7));
  EXPECT_EQ(tl.end[zero], Time::ns(9));
  EXPECT_EQ(tl.flow_end[0], Time::zero());
  EXPECT_EQ(tl.events, 2u);  // two completions, no rate computation
}

TEST(Transfer, GraphWhoseTransfersHaveNoFlowsAtAll) {
  Net n;
  const auto t = n.transfer({}, Time::ns(7));
  const auto u = n.transfer({}, Time::ns(3));
  n.g.add_dependency(t, u);
  const Timeline tl = simulate(n.g, SharingPolicy::fifo);
  EXPECT_EQ(tl.end[u], Time::ns(10));
  EXPECT_TRUE(n.g.is_transfer(t));
}

TEST(Transfer, FlowWithoutPathSendsAtItsCap) {
  Net n({1.0});  // the link is unused
  const auto t = n.transfer({flow({}, 100, 50)}, Time::ns(1));
  EXPECT_EQ(simulate(n.g).end[t], seconds(2) + Time::ns(1));
}

TEST(Transfer, EndsLatencyAfterItsLastFlow) {
  Net n({100.0, 100.0});
  const auto t = n.transfer({flow({n.links[0]}, 100), flow({n.links[1]}, 300)}, Time::us(3));
  const Timeline tl = simulate(n.g);
  EXPECT_EQ(tl.flow_end[0], seconds(1));
  EXPECT_EQ(tl.flow_end[1], seconds(3));
  EXPECT_EQ(tl.end[t], seconds(3) + Time::us(3));
}

// ---- max-min fair sharing -------------------------------------------------------------

TEST(MaxMin, TwoEqualFlowsEachTakeTwiceAsLong) {
  Net alone({100.0});
  const auto a = alone.transfer({flow({alone.links[0]}, 100)});
  EXPECT_EQ(simulate(alone.g).end[a], seconds(1));

  Net shared({100.0});
  const auto x = shared.transfer({flow({shared.links[0]}, 100)});
  const auto y = shared.transfer({flow({shared.links[0]}, 100)});
  const Timeline tl = simulate(shared.g);
  EXPECT_EQ(tl.end[x], seconds(2));
  EXPECT_EQ(tl.end[y], seconds(2));
}

TEST(MaxMin, WhenOneFlowEndsTheOtherSpeedsUp) {
  // 50 B/s each until the 100-byte flow ends at 2 s; the other has 200 bytes left and
  // sends them alone at 100 B/s.
  Net n({100.0});
  const auto small = n.transfer({flow({n.links[0]}, 100)});
  const auto large = n.transfer({flow({n.links[0]}, 300)});
  const Timeline tl = simulate(n.g);
  EXPECT_EQ(tl.end[small], seconds(2));
  EXPECT_EQ(tl.end[large], seconds(4));
  EXPECT_DOUBLE_EQ(tl.link_bytes[n.links[0]], 400.0);
}

TEST(MaxMin, FlowsOfOneTransferShareLikeAnyOthers) {
  Net n({100.0});
  const auto t = n.transfer({flow({n.links[0]}, 100), flow({n.links[0]}, 300)});
  const Timeline tl = simulate(n.g);
  EXPECT_EQ(tl.flow_end[0], seconds(2));
  EXPECT_EQ(tl.flow_end[1], seconds(4));
  EXPECT_EQ(tl.end[t], seconds(4));
}

TEST(MaxMin, ClassicExampleRates) {
  // Link A (10 B/s) carries flows 1 and 2; link B (4 B/s) carries flows 2 and 3. B is the
  // bottleneck: flows 2 and 3 get 2 each, and flow 1 takes the 8 left on A.
  const std::array<double, 2> capacity{10.0, 4.0};
  const std::array<std::uint32_t, 4> offsets{0, 1, 3, 4};
  const std::array<LinkId, 4> paths{0, 0, 1, 1};
  const std::array<double, 3> caps{0, 0, 0};
  MaxMinFairSharing sharing(FlowNetwork{capacity, offsets, paths, caps});
  for (FlowId f = 0; f < 3; ++f) sharing.add_flow(f);
  std::vector<FlowId> changed;
  sharing.recompute(changed);
  EXPECT_EQ(changed.size(), 3u);
  EXPECT_EQ(sharing.rate_bytes_per_s(0), 8.0);
  EXPECT_EQ(sharing.rate_bytes_per_s(1), 2.0);
  EXPECT_EQ(sharing.rate_bytes_per_s(2), 2.0);
}

TEST(MaxMin, ClassicExampleEndTimes) {
  // Rates 8, 2, 2 until flow 3 (4 bytes) ends at 2 s. Then B carries flow 2 alone (4) and
  // A gives flow 1 the remaining 6: flow 1 has 34-16 = 18 left, flow 2 16-4 = 12, so both
  // end at 5 s.
  Net n({10.0, 4.0});
  const LinkId a = n.links[0];
  const LinkId b = n.links[1];
  const auto t1 = n.transfer({flow({a}, 34)});
  const auto t2 = n.transfer({flow({a, b}, 16)});
  const auto t3 = n.transfer({flow({b}, 4)});
  const Timeline tl = simulate(n.g);
  EXPECT_EQ(tl.end[t3], seconds(2));
  EXPECT_EQ(tl.end[t1], seconds(5));
  EXPECT_EQ(tl.end[t2], seconds(5));
  EXPECT_DOUBLE_EQ(tl.link_bytes[a], 50.0);
  EXPECT_DOUBLE_EQ(tl.link_bytes[b], 20.0);
}

TEST(MaxMin, CappedFlowLeavesTheRestToTheOther) {
  Net n({100.0});
  const auto capped = n.transfer({flow({n.links[0]}, 30, 30)});
  const auto open = n.transfer({flow({n.links[0]}, 70)});
  const Timeline tl = simulate(n.g);
  EXPECT_EQ(tl.end[capped], seconds(1));  // 30 B/s
  EXPECT_EQ(tl.end[open], seconds(1));    // 70 B/s
}

TEST(MaxMin, CapAboveTheFairShareChangesNothing) {
  Net n({100.0});
  const auto x = n.transfer({flow({n.links[0]}, 100, 80)});
  const auto y = n.transfer({flow({n.links[0]}, 100)});
  const Timeline tl = simulate(n.g);
  EXPECT_EQ(tl.end[x], seconds(2));
  EXPECT_EQ(tl.end[y], seconds(2));
}

TEST(MaxMin, OnlyTheChangedComponentIsRecomputed) {
  // Flows 0 and 1 share link 0; flow 2 is alone on link 1. Removing flow 0 changes flow 1
  // only: flow 2 is in another component and is not even looked at.
  const std::array<double, 2> capacity{100.0, 100.0};
  const std::array<std::uint32_t, 4> offsets{0, 1, 2, 3};
  const std::array<LinkId, 3> paths{0, 0, 1};
  const std::array<double, 3> caps{0, 0, 0};
  MaxMinFairSharing sharing(FlowNetwork{capacity, offsets, paths, caps});
  std::vector<FlowId> changed;
  for (FlowId f = 0; f < 3; ++f) sharing.add_flow(f);
  sharing.recompute(changed);
  EXPECT_EQ(sharing.rate_bytes_per_s(1), 50.0);
  sharing.remove_flow(0);
  sharing.recompute(changed);
  EXPECT_EQ(changed, std::vector<FlowId>{1});
  EXPECT_EQ(sharing.rate_bytes_per_s(0), 0.0);
  EXPECT_EQ(sharing.rate_bytes_per_s(1), 100.0);
  EXPECT_EQ(sharing.rate_bytes_per_s(2), 100.0);
}

// Random networks and random arrivals and departures: after every batch, the incremental
// (component-only) rates must equal a from-scratch computation, and must be max-min fair:
// feasible, and each flow either at its cap or on a saturated link where no flow is faster.
TEST(MaxMin, IncrementalRatesMatchFromScratchAndAreMaxMinFair) {
  std::uint64_t rng = 0x9e3779b97f4a7c15ULL;  // root seed
  auto next = [&rng](std::uint32_t bound) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>((rng >> 33) % bound);
  };
  constexpr std::uint32_t kLinks = 12;
  constexpr std::uint32_t kFlows = 60;
  std::vector<double> capacity(kLinks);
  for (auto& c : capacity) c = 10.0 + next(90);
  std::vector<std::uint32_t> offsets{0};
  std::vector<LinkId> paths;
  std::vector<double> caps(kFlows);
  for (std::uint32_t f = 0; f < kFlows; ++f) {
    const std::uint32_t len = 1 + next(3);
    while (paths.size() - offsets.back() < len) {
      const LinkId l = next(kLinks);
      if (std::find(paths.begin() + offsets.back(), paths.end(), l) == paths.end()) paths.push_back(l);
    }
    offsets.push_back(static_cast<std::uint32_t>(paths.size()));
    caps[f] = next(4) == 0 ? 1.0 + next(30) : 0.0;
  }
  const FlowNetwork net{capacity, offsets, paths, caps};
  MaxMinFairSharing incremental(net);
  std::vector<std::uint8_t> active(kFlows, 0);
  std::vector<FlowId> changed;
  for (int round = 0; round < 200; ++round) {
    const std::uint32_t batch = 1 + next(4);
    for (std::uint32_t i = 0; i < batch; ++i) {
      const FlowId f = next(kFlows);
      if (active[f]) incremental.remove_flow(f); else incremental.add_flow(f);
      active[f] ^= 1;
    }
    incremental.recompute(changed);
    ASSERT_EQ(incremental.changed_rates().size(), changed.size());
    for (std::size_t i = 0; i < changed.size(); ++i) {
      ASSERT_EQ(incremental.changed_rates()[i], incremental.rate_bytes_per_s(changed[i]));
    }

    MaxMinFairSharing scratch(net);
    for (FlowId f = 0; f < kFlows; ++f) if (active[f]) scratch.add_flow(f);
    scratch.recompute(changed);

    std::vector<double> load(kLinks, 0.0);
    for (FlowId f = 0; f < kFlows; ++f) {
      if (!active[f]) continue;
      const double r = incremental.rate_bytes_per_s(f);
      ASSERT_NEAR(r, scratch.rate_bytes_per_s(f), 1e-9 * r) << "round " << round << " flow " << f;
      ASSERT_GT(r, 0.0);
      for (LinkId l : net.path(f)) load[l] += r;
    }
    for (LinkId l = 0; l < kLinks; ++l) ASSERT_LE(load[l], capacity[l] * (1 + 1e-9));
    for (FlowId f = 0; f < kFlows; ++f) {
      if (!active[f]) continue;
      const double r = incremental.rate_bytes_per_s(f);
      if (caps[f] > 0 && std::abs(r - caps[f]) <= 1e-9 * caps[f]) continue;
      bool bottlenecked = false;
      for (LinkId l : net.path(f)) {
        if (load[l] < capacity[l] * (1 - 1e-9)) continue;
        double fastest = 0;
        for (FlowId o = 0; o < kFlows; ++o) {
          const auto p = net.path(o);
          if (active[o] && std::find(p.begin(), p.end(), l) != p.end()) {
            fastest = std::max(fastest, incremental.rate_bytes_per_s(o));
          }
        }
        if (r >= fastest * (1 - 1e-9)) bottlenecked = true;
      }
      ASSERT_TRUE(bottlenecked) << "round " << round << " flow " << f << " could go faster";
    }
  }
}

// ---- FIFO -----------------------------------------------------------------------------

TEST(Fifo, SerialisesFlowsOnASharedLinkInArrivalOrder) {
  Net n({100.0});
  const auto t = n.transfer({flow({n.links[0]}, 100), flow({n.links[0]}, 200), flow({n.links[0]}, 50)});
  const Timeline tl = simulate(n.g, SharingPolicy::fifo);
  EXPECT_EQ(tl.flow_end[0], seconds(1));
  EXPECT_EQ(tl.flow_end[1], seconds(3));
  EXPECT_EQ(tl.flow_end[2], Time::ms(3500));
  EXPECT_EQ(tl.end[t], Time::ms(3500));
}

TEST(Fifo, LaterArrivalWaitsEvenWhenShorter) {
  Net n({100.0});
  const auto s = n.stream();
  const auto first = n.g.add_transfer(n.stream(), std::vector{flow({n.links[0]}, 300)}, Time::zero(), 0);
  const auto delay = n.g.add_task(s, Time::ms(500), 0);
  const auto second = n.g.add_transfer(s, std::vector{flow({n.links[0]}, 10)}, Time::zero(), 0);
  const Timeline tl = simulate(n.g, SharingPolicy::fifo);
  EXPECT_EQ(tl.end[first], seconds(3));
  EXPECT_EQ(tl.start[second], tl.end[delay]);
  EXPECT_EQ(tl.end[second], Time::ms(3100));
}

TEST(Fifo, SendsAtTheSlowestLinkOnlyWhenFirstOnEveryLink) {
  // Flow 0 holds link A; flow 1 needs A and B and must wait although B is free; flow 2
  // on B alone arrived after flow 1, so it waits behind flow 1 on B (head-of-line).
  Net n({100.0, 50.0});
  const LinkId a = n.links[0];
  const LinkId b = n.links[1];
  const auto t = n.transfer({flow({a}, 100), flow({a, b}, 100), flow({b}, 50, 25)});
  const Timeline tl = simulate(n.g, SharingPolicy::fifo);
  EXPECT_EQ(tl.flow_end[0], seconds(1));
  EXPECT_EQ(tl.flow_end[1], seconds(3));   // 100 bytes at min(100, 50)
  EXPECT_EQ(tl.flow_end[2], seconds(5));   // 50 bytes at its cap of 25
  EXPECT_EQ(tl.end[t], seconds(5));
}

// ---- transfers as tasks ---------------------------------------------------------------

TEST(Transfer, FollowsStreamOrderAndDependencies) {
  Net n({100.0});
  const auto comm = n.stream();
  const auto other = n.stream();
  const auto before = n.g.add_task(comm, Time::ns(10), 0);
  const auto dep = n.g.add_task(other, Time::ns(50), 0);
  const auto x = n.g.add_transfer(comm, std::vector{flow({n.links[0]}, 100)}, Time::ns(5), 0);
  const auto after = n.g.add_task(comm, Time::ns(10), 0);
  n.g.add_dependency(dep, x);
  const std::array<StreamId, 2> both{comm, other};
  const auto joint = n.g.add_transfer(both, std::vector{flow({n.links[0]}, 100)}, Time::zero(), 0);
  const Timeline tl = simulate(n.g);
  EXPECT_EQ(tl.end[before], Time::ns(10));
  EXPECT_EQ(tl.start[x], Time::ns(50));
  EXPECT_EQ(tl.end[x], Time::ns(50) + seconds(1) + Time::ns(5));
  EXPECT_EQ(tl.start[after], tl.end[x]);
  EXPECT_EQ(tl.start[joint], tl.end[after]);
  EXPECT_EQ(tl.end[joint], tl.start[joint] + seconds(1));
  EXPECT_EQ(tl.stream_busy[comm], Time::ns(10) + (tl.end[x] - tl.start[x]) + Time::ns(10) + seconds(1));
}

TEST(Transfer, ExclusiveLinksKeepWorkingBesideFlows) {
  Net n({100.0});
  const auto s0 = n.stream();
  const auto s1 = n.stream();
  const std::array<LinkId, 1> held{n.links[0]};
  const auto a = n.g.add_task(std::span<const StreamId>(&s0, 1), held, Time::ns(10), 0);
  const auto b = n.g.add_task(std::span<const StreamId>(&s1, 1), held, Time::ns(10), 0);
  const Timeline tl = simulate(n.g);
  EXPECT_EQ(tl.end[a], Time::ns(10));
  EXPECT_EQ(tl.end[b], Time::ns(20));
  EXPECT_EQ(n.g.capacity_bytes_per_s(n.links[0]), 100.0);
}

TEST(Transfer, CycleThroughTransfersIsADeadlock) {
  for (SharingPolicy policy : {SharingPolicy::max_min, SharingPolicy::fifo}) {
    Net n({100.0});
    const auto unblocked = n.transfer({flow({n.links[0]}, 100)});
    const auto x = n.transfer({flow({n.links[0]}, 100)});
    const auto y = n.transfer({flow({n.links[0]}, 100)});
    n.g.add_dependency(x, y);
    n.g.add_dependency(y, x);
    try {
      simulate(n.g, policy);
      FAIL() << "expected DeadlockError";
    } catch (const DeadlockError& e) {
      EXPECT_EQ(e.unfinished(), 2u);
      EXPECT_NE(e.stuck_task(), unblocked);
    }
  }
}

// Many overlapping transfers on a small fabric: every flow finishes (none starves), each
// link carries exactly its flows' bytes, and two runs agree to the nanosecond.
TEST(Transfer, RandomGraphFinishesAndIsDeterministic) {
  for (SharingPolicy policy : {SharingPolicy::max_min, SharingPolicy::fifo}) {
    std::uint64_t rng = 42;  // root seed
    auto next = [&rng](std::uint32_t bound) {
      rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
      return static_cast<std::uint32_t>((rng >> 33) % bound);
    };
    TaskGraph g;
    const auto p = g.add_process("fabric");
    std::vector<LinkId> links;
    for (int i = 0; i < 16; ++i) links.push_back(g.add_link(p, "l", 1e9 * (1 + next(4))));
    std::vector<StreamId> streams;
    for (int i = 0; i < 8; ++i) streams.push_back(g.add_stream(p, "s"));
    std::vector<double> expected(links.size(), 0.0);
    for (int t = 0; t < 200; ++t) {
      std::vector<FlowSpec> flows;
      for (std::uint32_t f = 0, nf = next(5); f < nf; ++f) {
        FlowSpec spec;
        spec.bytes = 1e3 * next(1000);
        spec.max_rate_bytes_per_s = next(5) == 0 ? 3e8 : 0;
        for (std::uint32_t k = 0, len = 1 + next(4); k < len; ++k) {
          const LinkId l = links[next(16)];
          if (std::find(spec.path.begin(), spec.path.end(), l) == spec.path.end()) spec.path.push_back(l);
        }
        for (LinkId l : spec.path) expected[l] += spec.bytes;
        flows.push_back(std::move(spec));
      }
      const TaskId id = g.add_transfer(streams[next(8)], flows, Time::ns(next(100)), 0);
      if (t > 10 && next(3) == 0) g.add_dependency(id - 1 - next(10), id);
    }
    const Timeline a = simulate(g, policy);
    const Timeline b = simulate(g, policy);
    EXPECT_EQ(a.start, b.start);
    EXPECT_EQ(a.end, b.end);
    EXPECT_EQ(a.flow_end, b.flow_end);
    EXPECT_EQ(a.events, b.events);
    for (std::size_t l = 0; l < links.size(); ++l) EXPECT_DOUBLE_EQ(a.link_bytes[l], expected[l]);
    for (TaskId t = 0; t < g.num_tasks(); ++t) {
      for (FlowId f : g.flows_of(t)) {
        EXPECT_LE(a.flow_end[f], a.end[t]);
        EXPECT_GE(a.flow_end[f], a.start[t]);
      }
    }
  }
}

// ---- validation -----------------------------------------------------------------------

TEST(Transfer, BadFlowSpecsThrowAndLeaveTheGraphUnchanged) {
  Net n({100.0, 0.0});
  const LinkId ok = n.links[0];
  const LinkId no_capacity = n.links[1];
  const auto s = n.stream();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto add = [&](FlowSpec spec) {
    const std::array<FlowSpec, 2> flows{flow({ok}, 1), std::move(spec)};
    return n.g.add_transfer(s, flows, Time::zero(), 0);
  };
  EXPECT_THROW(add(flow({no_capacity}, 1)), std::invalid_argument);
  EXPECT_THROW(add(flow({ok, ok}, 1)), std::invalid_argument);
  EXPECT_THROW(add(flow({ok}, -1)), std::invalid_argument);
  EXPECT_THROW(add(flow({ok}, nan)), std::invalid_argument);
  EXPECT_THROW(add(flow({ok}, inf)), std::invalid_argument);
  EXPECT_THROW(add(flow({ok}, 1, -5)), std::invalid_argument);
  EXPECT_THROW(add(flow({ok}, 1, inf)), std::invalid_argument);
  EXPECT_THROW(add(flow({}, 1)), std::invalid_argument);
  EXPECT_THROW(add(flow({LinkId{99}}, 1)), std::out_of_range);
  EXPECT_THROW(n.g.add_transfer(s, std::vector{flow({ok}, 1)}, Time::ns(-1), 0), std::invalid_argument);
  EXPECT_THROW(n.g.add_transfer(std::span<const StreamId>(), std::vector{flow({ok}, 1)}, Time::zero(), 0),
               std::invalid_argument);
  EXPECT_EQ(n.g.num_tasks(), 0u);
  EXPECT_EQ(n.g.num_flows(), 0u);
  EXPECT_EQ(n.g.path_links().size(), 0u);

  EXPECT_THROW(n.g.add_link(n.p, "bad", -1.0), std::invalid_argument);
  EXPECT_THROW(n.g.add_link(n.p, "bad", nan), std::invalid_argument);
  EXPECT_EQ(n.g.num_links(), 2u);

  EXPECT_NO_THROW(add(flow({}, 0)));
  EXPECT_EQ(n.g.num_flows(), 2u);
}

TEST(Transfer, FlowTimeBeyondTheTimeRangeIsAnError) {
  Net n({1e-9});
  n.transfer({flow({n.links[0]}, 1e12)});
  EXPECT_THROW(simulate(n.g), std::out_of_range);
}

}  // namespace
}  // namespace ptsim::sim

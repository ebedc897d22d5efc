// Engine throughput: raw events per second through each event-queue implementation, and
// tasks per second through the task-graph simulator.
#include <benchmark/benchmark.h>

#include <memory>

#include "ptsim/sim/engine.h"
#include "ptsim/sim/task_simulator.h"

namespace {

using ptsim::sim::Engine;
using ptsim::sim::Time;

// `pending` events in flight; each event, when run, schedules its successor a
// pseudo-random delay later, so the queue stays at a steady size. Reports events/s.
// The callback captures one pointer, as the task simulator's capture [this, id] fits
// std::function's small buffer: no allocation per event, in the bench as in real runs.
struct TickState {
  Engine* engine = nullptr;
  std::uint64_t remaining = 0;
  std::uint64_t rng = 12345;
  void tick() {
    if (remaining == 0) return;
    --remaining;
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    engine->schedule_in(Time::ns(static_cast<std::int64_t>(1 + (rng >> 54))), 0, [this] { tick(); });
  }
};

template <class Queue>
void BM_EngineEvents(benchmark::State& state) {
  const auto pending = static_cast<int>(state.range(0));
  constexpr std::uint64_t kEventsPerRun = 1'000'000;
  for (auto _ : state) {
    Engine engine(std::make_unique<Queue>());
    TickState ticks{&engine, kEventsPerRun};
    for (int i = 0; i < pending; ++i) engine.schedule_at(Time::ns(i), 0, [&ticks] { ticks.tick(); });
    engine.run();
    benchmark::DoNotOptimize(engine.events_processed());
    state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(engine.events_processed()),
                                                        benchmark::Counter::kIsIterationInvariantRate);
  }
}
BENCHMARK(BM_EngineEvents<ptsim::sim::BinaryHeapEventQueue>)->Arg(16)->Arg(1024)->Arg(65536)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EngineEvents<ptsim::sim::OrderedSetEventQueue>)->Arg(16)->Arg(1024)->Arg(65536)->Unit(benchmark::kMillisecond);

// A task graph shaped like a pipeline: `streams` streams of chained tasks, each task also
// waiting for its neighbour stream's previous task, and every fourth holding a shared link.
void BM_TaskSimulator(benchmark::State& state) {
  const auto streams = static_cast<std::uint32_t>(state.range(0));
  constexpr std::uint32_t kTasksPerStream = 20'000;
  ptsim::sim::TaskGraph g;
  const auto p = g.add_process("bench");
  const auto link = g.add_link(p, "link");
  std::vector<ptsim::sim::StreamId> s;
  for (std::uint32_t i = 0; i < streams; ++i) s.push_back(g.add_stream(p, "s"));
  std::vector<ptsim::sim::TaskId> prev(streams);
  for (std::uint32_t k = 0; k < kTasksPerStream; ++k) {
    for (std::uint32_t i = 0; i < streams; ++i) {
      const bool comm = (k % 4) == 0;
      const auto t = g.add_task(std::span<const ptsim::sim::StreamId>(&s[i], 1),
                                comm ? std::span<const ptsim::sim::LinkId>(&link, 1) : std::span<const ptsim::sim::LinkId>(),
                                Time::ns(100 + (k * 7 + i * 13) % 50), 0);
      if (k > 0 && i > 0) g.add_dependency(prev[i - 1], t);
      prev[i] = t;
    }
  }
  for (auto _ : state) {
    const auto timeline = ptsim::sim::simulate(g);
    benchmark::DoNotOptimize(timeline.makespan);
    state.counters["tasks_per_s"] = benchmark::Counter(static_cast<double>(g.num_tasks()),
                                                       benchmark::Counter::kIsIterationInvariantRate);
  }
}
BENCHMARK(BM_TaskSimulator)->Arg(4)->Arg(16)->Unit(benchmark::kMillisecond);

}  // namespace

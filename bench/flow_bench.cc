// Flow-level bandwidth sharing: 10,000 concurrent flows on the links of a 1,024-GPU
// cluster, simulated under each sharing model. Reports flows/s and engine events/s; the
// graph is built once, outside the timed loop.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "ptsim/sim/task_simulator.h"

namespace {

using ptsim::sim::FlowSpec;
using ptsim::sim::LinkId;
using ptsim::sim::SharingPolicy;
using ptsim::sim::TaskGraph;
using ptsim::sim::Time;

// 1,024 GPUs, 8 per node, 16 nodes (128 GPUs) per leaf switch: 8 leaves. Each GPU has a
// NIC tx and rx link (50 GB/s, 400 Gb/s); each leaf an uplink and a downlink to the spine
// (4:1 oversubscribed, 1.6 TB/s); 8 storage targets have an ingress link (25 GB/s).
// A flow within a leaf crosses 2 links (tx, rx), across leaves 4 (tx, up, down, rx), to
// storage 3 (tx, up, storage). `batches` transfers of `flows_per_batch` flows start
// 10 us apart; sizes of 1-64 MiB make them end at different times.
TaskGraph cluster_flows(std::uint32_t batches, std::uint32_t flows_per_batch, std::uint32_t local_percent) {
  constexpr std::uint32_t kGpus = 1024;
  constexpr std::uint32_t kGpusPerLeaf = 128;
  constexpr std::uint32_t kLeaves = kGpus / kGpusPerLeaf;
  constexpr std::uint32_t kStorage = 8;
  constexpr double kNic = 50e9;
  constexpr double kMiB = 1024.0 * 1024.0;
  TaskGraph g;
  const auto fabric = g.add_process("fabric");
  std::vector<LinkId> tx, rx, up, down, storage;
  for (std::uint32_t i = 0; i < kGpus; ++i) {
    tx.push_back(g.add_link(fabric, "nic-tx", kNic));
    rx.push_back(g.add_link(fabric, "nic-rx", kNic));
  }
  for (std::uint32_t i = 0; i < kLeaves; ++i) {
    up.push_back(g.add_link(fabric, "leaf-up", kGpusPerLeaf * kNic / 4));
    down.push_back(g.add_link(fabric, "leaf-down", kGpusPerLeaf * kNic / 4));
  }
  for (std::uint32_t i = 0; i < kStorage; ++i) storage.push_back(g.add_link(fabric, "storage-in", kNic / 2));

  std::uint64_t rng = 2024;  // root seed
  auto next = [&rng](std::uint32_t bound) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>((rng >> 33) % bound);
  };
  std::vector<FlowSpec> flows(flows_per_batch);
  for (std::uint32_t b = 0; b < batches; ++b) {
    const auto stream = g.add_stream(fabric, "batch");
    g.add_task(stream, Time::us(10) * b, 0);
    for (FlowSpec& f : flows) {
      const std::uint32_t src = next(kGpus);
      const std::uint32_t leaf = src / kGpusPerLeaf;
      f.bytes = kMiB * (1 + next(64));
      f.path.clear();
      f.path.push_back(tx[src]);
      if (next(100) < local_percent) {
        std::uint32_t dst = leaf * kGpusPerLeaf + next(kGpusPerLeaf);
        if (dst == src) dst = leaf * kGpusPerLeaf + (dst + 1) % kGpusPerLeaf;
        f.path.push_back(rx[dst]);
      } else if (next(16) == 0) {
        f.path.push_back(up[leaf]);
        f.path.push_back(storage[next(kStorage)]);
      } else {
        const std::uint32_t dst_leaf = (leaf + 1 + next(kLeaves - 1)) % kLeaves;
        f.path.push_back(up[leaf]);
        f.path.push_back(down[dst_leaf]);
        f.path.push_back(rx[dst_leaf * kGpusPerLeaf + next(kGpusPerLeaf)]);
      }
    }
    g.add_transfer(stream, flows, Time::us(2), 0);
  }
  return g;
}

// Args: sharing policy (0 max-min, 1 FIFO), percent of flows that stay within a leaf.
// Below 100% every leaf's flows meet on the uplinks and all active flows form one
// connected component, which max-min recomputes at every flow start and end; at 100%
// each leaf is its own component, an eighth of the work.
void BM_Flows10K(benchmark::State& state) {
  const auto policy = state.range(0) == 0 ? SharingPolicy::max_min : SharingPolicy::fifo;
  const auto local_percent = static_cast<std::uint32_t>(state.range(1));
  const TaskGraph g = cluster_flows(100, 100, local_percent);
  std::uint64_t events = 0;
  for (auto _ : state) {
    const auto timeline = ptsim::sim::simulate(g, policy);
    benchmark::DoNotOptimize(timeline.makespan);
    events = timeline.events;
    state.counters["makespan_ms"] = timeline.makespan.seconds() * 1e3;
  }
  state.SetLabel(policy == SharingPolicy::max_min ? "max-min" : "fifo");
  state.counters["flows_per_s"] = benchmark::Counter(static_cast<double>(g.num_flows()),
                                                     benchmark::Counter::kIsIterationInvariantRate);
  state.counters["events"] = static_cast<double>(events);
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(events),
                                                      benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Flows10K)
    ->ArgNames({"fifo", "local_pct"})
    ->Args({0, 0})
    ->Args({0, 90})
    ->Args({0, 100})
    ->Args({1, 0})
    ->Args({1, 90})
    ->Args({1, 100})
    ->Unit(benchmark::kMillisecond);

}  // namespace

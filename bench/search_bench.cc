// The layout search of issue 6's GPT-3 target: GPT-3 175B on 1,024 A100s (global batch
// 1536, sequence 2048) with cp 1 and ZeRO-1 fixed and every other knob open, as `ptsim
// search scenarios/search/gpt3-175b-1024-a100-cp1-zero1.json --top 5 --threads 2` runs it.
// (The fully open space is not benchmarked: it still simulates context-parallel layouts
// whose bound is loose for minutes, docs/search.md.)
// Counters: layouts enumerated, valid, not fitting, simulated, pruned by the bound.
#include <benchmark/benchmark.h>

#include "ptsim/strategies/layout_search.h"

namespace {

using ptsim::strategies::Scenario;
using ptsim::strategies::SearchSpace;

Scenario gpt3_1024_space() {
  Scenario s;
  s.name = "search-gpt3-175b-1024-a100";
  s.model = *ptsim::strategies::find_model_preset("gpt3-175b");
  s.cluster = *ptsim::costmodel::find_node_preset("dgx-a100");
  s.cluster.num_nodes = 128;
  s.training.seq_length = 2048;
  s.training.global_batch_size = 1536;
  return s;
}

void run_search(benchmark::State& state, const SearchSpace& space) {
  const Scenario base = gpt3_1024_space();
  ptsim::strategies::SearchOptions options;
  options.top = 5;
  options.threads = 2;
  for (auto _ : state) {
    const auto r = ptsim::strategies::search_layouts(base, space, options);
    benchmark::DoNotOptimize(r.rows.front().step_time_s);
    state.counters["enumerated"] = static_cast<double>(r.counts.enumerated);
    state.counters["valid"] = static_cast<double>(r.counts.valid);
    state.counters["no_fit"] = static_cast<double>(r.counts.does_not_fit);
    state.counters["simulated"] = static_cast<double>(r.counts.simulated);
    state.counters["pruned"] = static_cast<double>(r.counts.pruned_by_bound);
    state.counters["pruned_walk"] = static_cast<double>(r.counts.pruned_by_pipeline_bound);
    state.counters["best_step_s"] = r.rows.front().step_time_s;
  }
}

void BM_SearchGpt3_1024Cp1Zero1(benchmark::State& state) {
  SearchSpace space;
  space.cp = 1;
  space.zero_stage = 1;
  run_search(state, space);
}
BENCHMARK(BM_SearchGpt3_1024Cp1Zero1)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace

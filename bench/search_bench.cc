// The layout searches of issue 6's GPT-3 target: GPT-3 175B on 1,024 A100s (global batch
// 1536, sequence 2048), every knob open, as `ptsim search
// scenarios/search/gpt3-175b-1024-a100.json --top 5 --threads 2` runs it, and with cp 1
// and ZeRO-1 fixed (scenarios/search/gpt3-175b-1024-a100-cp1-zero1.json).
// Counters: layouts enumerated, valid, not fitting, simulated, pruned by the bound.
#include <benchmark/benchmark.h>

#include "ptsim/io/scenario_parser.h"
#include "ptsim/strategies/layout_search.h"

namespace {

// The scenario file the documented command reads (PTSIM_SOURCE_DIR: bench/CMakeLists.txt).
void run_search(benchmark::State& state, const char* scenario_file) {
  const ptsim::io::SearchInput in = ptsim::io::parse_search_scenario_file(std::string(PTSIM_SOURCE_DIR) + "/" + scenario_file);
  ptsim::strategies::SearchOptions options;
  options.top = 5;
  options.threads = 2;
  for (auto _ : state) {
    const auto r = ptsim::strategies::search_layouts(in.scenario, in.space, options);
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
  run_search(state, "scenarios/search/gpt3-175b-1024-a100-cp1-zero1.json");
}
BENCHMARK(BM_SearchGpt3_1024Cp1Zero1)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

// Every knob open: context parallelism and ZeRO 0-3 included.
void BM_SearchGpt3_1024Open(benchmark::State& state) { run_search(state, "scenarios/search/gpt3-175b-1024-a100.json"); }
BENCHMARK(BM_SearchGpt3_1024Open)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace

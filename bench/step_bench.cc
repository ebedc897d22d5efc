// End-to-end: lowering, simulating and measuring one training step of GPT-3 175B on 1,024
// A100s (TP8 PP16 DP8, 1F1B, 192 micro-batches: 450K tasks), the issue-2 reference layout.
#include <benchmark/benchmark.h>

#include "ptsim/strategies/step_metrics.h"

namespace {

ptsim::strategies::Scenario gpt3_1024() {
  ptsim::strategies::Scenario s;
  s.name = "gpt3-175b-1024-a100";
  s.model = *ptsim::strategies::find_model_preset("gpt3-175b");
  s.cluster = *ptsim::costmodel::find_node_preset("dgx-a100");
  s.cluster.num_nodes = 128;
  s.training.seq_length = 2048;
  s.training.global_batch_size = 1536;
  s.layout.tp = 8;
  s.layout.pp = 16;
  s.layout.dp = 8;
  s.layout.micro_batch_size = 1;
  return s;
}

void BM_SimulateStepGpt3_1024(benchmark::State& state) {
  const auto scenario = gpt3_1024();
  for (auto _ : state) {
    const auto step = ptsim::strategies::simulate_step(scenario);
    benchmark::DoNotOptimize(step.result.step_time);
    state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(step.result.events),
                                                        benchmark::Counter::kIsIterationInvariantRate);
  }
}
BENCHMARK(BM_SimulateStepGpt3_1024)->Unit(benchmark::kMillisecond);

}  // namespace

// End-to-end: lowering, simulating and measuring one training step of the reference
// layouts of docs/performance.md: GPT-3 175B on 1,024 A100s (TP8 PP16 DP8, 1F1B, 192
// micro-batches), Llama-3-405B on 16,384 H100s (TP8 PP16 DP128, 16 micro-batches), and a
// 9,216-GPU MoE layout shaped like SimAI's large example (EP16, PP12, 8 virtual stages,
// 24 micro-batches, interleaved 1F1B actually simulated). The --full benchmark simulates
// every rank of a mid-size case: GPT-3 175B on 256 A100s (TP8 PP8 DP4, 32 micro-batches).
#include <benchmark/benchmark.h>

#include "ptsim/strategies/step_metrics.h"

namespace {

using ptsim::strategies::Scenario;

Scenario gpt3_1024() {
  Scenario s;
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

Scenario llama3_405b_16k() {
  Scenario s;
  s.name = "llama3-405b-16384-h100";
  s.model = *ptsim::strategies::find_model_preset("llama3-405b");
  s.cluster = *ptsim::costmodel::find_node_preset("dgx-h100");
  s.cluster.num_nodes = 2048;
  s.training.seq_length = 8192;
  s.training.global_batch_size = 2048;  // 16 micro-batches of 1 per pipeline
  s.layout.tp = 8;
  s.layout.pp = 16;
  s.layout.dp = 128;
  s.layout.micro_batch_size = 1;
  s.layout.sequence_parallel = true;
  s.layout.zero_stage = 1;
  s.layout.overlap_grad_reduce = true;
  s.layout.num_layers_in_first_pipeline_stage = 7;
  s.layout.num_layers_in_last_pipeline_stage = 7;
  return s;
}

// 96 MoE layers of 16 experts (top-2) on 9,216 H100s: TP8 x PP12 x DP96, EP16, 8 virtual
// stages of one layer each (1F1B with virtual_stages > 1 is the interleaved schedule), 24
// micro-batches per pipeline.
Scenario moe_9216() {
  Scenario s;
  s.name = "moe-9216-h100";
  s.model.name = "moe-96l-16e";
  s.model.num_layers = 96;
  s.model.hidden_size = 8192;
  s.model.num_attention_heads = 64;
  s.model.num_query_groups = 8;
  s.model.ffn_hidden_size = 16384;
  s.model.vocab_size = 128000;
  s.model.swiglu = true;
  s.model.add_bias_linear = false;
  s.model.untie_embeddings_and_output_weights = true;
  s.model.num_experts = 16;
  s.model.moe_router_topk = 2;
  s.cluster = *ptsim::costmodel::find_node_preset("dgx-h100");
  s.cluster.num_nodes = 1152;
  s.training.seq_length = 4096;
  s.training.global_batch_size = 2304;  // 24 micro-batches x DP96
  s.layout.tp = 8;
  s.layout.pp = 12;
  s.layout.dp = 96;
  s.layout.ep = 16;
  s.layout.virtual_stages = 8;
  s.layout.micro_batch_size = 1;
  s.layout.sequence_parallel = true;
  s.layout.zero_stage = 1;
  s.layout.overlap_grad_reduce = true;
  return s;
}

// Mid-size, small enough to simulate every rank in about a second.
Scenario gpt3_256() {
  Scenario s = gpt3_1024();
  s.name = "gpt3-175b-256-a100";
  s.cluster.num_nodes = 32;
  s.training.global_batch_size = 128;  // 32 micro-batches x DP4
  s.layout.pp = 8;
  s.layout.dp = 4;
  return s;
}

void run_step(benchmark::State& state, const Scenario& scenario,
              ptsim::strategies::LoweringMode mode = ptsim::strategies::LoweringMode::automatic) {
  for (auto _ : state) {
    const auto step = ptsim::strategies::simulate_step(scenario, mode);
    benchmark::DoNotOptimize(step.result.step_time);
    state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(step.result.events),
                                                        benchmark::Counter::kIsIterationInvariantRate);
    state.counters["step_s"] = step.result.step_time.seconds();
    state.counters["tasks"] = static_cast<double>(step.result.tasks);
  }
}

void BM_SimulateStepGpt3_1024(benchmark::State& state) { run_step(state, gpt3_1024()); }
void BM_SimulateStepLlama3_405B_16384(benchmark::State& state) { run_step(state, llama3_405b_16k()); }
void BM_SimulateStepMoe_9216(benchmark::State& state) { run_step(state, moe_9216()); }
void BM_SimulateStepGpt3_256Full(benchmark::State& state) {
  run_step(state, gpt3_256(), ptsim::strategies::LoweringMode::full);
}
void BM_SimulateStepGpt3_256Collapsed(benchmark::State& state) {
  run_step(state, gpt3_256(), ptsim::strategies::LoweringMode::collapsed);
}
BENCHMARK(BM_SimulateStepGpt3_1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulateStepGpt3_256Collapsed)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulateStepGpt3_256Full)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulateStepLlama3_405B_16384)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulateStepMoe_9216)->Unit(benchmark::kMillisecond);

}  // namespace

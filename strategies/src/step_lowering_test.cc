// Lowering tests for the pipeline-schedule and sharding options: ZB-H1 against 1F1B on a
// realistic layout, gradient reduction after the W passes, interleaved pipelines with
// uneven first/last stages, ZeRO-3 without reshard-after-forward, fp8 GEMMs.
#include "ptsim/strategies/step_lowering.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>

#include "ptsim/strategies/memory_model.h"
#include "ptsim/strategies/step_metrics.h"
#include "test_scenario.h"

namespace ptsim::strategies {
namespace {

using sim::Time;

// Llama 3 70B on 32 H100s: tp 8, pp 4, 16 micro-batches of one 4096-token sequence.
Scenario llama70b(Schedule schedule, std::int64_t dp = 1) {
  Scenario s = testing::make_scenario("llama3-70b", "dgx-h100", 4096, 16 * dp, 8, 4, dp);
  s.layout.sequence_parallel = true;
  s.layout.schedule = schedule;
  return s;
}

sim::ProcessId process_of(const sim::TaskGraph& g, sim::TaskId t) { return g.stream(g.streams_of(t).front()).process; }

void expect_breakdown_sums_to_step(const StepResult& r) {
  EXPECT_NEAR(r.breakdown.total_s(), r.step_time.seconds(), 1e-12);
  for (const auto& st : r.stages) EXPECT_NEAR(st.breakdown.total_s(), r.step_time.seconds(), 1e-12);
}

TEST(ZeroBubbleH1, FasterThanOneFOneBWithTheSameWorkAndBreakdownIntact) {
  const SimulatedStep one = simulate_step(llama70b(Schedule::one_f_one_b));
  const SimulatedStep zb = simulate_step(llama70b(Schedule::zb_h1));
  EXPECT_LT(zb.result.step_time, one.result.step_time);
  // The bubble shrinks; the work is the same (B + W = the backward, up to ns rounding).
  EXPECT_LT(zb.result.breakdown.bubble_s, one.result.breakdown.bubble_s);
  for (std::size_t i = 0; i < zb.lowered.stages.size(); ++i) {
    const Time diff = zb.lowered.stages[i].backward - one.lowered.stages[i].backward;
    EXPECT_LE(std::abs(diff.count_ns()), 200) << i;
  }
  expect_breakdown_sums_to_step(zb.result);
  expect_breakdown_sums_to_step(one.result);
  // W passes are their own tasks, weight-gradient GEMMs only.
  std::size_t w_tasks = 0;
  for (const auto& label : zb.lowered.labels) {
    if (label.kind != TaskKind::weight_grad) continue;
    ++w_tasks;
    EXPECT_TRUE(label.op == OpId::qkv_proj || label.op == OpId::out_proj || label.op == OpId::mlp_up ||
                label.op == OpId::mlp_down)
        << to_string(label.op);
  }
  EXPECT_EQ(w_tasks, 80u * 16 * 4);  // layers x micro-batches x GEMMs
}

TEST(ZeroBubbleH1, GradientReductionWaitsForTheWeightPasses) {
  for (bool overlap : {false, true}) {
    Scenario s = llama70b(Schedule::zb_h1, 2);
    s.layout.overlap_grad_reduce = overlap;
    const SimulatedStep out = simulate_step(s);
    const auto& g = out.lowered.graph;
    const auto& labels = out.lowered.labels;
    // Per stage (process): the end of the last W, and per layer the end of its W in the
    // last micro-batch.
    std::map<sim::ProcessId, std::int64_t> last_w;
    std::map<std::int32_t, std::int64_t> layer_w_end;
    const std::int32_t last_mb = static_cast<std::int32_t>(s.num_microbatches() - 1);
    for (sim::TaskId t = 0; t < g.num_tasks(); ++t) {
      if (labels[t].kind != TaskKind::weight_grad) continue;
      const std::int64_t end = out.timeline.end[t].count_ns();
      last_w[process_of(g, t)] = std::max(last_w[process_of(g, t)], end);
      if (labels[t].microbatch == last_mb) layer_w_end[labels[t].layer] = std::max(layer_w_end[labels[t].layer], end);
    }
    std::size_t reductions = 0;
    for (sim::TaskId t = 0; t < g.num_tasks(); ++t) {
      if (labels[t].kind != TaskKind::comm_dp || labels[t].op == OpId::dp_all_gather) continue;
      ++reductions;
      const std::int64_t start = out.timeline.start[t].count_ns();
      if (labels[t].layer < 0) {
        EXPECT_GE(start, last_w[process_of(g, t)]);
      } else {
        EXPECT_GE(start, layer_w_end.at(labels[t].layer)) << labels[t].layer;
      }
    }
    EXPECT_GT(reductions, 0u);
    if (overlap) {
      EXPECT_GT(reductions, 80u);  // one per layer, plus the tails
    }
    expect_breakdown_sums_to_step(out.result);
  }
}

TEST(ZeroBubbleH1, MemoryFirstStageAsOneFOneBLaterStagesHoldWeightGradInputs) {
  Scenario one = llama70b(Schedule::one_f_one_b);
  Scenario zb = llama70b(Schedule::zb_h1);
  const MemoryReport a = estimate_memory(one);
  const MemoryReport b = estimate_memory(zb);
  const int p = 4;
  EXPECT_DOUBLE_EQ(b.stages[0].bytes.activations, a.stages[0].bytes.activations);
  for (int s = 1; s < p; ++s) {
    const auto& st = b.stages[static_cast<std::size_t>(s)];
    const double mb = st.activation_bytes_per_microbatch, mw = st.weight_grad_bytes_per_microbatch;
    ASSERT_GT(mw, 0);
    // 1F1B's p - s micro-batches until B, and s more waiting for their W passes.
    // (The same count right after a B holds one more M_W and one less M_B.)
    EXPECT_DOUBLE_EQ(st.bytes.activations, std::max((p - s) * mb + s * mw, (p - s - 1) * mb + (s + 1) * mw)) << s;
    EXPECT_GT(st.bytes.activations, a.stages[static_cast<std::size_t>(s)].bytes.activations);
  }
}

TEST(InterleavedUneven, ChunksFollowMegatronsLayerOffsets) {
  // 80 layers, pp 4, v 2, first 18 and last 18: middle stages 22 each; chunks of 9, 11, 11, 9.
  Scenario s = testing::make_scenario("llama3-70b", "dgx-h100", 4096, 8, 8, 4, 1);
  s.layout.virtual_stages = 2;
  s.layout.num_layers_in_first_pipeline_stage = 18;
  s.layout.num_layers_in_last_pipeline_stage = 18;
  const std::int64_t first[2][4] = {{0, 9, 20, 31}, {40, 49, 60, 71}};
  const std::int64_t count[4] = {9, 11, 11, 9};
  for (int c = 0; c < 2; ++c) {
    for (int st = 0; st < 4; ++st) {
      EXPECT_EQ(s.chunk_layers(st, c).first, first[c][st]) << c << " " << st;
      EXPECT_EQ(s.chunk_layers(st, c).count, count[st]);
    }
  }
  EXPECT_EQ(s.stage_layers(1).count, 22);
  // Only the last stage set: stage 0 is a middle stage.
  s.layout.num_layers_in_first_pipeline_stage = 0;
  s.layout.num_layers_in_last_pipeline_stage = 20;  // 60 over 3 middle stages: 10 per chunk
  EXPECT_EQ(s.chunk_layers(0, 1).first, 40);
  EXPECT_EQ(s.chunk_layers(3, 0).first, 30);
  EXPECT_EQ(s.chunk_layers(3, 1).count, 10);
}

TEST(InterleavedUneven, EveryLayerRunsOncePerMicroBatchAndStagesCarryTheirShare) {
  Scenario s = testing::make_scenario("llama3-70b", "dgx-h100", 4096, 8, 8, 4, 1);
  s.layout.sequence_parallel = true;
  s.layout.virtual_stages = 2;
  s.layout.num_layers_in_first_pipeline_stage = 18;
  s.layout.num_layers_in_last_pipeline_stage = 18;
  const SimulatedStep out = simulate_step(s);
  std::map<std::int32_t, int> qkv_forwards;
  std::map<std::int32_t, sim::ProcessId> owner;
  for (sim::TaskId t = 0; t < out.lowered.graph.num_tasks(); ++t) {
    const auto& l = out.lowered.labels[t];
    if (l.op != OpId::qkv_proj || l.kind != TaskKind::forward) continue;
    ++qkv_forwards[l.layer];
    owner[l.layer] = process_of(out.lowered.graph, t);
  }
  ASSERT_EQ(qkv_forwards.size(), 80u);
  for (const auto& [layer, n] : qkv_forwards) EXPECT_EQ(n, 8) << layer;
  EXPECT_EQ(owner[8], out.lowered.stages[0].process);
  EXPECT_EQ(owner[9], out.lowered.stages[1].process);
  EXPECT_EQ(owner[40], out.lowered.stages[0].process);
  EXPECT_EQ(owner[79], out.lowered.stages[3].process);
  EXPECT_EQ(out.lowered.stages[0].num_layers, 18);
  EXPECT_EQ(out.lowered.stages[1].num_layers, 22);
  expect_breakdown_sums_to_step(out.result);
  // Memory: a chunk-micro-batch is the stage's layers / v.
  const MemoryReport mem = estimate_memory(s);
  const double per_layer = layer_activation_bytes(s.model, LayerKind::dense, shape_context(s), s.layout.recompute);
  EXPECT_NEAR(mem.stages[1].activation_bytes_per_microbatch, 11 * per_layer, 1e-6 * per_layer);
}

TEST(ZeroThree, KeepingGatheredParametersSkipsTheBackwardAllGather) {
  // Llama 3 8B (32 layers), FSDP over 16 GPUs, one micro-batch per GPU.
  Scenario s = testing::make_scenario("llama3-8b", "dgx-h100", 4096, 16, 1, 1, 16);
  s.layout.zero_stage = 3;
  auto layer_gathers = [](const SimulatedStep& out) {
    std::size_t n = 0;
    for (const auto& l : out.lowered.labels) n += l.op == OpId::dp_all_gather && l.layer >= 0 ? 1 : 0;
    return n;
  };
  const SimulatedStep reshard = simulate_step(s);
  s.layout.reshard_after_forward = false;
  const SimulatedStep keep = simulate_step(s);
  EXPECT_EQ(layer_gathers(reshard), 2u * 32);  // forward and backward, per layer
  EXPECT_EQ(layer_gathers(keep), 32u);         // forward only
  EXPECT_LE(keep.result.step_time, reshard.result.step_time);
  expect_breakdown_sums_to_step(keep.result);
  // Memory: every layer's gathered parameters stay resident instead of two layers'.
  Scenario sr = s;
  sr.layout.reshard_after_forward = true;
  const double layer_bytes = layer_parameters(s.model, LayerKind::dense, 1) * 2;
  EXPECT_DOUBLE_EQ(estimate_memory(s).stages[0].bytes.parameters - estimate_memory(sr).stages[0].bytes.parameters,
                   (32 - 2) * layer_bytes);
}

TEST(Fp8, GemmsRunAtTheFp8PeakAndTheRestStaysSixteenBit) {
  Scenario s = testing::make_scenario("llama3-8b", "dgx-h100", 4096, 8, 1, 1, 8);
  const auto bf16 = layer_forward_ops(s.model, LayerKind::dense, shape_context(s));
  s.training.precision = costmodel::Dtype::fp8;
  const auto fp8 = layer_forward_ops(s.model, LayerKind::dense, shape_context(s));
  ASSERT_EQ(bf16.size(), fp8.size());
  for (std::size_t i = 0; i < fp8.size(); ++i) {
    const auto& w = fp8[i].work;
    if (w.op_class == costmodel::OpClass::gemm) {
      EXPECT_EQ(w.dtype, costmodel::Dtype::fp8);
      EXPECT_LT(costmodel::kernel_time_s(w, s.cluster.gpu), costmodel::kernel_time_s(bf16[i].work, s.cluster.gpu));
    }
    if (w.op_class == costmodel::OpClass::attention) {
      EXPECT_EQ(w.dtype, costmodel::Dtype::bf16);
    }
    EXPECT_DOUBLE_EQ(w.bytes, bf16[i].work.bytes);  // activations stay bf16
  }
  // Memory: bf16 weights plus Transformer Engine's fp8 weight and transpose per layer.
  Scenario b = s;
  b.training.precision = costmodel::Dtype::bf16;
  const double extra = estimate_memory(s).stages[0].bytes.parameters - estimate_memory(b).stages[0].bytes.parameters;
  EXPECT_DOUBLE_EQ(extra, 2 * 32 * layer_parameters(s.model, LayerKind::dense, 1));
  EXPECT_DOUBLE_EQ(estimate_memory(s).stages[0].bytes.activations, estimate_memory(b).stages[0].bytes.activations);
}

}  // namespace
}  // namespace ptsim::strategies

#include "ptsim/strategies/memory_model.h"

#include <gtest/gtest.h>

#include "test_scenario.h"

namespace ptsim::strategies {
namespace {

// Korthikanti et al. 2022, Table 3 models: (heads, hidden, layers).
struct Model {
  const char* name;
  std::int64_t a, h, l;
};
constexpr Model kModels[] = {{"22B", 64, 6144, 48}, {"175B", 96, 12288, 96}, {"530B", 128, 20480, 105}, {"1T", 160, 25600, 128}};

TransformerConfig gpt(const Model& m) {
  TransformerConfig c = *find_model_preset("gpt3-175b");
  c.num_attention_heads = m.a;
  c.num_query_groups = m.a;
  c.hidden_size = m.h;
  c.ffn_hidden_size = 4 * m.h;
  c.num_layers = m.l;
  return c;
}

TEST(ActivationMemory, KorthikantiTable2Exactly) {
  const double s = 2048, b = 1, t = 8;
  for (const Model& mm : kModels) {
    const TransformerConfig m = gpt(mm);
    const double h = static_cast<double>(mm.h), a = static_cast<double>(mm.a);
    ShapeContext c{1, 2048, 8, costmodel::Dtype::fp16, AttentionKernel::unfused, false};
    const double sbh = s * b * h;
    EXPECT_DOUBLE_EQ(layer_activation_bytes(m, LayerKind::dense, c, Recompute::none), sbh * (10 + 24 / t + 5 * a * s / (h * t))) << mm.name;
    EXPECT_DOUBLE_EQ(layer_activation_bytes(m, LayerKind::dense, c, Recompute::selective), sbh * (10 + 24 / t)) << mm.name;
    EXPECT_DOUBLE_EQ(layer_activation_bytes(m, LayerKind::dense, c, Recompute::full), 2 * sbh) << mm.name;
    c.sequence_parallel = true;
    EXPECT_DOUBLE_EQ(layer_activation_bytes(m, LayerKind::dense, c, Recompute::none), sbh * (34 / t + 5 * a * s / (h * t))) << mm.name;
    EXPECT_DOUBLE_EQ(layer_activation_bytes(m, LayerKind::dense, c, Recompute::selective), sbh * 34 / t) << mm.name;
    c.tp = 1;
    c.sequence_parallel = false;
    EXPECT_DOUBLE_EQ(layer_activation_bytes(m, LayerKind::dense, c, Recompute::none), sbh * (34 + 5 * a * s / h)) << mm.name;
  }
}

TEST(ActivationMemory, FlashAttentionKeepsNoScores) {
  const TransformerConfig m = *find_model_preset("llama3-8b");
  const ShapeContext flash{1, 8192, 1, costmodel::Dtype::bf16, AttentionKernel::flash, false};
  const ShapeContext unfused{1, 8192, 1, costmodel::Dtype::bf16, AttentionKernel::unfused, false};
  // Llama has no attention dropout: unfused attention keeps the softmax output (a s^2 b
  // bf16 elements), flash attention only its fp32 log-sum-exp (a s b).
  const double a = 32, s = 8192;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, LayerKind::dense, unfused, Recompute::none) - layer_activation_bytes(m, LayerKind::dense, flash, Recompute::none),
                   a * s * s * 2 - 4 * a * s);
}

TEST(MicrobatchesInFlight, PerSchedule) {
  EXPECT_EQ(microbatches_in_flight(Schedule::gpipe, 0, 4, 16), 16);
  EXPECT_EQ(microbatches_in_flight(Schedule::sequential, 0, 4, 16), 1);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(microbatches_in_flight(Schedule::one_f_one_b, i, 4, 16), 4 - i);
  EXPECT_EQ(microbatches_in_flight(Schedule::one_f_one_b, 0, 8, 3), 3);
}

Scenario gpt3_on_1024() { return testing::make_scenario("gpt3-175b", "dgx-a100", 2048, 1536, 8, 16, 8); }

TEST(MemoryModel, ZeroShardsStatesByDataParallelSize) {
  Scenario s = gpt3_on_1024();
  const MemoryReport base = estimate_memory(s);
  s.layout.zero_stage = 1;
  const MemoryReport z1 = estimate_memory(s);
  s.layout.zero_stage = 3;
  const MemoryReport z3 = estimate_memory(s);
  for (std::size_t i = 0; i < base.stages.size(); ++i) {
    const auto& b = base.stages[i].bytes;
    EXPECT_DOUBLE_EQ(z1.stages[i].bytes.optimizer_states, b.optimizer_states / 8);
    EXPECT_DOUBLE_EQ(z1.stages[i].bytes.gradients, b.gradients);
    EXPECT_DOUBLE_EQ(z3.stages[i].bytes.optimizer_states, b.optimizer_states / 8);
    EXPECT_DOUBLE_EQ(z3.stages[i].bytes.gradients, b.gradients / 8);
    // Parameters: a 1/dp shard plus the two gathered layers FSDP keeps.
    const double gathered = 2 * layer_parameters(s.model, LayerKind::dense, 8) * 2;
    EXPECT_DOUBLE_EQ(z3.stages[i].bytes.parameters, b.parameters / 8 + gathered);
    EXPECT_DOUBLE_EQ(z3.stages[i].bytes.activations, b.activations);
  }
}

TEST(MemoryModel, MixedPrecisionStatesAreSixteenBytesPerParameter) {
  const Scenario s = gpt3_on_1024();
  const MemoryReport r = estimate_memory(s);
  const auto& k = r.stages[3].bytes;
  const double params = stage_parameters(s, 3);
  EXPECT_DOUBLE_EQ(k.parameters + k.gradients + k.optimizer_states, 16 * params);
}

TEST(MemoryModel, FirstStageHoldsMostActivationsUnderOneFOneB) {
  Scenario s = gpt3_on_1024();
  s.layout.recompute = Recompute::none;
  const MemoryReport r = estimate_memory(s);
  EXPECT_EQ(r.stages[0].microbatches_in_flight, 16);
  EXPECT_GT(r.stages[0].bytes.activations, r.stages[8].bytes.activations);
  EXPECT_NEAR(r.stages[1].bytes.activations / r.stages[8].bytes.activations, 15.0 / 8.0, 1e-12);
}

TEST(MemoryModel, WeightGradPassKeepsThirtyTwoSbhPerLayer) {
  // Qi et al. 2023, Table 1: W keeps M_W = 32 sbh per GPT layer (2-byte activations): the
  // inputs (QKV 2sbh, projection 2sbh, MLP up 2sbh, MLP down 8sbh) and output gradients
  // (QKV 6sbh, projection 2sbh, MLP up 8sbh, MLP down 2sbh) of its four weight GEMMs.
  // Over t TP ranks the hidden-width ones are replicated (8 sbh) unless sequence-parallel.
  const Scenario s = gpt3_on_1024();
  const double sbh = 2048.0 * 1 * 12288;
  for (std::int64_t t : {1, 8}) {
    ShapeContext c = shape_context(s);
    c.tp = t;
    c.sequence_parallel = false;
    EXPECT_DOUBLE_EQ(layer_weight_grad_bytes(s.model, LayerKind::dense, c), sbh * (8 + 24.0 / static_cast<double>(t))) << t;
    c.sequence_parallel = true;
    EXPECT_DOUBLE_EQ(layer_weight_grad_bytes(s.model, LayerKind::dense, c), 32 * sbh / static_cast<double>(t)) << t;
  }
}

TEST(MemoryModel, DoesNotFitIsReported) {
  Scenario s = gpt3_on_1024();
  s.layout.tp = 1;
  s.layout.pp = 1;
  s.layout.dp = 1024;
  s.training.global_batch_size = 1024;
  const MemoryReport r = estimate_memory(s);
  EXPECT_FALSE(r.fits);
  EXPECT_GT(r.peak_bytes, 175e9 * 16);
  EXPECT_DOUBLE_EQ(r.capacity_bytes, 80.0 * 1024 * 1024 * 1024);
}

}  // namespace
}  // namespace ptsim::strategies

// Presets whose layers differ (DeepSeek-V3: dense, then MoE; MLA), BERT's encoder and
// Qwen2-MoE: parameter counts, FLOPs and activation memory against closed forms, and the
// published sizes within stated tolerances.
#include "ptsim/strategies/model.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "ptsim/strategies/memory_model.h"
#include "ptsim/strategies/step_lowering.h"
#include "ptsim/strategies/step_metrics.h"
#include "ptsim/strategies/transformer_ops.h"
#include "test_scenario.h"

namespace ptsim::strategies {
namespace {

// DeepSeek-V3's widths (config.json).
constexpr double kH = 7168, kHeads = 128, kQLora = 1536, kKvLora = 512, kNope = 128, kRope = 64, kV = 128,
                 kVocab = 129280, kDenseFfn = 18432, kExpertFfn = 2048, kExperts = 256, kTopK = 8;

double deepseek_attention() {
  return kH * kQLora + kH * (kKvLora + kRope) + kQLora + kKvLora + kQLora * kHeads * (kNope + kRope) +
         kKvLora * kHeads * (kNope + kV) + kHeads * kV * kH;
}

TEST(DeepSeekV3, LayerKinds) {
  const TransformerConfig m = *find_model_preset("deepseek-v3");
  for (int l = 0; l < 3; ++l) EXPECT_EQ(m.layer_kind(l), LayerKind::dense) << l;
  for (int l = 3; l < 61; ++l) EXPECT_EQ(m.layer_kind(l), LayerKind::moe) << l;
  const LayerKindCounts c = count_layer_kinds(m, 1, 4);
  EXPECT_EQ(c.dense, 2);
  EXPECT_EQ(c.moe, 2);
  EXPECT_EQ(m.qk_head_dim(), 192);
  EXPECT_EQ(m.value_head_dim(), 128);
}

TEST(DeepSeekV3, ParametersTotalAndActivated) {
  const TransformerConfig m = *find_model_preset("deepseek-v3");
  EXPECT_DOUBLE_EQ(attention_parameters(m, 1), deepseek_attention());
  const double norms = 2 * kH;
  const double dense = deepseek_attention() + 3 * kH * kDenseFfn + norms;
  const double expert = 3 * kH * kExpertFfn;
  const double moe = deepseek_attention() + kH * kExperts + kExperts * expert + expert + norms;
  const double total = 3 * dense + 58 * moe + 2 * kVocab * kH + kH;
  EXPECT_DOUBLE_EQ(layer_parameters(m, LayerKind::dense, 1), dense);
  EXPECT_DOUBLE_EQ(layer_parameters(m, LayerKind::moe, 1), moe);
  EXPECT_DOUBLE_EQ(total_parameters(m, 4096), total);
  EXPECT_DOUBLE_EQ(total, 671026404352.0);
  const double activated = total - 58 * (kExperts - kTopK) * expert;
  EXPECT_DOUBLE_EQ(activated_parameters(m, 4096), activated);
  EXPECT_DOUBLE_EQ(activated, 37552282624.0);
  // Published (arXiv:2412.19437): 671B total, 37B activated per token, both without the
  // multi-token-prediction module (14B more in the 685B checkpoint), which ptsim does not
  // model. 671.03B is within 0.01%; 37.55B is 1.5% above "37B", a rounded figure (the
  // router's correction bias, 256 per layer, is left out here and is negligible).
  EXPECT_NEAR(total / 671e9, 1.0, 1e-4);
  EXPECT_NEAR(activated / 37e9, 1.0, 0.02);
}

TEST(DeepSeekV3, TensorParallelSplitsOnlyTheUpAndOutputProjections) {
  const TransformerConfig m = *find_model_preset("deepseek-v3");
  const double duplicated = kH * kQLora + kH * (kKvLora + kRope) + kQLora + kKvLora;
  EXPECT_DOUBLE_EQ(attention_parameters(m, 8), duplicated + (deepseek_attention() - duplicated) / 8);
}

TEST(DeepSeekV3, ModelFlopsAreTwicePerTokenActivatedMatmulsPlusAttention) {
  const TransformerConfig m = *find_model_preset("deepseek-v3");
  const double s = 4096;
  // The attention core: Q K^T over 192 channels per head and P V over 128, full s x s.
  const double core = 2 * s * s * kHeads * (kNope + kRope) + 2 * s * s * kHeads * kV;
  EXPECT_DOUBLE_EQ(attention_forward_flops_per_sequence(m, 4096), 61 * core);
  // Every activated matmul parameter once per token (2 FLOPs): all but the input embedding
  // and the norms (two per layer, the latents' two, the final one).
  const double matmul = activated_parameters(m, 4096) - kVocab * kH - 61 * (2 * kH + kQLora + kKvLora) - kH;
  EXPECT_NEAR(model_forward_flops_per_sequence(m, 4096), 2 * s * matmul + 61 * core,
              1e-12 * (2 * s * matmul + 61 * core));
}

TEST(DeepSeekV3, MlaActivationMemory) {
  const TransformerConfig m = *find_model_preset("deepseek-v3");
  const ShapeContext c{1, 4096, 1, costmodel::Dtype::bf16, AttentionKernel::flash, false};
  const double s = 4096, e = 2;
  // Norm inputs (2), down projections' input, MLP input; the latents' norm inputs and the
  // up projections' inputs (+ RoPE key); Q, K (192/head), V and output (128/head); the
  // dense SwiGLU MLP's activation input (2 F) and output (F); flash attention's fp32 LSE.
  const double expected = s * kH * 4 * e + s * e * (2 * (kQLora + kKvLora) + kRope) +
                          s * e * kHeads * (2 * 192 + 2 * 128) + s * e * 3 * kDenseFfn + 4 * kHeads * s;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, LayerKind::dense, c, Recompute::none), expected);
  EXPECT_GT(layer_activation_bytes(m, LayerKind::moe, c, Recompute::none),
            layer_activation_bytes(m, LayerKind::dense, c, Recompute::none));
}

TEST(DeepSeekV3, MlaSequenceParallelGathersTheLatentsNotTheHiddenStates) {
  const TransformerConfig m = *find_model_preset("deepseek-v3");
  ShapeContext c{1, 4096, 8, costmodel::Dtype::bf16, AttentionKernel::flash, true};
  const auto ops = layer_forward_ops(m, LayerKind::dense, c);
  // The first collective of the layer: an all-gather of 4096 tokens x (1536 + 512 + 64) bf16.
  const auto first = std::find_if(ops.begin(), ops.end(), [](const OpStep& o) { return o.is_tp_collective; });
  ASSERT_NE(first, ops.end());
  EXPECT_EQ(first->collective, costmodel::CollectiveOp::all_gather);
  EXPECT_DOUBLE_EQ(first->collective_bytes, 4096.0 * (1536 + 512 + 64) * 2);
  // Down projections run on the rank's 512 tokens, up projections on all 4096.
  for (const OpStep& op : ops) {
    if (op.op == OpId::mla_q_down) {
      EXPECT_DOUBLE_EQ(op.work.flops, 2.0 * 512 * 1536 * 7168);
    }
    if (op.op == OpId::mla_q_up) {
      EXPECT_DOUBLE_EQ(op.work.flops, 2.0 * 4096 * (16 * 192) * 1536);
    }
  }
}

// The published training layout (arXiv:2412.19437, Sec. 3.2): PP16, EP64 over 2048 H800s,
// no TP. H800 is not a preset: the dgx-h100 node stands in (same compute, more NVLink
// bandwidth than the H800's 400 GB/s). 61 layers: 1 on the first stage, 4 on every other,
// so stage 1 holds two dense layers and two MoE layers. 8 micro-batches of 4096 tokens per
// pipeline (a 1024-sequence batch, a fraction of the paper's 15360, to keep the test fast).
Scenario deepseek_scenario() {
  Scenario s = testing::make_scenario("deepseek-v3", "dgx-h100", 4096, 1024, 1, 16, 128);
  s.layout.ep = 64;
  s.layout.num_layers_in_first_pipeline_stage = 1;
  s.layout.zero_stage = 1;
  return s;
}

TEST(DeepSeekV3, StagesWithDifferentLayerKindsLowerEachLayerByItsKind) {
  const Scenario s = deepseek_scenario();
  EXPECT_EQ(s.stage_layers(0).count, 1);
  EXPECT_EQ(s.stage_layers(1).first, 1);
  EXPECT_EQ(s.stage_layers(1).count, 4);
  const TransformerConfig& m = s.model;
  EXPECT_DOUBLE_EQ(stage_parameters(s, 1), 2 * layer_parameters(m, LayerKind::dense, 1, 64) +
                                               2 * layer_parameters(m, LayerKind::moe, 1, 64));
  const LoweredStep lowered = lower_step(s);
  // Per stage, the expert GEMMs of micro-batch 0's forward: one per MoE layer.
  std::vector<int> expert_layers;
  for (const TaskLabel& label : lowered.labels) {
    if (label.op == OpId::moe_expert_up && label.kind == TaskKind::forward && label.microbatch == 0) {
      expert_layers.push_back(label.layer);
    }
  }
  std::sort(expert_layers.begin(), expert_layers.end());
  ASSERT_EQ(expert_layers.size(), 58u);
  EXPECT_EQ(expert_layers.front(), 3);
  EXPECT_EQ(expert_layers.back(), 60);
  // The dense stage 0 is cheaper per micro-batch than stage 1 (2 dense + 2 MoE), which
  // costs less than stage 2 (4 MoE) only if an MoE layer costs more than a dense one.
  const auto& st = lowered.stages;
  EXPECT_LT(st[0].forward, st[1].forward);
}

TEST(DeepSeekV3, PublishedLayoutSimulatesAndReportsMemory) {
  const Scenario s = deepseek_scenario();
  const SimulatedStep step = simulate_step(s);
  const StepResult& r = step.result;
  EXPECT_EQ(r.num_gpus, 2048);
  EXPECT_GT(r.step_time.seconds(), 0);
  EXPECT_GT(r.mfu, 0);
  EXPECT_LT(r.mfu, 1);
  ASSERT_EQ(r.memory.stages.size(), 16u);
  EXPECT_GT(r.breakdown.exposed_ep_s + r.stages[2].breakdown.exposed_ep_s, 0);
  for (const StageMemory& sm : r.memory.stages) {
    EXPECT_GT(sm.bytes.parameters, 0);
    EXPECT_GT(sm.bytes.activations, 0);
  }
  // bf16 weights of each stage's own layers. With EP64 a GPU holds 4 of a layer's 256
  // experts and the shared one (~0.22B parameters), less than a dense MLP (~0.40B): stage 1
  // (2 dense + 2 MoE) holds more than stage 2 (4 MoE).
  for (int st = 0; st < 16; ++st) {
    EXPECT_DOUBLE_EQ(r.memory.stages[static_cast<std::size_t>(st)].bytes.parameters, 2 * stage_parameters(s, st));
  }
  EXPECT_GT(r.memory.stages[1].bytes.parameters, r.memory.stages[2].bytes.parameters);
  // ZeRO-1 shards the optimizer states over the 128 data-parallel ranks, but stage 2's
  // experts (4 layers x 4 local experts) only over the 2 ranks that hold the same experts.
  const double experts = expert_parameters(s.model, 5, 4, 64);
  EXPECT_DOUBLE_EQ(experts, 4 * 4 * 3 * kH * kExpertFfn);
  EXPECT_DOUBLE_EQ(r.memory.stages[2].bytes.optimizer_states,
                   (stage_parameters(s, 2) - experts) * 12 / 128 + experts * 12 / 2);
}

TEST(DeepSeekV3, InterleavedChunksOfDifferentKindsKeepTheLargestChunk) {
  // 8 layers (3 dense, 5 MoE), pp 2 x 2 virtual stages: stage 0 holds chunks of layers 0-1
  // (dense) and 4-5 (MoE); stage 1 holds 2-3 (dense, MoE) and 6-7 (MoE).
  Scenario s = testing::make_scenario("deepseek-v3", "dgx-h100", 4096, 16, 1, 2, 8);
  s.model.num_layers = 8;
  s.layout.ep = 8;
  s.layout.virtual_stages = 2;
  const ShapeContext c = shape_context(s);
  const double dense = layer_activation_bytes(s.model, LayerKind::dense, c, Recompute::none);
  const double moe = layer_activation_bytes(s.model, LayerKind::moe, c, Recompute::none);
  const SimulatedStep step = simulate_step(s);
  EXPECT_DOUBLE_EQ(step.result.memory.stages[0].activation_bytes_per_microbatch, 2 * moe);
  EXPECT_GT(step.result.step_time.seconds(), 0);
  EXPECT_GT(moe, dense);
}

TEST(Bert, LargeParameterCount) {
  const TransformerConfig m = *find_model_preset("bert-large");
  const double h = 1024, V = 30522, s = 512;
  const double layer = 12 * h * h + 13 * h;  // QKV, output, MLP (4h) with biases, 2 LayerNorms
  const double embedding = V * h + s * h + 2 * h + 2 * h;  // words, positions, token types, LayerNorm
  const double mlm = h * h + h + 2 * h + V;               // transform + bias, LayerNorm, decoder bias
  EXPECT_DOUBLE_EQ(layer_parameters(m, LayerKind::dense, 1), layer);
  EXPECT_DOUBLE_EQ(total_parameters(m, 512), 24 * layer + embedding + mlm);
  EXPECT_DOUBLE_EQ(total_parameters(m, 512), 335174458.0);
  // Published: "340M" (Devlin et al. 2019, rounded); HF's BertModel counts 335,141,888 with
  // the pooler (1,049,600) and without the MLM head (1,082,170). ptsim has no pooler or
  // next-sentence head and includes the MLM head: 32,570 more than HF, 1.4% under 340M.
  EXPECT_DOUBLE_EQ(total_parameters(m, 512) - mlm + (h * h + h), 335141888.0);
  EXPECT_NEAR(total_parameters(m, 512) / 340e6, 1.0, 0.015);
}

TEST(Bert, BidirectionalAttentionComputesTheFullScores) {
  TransformerConfig bert = *find_model_preset("bert-large");
  TransformerConfig causal = bert;
  causal.causal = true;
  const ShapeContext c{8, 512, 1, costmodel::Dtype::bf16, AttentionKernel::flash, false};
  auto attention = [&](const TransformerConfig& m) {
    for (const OpStep& op : layer_forward_ops(m, LayerKind::dense, c)) {
      if (op.op == OpId::attention) return op;
    }
    return OpStep{};
  };
  EXPECT_DOUBLE_EQ(attention(bert).work.flops, 2 * attention(causal).work.flops);
  EXPECT_DOUBLE_EQ(attention(bert).work.flops, 4.0 * 8 * 512 * 512 * 1024);
  // Model FLOPs count the full scores either way (Megatron's convention).
  EXPECT_DOUBLE_EQ(attention(bert).model_flops, attention(causal).model_flops);
}

TEST(Bert, ModelFlopsIncludeTheMlmHead) {
  const TransformerConfig m = *find_model_preset("bert-large");
  const double s = 512, h = 1024, V = 30522;
  const double expected = 24 * (24 * s * h * h + 4 * s * s * h) + 2 * s * h * h + 2 * s * V * h;
  EXPECT_DOUBLE_EQ(model_forward_flops_per_sequence(m, 512), expected);
}

TEST(Bert, SimulatesWithTheEmbeddingNormOnTheFirstStage) {
  Scenario s = testing::make_scenario("bert-large", "dgx-a100", 512, 64, 2, 2, 2);
  const double h = 1024;
  // Stage 0: 12 layers, embedding, its LayerNorm; stage 1: 12 layers, MLM head, decoder copy.
  EXPECT_DOUBLE_EQ(stage_parameters(s, 0), 12 * layer_parameters(s.model, LayerKind::dense, 2) +
                                               embedding_parameters(s.model, 512, 2) + 2 * h);
  EXPECT_DOUBLE_EQ(stage_parameters(s, 1), 12 * layer_parameters(s.model, LayerKind::dense, 2) +
                                               mlm_head_parameters(s.model, 2) + lm_head_parameters(s.model, 2));
  const StepResult r = simulate_step(s).result;
  EXPECT_GT(r.mfu, 0);
  EXPECT_LT(r.mfu, 1);
}

TEST(Qwen2Moe, ParametersTotalAndActivated) {
  const TransformerConfig m = *find_model_preset("qwen2-57b-a14b");
  const double h = 3584, kv = 4 * 128, f = 2560, E = 64, shared = 20480, V = 151936;
  const double attention = h * (h + 2 * kv) + h * h;  // (QKV biases not modelled: 1024 + h per layer)
  const double layer = attention + h * E + h + E * 3 * h * f + 3 * h * shared + 2 * h;  // router, shared gate
  const double total = 28 * layer + 2 * V * h + h;
  EXPECT_DOUBLE_EQ(total_parameters(m, 4096), total);
  EXPECT_DOUBLE_EQ(total, 57408529920.0);
  const double activated = total - 28 * (E - 8) * 3 * h * f;
  EXPECT_DOUBLE_EQ(activated_parameters(m, 4096), activated);
  // Published (model card): 57B total, 14B activated, both rounded to whole billions.
  EXPECT_NEAR(total / 57e9, 1.0, 0.01);
  EXPECT_NEAR(activated / 14e9, 1.0, 0.02);
}

TEST(Qwen2Moe, SharedExpertGateIsOneMoreRouterColumn) {
  TransformerConfig m = *find_model_preset("qwen2-57b-a14b");
  const ShapeContext c{1, 4096, 1, costmodel::Dtype::bf16, AttentionKernel::flash, false};
  auto router_flops = [&](const TransformerConfig& model) {
    for (const OpStep& op : layer_forward_ops(model, LayerKind::moe, c)) {
      if (op.op == OpId::moe_router && op.work.op_class == costmodel::OpClass::gemm) return op.model_flops;
    }
    return 0.0;
  };
  const double gated = router_flops(m);
  m.moe_shared_expert_gate = false;
  EXPECT_DOUBLE_EQ(gated - router_flops(m), 2.0 * 4096 * 3584);
}

}  // namespace
}  // namespace ptsim::strategies

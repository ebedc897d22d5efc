#include "ptsim/strategies/transformer_ops.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ptsim::strategies {
namespace {

double gemm_flops(const std::vector<OpStep>& ops) {
  double f = 0;
  for (const auto& op : ops) {
    if (!op.is_tp_collective && op.work.op_class == costmodel::OpClass::gemm) f += op.work.flops;
  }
  return f;
}

TEST(TransformerOps, GptParameterCountIsMegatronEquation2) {
  // P = 12 l h^2 (1 + 13/(12h) + (V+s)/(12 l h)), plus the final LayerNorm (2h), which
  // the paper's formula leaves out.
  for (const char* name : {"megatron-1.7b", "megatron-18b", "gpt3-175b", "megatron-1t"}) {
    const TransformerConfig m = *find_model_preset(name);
    const double l = static_cast<double>(m.num_layers), h = static_cast<double>(m.hidden_size),
                 V = static_cast<double>(m.vocab_size), s = 2048;
    const double eq2 = 12 * l * h * h * (1 + 13 / (12 * h) + (V + s) / (12 * l * h));
    EXPECT_NEAR(total_parameters(m, 2048), eq2 + 2 * h, 1e-12 * eq2) << name;
  }
}

TEST(TransformerOps, LlamaParameterCountsMatchPublishedSizes) {
  // Meta's model cards: 8.03B, 70.6B, 405.9B (with the untied output layer).
  EXPECT_NEAR(total_parameters(*find_model_preset("llama3-8b"), 8192) / 1e9, 8.03, 0.01);
  EXPECT_NEAR(total_parameters(*find_model_preset("llama3-70b"), 8192) / 1e9, 70.55, 0.05);
  EXPECT_NEAR(total_parameters(*find_model_preset("llama3-405b"), 8192) / 1e9, 405.85, 0.1);
}

TEST(TransformerOps, Llama2ParameterCountsMatchPublishedSizes) {
  // Model cards: 6.74B, 13.0B, 69.0B.
  EXPECT_NEAR(total_parameters(*find_model_preset("llama2-7b"), 4096) / 1e9, 6.74, 0.01);
  EXPECT_NEAR(total_parameters(*find_model_preset("llama2-13b"), 4096) / 1e9, 13.02, 0.01);
  EXPECT_NEAR(total_parameters(*find_model_preset("llama2-70b"), 4096) / 1e9, 68.98, 0.05);
}

TEST(TransformerOps, ModelFlopsAreMegatronFormula) {
  // Model FLOPs of one iteration without recompute: 72 B s l h^2 (1 + s/(6h) + V/(12 l h)),
  // three passes of Eq. 3's per-pass count.
  for (const char* name : {"megatron-3.6b", "gpt3-175b", "megatron-530b"}) {
    const TransformerConfig m = *find_model_preset(name);
    const double l = static_cast<double>(m.num_layers), h = static_cast<double>(m.hidden_size),
                 V = static_cast<double>(m.vocab_size), s = 2048, B = 1536;
    const double expected = 72 * B * s * l * h * h * (1 + s / (6 * h) + V / (12 * l * h));
    EXPECT_NEAR(3 * B * model_forward_flops_per_sequence(m, 2048), expected, 1e-12 * expected) << name;
  }
}

TEST(TransformerOps, BackwardGemmsCostTwiceForwardAndTpShards) {
  const TransformerConfig m = *find_model_preset("gpt3-175b");
  ShapeContext c{1, 2048, 1, costmodel::Dtype::bf16, AttentionKernel::flash};
  const double fwd1 = gemm_flops(layer_forward_ops(m, LayerKind::dense, c));
  EXPECT_DOUBLE_EQ(gemm_flops(layer_backward_ops(m, LayerKind::dense, c)), 2 * fwd1);
  EXPECT_DOUBLE_EQ(fwd1, 24.0 * 2048 * 12288.0 * 12288.0);  // 24 B s h^2
  c.tp = 8;
  EXPECT_DOUBLE_EQ(gemm_flops(layer_forward_ops(m, LayerKind::dense, c)), fwd1 / 8);
}

TEST(TransformerOps, TensorParallelLayerHasTwoAllReducesEachWay) {
  const TransformerConfig m = *find_model_preset("gpt3-175b");
  const ShapeContext c{1, 2048, 8, costmodel::Dtype::bf16, AttentionKernel::unfused};
  auto count = [](const std::vector<OpStep>& ops) {
    int n = 0;
    for (const auto& op : ops) n += op.is_tp_collective ? 1 : 0;
    return n;
  };
  EXPECT_EQ(count(layer_forward_ops(m, LayerKind::dense, c)), 2);
  EXPECT_EQ(count(layer_backward_ops(m, LayerKind::dense, c)), 2);
  for (const auto& op : layer_forward_ops(m, LayerKind::dense, c)) {
    if (op.is_tp_collective) {
      EXPECT_DOUBLE_EQ(op.collective_bytes, 2048.0 * 12288 * 2);  // b s h, 2 bytes
    }
  }
}

TEST(TransformerOps, GqaShrinksQkvProjection) {
  const TransformerConfig m = *find_model_preset("llama3-70b");
  const ShapeContext c{1, 8192, 1, costmodel::Dtype::bf16, AttentionKernel::flash};
  const auto ops = layer_forward_ops(m, LayerKind::dense, c);
  const auto qkv = std::find_if(ops.begin(), ops.end(), [](const OpStep& o) { return o.op == OpId::qkv_proj; });
  ASSERT_NE(qkv, ops.end());
  // 64 query heads + 2 x 8 KV heads of 128 channels.
  EXPECT_DOUBLE_EQ(qkv->work.flops, 2.0 * 8192 * (8192 + 2 * 8 * 128) * 8192);
}

TEST(TransformerOps, OptimizerBytesPerParameter) {
  EXPECT_DOUBLE_EQ(optimizer_bytes_per_parameter(costmodel::Dtype::bf16), 42);
  EXPECT_DOUBLE_EQ(optimizer_bytes_per_parameter(costmodel::Dtype::fp16), 50);
  EXPECT_DOUBLE_EQ(optimizer_bytes_per_parameter(costmodel::Dtype::fp8), 42);
  EXPECT_DOUBLE_EQ(optimizer_bytes_per_parameter(costmodel::Dtype::fp32), 36);
}

int count_tp(const std::vector<OpStep>& ops, costmodel::CollectiveOp op) {
  int n = 0;
  for (const auto& s : ops) n += s.is_tp_collective && s.collective == op ? 1 : 0;
  return n;
}

TEST(TransformerOps, SequenceParallelBackwardGathersColumnParallelInputsAgain) {
  using costmodel::CollectiveOp;
  const TransformerConfig m = *find_model_preset("gpt3-175b");
  ShapeContext c{1, 2048, 8, costmodel::Dtype::bf16, AttentionKernel::flash, true};
  // Forward: an all-gather before QKV and MLP up, a reduce-scatter after out_proj and MLP
  // down. Backward: those mirrored, plus the re-gathers of QKV's and MLP up's inputs.
  const auto fwd = layer_forward_ops(m, LayerKind::dense, c);
  EXPECT_EQ(count_tp(fwd, CollectiveOp::all_gather), 2);
  EXPECT_EQ(count_tp(fwd, CollectiveOp::reduce_scatter), 2);
  const auto bwd = layer_backward_ops(m, LayerKind::dense, c);
  EXPECT_EQ(count_tp(bwd, CollectiveOp::all_gather), 4);
  EXPECT_EQ(count_tp(bwd, CollectiveOp::reduce_scatter), 2);
  for (const auto& op : bwd) EXPECT_FALSE(op.overlaps_next);  // plain Megatron: in series
  EXPECT_DOUBLE_EQ(gemm_flops(bwd), 2 * gemm_flops(fwd));

  // With TP comm overlap the re-gather runs beside the data-gradient GEMM and the
  // reduce-scatter beside the weight-gradient GEMM, which zb-h1 defers to its W pass.
  c.tp_comm_overlap = true;
  const auto over = layer_backward_ops(m, LayerKind::dense, c);
  EXPECT_DOUBLE_EQ(gemm_flops(over), 2 * gemm_flops(fwd));
  std::size_t i = 0;
  while (i < over.size() && over[i].op != OpId::mlp_up) ++i;
  ASSERT_GE(i, 1u);
  ASSERT_LT(i + 2, over.size());
  EXPECT_TRUE(over[i - 1].is_tp_collective && over[i - 1].collective == CollectiveOp::all_gather);
  EXPECT_TRUE(over[i - 1].overlaps_next);
  EXPECT_FALSE(over[i].weight_grad);
  EXPECT_TRUE(over[i + 1].is_tp_collective && over[i + 1].collective == CollectiveOp::reduce_scatter);
  EXPECT_TRUE(over[i + 1].overlaps_next);
  EXPECT_EQ(over[i + 2].op, OpId::mlp_up);
  EXPECT_TRUE(over[i + 2].weight_grad);
  const double t = 2048, h = 12288, cols = 4 * 12288 / 8.0;
  EXPECT_DOUBLE_EQ(over[i].work.flops, 2 * t * cols * h);
  EXPECT_EQ(over[i].work.shape.m, t);  // data gradient: tokens x h
  EXPECT_EQ(over[i].work.shape.n, h);
  EXPECT_EQ(over[i + 2].work.shape.m, h);  // weight gradient: h x cols
  EXPECT_EQ(over[i + 2].work.shape.n, cols);
  const SplitBackward split = split_weight_gradients(over);
  EXPECT_DOUBLE_EQ(gemm_flops(split.weight_grad), gemm_flops(fwd));
  EXPECT_DOUBLE_EQ(gemm_flops(split.input_grad), gemm_flops(fwd));
}

TEST(TransformerOps, SequenceParallelBackwardRegathersEveryColumnParallelInput) {
  using costmodel::CollectiveOp;
  // Per layer the backward gathers each column-parallel GEMM's input once more than the
  // forward does: QKV (MLA: the latents) and the MLP up (MoE: the shared expert's).
  const ShapeContext c{1, 4096, 8, costmodel::Dtype::bf16, AttentionKernel::flash, true};
  for (const char* name : {"gpt3-175b", "deepseek-v3"}) {
    const TransformerConfig m = *find_model_preset(name);
    for (const LayerKind kind : {LayerKind::dense, LayerKind::moe}) {
      if (kind == LayerKind::moe && !m.is_moe()) continue;
      EXPECT_EQ(count_tp(layer_backward_ops(m, kind, c), CollectiveOp::all_gather),
                count_tp(layer_forward_ops(m, kind, c), CollectiveOp::all_gather) + 2)
          << name << " " << static_cast<int>(kind);
    }
  }
}

TEST(TransformerOps, CrossEntropyPassesOverFp32Logits) {
  const TransformerConfig m = *find_model_preset("gpt3-175b");  // vocabulary 51200
  const ShapeContext c{2, 2048, 8, costmodel::Dtype::bf16, AttentionKernel::flash};
  const double logits = 2 * 2048 * 51200 / 8.0;
  double fwd = 0, bwd = 0;
  for (const auto& op : head_forward_ops(m, c)) fwd += op.op == OpId::cross_entropy ? op.work.bytes : 0;
  for (const auto& op : head_backward_ops(m, c)) bwd += op.op == OpId::cross_entropy ? op.work.bytes : 0;
  EXPECT_DOUBLE_EQ(fwd, logits * (2 + 36));
  EXPECT_DOUBLE_EQ(bwd, logits * (2 + 12));
}

}  // namespace
}  // namespace ptsim::strategies

// The kernels and tensor-parallel collectives one micro-batch runs on one TP rank: per
// transformer layer, for the embedding (first stage) and for the final norm, LM head and
// loss (last stage), forward and backward, in execution order. Work is derived from the
// shapes (GEMM FLOPs 2*m*n*k, backward GEMM FLOPs twice forward, bytes moved by the
// memory-bound kernels); docs/cost-model.md lists every formula.
#pragma once

#include <cstdint>
#include <vector>

#include "ptsim/costmodel/collective_algorithms.h"
#include "ptsim/costmodel/op_cost.h"
#include "ptsim/strategies/model.h"
#include "ptsim/strategies/scenario.h"
#include "ptsim/strategies/task_labels.h"

namespace ptsim::strategies {

struct OpStep {
  OpId op = OpId::embedding;
  bool is_tp_collective = false;
  // A context-parallel exchange (on the CP group): `collective` is send_recv for a ring
  // step, all_gather / reduce_scatter for the all-gather variant. A ring step overlaps the
  // kernel that follows it: the op after that kernel waits for both.
  bool is_cp_comm = false;
  // Runs beside the kernel that follows it (ring attention steps, overlapped TP
  // collectives): the op after that kernel waits for both.
  bool overlaps_next = false;
  bool is_ep_comm = false;  // MoE token dispatch/combine all-to-all on the EP group
  // A weight-gradient GEMM on its own (zb-h1 defers it to the W pass).
  bool weight_grad = false;
  costmodel::KernelWork work;           // kernels
  costmodel::CollectiveOp collective = costmodel::CollectiveOp::all_reduce;
  double collective_bytes = 0;          // TP collective payload (nccl-tests' full buffer)
  double model_flops = 0;               // forward matmul FLOPs counted for MFU (full, non-causal attention)
};

struct ShapeContext {
  std::int64_t micro_batch = 1;
  std::int64_t seq_length = 1;
  std::int64_t tp = 1;
  costmodel::Dtype dtype = costmodel::Dtype::bf16;
  AttentionKernel attention = AttentionKernel::flash;
  // Megatron sequence parallelism: norms and residuals work on s/tp tokens, each TP
  // all-reduce becomes a reduce-scatter and an all-gather.
  bool sequence_parallel = false;
  // Context parallelism: each rank holds s/cp of every sequence.
  std::int64_t cp = 1;
  ContextParallelComm cp_comm = ContextParallelComm::ring;
  std::int64_t ep = 1;
  bool tp_comm_overlap = false;
};

ShapeContext shape_context(const Scenario& scenario);

// One layer of the given kind (model.layer_kind(l) for layer l).
std::vector<OpStep> layer_forward_ops(const TransformerConfig& model, LayerKind kind, const ShapeContext& shape);
std::vector<OpStep> layer_backward_ops(const TransformerConfig& model, LayerKind kind, const ShapeContext& shape);
// The attention core's forward kernels alone: what selective recompute reruns.
std::vector<OpStep> attention_core_forward_ops(const TransformerConfig& model, const ShapeContext& shape);
std::vector<OpStep> embedding_forward_ops(const TransformerConfig& model, const ShapeContext& shape);
std::vector<OpStep> embedding_backward_ops(const TransformerConfig& model, const ShapeContext& shape);
std::vector<OpStep> head_forward_ops(const TransformerConfig& model, const ShapeContext& shape);
std::vector<OpStep> head_backward_ops(const TransformerConfig& model, const ShapeContext& shape);

// zb-h1: a backward op list split into its B pass (every op but the weight-gradient half of
// each weight GEMM: input gradients, attention, memory-bound kernels, collectives) and its
// W pass (those halves, in the same order). Each backward weight GEMM (two GEMMs of the
// forward's size) becomes one input-gradient and one weight-gradient GEMM.
struct SplitBackward {
  std::vector<OpStep> input_grad;
  std::vector<OpStep> weight_grad;
};
SplitBackward split_weight_gradients(const std::vector<OpStep>& backward);

// Parameters held by one TP rank: one layer, the input embedding (word + learned
// positions), and the output side (final norm + LM head when untied, or the LM head's
// copy of the tied embedding when the embedding lives on another stage).
// With MoE, `ep` sets how many experts are local (num_experts / ep); experts are not split
// over tp (expert tensor parallelism 1).
double layer_parameters(const TransformerConfig& model, LayerKind kind, std::int64_t tp, std::int64_t ep = 1);
// A layer's attention block alone (MLA: down projections and latent norms duplicated per rank).
double attention_parameters(const TransformerConfig& model, std::int64_t tp);
// The layers [first, first + count), each by its kind.
double layers_parameters(const TransformerConfig& model, std::int64_t first, std::int64_t count, std::int64_t tp,
                         std::int64_t ep);
// BERT's masked-LM head beside the (tied) vocabulary projection; 0 for an LM head.
double mlm_head_parameters(const TransformerConfig& model, std::int64_t tp);
double embedding_parameters(const TransformerConfig& model, std::int64_t seq_length, std::int64_t tp);
double final_norm_parameters(const TransformerConfig& model);
double lm_head_parameters(const TransformerConfig& model, std::int64_t tp);

// Parameters one GPU of pipeline stage `stage` holds (before any ZeRO sharding).
double stage_parameters(const Scenario& scenario, int stage);

// Whole-model parameter count, each tensor once (tied embeddings counted once).
double total_parameters(const TransformerConfig& model, std::int64_t seq_length);
// The routed experts' parameters one GPU holds in the layers [first, first + count), with
// num_experts / ep experts per MoE layer (the shared expert and router excluded).
double expert_parameters(const TransformerConfig& model, std::int64_t first, std::int64_t count, std::int64_t ep);
// Parameters one token passes through: the total less the experts it is not routed to.
double activated_parameters(const TransformerConfig& model, std::int64_t seq_length);

// Forward model FLOPs of one sequence through the whole model (all TP ranks together).
double model_forward_flops_per_sequence(const TransformerConfig& model, std::int64_t seq_length);
// The attention cores' share of it (Q K^T and P V over every layer).
double attention_forward_flops_per_sequence(const TransformerConfig& model, std::int64_t seq_length);

// Bytes the optimizer (Adam with fp32 master weights, moments and gradients) reads and
// writes per local parameter.
double optimizer_bytes_per_parameter(costmodel::Dtype precision);

}  // namespace ptsim::strategies

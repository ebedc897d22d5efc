#include "ptsim/strategies/transformer_ops.h"

namespace ptsim::strategies {
namespace {

using costmodel::Dtype;
using costmodel::KernelWork;
using costmodel::OpClass;

// Vocabulary columns on one TP rank (Megatron pads the vocabulary to a multiple of tp).
double vocab_per_rank(const TransformerConfig& m, std::int64_t tp) {
  return static_cast<double>((m.vocab_size + tp - 1) / tp);
}

// FP8 training runs its GEMMs in FP8 but keeps activations, attention and the memory-bound
// kernels in BF16 (Transformer Engine's recipe).
Dtype activation_dtype(Dtype compute) { return compute == Dtype::fp8 ? Dtype::bf16 : compute; }

struct Dims {
  // s: the full sequence; s_local and tokens: what one context-parallel rank holds.
  double tokens, h, heads_per_rank, head_dim, kv_per_rank, q_per_rank, ffn_per_rank, up_cols, e, b, s, s_local, cp;
  // Attention inputs per rank, in channels: queries and keys (heads x qk_head_dim), values,
  // and the attention output (heads x value_head_dim). Without MLA: q_per_rank, kv_per_rank.
  double qk_per_rank, k_per_rank, v_per_rank, o_per_rank;
  bool causal;
};

Dims dims(const TransformerConfig& m, const ShapeContext& c) {
  Dims d{};
  d.b = static_cast<double>(c.micro_batch);
  d.s = static_cast<double>(c.seq_length);
  d.cp = static_cast<double>(c.cp);
  d.s_local = d.s / d.cp;
  d.tokens = d.b * d.s_local;
  d.h = static_cast<double>(m.hidden_size);
  const double t = static_cast<double>(c.tp);
  d.heads_per_rank = static_cast<double>(m.num_attention_heads) / t;
  d.head_dim = static_cast<double>(m.head_dim());
  d.q_per_rank = d.heads_per_rank * d.head_dim;
  d.kv_per_rank = static_cast<double>(m.kv_channels()) / t;
  d.ffn_per_rank = static_cast<double>(m.ffn_hidden_size) / t;
  d.up_cols = (m.swiglu ? 2 : 1) * d.ffn_per_rank;
  d.e = costmodel::bytes_per_element(activation_dtype(c.dtype));
  d.causal = m.causal;
  if (m.is_mla()) {
    d.qk_per_rank = d.heads_per_rank * static_cast<double>(m.qk_head_dim());
    d.k_per_rank = d.qk_per_rank;
    d.v_per_rank = d.heads_per_rank * static_cast<double>(m.value_head_dim());
    d.o_per_rank = d.v_per_rank;
  } else {
    d.qk_per_rank = d.q_per_rank;
    d.k_per_rank = d.kv_per_rank;
    d.v_per_rank = d.kv_per_rank;
    d.o_per_rank = d.q_per_rank;
  }
  return d;
}

OpStep gemm(OpId op, Dtype dt, double m, double n, double k, double e, double passes) {
  OpStep s;
  s.op = op;
  s.work = KernelWork{OpClass::gemm, dt, passes * 2 * m * n * k,
                      passes * costmodel::gemm_bytes(m, n, k, e), static_cast<int>(passes),
                      costmodel::GemmShape{m, n, k, 1, passes == 2}};
  if (passes == 1) s.model_flops = 2 * m * n * k;
  return s;
}

OpStep memory(OpId op, Dtype dt, double bytes, double flops = 0) {
  OpStep s;
  s.op = op;
  s.work = KernelWork{OpClass::memory, dt, flops, bytes, 1};
  return s;
}

OpStep tp_collective(costmodel::CollectiveOp op, double bytes) {
  OpStep s;
  s.op = op == costmodel::CollectiveOp::all_reduce       ? OpId::tp_all_reduce
         : op == costmodel::CollectiveOp::all_gather     ? OpId::tp_all_gather
                                                         : OpId::tp_reduce_scatter;
  s.is_tp_collective = true;
  s.collective = op;
  s.collective_bytes = bytes;
  return s;
}

OpStep tp_all_reduce(double bytes) { return tp_collective(costmodel::CollectiveOp::all_reduce, bytes); }

// Attention core, forward (passes = 1) or backward.
OpStep cp_comm(OpId op, costmodel::CollectiveOp collective, double bytes, bool overlaps_next) {
  OpStep s;
  s.op = op;
  s.is_cp_comm = true;
  s.collective = collective;
  s.collective_bytes = bytes;
  s.overlaps_next = overlaps_next;
  return s;
}

// The backward of a column-parallel GEMM (tokens x cols = tokens x h times h x cols) on
// one TP rank, ending with its input gradient reduced over TP. Without sequence
// parallelism: the data- and weight-gradient GEMMs, then the all-reduce. With it, Megatron
// keeps only the rank's s/tp slice of the input, so the backward gathers the input again
// for the weight gradient before the GEMMs, and reduce-scatters the input gradient after
// them (LinearWithGradAccumulationAndAsyncCommunication). Megatron issues these collectives
// (and the all-reduce without sequence parallelism) asynchronously beside the GEMMs, but on
// A100 that hides nothing measurable: Korthikanti et al.'s Table 4 baseline backward, whose
// two all-reduces run beside the weight-gradient GEMMs, measures 11.9 ms, what the GEMMs
// and all-reduces take one after the other (docs/accuracy-analysis.md); so they are
// modelled in series. With TP communication overlap (Transformer Engine's userbuffers) the
// re-gather runs beside the data-gradient GEMM and the reduce-scatter beside the
// weight-gradient GEMM, each GEMM on the SMs the collective leaves (kernel_time_beside_collective_s).
void append_column_parallel_backward(std::vector<OpStep>& ops, OpId op, const ShapeContext& c, double tokens,
                                     double cols, double h, double e) {
  using costmodel::CollectiveOp;
  const double act = tokens * h * e;
  if (!(c.sequence_parallel && c.tp > 1)) {
    ops.push_back(gemm(op, c.dtype, tokens, cols, h, e, 2));
    if (c.tp > 1) ops.push_back(tp_collective(CollectiveOp::all_reduce, act));
    return;
  }
  if (!c.tp_comm_overlap) {
    ops.push_back(tp_collective(CollectiveOp::all_gather, act));
    ops.push_back(gemm(op, c.dtype, tokens, cols, h, e, 2));
    ops.push_back(tp_collective(CollectiveOp::reduce_scatter, act));
    return;
  }
  OpStep regather = tp_collective(CollectiveOp::all_gather, act);
  regather.overlaps_next = true;
  OpStep dgrad = gemm(op, c.dtype, tokens, h, cols, e, 1);  // dX = dY W^T: tokens x h
  dgrad.model_flops = 0;
  OpStep scatter = tp_collective(CollectiveOp::reduce_scatter, act);
  scatter.overlaps_next = true;
  OpStep wgrad = gemm(op, c.dtype, h, cols, tokens, e, 1);  // dW = X^T dY: h x cols
  wgrad.model_flops = 0;
  wgrad.weight_grad = true;
  ops.insert(ops.end(), {regather, dgrad, scatter, wgrad});
}

void append_attention_kernels(std::vector<OpStep>& ops, const Dims& d, const ShapeContext& c, bool forward);
void append_moe(std::vector<OpStep>& ops, const TransformerConfig& m, const ShapeContext& c, const Dims& d,
                bool forward);
void overlap_tp_collectives(std::vector<OpStep>& ops, const ShapeContext& c);

// The projections in front of the attention core, forward or backward (in backward order).
// Ordinary attention: Megatron's fused column-parallel QKV GEMM after the input norm (its
// input all-gathered with sequence parallelism; its input gradient all-reduced, or
// reduce-scattered). Multi-head latent attention (Megatron-Core's MLA): the down
// projections to the query latent and to the KV latent + decoupled RoPE key are duplicated
// on every TP rank and run on the rank's own tokens (s/tp with sequence parallelism), the
// two latents are RMS-normed, then (sequence parallel) the latents, not the hidden states,
// are all-gathered; the up projections to per-head queries and keys/values are column-
// parallel. In backward the latents' gradients are all-reduced (reduce-scattered) over TP
// and the down projections give each rank its tokens' complete input gradient.
void append_attention_in(std::vector<OpStep>& ops, const TransformerConfig& m, const ShapeContext& c,
                         const Dims& d, bool forward) {
  using costmodel::CollectiveOp;
  const Dtype dt = c.dtype;
  const bool sp = c.sequence_parallel && c.tp > 1;
  const double act = d.tokens * d.h * d.e;
  if (!m.is_mla()) {
    if (forward) {
      if (sp) ops.push_back(tp_collective(CollectiveOp::all_gather, act));
      ops.push_back(gemm(OpId::qkv_proj, dt, d.tokens, d.q_per_rank + 2 * d.kv_per_rank, d.h, d.e, 1));
    } else {
      append_column_parallel_backward(ops, OpId::qkv_proj, c, d.tokens, d.q_per_rank + 2 * d.kv_per_rank, d.h, d.e);
    }
    return;
  }
  const double local_tokens = sp ? d.tokens / static_cast<double>(c.tp) : d.tokens;
  const double q_lora = static_cast<double>(m.q_lora_rank);
  const double kv_lora = static_cast<double>(m.kv_lora_rank);
  const double rope = static_cast<double>(m.qk_rope_head_dim);
  const double kv_up_cols = d.heads_per_rank * static_cast<double>(m.qk_nope_head_dim + m.v_head_dim);
  const double latent_bytes = d.tokens * (q_lora + kv_lora + rope) * d.e;
  const double passes = forward ? 1 : 2;
  OpStep q_down = gemm(OpId::mla_q_down, dt, local_tokens, q_lora, d.h, d.e, passes);
  OpStep kv_down = gemm(OpId::mla_kv_down, dt, local_tokens, kv_lora + rope, d.h, d.e, passes);
  const OpStep norm = memory(OpId::mla_latent_norm, dt, (forward ? 2 : 3) * local_tokens * (q_lora + kv_lora) * d.e);
  const OpStep q_up = gemm(OpId::mla_q_up, dt, d.tokens, d.qk_per_rank, q_lora, d.e, passes);
  const OpStep kv_up = gemm(OpId::mla_kv_up, dt, d.tokens, kv_up_cols, kv_lora, d.e, passes);
  if (forward) {
    // Model FLOPs: every token once, however the TP ranks duplicate the down projections.
    q_down.model_flops = 2 * d.tokens * q_lora * d.h / static_cast<double>(c.tp);
    kv_down.model_flops = 2 * d.tokens * (kv_lora + rope) * d.h / static_cast<double>(c.tp);
    ops.insert(ops.end(), {q_down, kv_down, norm});
    if (sp) ops.push_back(tp_collective(CollectiveOp::all_gather, latent_bytes));
    ops.insert(ops.end(), {q_up, kv_up});
    return;
  }
  // The up projections are column-parallel: with sequence parallelism their backward
  // gathers the latents again for the weight gradients (append_column_parallel_backward).
  if (sp) ops.push_back(tp_collective(CollectiveOp::all_gather, latent_bytes));
  ops.insert(ops.end(), {kv_up, q_up});
  if (c.tp > 1) ops.push_back(tp_collective(sp ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce, latent_bytes));
  ops.insert(ops.end(), {norm, kv_down, q_down});
}

// The dense MLP: column-parallel up (gate) GEMM, activation, row-parallel down GEMM.
void append_dense_mlp(std::vector<OpStep>& ops, const TransformerConfig& m, const ShapeContext& c, const Dims& d,
                      bool forward) {
  using costmodel::CollectiveOp;
  const Dtype dt = c.dtype;
  const bool sp = c.sequence_parallel && c.tp > 1;
  const double act = d.tokens * d.h * d.e;
  if (forward) {
    if (sp) ops.push_back(tp_collective(CollectiveOp::all_gather, act));
    ops.push_back(gemm(OpId::mlp_up, dt, d.tokens, d.up_cols, d.h, d.e, 1));
    ops.push_back(memory(OpId::mlp_activation, dt, (m.swiglu ? 3 : 2) * d.tokens * d.ffn_per_rank * d.e));
    ops.push_back(gemm(OpId::mlp_down, dt, d.tokens, d.h, d.ffn_per_rank, d.e, 1));
    if (c.tp > 1) ops.push_back(tp_collective(sp ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce, act));
    return;
  }
  if (sp) ops.push_back(tp_collective(CollectiveOp::all_gather, act));
  ops.push_back(gemm(OpId::mlp_down, dt, d.tokens, d.h, d.ffn_per_rank, d.e, 2));
  ops.push_back(memory(OpId::mlp_activation, dt, (m.swiglu ? 5 : 3) * d.tokens * d.ffn_per_rank * d.e));
  append_column_parallel_backward(ops, OpId::mlp_up, c, d.tokens, d.up_cols, d.h, d.e);
}

// The attention core. With context parallelism (flash attention only) each rank's s/cp
// queries meet all s keys, the causal work balanced over ranks (Megatron's 2 cp chunks):
// ring attention runs cp kernels on the K/V chunks in turn, each overlapped with passing
// the chunk (and, in backward, its gradients) on; the all-gather variant gathers K and V
// first and reduce-scatters their gradients after.
void append_attention(std::vector<OpStep>& ops, const Dims& d, const ShapeContext& c, bool forward) {
  if (c.cp == 1) {
    append_attention_kernels(ops, d, c, forward);
    return;
  }
  const double kv_chunk = d.b * d.s_local * (d.k_per_rank + d.v_per_rank) * d.e;
  if (c.cp_comm == ContextParallelComm::all_gather) {
    if (forward) ops.push_back(cp_comm(OpId::cp_all_gather, costmodel::CollectiveOp::all_gather, kv_chunk * d.cp, false));
    append_attention_kernels(ops, d, c, forward);
    if (!forward) ops.push_back(cp_comm(OpId::cp_reduce_scatter, costmodel::CollectiveOp::reduce_scatter, kv_chunk * d.cp, false));
    return;
  }
  std::vector<OpStep> whole;
  append_attention_kernels(whole, d, c, forward);
  for (std::int64_t step = 0; step < c.cp; ++step) {
    if (step + 1 < c.cp) {
      ops.push_back(cp_comm(OpId::cp_kv_exchange, costmodel::CollectiveOp::send_recv, (forward ? 1 : 2) * kv_chunk, true));
    }
    for (OpStep k : whole) {
      k.work.flops /= d.cp;
      k.work.bytes /= d.cp;
      k.model_flops /= d.cp;
      ops.push_back(k);
    }
  }
}

void append_attention_kernels(std::vector<OpStep>& ops, const Dims& d, const ShapeContext& c, bool forward) {
  // Q K^T and P V: 2 * b * s_q * s_k * (heads/tp * per-head width) FLOPs each, on the full
  // scores (MLA: Q and K 192 channels per head, V 128).
  const double qk_flops = 2 * d.b * d.s_local * d.s * d.qk_per_rank;
  const double pv_flops = 2 * d.b * d.s_local * d.s * d.o_per_rank;
  const double scores = d.b * d.heads_per_rank * d.s_local * d.s;  // elements
  const double qkv_bytes = d.tokens * (d.qk_per_rank + d.k_per_rank + d.v_per_rank) * d.e;
  const double out_bytes = d.tokens * d.o_per_rank * d.e;
  if (c.attention == AttentionKernel::flash) {
    // Causal FlashAttention skips the masked upper triangle: half the score tiles; a
    // bidirectional encoder (BERT) computes them all. Its backward recomputes the scores:
    // 5 matmuls against the forward's 2 (2.5x).
    OpStep s;
    s.op = OpId::attention;
    const double computed = d.causal ? 0.5 : 1.0;
    const double fwd = computed * (qk_flops + pv_flops);
    if (forward) {
      s.work = KernelWork{OpClass::attention, activation_dtype(c.dtype), fwd, qkv_bytes + out_bytes, 1};
      s.model_flops = qk_flops + pv_flops;
    } else {
      s.work = KernelWork{OpClass::attention, activation_dtype(c.dtype), 2.5 * fwd, 2 * (qkv_bytes + 2 * out_bytes), 1};
    }
    ops.push_back(s);
    return;
  }
  // Unfused (Megatron 2021): batched GEMMs on full scores, fused scale-mask-softmax, dropout.
  const double passes = forward ? 1 : 2;
  OpStep qk;
  qk.op = OpId::attention_scores;
  qk.work = KernelWork{OpClass::attention, activation_dtype(c.dtype), passes * qk_flops,
                       passes * (qkv_bytes * 2 / 3 + scores * d.e), static_cast<int>(passes)};
  OpStep pv = qk;
  pv.op = OpId::attention_context;
  pv.work.flops = passes * pv_flops;
  // (Q and K vs V bytes split 2:1, as for multi-head attention.)
  pv.work.bytes = passes * (scores * d.e + qkv_bytes / 3 + out_bytes);
  if (forward) {
    qk.model_flops = qk_flops;
    pv.model_flops = pv_flops;
  }
  const OpStep softmax = memory(OpId::attention_softmax, c.dtype, (forward ? 2 : 3) * scores * d.e);
  const OpStep dropout = memory(OpId::attention_dropout, c.dtype, scores * (2 * d.e + 1));
  if (forward) {
    ops.insert(ops.end(), {qk, softmax, dropout, pv});
  } else {
    ops.insert(ops.end(), {pv, dropout, softmax, qk});
  }
}

OpStep ep_all_to_all(OpId op, double bytes) {
  OpStep s;
  s.op = op;
  s.is_ep_comm = true;
  s.collective = costmodel::CollectiveOp::all_to_all;
  s.collective_bytes = bytes;
  return s;
}

// A mixture-of-experts MLP on one rank (Megatron's all-to-all token dispatcher, expert
// tensor parallelism 1): the router scores every token; the TP ranks split the tokens
// (with sequence parallelism they already have); each token's hidden state goes to its
// top-k experts over the EP group and comes back weighted; experts compute on the tokens
// they receive, k x (tokens / tp) per rank under balanced routing (x capacity factor when
// padded to capacity); a shared expert runs tensor-parallel on every token.
void append_moe(std::vector<OpStep>& ops, const TransformerConfig& m, const ShapeContext& c, const Dims& d,
                bool forward) {
  using costmodel::CollectiveOp;
  const Dtype dt = c.dtype;
  const double t = static_cast<double>(c.tp);
  const bool sp = c.sequence_parallel && c.tp > 1;
  const double act = d.tokens * d.h * d.e;
  const double k = static_cast<double>(m.moe_router_topk);
  const double experts = static_cast<double>(m.num_experts);
  const double capacity = m.moe_capacity_factor > 0 ? m.moe_capacity_factor : 1.0;
  const double my_tokens = d.tokens / t;                 // this rank's share of the tokens
  const double routed = my_tokens * k * capacity;       // token copies its experts process
  const double f = static_cast<double>(m.expert_ffn());
  const double up = (m.swiglu ? 2 : 1) * f;
  const double moved = routed * d.h * d.e;               // bytes dispatched (and combined)
  const double passes = forward ? 1 : 2;
  const double shared_f = static_cast<double>(m.moe_shared_expert_intermediate_size) / t;
  const double shared_up = (m.swiglu ? 2 : 1) * shared_f;

  // The router's columns: one per expert, plus Qwen2-MoE's shared-expert gate.
  const double router_cols = experts + (m.moe_shared_expert_gate ? 1 : 0);
  OpStep router = gemm(OpId::moe_router, dt, my_tokens, router_cols, d.h, d.e, passes);
  OpStep expert_up = gemm(OpId::moe_expert_up, dt, routed, up, d.h, d.e, passes);
  OpStep expert_down = gemm(OpId::moe_expert_down, dt, routed, d.h, f, d.e, passes);
  if (forward) {
    // Model FLOPs count the k experts a token visits (not padding), over all TP ranks' tokens.
    router.model_flops = 2 * my_tokens * router_cols * d.h;
    expert_up.model_flops = 2 * my_tokens * k * up * d.h;
    expert_down.model_flops = 2 * my_tokens * k * f * d.h;
  }
  const OpStep softmax_topk = memory(OpId::moe_router, dt, my_tokens * experts * 4 * 2);
  const OpStep permute = memory(OpId::moe_permute, dt, 2 * moved);
  const OpStep activation = memory(OpId::moe_expert_activation, dt, (forward ? (m.swiglu ? 3 : 2) : (m.swiglu ? 5 : 3)) * routed * f * d.e);
  const bool exchange = c.ep > 1;
  if (forward) {
    ops.push_back(router);
    ops.push_back(softmax_topk);
    ops.push_back(permute);
    if (exchange) ops.push_back(ep_all_to_all(OpId::moe_dispatch, moved));
    ops.insert(ops.end(), {expert_up, activation, expert_down});
    if (exchange) ops.push_back(ep_all_to_all(OpId::moe_combine, moved));
    ops.push_back(permute);
    // Without sequence parallelism every TP rank needs all tokens' outputs back.
    if (c.tp > 1 && !sp) ops.push_back(tp_collective(CollectiveOp::all_gather, act));
    if (shared_f > 0) {
      if (sp) ops.push_back(tp_collective(CollectiveOp::all_gather, act));
      ops.push_back(gemm(OpId::mlp_up, dt, d.tokens, shared_up, d.h, d.e, 1));
      ops.back().model_flops = 2 * d.tokens * shared_up * d.h;
      ops.push_back(memory(OpId::mlp_activation, dt, (m.swiglu ? 3 : 2) * d.tokens * shared_f * d.e));
      ops.push_back(gemm(OpId::mlp_down, dt, d.tokens, d.h, shared_f, d.e, 1));
      if (c.tp > 1) ops.push_back(tp_collective(sp ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce, act));
    }
    return;
  }
  if (shared_f > 0) {
    if (sp) ops.push_back(tp_collective(CollectiveOp::all_gather, act));
    ops.push_back(gemm(OpId::mlp_down, dt, d.tokens, d.h, shared_f, d.e, 2));
    ops.push_back(memory(OpId::mlp_activation, dt, (m.swiglu ? 5 : 3) * d.tokens * shared_f * d.e));
    append_column_parallel_backward(ops, OpId::mlp_up, c, d.tokens, shared_up, d.h, d.e);
  }
  ops.push_back(permute);
  if (exchange) ops.push_back(ep_all_to_all(OpId::moe_combine, moved));
  ops.insert(ops.end(), {expert_down, activation, expert_up});
  if (exchange) ops.push_back(ep_all_to_all(OpId::moe_dispatch, moved));
  ops.push_back(permute);
  ops.push_back(router);
  ops.push_back(softmax_topk);
  // The gradients of the split tokens' inputs go back to all TP ranks.
  if (c.tp > 1 && !sp) ops.push_back(tp_collective(CollectiveOp::all_gather, act));
}

// With TP communication overlap, each sequence-parallel all-gather runs beside the GEMM it
// feeds and each reduce-scatter beside the GEMM that produces it (chunked and pipelined
// by Transformer Engine): move every reduce-scatter before its GEMM and mark both kinds.
void overlap_tp_collectives(std::vector<OpStep>& ops, const ShapeContext& c) {
  if (!c.tp_comm_overlap || !c.sequence_parallel || c.tp == 1) return;
  auto is_gemm = [](const OpStep& op) {
    return !op.is_tp_collective && !op.is_cp_comm && !op.is_ep_comm && op.work.op_class == OpClass::gemm;
  };
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!ops[i].is_tp_collective || ops[i].overlaps_next) continue;  // already beside its GEMM
    if (ops[i].collective == costmodel::CollectiveOp::all_gather && i + 1 < ops.size() && is_gemm(ops[i + 1])) {
      ops[i].overlaps_next = true;
    } else if (ops[i].collective == costmodel::CollectiveOp::reduce_scatter && i > 0 && is_gemm(ops[i - 1])) {
      std::swap(ops[i - 1], ops[i]);
      ops[i - 1].overlaps_next = true;
    }
  }
}

}  // namespace

ShapeContext shape_context(const Scenario& scenario) {
  return ShapeContext{scenario.layout.micro_batch_size, scenario.training.seq_length,
                      scenario.layout.tp, scenario.training.precision, scenario.training.attention,
                      scenario.layout.sequence_parallel, scenario.layout.cp, scenario.layout.cp_comm,
                      scenario.layout.ep, scenario.layout.tp_comm_overlap};
}

std::vector<OpStep> layer_forward_ops(const TransformerConfig& m, LayerKind kind, const ShapeContext& c) {
  const Dims d = dims(m, c);
  const Dtype dt = c.dtype;
  const double act = d.tokens * d.h * d.e;  // one full hidden activation
  // With sequence parallelism norms and residuals see s/tp tokens, and the all-reduce
  // after each row-parallel GEMM becomes reduce-scatter (there) + all-gather (before the
  // next column-parallel GEMM).
  const bool sp = c.sequence_parallel && c.tp > 1;
  const double local = sp ? act / static_cast<double>(c.tp) : act;
  using costmodel::CollectiveOp;
  std::vector<OpStep> ops;
  // (Post-LN models run the same norms after the residual adds instead of before the
  // blocks: the same kernels, in another order.)
  ops.push_back(memory(OpId::input_norm, dt, 2 * local));
  append_attention_in(ops, m, c, d, true);
  append_attention(ops, d, c, true);
  ops.push_back(gemm(OpId::out_proj, dt, d.tokens, d.h, d.o_per_rank, d.e, 1));
  if (c.tp > 1) ops.push_back(tp_collective(sp ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce, act));
  ops.push_back(memory(OpId::attn_residual, dt, 3 * local));
  ops.push_back(memory(OpId::post_attn_norm, dt, 2 * local));
  if (kind == LayerKind::moe) {
    append_moe(ops, m, c, d, true);
  } else {
    append_dense_mlp(ops, m, c, d, true);
  }
  ops.push_back(memory(OpId::mlp_residual, dt, 3 * local));
  overlap_tp_collectives(ops, c);
  return ops;
}

std::vector<OpStep> attention_core_forward_ops(const TransformerConfig& m, const ShapeContext& c) {
  std::vector<OpStep> ops;
  append_attention(ops, dims(m, c), c, true);
  return ops;
}

std::vector<OpStep> layer_backward_ops(const TransformerConfig& m, LayerKind kind, const ShapeContext& c) {
  const Dims d = dims(m, c);
  const Dtype dt = c.dtype;
  const double act = d.tokens * d.h * d.e;
  const bool sp = c.sequence_parallel && c.tp > 1;
  const double local = sp ? act / static_cast<double>(c.tp) : act;
  using costmodel::CollectiveOp;
  // Megatron's f/g conjugates: the backward all-reduces sit after the column-parallel
  // GEMMs' input gradients (MLP up, QKV); with sequence parallelism the backward of a
  // reduce-scatter is an all-gather and vice versa; the column-parallel GEMMs also gather
  // their input again for the weight gradients (append_column_parallel_backward).
  std::vector<OpStep> ops;
  ops.push_back(memory(OpId::mlp_residual, dt, 2 * local));
  if (kind == LayerKind::moe) {
    append_moe(ops, m, c, d, false);
  } else {
    append_dense_mlp(ops, m, c, d, false);
  }
  ops.push_back(memory(OpId::post_attn_norm, dt, 3 * local));
  ops.push_back(memory(OpId::attn_residual, dt, 2 * local));
  if (sp) ops.push_back(tp_collective(CollectiveOp::all_gather, act));
  ops.push_back(gemm(OpId::out_proj, dt, d.tokens, d.h, d.o_per_rank, d.e, 2));
  append_attention(ops, d, c, false);
  append_attention_in(ops, m, c, d, false);
  ops.push_back(memory(OpId::input_norm, dt, 3 * local));
  overlap_tp_collectives(ops, c);
  return ops;
}

std::vector<OpStep> embedding_forward_ops(const TransformerConfig& m, const ShapeContext& c) {
  const Dims d = dims(m, c);
  const double act = d.tokens * d.h * d.e;
  std::vector<OpStep> ops;
  // Vocabulary-parallel lookup (read rows, write activations), plus learned positions and
  // token types.
  const bool learned = m.position_embedding_type == PositionEmbedding::learned_absolute;
  const double tables = (learned ? 3 : 2) + (m.num_token_types > 0 ? 1 : 0);
  ops.push_back(memory(OpId::embedding, c.dtype, tables * act));
  const bool sp = c.sequence_parallel && c.tp > 1;
  if (c.tp > 1) ops.push_back(tp_collective(sp ? costmodel::CollectiveOp::reduce_scatter : costmodel::CollectiveOp::all_reduce, act));
  // Post-LN models (BERT) normalize the embedding output.
  if (m.norm_placement == NormPlacement::post) {
    ops.push_back(memory(OpId::embedding_norm, c.dtype, 2 * (sp ? act / static_cast<double>(c.tp) : act)));
  }
  return ops;
}

std::vector<OpStep> embedding_backward_ops(const TransformerConfig& m, const ShapeContext& c) {
  const Dims d = dims(m, c);
  std::vector<OpStep> ops;
  if (m.norm_placement == NormPlacement::post) {
    const double act = d.tokens * d.h * d.e;
    const bool sp = c.sequence_parallel && c.tp > 1;
    ops.push_back(memory(OpId::embedding_norm, c.dtype, 3 * (sp ? act / static_cast<double>(c.tp) : act)));
  }
  // The lookup's backward builds a dense gradient of the rank's vocabulary rows (zeroed,
  // then the tokens' gradients added), which Megatron's gradient hook adds into the fp32
  // main gradient (read e and 4, write 4).
  const double table = vocab_per_rank(m, c.tp) * d.h;
  ops.push_back(memory(OpId::embedding, c.dtype, 2 * d.tokens * d.h * d.e + table * (2 * d.e + 8)));
  return ops;
}

std::vector<OpStep> head_forward_ops(const TransformerConfig& m, const ShapeContext& c) {
  const Dims d = dims(m, c);
  const double act = d.tokens * d.h * d.e;
  const double v = vocab_per_rank(m, c.tp);
  const bool sp = c.sequence_parallel && c.tp > 1;
  std::vector<OpStep> ops;
  if (m.norm_placement == NormPlacement::pre) {
    ops.push_back(memory(OpId::final_norm, c.dtype, 2 * (sp ? act / static_cast<double>(c.tp) : act)));
  }
  if (sp) ops.push_back(tp_collective(costmodel::CollectiveOp::all_gather, act));
  if (m.output_head == OutputHead::mlm) {
    // BERT's masked-LM transform: a dense h x h layer (replicated on every TP rank, as in
    // Megatron's BertLMHead), GeLU and LayerNorm, before the vocabulary projection.
    ops.push_back(gemm(OpId::mlm_transform, c.dtype, d.tokens, d.h, d.h, d.e, 1));
    ops.push_back(memory(OpId::mlm_transform, c.dtype, 4 * act));  // GeLU, then LayerNorm
  }
  OpStep head = gemm(OpId::lm_head, c.dtype, d.tokens, v, d.h, d.e, 1);
  head.model_flops = 2 * d.tokens * static_cast<double>(m.vocab_size) * d.h / static_cast<double>(c.tp);
  ops.push_back(head);
  // Megatron's vocabulary-parallel cross entropy (tensor_parallel/cross_entropy.py), one
  // PyTorch kernel per pass over the logits: cast to fp32 (read e, write 4), max (read 4),
  // subtract the max in place (8), exp in place (8), sum (4), divide by the sum in place
  // (8), kept as the softmax for the backward.
  ops.push_back(memory(OpId::cross_entropy, c.dtype, d.tokens * v * (d.e + 36)));
  if (c.tp > 1) {
    // Max, predicted-logit and sum-exp all-reduces of one fp32 per token each.
    for (int i = 0; i < 3; ++i) ops.push_back(tp_all_reduce(d.tokens * 4));
  }
  return ops;
}

std::vector<OpStep> head_backward_ops(const TransformerConfig& m, const ShapeContext& c) {
  const Dims d = dims(m, c);
  const double act = d.tokens * d.h * d.e;
  const double v = vocab_per_rank(m, c.tp);
  std::vector<OpStep> ops;
  // The softmax times the loss gradient in place (8), then cast back for the LM head's
  // backward GEMM (read 4, write e).
  ops.push_back(memory(OpId::cross_entropy, c.dtype, d.tokens * v * (d.e + 12)));
  ops.push_back(gemm(OpId::lm_head, c.dtype, d.tokens, v, d.h, d.e, 2));
  const bool sp = c.sequence_parallel && c.tp > 1;
  if (m.output_head == OutputHead::mlm) {
    // The transform's input gradient is complete after the vocabulary projection's
    // reduction; its duplicated GEMM then runs on every rank.
    if (c.tp > 1) ops.push_back(tp_all_reduce(act));
    ops.push_back(memory(OpId::mlm_transform, c.dtype, 6 * act));
    // Every rank now holds the full gradient: with sequence parallelism it keeps its slice.
    ops.push_back(gemm(OpId::mlm_transform, c.dtype, d.tokens, d.h, d.h, d.e, 2));
  } else if (c.tp > 1) {
    ops.push_back(tp_collective(sp ? costmodel::CollectiveOp::reduce_scatter : costmodel::CollectiveOp::all_reduce, act));
  }
  if (m.norm_placement == NormPlacement::pre) {
    ops.push_back(memory(OpId::final_norm, c.dtype, 3 * (sp ? act / static_cast<double>(c.tp) : act)));
  }
  return ops;
}

SplitBackward split_weight_gradients(const std::vector<OpStep>& backward) {
  SplitBackward out;
  for (const OpStep& op : backward) {
    if (op.weight_grad) {  // already a weight-gradient GEMM of its own
      out.weight_grad.push_back(op);
      continue;
    }
    const bool weight_gemm = !op.is_tp_collective && !op.is_cp_comm && !op.is_ep_comm &&
                             op.work.op_class == OpClass::gemm && op.work.launches == 2;
    if (!weight_gemm) {
      out.input_grad.push_back(op);
      continue;
    }
    OpStep half = op;
    half.work.flops /= 2;
    half.work.bytes /= 2;
    half.work.launches = 1;
    out.input_grad.push_back(half);
    out.weight_grad.push_back(half);
  }
  return out;
}

double attention_parameters(const TransformerConfig& m, std::int64_t tp) {
  const double h = static_cast<double>(m.hidden_size);
  const double t = static_cast<double>(tp);
  if (m.is_mla()) {
    // Down projections and latent norms duplicated on every TP rank; up and output
    // projections split by heads. MLA layers carry no biases (DeepSeek: attention_bias false).
    const double heads = static_cast<double>(m.num_attention_heads) / t;
    const double q_lora = static_cast<double>(m.q_lora_rank);
    const double kv_lora = static_cast<double>(m.kv_lora_rank);
    const double down = h * q_lora + h * (kv_lora + static_cast<double>(m.qk_rope_head_dim)) + q_lora + kv_lora;
    const double up = q_lora * heads * static_cast<double>(m.qk_head_dim()) +
                      kv_lora * heads * static_cast<double>(m.qk_nope_head_dim + m.v_head_dim);
    return down + up + heads * static_cast<double>(m.v_head_dim) * h;
  }
  const double qkv_cols = (h + 2 * static_cast<double>(m.kv_channels())) / t;
  double p = h * qkv_cols + (h / t) * h;
  if (m.add_bias_linear) p += qkv_cols + h;  // row-parallel biases replicated
  return p;
}

double layer_parameters(const TransformerConfig& m, LayerKind kind, std::int64_t tp, std::int64_t ep) {
  const double h = static_cast<double>(m.hidden_size);
  const double t = static_cast<double>(tp);
  double p = attention_parameters(m, tp);
  auto mlp = [&](double f, double shards) {  // an MLP of width f split `shards` ways
    const double up_cols = (m.swiglu ? 2 : 1) * f / shards;
    double q = h * up_cols + (f / shards) * h;
    if (m.add_bias_linear) q += up_cols + h;
    return q;
  };
  if (kind == LayerKind::moe) {
    const double local_experts = static_cast<double>(m.num_experts) / static_cast<double>(ep);
    p += h * static_cast<double>(m.num_experts);                          // router
    if (m.moe_shared_expert_gate) p += h;
    p += local_experts * mlp(static_cast<double>(m.expert_ffn()), 1);    // experts, not split over tp
    if (m.moe_shared_expert_intermediate_size > 0) p += mlp(static_cast<double>(m.moe_shared_expert_intermediate_size), t);
  } else {
    p += mlp(static_cast<double>(m.ffn_hidden_size), t);
  }
  const double norm = m.normalization == Normalization::layernorm ? 2 * h : h;
  return p + 2 * norm;
}

double embedding_parameters(const TransformerConfig& m, std::int64_t seq_length, std::int64_t tp) {
  const double h = static_cast<double>(m.hidden_size);
  double p = vocab_per_rank(m, tp) * h;
  if (m.position_embedding_type == PositionEmbedding::learned_absolute) {
    p += static_cast<double>(seq_length) * h;
  }
  p += static_cast<double>(m.num_token_types) * h;
  return p;
}

double final_norm_parameters(const TransformerConfig& m) {
  const double h = static_cast<double>(m.hidden_size);
  return m.normalization == Normalization::layernorm ? 2 * h : h;
}

double lm_head_parameters(const TransformerConfig& m, std::int64_t tp) {
  return vocab_per_rank(m, tp) * static_cast<double>(m.hidden_size);
}

double mlm_head_parameters(const TransformerConfig& m, std::int64_t tp) {
  if (m.output_head != OutputHead::mlm) return 0;
  const double h = static_cast<double>(m.hidden_size);
  // Dense h x h (+ bias), LayerNorm, and the vocabulary projection's bias.
  return h * h + (m.add_bias_linear ? h : 0) + 2 * h + vocab_per_rank(m, tp);
}

double layers_parameters(const TransformerConfig& m, std::int64_t first, std::int64_t count, std::int64_t tp,
                         std::int64_t ep) {
  const LayerKindCounts counts = count_layer_kinds(m, first, count);
  double p = 0;
  for (const LayerKind kind : {LayerKind::dense, LayerKind::moe}) {
    if (counts.of(kind) > 0) p += static_cast<double>(counts.of(kind)) * layer_parameters(m, kind, tp, ep);
  }
  return p;
}

double stage_parameters(const Scenario& s, int stage) {
  const auto& m = s.model;
  const std::int64_t tp = s.layout.tp;
  const bool first = stage == 0;
  const bool last = stage == s.layout.pp - 1;
  const StageLayers layers = s.stage_layers(stage);
  double p = layers_parameters(m, layers.first, layers.count, tp, s.layout.ep);
  if (first) p += embedding_parameters(m, s.training.seq_length, tp);
  // The extra norm: after the embedding (post-LN) or before the head (pre-LN).
  if (first && m.norm_placement == NormPlacement::post) p += final_norm_parameters(m);
  if (last) {
    if (m.norm_placement == NormPlacement::pre) p += final_norm_parameters(m);
    p += mlm_head_parameters(m, tp);
    // An untied head, or the tied embedding's copy when the embedding is on another stage.
    if (m.untie_embeddings_and_output_weights || !first) p += lm_head_parameters(m, tp);
  }
  return p;
}

double total_parameters(const TransformerConfig& m, std::int64_t seq_length) {
  double p = layers_parameters(m, 0, m.num_layers, 1, 1) + embedding_parameters(m, seq_length, 1) +
             final_norm_parameters(m) + mlm_head_parameters(m, 1);
  if (m.untie_embeddings_and_output_weights) p += lm_head_parameters(m, 1);
  return p;
}

double expert_parameters(const TransformerConfig& m, std::int64_t first, std::int64_t count, std::int64_t ep) {
  if (!m.is_moe()) return 0;
  const double f = static_cast<double>(m.expert_ffn());
  const double h = static_cast<double>(m.hidden_size);
  const double expert = h * (m.swiglu ? 2 : 1) * f + f * h + (m.add_bias_linear ? (m.swiglu ? 2 : 1) * f + h : 0);
  const double local = static_cast<double>(m.num_experts) / static_cast<double>(ep);
  return static_cast<double>(count_layer_kinds(m, first, count).moe) * local * expert;
}

double activated_parameters(const TransformerConfig& m, std::int64_t seq_length) {
  double p = total_parameters(m, seq_length);
  if (m.is_moe()) {
    const double moe_layers = static_cast<double>(count_layer_kinds(m, 0, m.num_layers).moe);
    const double f = static_cast<double>(m.expert_ffn());
    const double h = static_cast<double>(m.hidden_size);
    const double expert = h * (m.swiglu ? 2 : 1) * f + f * h + (m.add_bias_linear ? (m.swiglu ? 2 : 1) * f + h : 0);
    p -= moe_layers * static_cast<double>(m.num_experts - m.moe_router_topk) * expert;
  }
  return p;
}

double model_forward_flops_per_sequence(const TransformerConfig& m, std::int64_t seq_length) {
  const ShapeContext c{1, seq_length, 1, Dtype::bf16, AttentionKernel::flash, false};
  const LayerKindCounts counts = count_layer_kinds(m, 0, m.num_layers);
  double flops = 0;
  for (const LayerKind kind : {LayerKind::dense, LayerKind::moe}) {
    if (counts.of(kind) == 0) continue;
    double layer = 0;
    for (const OpStep& op : layer_forward_ops(m, kind, c)) layer += op.model_flops;
    flops += layer * static_cast<double>(counts.of(kind));
  }
  for (const OpStep& op : head_forward_ops(m, c)) flops += op.model_flops;
  return flops;
}

double attention_forward_flops_per_sequence(const TransformerConfig& m, std::int64_t seq_length) {
  const ShapeContext c{1, seq_length, 1, Dtype::bf16, AttentionKernel::flash, false};
  double flops = 0;
  for (const OpStep& op : attention_core_forward_ops(m, c)) flops += op.model_flops;
  return flops * static_cast<double>(m.num_layers);
}

double optimizer_bytes_per_parameter(costmodel::Dtype precision) {
  // Megatron's optimizer step, pass by pass over fp32 main gradients and master weights:
  // gradient-norm reduction reads the gradient (4); fused Adam reads gradient, weight and
  // both moments and writes weight and moments (28); the gradient buffer is zeroed for the
  // next step (4). Mixed precision also copies the master weights into the low-precision
  // model (read 4, write e), and fp16 first unscales the gradients and checks them for
  // inf/NaN (read 4, write 4).
  const double base = 4 + 28 + 4;
  if (precision == Dtype::fp32 || precision == Dtype::tf32) return base;
  const double copy_back = 4 + costmodel::bytes_per_element(activation_dtype(precision));
  const double unscale = precision == Dtype::fp16 ? 8 : 0;
  return base + copy_back + unscale;
}

}  // namespace ptsim::strategies

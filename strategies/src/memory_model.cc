#include "ptsim/strategies/memory_model.h"

#include <algorithm>
#include <array>

#include "ptsim/strategies/graph_step.h"
#include "ptsim/strategies/pipeline_schedule.h"

namespace ptsim::strategies {
namespace {

using costmodel::Dtype;

double activation_element_bytes(Dtype d) {
  return costmodel::bytes_per_element(d == Dtype::fp8 ? Dtype::bf16 : d);
}

}  // namespace

double layer_activation_bytes(const TransformerConfig& m, LayerKind kind, const ShapeContext& c,
                              Recompute recompute) {
  // With context parallelism a rank keeps s/cp tokens of every sequence.
  const double s_full = static_cast<double>(c.seq_length);
  const double s = s_full / static_cast<double>(c.cp);
  const double b = static_cast<double>(c.micro_batch);
  const double h = static_cast<double>(m.hidden_size);
  const double t = static_cast<double>(c.tp);
  const double a = static_cast<double>(m.num_attention_heads);
  const double kv = static_cast<double>(m.kv_channels());
  const double f = static_cast<double>(m.ffn_hidden_size);
  const double up = (m.swiglu ? 2 : 1) * f;
  const double e = activation_element_bytes(c.dtype);
  const bool sp = c.sequence_parallel && c.tp > 1;
  const double hidden_mask = m.hidden_dropout > 0 ? 1 : 0;  // bytes per element
  const bool attention_dropout = m.attention_dropout > 0;

  if (recompute == Recompute::full) {
    // Only the layer's input is kept (sharded over tp with sequence parallelism).
    return e * s * b * h / (sp ? t : 1);
  }
  // Kept by every TP rank in full unless sequence-parallel: both norms' inputs, the QKV
  // and MLP inputs, the two dropout masks.
  double replicated = s * b * h * (2 * e + e + e + 2 * hidden_mask);
  if (m.is_mla()) {
    // MLA also keeps the two latents' norm inputs and the up projections' inputs (the
    // normed latents and the decoupled RoPE key), duplicated over TP like the layer input.
    const double latents = static_cast<double>(m.q_lora_rank + m.kv_lora_rank);
    replicated += s * b * e * (2 * latents + static_cast<double>(m.qk_rope_head_dim));
  }
  // Split over tp: Q, K, V, the output projection's input, the MLP activation's input and
  // output. A MoE layer instead keeps, for its share of token copies (k x tokens / tp), the
  // dispatched inputs, the experts' activation inputs and outputs, and the combined outputs,
  // plus the router's fp32 scores.
  double split = s * b * (e * (h + 2 * kv) + e * h);
  if (m.is_mla()) {
    // Per head: Q and K (qk_nope + qk_rope channels; the shared RoPE key is counted per head,
    // as the attention kernel reads it), V and the attention output (v_head_dim).
    split = s * b * e * a * static_cast<double>(2 * m.qk_head_dim() + 2 * m.value_head_dim());
  }
  double moe = 0;
  if (kind == LayerKind::moe) {
    const double copies = s * b * static_cast<double>(m.moe_router_topk) *
                          (m.moe_capacity_factor > 0 ? m.moe_capacity_factor : 1.0);
    const double ef = static_cast<double>(m.expert_ffn());
    const double eup = (m.swiglu ? 2 : 1) * ef;
    moe = copies * e * (2 * h + eup + ef) + 4 * s * b * static_cast<double>(m.num_experts);
    const double sf = static_cast<double>(m.moe_shared_expert_intermediate_size);
    split += s * b * e * ((m.swiglu ? 2 : 1) * sf + sf);
  } else {
    split += s * b * (e * up + e * f);
  }
  // The attention core's own: s x s scores (softmax output, dropout mask and output) when
  // unfused; flash attention keeps only its log-sum-exp (fp32 per query and head).
  double scores = 0;
  if (c.attention == AttentionKernel::unfused) {
    if (recompute != Recompute::selective) {
      scores = a * s * s_full * b * (e + (attention_dropout ? 1 + e : 0));
    }
  } else {
    scores = 4 * a * s * b;
  }
  return (sp ? replicated / t : replicated) + split / t + scores / t + moe / t;
}

double layer_weight_grad_bytes(const TransformerConfig& m, LayerKind kind, const ShapeContext& c) {
  const double tokens = static_cast<double>(c.micro_batch * c.seq_length) / static_cast<double>(c.cp);
  const double h = static_cast<double>(m.hidden_size);
  const double t = static_cast<double>(c.tp);
  const double e = activation_element_bytes(c.dtype);
  const bool sp = c.sequence_parallel && c.tp > 1;
  // Hidden-width tensors a column-parallel GEMM reads or a row-parallel GEMM writes are
  // replicated over the TP ranks, or sequence-sharded with sequence parallelism.
  const double hidden = sp ? h / t : h;
  const double q = static_cast<double>(m.num_attention_heads * m.head_dim());
  const double kv = static_cast<double>(m.kv_channels());
  // QKV: input (norm output) and output gradient; output projection: input (attention
  // output) and output gradient.
  double per_token = hidden + (q + 2 * kv) / t + q / t + hidden;
  auto mlp = [&](double f, double shards, double rows) {  // up: input, out-grad; down: input, out-grad
    const double up = (m.swiglu ? 2 : 1) * f / shards;
    return rows * (hidden + up + f / shards + hidden);
  };
  double elements = tokens * per_token;
  if (kind == LayerKind::moe) {
    const double copies = tokens * static_cast<double>(m.moe_router_topk) *
                          (m.moe_capacity_factor > 0 ? m.moe_capacity_factor : 1.0) / t;
    const double ef = static_cast<double>(m.expert_ffn());
    elements += tokens * (hidden + static_cast<double>(m.num_experts));              // router
    elements += copies * (h + (m.swiglu ? 2 : 1) * ef + ef + h);                      // experts
    if (m.moe_shared_expert_intermediate_size > 0) {
      elements += mlp(static_cast<double>(m.moe_shared_expert_intermediate_size), t, tokens);
    }
  } else {
    elements += mlp(static_cast<double>(m.ffn_hidden_size), t, tokens);
  }
  return e * elements;
}

std::int64_t microbatches_in_flight(Schedule schedule, int stage, int num_stages, std::int64_t m) {
  return chunks_in_flight(schedule, stage, num_stages, m, 1);
}

MemoryReport estimate_memory(const Scenario& sc) {
  if (sc.graph) return estimate_graph_memory(sc, partition_scenario(sc));
  const ShapeContext shape = shape_context(sc);
  const auto& m = sc.model;
  const int p = static_cast<int>(sc.layout.pp);
  // ZeRO shards over the gradient-reduction group: data and context parallel ranks.
  const double dp = static_cast<double>(sc.layout.dp * sc.layout.cp);
  const double t = static_cast<double>(sc.layout.tp);
  const double e = activation_element_bytes(sc.training.precision);
  const bool mixed = sc.training.precision != Dtype::fp32 && sc.training.precision != Dtype::tf32;
  const double weight_bytes = mixed ? 2 : 4;  // fp8 GEMMs cast from bf16 weights
  const double grad_bytes = (sc.training.grad_reduce_in_fp32 || !mixed) ? 4 : 2;
  // Adam: fp32 master weights (mixed precision only), first and second moments.
  const double optimizer_bytes = (mixed ? 4 : 0) + 4 + 4;
  const auto zero = sc.layout.zero_stage;
  // Activations (and zb-h1's weight-gradient inputs) of the layers [first, first + count),
  // each by its kind. One layer's bytes depend only on its kind: each computed once.
  std::array<std::array<double, 2>, kNumLayerKinds> one_layer{};  // [kind][weight_grad]; < 0: not yet
  for (auto& k : one_layer) k = {-1, -1};
  auto layers_bytes = [&](std::int64_t first, std::int64_t count, bool weight_grad) {
    const LayerKindCounts counts = count_layer_kinds(m, first, count);
    double bytes = 0;
    for (const LayerKind kind : {LayerKind::dense, LayerKind::moe}) {
      if (counts.of(kind) == 0) continue;
      double& one = one_layer[static_cast<std::size_t>(kind)][weight_grad ? 1 : 0];
      if (one < 0) {
        one = weight_grad ? layer_weight_grad_bytes(m, kind, shape)
                          : layer_activation_bytes(m, kind, shape, sc.layout.recompute);
      }
      bytes += one * static_cast<double>(counts.of(kind));
    }
    return bytes;
  };
  const double tokens = static_cast<double>(shape.micro_batch * shape.seq_length) / static_cast<double>(shape.cp);
  const double h = static_cast<double>(m.hidden_size);
  const bool sp = shape.sequence_parallel && sc.layout.tp > 1;
  const double vocab_per_rank = static_cast<double>((m.vocab_size + sc.layout.tp - 1) / sc.layout.tp);

  MemoryReport report;
  report.capacity_bytes = sc.cluster.gpu.hbm_capacity_bytes;
  for (int st = 0; st < p; ++st) {
    StageMemory sm;
    sm.stage = st;
    const auto v = static_cast<int>(sc.layout.virtual_stages);
    sm.microbatches_in_flight = chunks_in_flight(sc.layout.schedule, st, p, sc.num_microbatches(), v);
    const double params = stage_parameters(sc, st);
    MemoryByKind& k = sm.bytes;
    // ZeRO shards the non-expert parameters over the dp x cp ranks, but a rank's experts
    // only over the dp x cp / ep ranks that hold the same experts (expert data parallelism).
    const StageLayers own = sc.stage_layers(st);
    const double experts = expert_parameters(m, own.first, own.count, sc.layout.ep);
    const double expert_dp = dp / static_cast<double>(sc.layout.ep);
    auto sharded = [&](double bytes_per_parameter, bool shard) {
      if (!shard) return params * bytes_per_parameter;
      return (params - experts) * bytes_per_parameter / dp + experts * bytes_per_parameter / expert_dp;
    };
    k.parameters = sharded(weight_bytes, zero >= 3);
    const StageLayers stage = sc.stage_layers(st);
    const std::int64_t layers = stage.count;
    const double stage_layer_params = layers_parameters(m, stage.first, layers, sc.layout.tp, sc.layout.ep);
    if (zero >= 3) {
      // FSDP gathers one layer's parameters and prefetches the next (the stage's largest
      // layer counts); without reshard-after-forward every layer's gathered parameters stay
      // from its forward to its backward.
      double largest = 0;
      const LayerKindCounts kinds = count_layer_kinds(m, stage.first, layers);
      for (const LayerKind kind : {LayerKind::dense, LayerKind::moe}) {
        if (kinds.of(kind) > 0) largest = std::max(largest, layer_parameters(m, kind, sc.layout.tp, sc.layout.ep));
      }
      k.parameters += (sc.layout.reshard_after_forward ? 2 * largest : stage_layer_params) * weight_bytes;
    }
    if (sc.training.precision == Dtype::fp8) {
      // Transformer Engine keeps an fp8 copy of each GEMM weight and its transpose between
      // micro-batches (1 byte each); its amax histories are a few scalars per tensor.
      k.parameters += 2 * stage_layer_params;
    }
    k.gradients = sharded(grad_bytes, zero >= 2);
    k.optimizer_states = sharded(optimizer_bytes, zero >= 1);

    // A unit in flight is one micro-batch through one model chunk (the whole stage when v = 1).
    // Interleaved chunks may differ in their layers' kinds: the largest chunk counts.
    double per_microbatch = 0;
    double weight_grad_per_microbatch = 0;
    for (std::int64_t chunk = 0; chunk < v; ++chunk) {
      const StageLayers c = sc.chunk_layers(st, chunk);
      per_microbatch = std::max(per_microbatch, layers_bytes(c.first, c.count, false));
      if (sc.layout.schedule == Schedule::zb_h1) {  // only zb-h1 keeps them
        weight_grad_per_microbatch = std::max(weight_grad_per_microbatch, layers_bytes(c.first, c.count, true));
      }
    }
    if (st == 0 && m.hidden_dropout > 0) per_microbatch += tokens * h / (sp ? t : 1);  // embedding dropout mask
    if (st == p - 1) per_microbatch += 2 * e * tokens * h / (sp ? t : 1);              // final norm input, LM head input
    // BERT's masked-LM transform keeps its GEMM, GeLU and LayerNorm inputs, on every TP rank.
    if (st == p - 1 && m.output_head == OutputHead::mlm) per_microbatch += 3 * e * tokens * h;
    sm.activation_bytes_per_microbatch = per_microbatch;
    if (sc.layout.schedule == Schedule::zb_h1) {
      // Between B and W a micro-batch keeps only its weight GEMMs' inputs and output
      // gradients; the peak follows the stage's F/B/W order.
      sm.weight_grad_bytes_per_microbatch = weight_grad_per_microbatch;
      k.activations = peak_activation_bytes(stage_order(sc.layout.schedule, st, p, sc.num_microbatches()), per_microbatch,
                                            sm.weight_grad_bytes_per_microbatch);
    } else {
      k.activations = per_microbatch * static_cast<double>(sm.microbatches_in_flight);
    }
    if (st == p - 1) {
      // Logits in the training precision and the loss's fp32 softmax, one micro-batch at a
      // time except under GPipe, which runs every forward (and loss) before any backward.
      const double in_flight = sc.layout.schedule == Schedule::gpipe ? static_cast<double>(sc.num_microbatches()) : 1;
      k.logits = tokens * vocab_per_rank * (e + 4) * in_flight;
    }
    const double tensors = k.parameters + k.gradients + k.optimizer_states + k.activations + k.logits;
    k.allocator_overhead = tensors * sc.training.allocator_overhead_fraction;
    k.runtime_reserved = sc.training.runtime_reserved_bytes;
    const double total = k.total();
    if (total > report.peak_bytes) {
      report.peak_bytes = total;
      report.peak_stage = st;
    }
    report.stages.push_back(sm);
  }
  report.fits = report.peak_bytes <= report.capacity_bytes;
  return report;
}

}  // namespace ptsim::strategies

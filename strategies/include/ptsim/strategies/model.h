// A transformer (GPT/Llama-style decoder, or a BERT-style bidirectional encoder), with the
// field names Megatron-LM and HuggingFace users know, and the presets ptsim ships. The
// config is the model only: sequence length and batch belong to Training, parallel layout
// to Layout. Layers may differ in kind (dense MLP or mixture of experts): layer_kind(l)
// says which, and every per-layer quantity (ops, parameters, activations) takes the kind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ptsim::strategies {

enum class Normalization { layernorm, rmsnorm };
enum class PositionEmbedding { learned_absolute, rope };
// pre: norm before attention and MLP, a final norm before the head (GPT-2 onwards);
// post: norm after each residual add and after the embedding (original Transformer, BERT).
enum class NormPlacement { pre, post };
// lm: the output layer projects to the vocabulary; mlm: BERT's masked-LM head, a dense
// h x h transform + GeLU + LayerNorm before the (tied) vocabulary projection and its bias.
enum class OutputHead { lm, mlm };
// What a layer's MLP is: dense (ffn_hidden_size) or mixture of experts.
enum class LayerKind { dense, moe };
inline constexpr int kNumLayerKinds = 2;

struct TransformerConfig {
  std::string name = "custom";
  std::int64_t num_layers = 0;
  std::int64_t hidden_size = 0;
  std::int64_t num_attention_heads = 0;
  // Key/value heads (GQA). Equal to num_attention_heads for multi-head attention.
  std::int64_t num_query_groups = 0;
  std::int64_t ffn_hidden_size = 0;
  std::int64_t vocab_size = 0;
  // Gated MLP (SwiGLU): the first MLP GEMM produces 2 * ffn_hidden_size columns.
  bool swiglu = false;
  Normalization normalization = Normalization::layernorm;
  // Biases on the linear layers (GPT-2/3 and Megatron GPT: yes; Llama: no).
  bool add_bias_linear = true;
  PositionEmbedding position_embedding_type = PositionEmbedding::learned_absolute;
  // Llama keeps a separate LM head; GPT ties it to the input embedding.
  bool untie_embeddings_and_output_weights = false;
  // Dropout probabilities: with dropout, its masks are kept for backward (GPT: 0.1; Llama: 0).
  double hidden_dropout = 0.1;
  double attention_dropout = 0.1;
  // Mixture of experts (Megatron-LM names): 0 experts = dense. Every layer's MLP becomes a
  // router plus `num_experts` experts of width moe_ffn_hidden_size, each token going to
  // moe_router_topk of them, plus an optional shared expert always applied.
  std::int64_t num_experts = 0;
  std::int64_t moe_router_topk = 2;
  std::int64_t moe_ffn_hidden_size = 0;                   // 0: ffn_hidden_size
  std::int64_t moe_shared_expert_intermediate_size = 0;   // 0: no shared expert
  double moe_capacity_factor = 0;                         // 0: dropless; else experts pad to capacity
  // Qwen2-MoE's sigmoid gate on the shared expert's output (a Linear(h, 1) per layer).
  bool moe_shared_expert_gate = false;
  // Which layers are MoE (HF names). Layer l (0-based) is dense when l < first_k_dense_replace
  // (DeepSeek-V3: 3), when l is in mlp_only_layers (Qwen2-MoE), or when (l + 1) is not a
  // multiple of decoder_sparse_step (Qwen2-MoE); dense layers use ffn_hidden_size.
  std::int64_t first_k_dense_replace = 0;
  std::int64_t decoder_sparse_step = 1;
  std::vector<std::int64_t> mlp_only_layers;

  // Multi-head latent attention (DeepSeek-V2/V3), on when kv_lora_rank > 0: queries go
  // through a q_lora_rank-wide latent (0: projected directly), keys and values through a
  // shared kv_lora_rank-wide latent plus one decoupled RoPE key of qk_rope_head_dim; per
  // head, Q and K have qk_nope_head_dim + qk_rope_head_dim channels and V v_head_dim.
  std::int64_t q_lora_rank = 0;
  std::int64_t kv_lora_rank = 0;
  std::int64_t qk_nope_head_dim = 0;
  std::int64_t qk_rope_head_dim = 0;
  std::int64_t v_head_dim = 0;

  // Encoder models (BERT): bidirectional attention over the full s x s scores.
  bool causal = true;
  NormPlacement norm_placement = NormPlacement::pre;
  OutputHead output_head = OutputHead::lm;
  // Token-type (segment) embeddings added to the input (BERT: 2); 0 = none.
  std::int64_t num_token_types = 0;

  bool is_moe() const { return num_experts > 0; }
  std::int64_t expert_ffn() const { return moe_ffn_hidden_size > 0 ? moe_ffn_hidden_size : ffn_hidden_size; }
  LayerKind layer_kind(std::int64_t layer) const;

  bool is_mla() const { return kv_lora_rank > 0; }
  std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
  std::int64_t kv_channels() const { return num_query_groups * head_dim(); }
  // Per-head width of queries and keys, and of values (both head_dim() without MLA).
  std::int64_t qk_head_dim() const { return is_mla() ? qk_nope_head_dim + qk_rope_head_dim : head_dim(); }
  std::int64_t value_head_dim() const { return is_mla() ? v_head_dim : head_dim(); }
};

// How many layers of each kind the layers [first, first + count) hold.
struct LayerKindCounts {
  std::int64_t dense = 0;
  std::int64_t moe = 0;
  std::int64_t of(LayerKind k) const { return k == LayerKind::dense ? dense : moe; }
};
LayerKindCounts count_layer_kinds(const TransformerConfig& model, std::int64_t first, std::int64_t count);

std::optional<TransformerConfig> find_model_preset(std::string_view name);
std::vector<std::string> model_preset_names();

std::string_view to_string(Normalization n);
std::string_view to_string(PositionEmbedding p);
std::string_view to_string(NormPlacement p);
std::string_view to_string(OutputHead h);
std::string_view to_string(LayerKind k);

}  // namespace ptsim::strategies

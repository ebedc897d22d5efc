// A GPT/Llama-style decoder-only transformer, with the field names Megatron-LM and
// HuggingFace users know, and the presets ptsim ships. The config is the model only:
// sequence length and batch belong to Training, parallel layout to Layout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ptsim::strategies {

enum class Normalization { layernorm, rmsnorm };
enum class PositionEmbedding { learned_absolute, rope };

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

  bool is_moe() const { return num_experts > 0; }
  std::int64_t expert_ffn() const { return moe_ffn_hidden_size > 0 ? moe_ffn_hidden_size : ffn_hidden_size; }

  std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
  std::int64_t kv_channels() const { return num_query_groups * head_dim(); }
};

std::optional<TransformerConfig> find_model_preset(std::string_view name);
std::vector<std::string> model_preset_names();

std::string_view to_string(Normalization n);
std::string_view to_string(PositionEmbedding p);

}  // namespace ptsim::strategies

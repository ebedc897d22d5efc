#include "ptsim/strategies/model.h"

#include <array>

#include "ptsim/costmodel/named_presets.h"

namespace ptsim::strategies {
namespace {

// GPT-3-style models as Megatron-LM trains them: ffn = 4h, learned positions, biases,
// LayerNorm, tied embeddings, vocabulary 50257 padded to 51200.
TransformerConfig megatron_gpt(std::string name, std::int64_t layers, std::int64_t hidden,
                               std::int64_t heads) {
  TransformerConfig c;
  c.name = std::move(name);
  c.num_layers = layers;
  c.hidden_size = hidden;
  c.num_attention_heads = heads;
  c.num_query_groups = heads;
  c.ffn_hidden_size = 4 * hidden;
  c.vocab_size = 51200;
  return c;
}

// Llama 3 (Meta, "The Llama 3 Herd of Models", Table 3): GQA with 8 KV heads, SwiGLU,
// RMSNorm, RoPE, no biases, untied output layer, 128256-token vocabulary.
TransformerConfig llama3(std::string name, std::int64_t layers, std::int64_t hidden,
                         std::int64_t heads, std::int64_t ffn) {
  TransformerConfig c;
  c.name = std::move(name);
  c.num_layers = layers;
  c.hidden_size = hidden;
  c.num_attention_heads = heads;
  c.num_query_groups = 8;
  c.ffn_hidden_size = ffn;
  c.vocab_size = 128256;
  c.swiglu = true;
  c.normalization = Normalization::rmsnorm;
  c.add_bias_linear = false;
  c.position_embedding_type = PositionEmbedding::rope;
  c.untie_embeddings_and_output_weights = true;
  c.hidden_dropout = 0;
  c.attention_dropout = 0;
  return c;
}

TransformerConfig llama2(std::string name, std::int64_t layers, std::int64_t hidden, std::int64_t heads,
                         std::int64_t kv_heads, std::int64_t ffn) {
  TransformerConfig c = llama3(std::move(name), layers, hidden, heads, ffn);
  c.num_query_groups = kv_heads;
  c.vocab_size = 32000;
  return c;
}

// Mixtral (Mistral AI model cards): Mistral-style layers whose MLP is 8 SwiGLU experts, top-2.
TransformerConfig mixtral(std::string name, std::int64_t layers, std::int64_t hidden, std::int64_t heads,
                          std::int64_t ffn, std::int64_t vocab) {
  TransformerConfig c = llama3(std::move(name), layers, hidden, heads, ffn);
  c.vocab_size = vocab;
  c.num_experts = 8;
  c.moe_router_topk = 2;
  return c;
}

std::vector<TransformerConfig> all_presets() {
  return {
      megatron_gpt("gpt3-175b", 96, 12288, 96),
      // Narayanan et al., SC21, Table 1.
      megatron_gpt("megatron-1.7b", 24, 2304, 24),
      megatron_gpt("megatron-3.6b", 30, 3072, 32),
      megatron_gpt("megatron-7.5b", 36, 4096, 32),
      megatron_gpt("megatron-18b", 40, 6144, 48),
      megatron_gpt("megatron-39b", 48, 8192, 64),
      megatron_gpt("megatron-76b", 60, 10240, 80),
      megatron_gpt("megatron-145b", 80, 12288, 96),
      megatron_gpt("megatron-310b", 96, 16384, 128),
      megatron_gpt("megatron-530b", 105, 20480, 128),
      megatron_gpt("megatron-1t", 128, 25600, 160),
      llama3("llama3-8b", 32, 4096, 32, 14336),
      llama3("llama3-70b", 80, 8192, 64, 28672),
      llama3("llama3-405b", 126, 16384, 128, 53248),
      // Llama 3.1 keeps Llama 3's architecture (its longer context is a training setting).
      llama3("llama3.1-8b", 32, 4096, 32, 14336),
      llama3("llama3.1-70b", 80, 8192, 64, 28672),
      llama3("llama3.1-405b", 126, 16384, 128, 53248),
      // Llama 2 (Touvron et al. 2023, Table 1 and model cards): 32000-token vocabulary;
      // multi-head attention up to 13B, 8 KV heads at 70B.
      llama2("llama2-7b", 32, 4096, 32, 32, 11008),
      llama2("llama2-13b", 40, 5120, 40, 40, 13824),
      llama2("llama2-70b", 80, 8192, 64, 8, 28672),
      mixtral("mixtral-8x7b", 32, 4096, 32, 14336, 32000),
      mixtral("mixtral-8x22b", 56, 6144, 48, 16384, 32768),
  };
}

}  // namespace

std::optional<TransformerConfig> find_model_preset(std::string_view name) {
  return costmodel::find_named(all_presets(), name);
}

std::vector<std::string> model_preset_names() { return costmodel::names_of(all_presets()); }

std::string_view to_string(Normalization n) {
  return n == Normalization::layernorm ? "layernorm" : "rmsnorm";
}

std::string_view to_string(PositionEmbedding p) {
  return p == PositionEmbedding::learned_absolute ? "learned_absolute" : "rope";
}

}  // namespace ptsim::strategies

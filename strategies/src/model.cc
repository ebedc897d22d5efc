#include "ptsim/strategies/model.h"

#include <algorithm>
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

// DeepSeek-V3 (DeepSeek-AI, arXiv:2412.19437, Sec. 4.2; deepseek-ai/DeepSeek-V3 config.json):
// 61 layers, h 7168, 128 heads with multi-head latent attention (q_lora_rank 1536,
// kv_lora_rank 512, qk_nope_head_dim 128, qk_rope_head_dim 64, v_head_dim 128); the first 3
// layers dense (intermediate_size 18432), the other 58 MoE: 256 routed experts of width
// 2048 (moe_intermediate_size), top-8, plus n_shared_experts 1 of the same width;
// vocabulary 129280, untied. The multi-token-prediction module (num_nextn_predict_layers 1)
// is not modelled.
TransformerConfig deepseek_v3() {
  TransformerConfig c = llama3("deepseek-v3", 61, 7168, 128, 18432);
  c.num_query_groups = 128;
  c.vocab_size = 129280;
  c.num_experts = 256;
  c.moe_router_topk = 8;
  c.moe_ffn_hidden_size = 2048;
  c.moe_shared_expert_intermediate_size = 2048;
  c.first_k_dense_replace = 3;
  c.q_lora_rank = 1536;
  c.kv_lora_rank = 512;
  c.qk_nope_head_dim = 128;
  c.qk_rope_head_dim = 64;
  c.v_head_dim = 128;
  return c;
}

// Qwen2-57B-A14B (Qwen/Qwen2-57B-A14B config.json): 28 layers, h 3584, 28 query and 4 KV
// heads, every layer MoE (decoder_sparse_step 1, no mlp_only_layers): 64 experts of width
// 2560, top-8, and a gated shared expert of width 20480; vocabulary 151936, untied.
TransformerConfig qwen2_57b_a14b() {
  TransformerConfig c = llama3("qwen2-57b-a14b", 28, 3584, 28, 18944);
  c.num_query_groups = 4;
  c.vocab_size = 151936;
  c.num_experts = 64;
  c.moe_router_topk = 8;
  c.moe_ffn_hidden_size = 2560;
  c.moe_shared_expert_intermediate_size = 20480;
  c.moe_shared_expert_gate = true;
  return c;
}

// BERT-large (Devlin et al. 2019; google-bert/bert-large-uncased config.json): 24 layers,
// h 1024, 16 heads, ffn 4096, GeLU, LayerNorm after each residual (post-LN) and after the
// embedding, learned positions (512) and 2 token types, vocabulary 30522, bidirectional
// attention, the masked-LM head tied to the input embedding. No pooler / next-sentence head.
TransformerConfig bert_large() {
  TransformerConfig c = megatron_gpt("bert-large", 24, 1024, 16);
  c.vocab_size = 30522;
  c.causal = false;
  c.norm_placement = NormPlacement::post;
  c.output_head = OutputHead::mlm;
  c.num_token_types = 2;
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
      deepseek_v3(),
      qwen2_57b_a14b(),
      bert_large(),
  };
}

}  // namespace

std::optional<TransformerConfig> find_model_preset(std::string_view name) {
  return costmodel::find_named(all_presets(), name);
}

std::vector<std::string> model_preset_names() { return costmodel::names_of(all_presets()); }

LayerKind TransformerConfig::layer_kind(std::int64_t layer) const {
  if (!is_moe() || layer < first_k_dense_replace) return LayerKind::dense;
  if (std::find(mlp_only_layers.begin(), mlp_only_layers.end(), layer) != mlp_only_layers.end()) {
    return LayerKind::dense;
  }
  return (layer + 1) % decoder_sparse_step == 0 ? LayerKind::moe : LayerKind::dense;
}

LayerKindCounts count_layer_kinds(const TransformerConfig& m, std::int64_t first, std::int64_t count) {
  LayerKindCounts c;
  for (std::int64_t l = first; l < first + count; ++l) {
    (m.layer_kind(l) == LayerKind::dense ? c.dense : c.moe) += 1;
  }
  return c;
}

std::string_view to_string(NormPlacement p) { return p == NormPlacement::pre ? "pre" : "post"; }

std::string_view to_string(OutputHead h) { return h == OutputHead::lm ? "lm" : "mlm"; }

std::string_view to_string(LayerKind k) { return k == LayerKind::dense ? "dense" : "moe"; }

std::string_view to_string(Normalization n) {
  return n == Normalization::layernorm ? "layernorm" : "rmsnorm";
}

std::string_view to_string(PositionEmbedding p) {
  return p == PositionEmbedding::learned_absolute ? "learned_absolute" : "rope";
}

}  // namespace ptsim::strategies

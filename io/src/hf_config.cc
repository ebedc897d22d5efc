#include "hf_config.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ptsim/io/input_error.h"
#include "input_file.h"
#include "scenario_fields.h"
#include "scenario_text.h"

namespace ptsim::io {
namespace {

using nlohmann::json;
using strategies::Normalization;
using strategies::PositionEmbedding;
using strategies::TransformerConfig;

constexpr std::array kSupportedTypes = {"llama", "mistral", "qwen2", "gpt2", "gpt_neox", "mixtral",
                                        "qwen2_moe", "deepseek_v3"};

// Reads the keys of one config.json. HF writes null for an unset optional value, so null
// counts as absent. Every error is "<key>: <reason>" at error_path.
class HfReader {
 public:
  HfReader(const json& config, const std::string& error_path)
      : config_(config), error_path_(error_path) {}

  [[noreturn]] void fail(std::string_view key, const std::string& reason) const {
    throw InputError(error_path_, fmt::format("{}: {}", key, reason));
  }

  // The value of the first of `keys` present and not null (v5 spelling first), or nullptr.
  std::pair<std::string_view, const json*> first_of(
      std::initializer_list<std::string_view> keys) const {
    for (std::string_view key : keys) {
      auto it = config_.find(std::string(key));
      if (it != config_.end() && !it->is_null()) return {key, &*it};
    }
    return {*keys.begin(), nullptr};
  }

  const json* find(std::string_view key) const { return first_of({key}).second; }

  std::int64_t positive(std::string_view key) const {
    if (auto value = optional_positive(key)) return *value;
    fail(key, "required");
  }

  std::optional<std::int64_t> optional_positive(std::string_view key) const {
    const json* j = find(key);
    if (j == nullptr) return std::nullopt;
    if (j->is_number_integer()) {
      // Unsigned values above int64 are rejected as too large, not wrapped.
      const bool fits = j->is_number_unsigned()
                            ? j->get<std::uint64_t>() <= static_cast<std::uint64_t>(fields::kMaxInteger)
                            : j->get<std::int64_t>() <= fields::kMaxInteger;
      if (!fits) fail(key, fmt::format("must be at most {}, got {}", fields::kMaxInteger, j->dump()));
      const auto value = j->get<std::int64_t>();
      if (value >= 1) return value;
    }
    fail(key, "must be a positive integer, got " + describe_json(*j));
  }

  // An integer >= 0, or `fallback` when absent.
  std::int64_t non_negative(std::string_view key, std::int64_t fallback) const {
    const json* j = find(key);
    if (j == nullptr) return fallback;
    if (j->is_number_integer() && !j->is_number_unsigned() && j->get<std::int64_t>() == 0) return 0;
    if (j->is_number_integer() && j->is_number_unsigned() && j->get<std::uint64_t>() == 0) return 0;
    return positive(key);
  }

  // A list of layer indices in [0, num_layers), or empty when absent.
  std::vector<std::int64_t> layer_list(std::string_view key, std::int64_t num_layers) const {
    const json* j = find(key);
    if (j == nullptr) return {};
    if (!j->is_array()) fail(key, "must be a list of layer indices, got " + describe_json(*j));
    std::vector<std::int64_t> layers;
    for (const json& item : *j) {
      if (!item.is_number_integer() || item.get<std::int64_t>() < 0 || item.get<std::int64_t>() >= num_layers) {
        fail(key, fmt::format("must hold layer indices in [0, num_hidden_layers {}), got {}", num_layers,
                              describe_json(item)));
      }
      layers.push_back(item.get<std::int64_t>());
    }
    return layers;
  }

  // A dropout probability in [0, 1).
  double probability(std::string_view key, double fallback) const {
    const json* j = find(key);
    if (j == nullptr) return fallback;
    if (!j->is_number() || j->get<double>() < 0 || j->get<double>() >= 1) {
      fail(key, "must be a number in [0, 1), got " + describe_json(*j));
    }
    return j->get<double>();
  }

  bool boolean(std::string_view key, bool fallback) const {
    const json* j = find(key);
    if (j == nullptr) return fallback;
    if (!j->is_boolean()) fail(key, "must be true or false, got " + describe_json(*j));
    return j->get<bool>();
  }

  std::optional<std::string> string(std::initializer_list<std::string_view> keys) const {
    const auto [key, j] = first_of(keys);
    if (j == nullptr) return std::nullopt;
    if (!j->is_string()) fail(key, "must be a string, got " + describe_json(*j));
    return j->get<std::string>();
  }

  // Read for its type only: the value does not change the cost.
  void ignored_object(std::initializer_list<std::string_view> keys) const {
    const auto [key, j] = first_of(keys);
    if (j != nullptr && !j->is_object()) {
      fail(key, "must be an object or null, got " + describe_json(*j));
    }
  }

 private:
  const json& config_;
  const std::string& error_path_;
};

// Llama, Mistral and Qwen2: pre-norm RMSNorm decoders with RoPE, a gated MLP (gate, up,
// down) and grouped-query attention.
void map_llama_family(const HfReader& r, TransformerConfig& m) {
  m.hidden_size = r.positive("hidden_size");
  m.num_layers = r.positive("num_hidden_layers");
  m.num_attention_heads = r.positive("num_attention_heads");
  m.num_query_groups = r.optional_positive("num_key_value_heads").value_or(m.num_attention_heads);
  m.ffn_hidden_size = r.positive("intermediate_size");
  m.vocab_size = r.positive("vocab_size");
  // The MLP is gated whatever the activation; silu makes it SwiGLU.
  r.string({"hidden_act"});
  m.swiglu = true;
  m.normalization = Normalization::rmsnorm;
  // Qwen2's QKV bias is not modelled: add_bias_linear covers every linear layer, and
  // 3 x h extra parameters per layer do not change the cost.
  m.add_bias_linear = false;
  m.position_embedding_type = PositionEmbedding::rope;
  m.untie_embeddings_and_output_weights = !r.boolean("tie_word_embeddings", false);
  m.attention_dropout = r.probability("attention_dropout", 0);
  m.hidden_dropout = 0;
  if (auto head_dim = r.optional_positive("head_dim")) {
    if (*head_dim * m.num_attention_heads != m.hidden_size) {
      r.fail("head_dim", fmt::format("{} x num_attention_heads {} = {} differs from hidden_size "
                                     "{}; a head_dim other than hidden_size / "
                                     "num_attention_heads is not modelled",
                                     *head_dim, m.num_attention_heads,
                                     *head_dim * m.num_attention_heads, m.hidden_size));
    }
  }
}

// GPT-2: LayerNorm, biases, learned positions, GeLU MLP, tied embeddings.
void map_gpt2(const HfReader& r, TransformerConfig& m) {
  m.hidden_size = r.positive("n_embd");
  m.num_layers = r.positive("n_layer");
  m.num_attention_heads = r.positive("n_head");
  m.num_query_groups = m.num_attention_heads;
  m.ffn_hidden_size = r.optional_positive("n_inner").value_or(4 * m.hidden_size);
  m.vocab_size = r.positive("vocab_size");
  // Checked only: the learned position table is sized by training.seq_length.
  r.positive("n_positions");
  r.string({"activation_function"});
  m.swiglu = false;
  m.normalization = Normalization::layernorm;
  m.add_bias_linear = true;
  m.position_embedding_type = PositionEmbedding::learned_absolute;
  m.untie_embeddings_and_output_weights = !r.boolean("tie_word_embeddings", true);
  m.hidden_dropout = r.probability("resid_pdrop", 0.1);
  m.attention_dropout = r.probability("attn_pdrop", 0.1);
}

// GPT-NeoX (Pythia): LayerNorm, biases, (partial) RoPE, GeLU MLP. Its parallel attention +
// MLP (use_parallel_residual) is modelled as the usual sequential block.
void map_gpt_neox(const HfReader& r, TransformerConfig& m) {
  m.hidden_size = r.positive("hidden_size");
  m.num_layers = r.positive("num_hidden_layers");
  m.num_attention_heads = r.positive("num_attention_heads");
  m.num_query_groups = m.num_attention_heads;
  m.ffn_hidden_size = r.positive("intermediate_size");
  m.vocab_size = r.positive("vocab_size");
  r.string({"hidden_act"});
  r.boolean("use_parallel_residual", true);
  m.swiglu = false;
  m.normalization = Normalization::layernorm;
  m.add_bias_linear = true;
  m.position_embedding_type = PositionEmbedding::rope;
  m.untie_embeddings_and_output_weights = !r.boolean("tie_word_embeddings", false);
  m.hidden_dropout = r.probability("hidden_dropout", 0);
  m.attention_dropout = r.probability("attention_dropout", 0);
}

// Qwen2-MoE: a Qwen2 decoder whose MLPs are MoE (num_experts of moe_intermediate_size,
// top num_experts_per_tok) plus a sigmoid-gated shared expert of
// shared_expert_intermediate_size, except the layers in mlp_only_layers and those whose
// 1-based index is not a multiple of decoder_sparse_step, which keep a dense MLP of
// intermediate_size.
void map_qwen2_moe(const HfReader& r, TransformerConfig& m) {
  map_llama_family(r, m);
  m.num_experts = r.positive("num_experts");
  m.moe_router_topk = r.positive("num_experts_per_tok");
  m.moe_ffn_hidden_size = r.positive("moe_intermediate_size");
  m.moe_shared_expert_intermediate_size = r.non_negative("shared_expert_intermediate_size", 0);
  m.moe_shared_expert_gate = m.moe_shared_expert_intermediate_size > 0;
  m.decoder_sparse_step = r.optional_positive("decoder_sparse_step").value_or(1);
  m.mlp_only_layers = r.layer_list("mlp_only_layers", m.num_layers);
  if (m.moe_router_topk > m.num_experts) {
    r.fail("num_experts_per_tok", fmt::format("{} is more than num_experts {}", m.moe_router_topk, m.num_experts));
  }
}

// DeepSeek-V3 (and R1): RMSNorm, RoPE, SwiGLU, no biases; multi-head latent attention; the
// first first_k_dense_replace layers dense (intermediate_size), every later one MoE:
// n_routed_experts experts of moe_intermediate_size, top num_experts_per_tok, plus
// n_shared_experts shared experts (one shared MLP of n_shared_experts x
// moe_intermediate_size). Routing is modelled as balanced: node-limited routing (n_group,
// topk_group), the sigmoid scores and the aux-loss-free bias change which experts a token
// visits, not how many. The multi-token-prediction layers (num_nextn_predict_layers) are
// not modelled.
void map_deepseek_v3(const HfReader& r, TransformerConfig& m) {
  m.hidden_size = r.positive("hidden_size");
  m.num_layers = r.positive("num_hidden_layers");
  m.num_attention_heads = r.positive("num_attention_heads");
  m.num_query_groups = r.optional_positive("num_key_value_heads").value_or(m.num_attention_heads);
  if (m.num_query_groups != m.num_attention_heads) {
    r.fail("num_key_value_heads", fmt::format("{} differs from num_attention_heads {}: latent attention has a key "
                                              "and value per head",
                                              m.num_query_groups, m.num_attention_heads));
  }
  m.ffn_hidden_size = r.positive("intermediate_size");
  m.vocab_size = r.positive("vocab_size");
  r.string({"hidden_act"});
  m.swiglu = true;
  m.normalization = Normalization::rmsnorm;
  m.add_bias_linear = false;
  if (r.boolean("attention_bias", false)) r.fail("attention_bias", "true is not modelled (MLA without biases)");
  m.position_embedding_type = PositionEmbedding::rope;
  m.untie_embeddings_and_output_weights = !r.boolean("tie_word_embeddings", false);
  m.attention_dropout = r.probability("attention_dropout", 0);
  m.hidden_dropout = 0;
  if (r.find("q_lora_rank") == nullptr) {
    r.fail("q_lora_rank", "required: queries projected without a latent (null, DeepSeek-V2-Lite) are not modelled");
  }
  m.q_lora_rank = r.positive("q_lora_rank");
  m.kv_lora_rank = r.positive("kv_lora_rank");
  m.qk_nope_head_dim = r.positive("qk_nope_head_dim");
  m.qk_rope_head_dim = r.positive("qk_rope_head_dim");
  m.v_head_dim = r.positive("v_head_dim");
  // transformers v5 also writes qk_head_dim (= nope + rope) and head_dim (= qk_rope_head_dim).
  if (auto qk = r.optional_positive("qk_head_dim"); qk && *qk != m.qk_nope_head_dim + m.qk_rope_head_dim) {
    r.fail("qk_head_dim", fmt::format("{} differs from qk_nope_head_dim + qk_rope_head_dim = {}", *qk,
                                      m.qk_nope_head_dim + m.qk_rope_head_dim));
  }
  m.num_experts = r.positive("n_routed_experts");
  m.moe_router_topk = r.positive("num_experts_per_tok");
  if (m.moe_router_topk > m.num_experts) {
    r.fail("num_experts_per_tok", fmt::format("{} is more than n_routed_experts {}", m.moe_router_topk, m.num_experts));
  }
  m.moe_ffn_hidden_size = r.positive("moe_intermediate_size");
  m.moe_shared_expert_intermediate_size = r.non_negative("n_shared_experts", 0) * m.moe_ffn_hidden_size;
  m.first_k_dense_replace = r.non_negative("first_k_dense_replace", 0);
  if (m.first_k_dense_replace > m.num_layers) {
    r.fail("first_k_dense_replace", fmt::format("{} is more than num_hidden_layers {}", m.first_k_dense_replace,
                                                m.num_layers));
  }
  if (auto freq = r.optional_positive("moe_layer_freq"); freq && *freq != 1) {
    r.fail("moe_layer_freq", fmt::format("{} is not modelled: every layer after first_k_dense_replace is MoE", *freq));
  }
  // Read for their type: the MTP depth is not modelled, node-limited routing is balanced.
  r.non_negative("num_nextn_predict_layers", 0);
  r.non_negative("n_group", 1);
  r.non_negative("topk_group", 1);
}

template <std::size_t N>
bool contains(const std::array<const char*, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

std::vector<std::string> hf_supported_model_types() {
  return {kSupportedTypes.begin(), kSupportedTypes.end()};
}

HfModel hf_model_from_json(const json& config, const std::string& error_path) {
  if (!config.is_object()) {
    throw InputError(error_path, "a config.json must be a JSON object, got " + describe_json(config));
  }
  const HfReader r(config, error_path);
  HfModel out;
  const std::string supported = fmt::format("{}", fmt::join(kSupportedTypes, ", "));
  const auto model_type = r.string({"model_type"});
  if (!model_type) r.fail("model_type", "required; supported: " + supported);
  out.model_type = *model_type;
  if (!contains(kSupportedTypes, out.model_type)) {
    r.fail("model_type", fmt::format("'{}' is not supported; supported: {}", out.model_type, supported));
  }

  TransformerConfig& m = out.model;
  if (out.model_type == "gpt2") {
    map_gpt2(r, m);
  } else if (out.model_type == "gpt_neox") {
    map_gpt_neox(r, m);
  } else if (out.model_type == "qwen2_moe") {
    map_qwen2_moe(r, m);
  } else if (out.model_type == "deepseek_v3") {
    map_deepseek_v3(r, m);
  } else {
    map_llama_family(r, m);
  }
  if (out.model_type == "mixtral") {
    // Every layer's MLP: num_local_experts SwiGLU experts of intermediate_size, top-k routing.
    m.num_experts = r.positive("num_local_experts");
    m.moe_router_topk = r.positive("num_experts_per_tok");
    m.moe_ffn_hidden_size = m.ffn_hidden_size;
  }
  // Accepted in either spelling and ignored: RoPE scaling does not change the cost.
  r.ignored_object({"rope_parameters", "rope_scaling"});
  out.dtype = r.string({"dtype", "torch_dtype"}).value_or("");
  const std::string label = r.string({"_name_or_path"}).value_or("");
  m.name = (label.empty() ? out.model_type : label) + " (hf_config)";
  return out;
}

HfModel read_hf_config(const std::filesystem::path& file, const std::string& error_path) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw InputError(error_path, fmt::format("{} is a directory; give the config.json in it",
                                             file.string()));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(error_path, fmt::format("cannot open file {}", file.string()));
  const std::optional<std::string> text = read_at_most(in);
  if (in.bad()) throw InputError(error_path, fmt::format("cannot read file {}", file.string()));
  if (!text) throw InputError(error_path, fmt::format("{} {}", file.string(), too_large_reason()));
  return hf_model_from_text(*text, file.string(), error_path);
}

HfModel hf_model_from_text(std::string_view text, const std::string& file_name, const std::string& error_path) {
  json config;
  try {
    config = json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(error_path, invalid_json_reason(text, e, file_name));
  }
  return hf_model_from_json(config, error_path);
}

strategies::TransformerConfig import_hf_model(const std::filesystem::path& file,
                                              const std::string& error_path) {
  return read_hf_config(file, error_path).model;
}

}  // namespace ptsim::io

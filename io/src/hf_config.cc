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
#include "scenario_fields.h"
#include "scenario_text.h"

namespace ptsim::io {
namespace {

using nlohmann::json;
using strategies::Normalization;
using strategies::PositionEmbedding;
using strategies::TransformerConfig;

constexpr std::array kSupportedTypes = {"llama", "mistral", "qwen2", "gpt2", "gpt_neox", "mixtral"};
// Mixture-of-experts families whose layer pattern ptsim does not model yet: Qwen2-MoE's
// sparse-step layers, DeepSeek-V3's dense first layers and multi-head latent attention.
constexpr std::array kUnmodelledMoeTypes = {"qwen2_moe", "deepseek_v3"};

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
  if (contains(kUnmodelledMoeTypes, out.model_type)) {
    throw InputError(error_path, fmt::format("{} is a mixture-of-experts model whose layer pattern "
                                             "is not modelled yet (supported: {})",
                                             out.model_type, supported));
  }
  if (!contains(kSupportedTypes, out.model_type)) {
    r.fail("model_type", fmt::format("'{}' is not supported; supported: {}", out.model_type, supported));
  }

  TransformerConfig& m = out.model;
  if (out.model_type == "gpt2") {
    map_gpt2(r, m);
  } else if (out.model_type == "gpt_neox") {
    map_gpt_neox(r, m);
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
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw InputError(error_path, fmt::format("cannot read file {}", file.string()));
  json config;
  try {
    config = json::parse(text);
  } catch (const json::parse_error& e) {
    const LineColumn at = line_column(text, e.byte);
    throw InputError(error_path, fmt::format("invalid JSON in {} at line {}, column {}: {}",
                                             file.string(), at.line, at.column,
                                             parse_error_detail(e)));
  }
  return hf_model_from_json(config, error_path);
}

strategies::TransformerConfig import_hf_model(const std::filesystem::path& file,
                                              const std::string& error_path) {
  return read_hf_config(file, error_path).model;
}

}  // namespace ptsim::io

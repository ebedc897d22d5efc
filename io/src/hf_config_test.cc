#include "hf_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ptsim/io/input_error.h"
#include "ptsim/io/scenario_parser.h"

namespace ptsim::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using strategies::Normalization;
using strategies::PositionEmbedding;
using strategies::TransformerConfig;
using ::testing::HasSubstr;

const std::string kPath = "model.hf_config";

fs::path fixture(const std::string& name) {
  return fs::path(PTSIM_IO_TESTDATA_DIR) / "hf" / name;
}

json fixture_json(const std::string& name) {
  std::ifstream in(fixture(name));
  EXPECT_TRUE(in) << fixture(name);
  return json::parse(in);
}

// Every TransformerConfig member except name, for comparing two models.
auto shape(const TransformerConfig& m) {
  return std::tuple(m.num_layers, m.hidden_size, m.num_attention_heads, m.num_query_groups,
                    m.ffn_hidden_size, m.vocab_size, m.swiglu, m.normalization,
                    m.add_bias_linear, m.position_embedding_type,
                    m.untie_embeddings_and_output_weights, m.hidden_dropout,
                    m.attention_dropout, m.num_experts, m.moe_router_topk, m.expert_ffn(),
                    m.moe_shared_expert_intermediate_size, m.moe_shared_expert_gate,
                    m.first_k_dense_replace, m.decoder_sparse_step, m.mlp_only_layers,
                    std::tuple(m.q_lora_rank, m.kv_lora_rank, m.qk_nope_head_dim,
                               m.qk_rope_head_dim, m.v_head_dim, m.causal, m.norm_placement,
                               m.output_head, m.num_token_types));
}

// The InputError that mapping `config` gives.
InputError mapping_error(const json& config) {
  try {
    hf_model_from_json(config, kPath);
  } catch (const InputError& e) {
    return e;
  }
  ADD_FAILURE() << "expected an InputError for " << config.dump();
  return InputError("", "");
}

// One DGX H100 node, tp 4 x dp 2: every fixture's heads, groups and ffn divide by 4.
json scenario_with(json model) {
  json doc = json::parse(R"({
    "cluster": {"preset": "dgx-h100", "num_nodes": 1},
    "training": {"seq_length": 1024, "global_batch_size": 8},
    "layout": {"tp": 4, "pp": 1}
  })");
  doc["model"] = std::move(model);
  return doc;
}

std::string scenario_error(const json& doc) {
  try {
    parse_scenario(doc);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an InputError for " << doc.dump();
  return "";
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// --- the supported families ------------------------------------------------------------

TEST(HfConfig, Llama3_8BEqualsThePreset) {
  const HfModel hf = read_hf_config(fixture("llama3-8b.json"), kPath);
  const TransformerConfig preset = *strategies::find_model_preset("llama3-8b");
  EXPECT_EQ(shape(hf.model), shape(preset));
  EXPECT_EQ(hf.model.name, "llama (hf_config)");
  EXPECT_EQ(hf.model_type, "llama");
  EXPECT_EQ(hf.dtype, "bfloat16");
}

TEST(HfConfig, TransformersV5Spelling) {
  // dtype instead of torch_dtype, rope_parameters instead of rope_scaling, head_dim given.
  const HfModel hf = read_hf_config(fixture("llama3.1-8b-v5.json"), kPath);
  EXPECT_EQ(hf.dtype, "bfloat16");
  EXPECT_EQ(shape(hf.model), shape(*strategies::find_model_preset("llama3-8b")));
}

TEST(HfConfig, Mistral7B) {
  const TransformerConfig m = read_hf_config(fixture("mistral-7b.json"), kPath).model;
  EXPECT_EQ(m.name, "mistral (hf_config)");
  EXPECT_EQ(m.num_layers, 32);
  EXPECT_EQ(m.hidden_size, 4096);
  EXPECT_EQ(m.num_attention_heads, 32);
  EXPECT_EQ(m.num_query_groups, 8);
  EXPECT_EQ(m.ffn_hidden_size, 14336);
  EXPECT_EQ(m.vocab_size, 32000);
  EXPECT_TRUE(m.swiglu);
  EXPECT_EQ(m.normalization, Normalization::rmsnorm);
  EXPECT_FALSE(m.add_bias_linear);
  EXPECT_EQ(m.position_embedding_type, PositionEmbedding::rope);
  EXPECT_TRUE(m.untie_embeddings_and_output_weights);
  EXPECT_EQ(m.hidden_dropout, 0);
  EXPECT_EQ(m.attention_dropout, 0);  // absent: 0
}

TEST(HfConfig, Qwen2_7B) {
  const TransformerConfig m = read_hf_config(fixture("qwen2-7b.json"), kPath).model;
  EXPECT_EQ(m.name, "qwen2 (hf_config)");
  EXPECT_EQ(m.num_layers, 28);
  EXPECT_EQ(m.hidden_size, 3584);
  EXPECT_EQ(m.num_attention_heads, 28);
  EXPECT_EQ(m.num_query_groups, 4);
  EXPECT_EQ(m.ffn_hidden_size, 18944);
  EXPECT_EQ(m.vocab_size, 152064);
  EXPECT_TRUE(m.swiglu);
  EXPECT_EQ(m.normalization, Normalization::rmsnorm);
  EXPECT_FALSE(m.add_bias_linear);  // its QKV bias is not modelled
  EXPECT_EQ(m.position_embedding_type, PositionEmbedding::rope);
  EXPECT_TRUE(m.untie_embeddings_and_output_weights);
}

TEST(HfConfig, Gpt2) {
  const HfModel hf = read_hf_config(fixture("gpt2.json"), kPath);
  const TransformerConfig& m = hf.model;
  EXPECT_EQ(m.name, "gpt2 (hf_config)");
  EXPECT_EQ(m.num_layers, 12);
  EXPECT_EQ(m.hidden_size, 768);
  EXPECT_EQ(m.num_attention_heads, 12);
  EXPECT_EQ(m.num_query_groups, 12);
  EXPECT_EQ(m.ffn_hidden_size, 3072);  // n_inner absent: 4 x n_embd
  EXPECT_EQ(m.vocab_size, 50257);
  EXPECT_FALSE(m.swiglu);
  EXPECT_EQ(m.normalization, Normalization::layernorm);
  EXPECT_TRUE(m.add_bias_linear);
  EXPECT_EQ(m.position_embedding_type, PositionEmbedding::learned_absolute);
  EXPECT_FALSE(m.untie_embeddings_and_output_weights);
  EXPECT_DOUBLE_EQ(m.hidden_dropout, 0.1);
  EXPECT_DOUBLE_EQ(m.attention_dropout, 0.1);
  EXPECT_EQ(hf.dtype, "");

  json config = fixture_json("gpt2.json");
  config["n_inner"] = 2048;
  config["resid_pdrop"] = 0.0;
  config["attn_pdrop"] = 0.05;
  const TransformerConfig changed = hf_model_from_json(config, kPath).model;
  EXPECT_EQ(changed.ffn_hidden_size, 2048);
  EXPECT_EQ(changed.hidden_dropout, 0);
  EXPECT_DOUBLE_EQ(changed.attention_dropout, 0.05);
}

TEST(HfConfig, PythiaGptNeox) {
  const HfModel hf = read_hf_config(fixture("pythia-6.9b.json"), kPath);
  const TransformerConfig& m = hf.model;
  EXPECT_EQ(m.name, "EleutherAI/pythia-6.9b (hf_config)");  // _name_or_path
  EXPECT_EQ(m.num_layers, 32);
  EXPECT_EQ(m.hidden_size, 4096);
  EXPECT_EQ(m.num_attention_heads, 32);
  EXPECT_EQ(m.num_query_groups, 32);
  EXPECT_EQ(m.ffn_hidden_size, 16384);
  EXPECT_EQ(m.vocab_size, 50432);
  EXPECT_FALSE(m.swiglu);
  EXPECT_EQ(m.normalization, Normalization::layernorm);
  EXPECT_TRUE(m.add_bias_linear);
  EXPECT_EQ(m.position_embedding_type, PositionEmbedding::rope);
  EXPECT_TRUE(m.untie_embeddings_and_output_weights);
  EXPECT_EQ(m.hidden_dropout, 0);
  EXPECT_EQ(m.attention_dropout, 0);
  EXPECT_EQ(hf.dtype, "float16");
}

TEST(HfConfig, DefaultsWhenOptionalKeysAreAbsentOrNull) {
  json config = fixture_json("llama3-8b.json");
  config["num_key_value_heads"] = nullptr;  // HF writes null for unset values
  config.erase("tie_word_embeddings");
  config.erase("attention_dropout");
  config.erase("torch_dtype");
  const HfModel hf = hf_model_from_json(config, kPath);
  EXPECT_EQ(hf.model.num_query_groups, 32);
  EXPECT_TRUE(hf.model.untie_embeddings_and_output_weights);  // llama: untied by default
  EXPECT_EQ(hf.model.attention_dropout, 0);
  EXPECT_EQ(hf.dtype, "");

  json neox = fixture_json("pythia-6.9b.json");
  neox.erase("tie_word_embeddings");
  EXPECT_TRUE(hf_model_from_json(neox, kPath).model.untie_embeddings_and_output_weights);
  json gpt2 = fixture_json("gpt2.json");
  gpt2["tie_word_embeddings"] = false;
  EXPECT_TRUE(hf_model_from_json(gpt2, kPath).model.untie_embeddings_and_output_weights);
}

TEST(HfConfig, UnknownKeysAreIgnored) {
  json config = fixture_json("llama3-8b.json");
  config["quantization_config"] = {{"bits", "four"}};
  config["some_future_key"] = json::array({1, 2});
  config["_attn_implementation"] = 7;
  EXPECT_EQ(shape(hf_model_from_json(config, kPath).model),
            shape(*strategies::find_model_preset("llama3-8b")));
}

// --- rejected configs ------------------------------------------------------------------

TEST(HfConfig, MixtralMapsToMixtureOfExperts) {
  const auto m = read_hf_config(fixture("mixtral-8x7b.json"), kPath).model;
  EXPECT_EQ(m.num_experts, 8);
  EXPECT_EQ(m.moe_router_topk, 2);
  EXPECT_EQ(m.moe_ffn_hidden_size, 14336);
  const auto preset = *strategies::find_model_preset("mixtral-8x7b");
  EXPECT_EQ(m.num_layers, preset.num_layers);
  EXPECT_EQ(m.hidden_size, preset.hidden_size);
  EXPECT_EQ(m.num_query_groups, preset.num_query_groups);
  EXPECT_EQ(m.vocab_size, preset.vocab_size);
}

TEST(HfConfig, Qwen2MoeEqualsThePreset) {
  const HfModel hf = read_hf_config(fixture("qwen2-57b-a14b.json"), kPath);
  EXPECT_EQ(shape(hf.model), shape(*strategies::find_model_preset("qwen2-57b-a14b")));
  EXPECT_EQ(hf.dtype, "bfloat16");
  EXPECT_TRUE(hf.model.moe_shared_expert_gate);
  EXPECT_EQ(hf.model.layer_kind(0), strategies::LayerKind::moe);
}

TEST(HfConfig, Qwen2MoeSparseStepAndMlpOnlyLayers) {
  json config = fixture_json("qwen2-57b-a14b.json");
  config["decoder_sparse_step"] = 2;
  config["mlp_only_layers"] = {3};
  // v5 spelling of the other keys changes nothing.
  config.erase("torch_dtype");
  config["dtype"] = "bfloat16";
  config["rope_parameters"] = {{"rope_theta", 1000000.0}, {"rope_type", "default"}};
  const TransformerConfig m = hf_model_from_json(config, kPath).model;
  using strategies::LayerKind;
  // 1-based index a multiple of 2 -> MoE, except layer 3, listed as dense.
  EXPECT_EQ(m.layer_kind(0), LayerKind::dense);
  EXPECT_EQ(m.layer_kind(1), LayerKind::moe);
  EXPECT_EQ(m.layer_kind(2), LayerKind::dense);
  EXPECT_EQ(m.layer_kind(3), LayerKind::dense);
  EXPECT_EQ(m.layer_kind(5), LayerKind::moe);
  EXPECT_EQ(strategies::count_layer_kinds(m, 0, 28).moe, 13);
  config["mlp_only_layers"] = {28};
  EXPECT_EQ(mapping_error(config).reason(),
            "mlp_only_layers: must hold layer indices in [0, num_hidden_layers 28), got 28");
  config["mlp_only_layers"] = 3;
  EXPECT_EQ(mapping_error(config).reason(), "mlp_only_layers: must be a list of layer indices, got 3");
}

TEST(HfConfig, DeepSeekV3EqualsThePresetInBothSpellings) {
  for (const char* name : {"deepseek-v3.json", "deepseek-v3-v5.json"}) {
    SCOPED_TRACE(name);
    const HfModel hf = read_hf_config(fixture(name), kPath);
    EXPECT_EQ(shape(hf.model), shape(*strategies::find_model_preset("deepseek-v3")));
    EXPECT_EQ(hf.dtype, "bfloat16");
    EXPECT_EQ(hf.model_type, "deepseek_v3");
  }
}

TEST(HfConfigErrors, DeepSeekV3ArchitectureItDoesNotModel) {
  const json base = fixture_json("deepseek-v3.json");
  auto error_with = [&](const char* key, const json& value) {
    json config = base;
    config[key] = value;
    return mapping_error(config).reason();
  };
  EXPECT_EQ(error_with("moe_layer_freq", 2),
            "moe_layer_freq: 2 is not modelled: every layer after first_k_dense_replace is MoE");
  EXPECT_EQ(error_with("q_lora_rank", nullptr),
            "q_lora_rank: required: queries projected without a latent (null, DeepSeek-V2-Lite) are not modelled");
  EXPECT_EQ(error_with("num_key_value_heads", 16),
            "num_key_value_heads: 16 differs from num_attention_heads 128: latent attention has a key and value "
            "per head");
  EXPECT_EQ(error_with("attention_bias", true), "attention_bias: true is not modelled (MLA without biases)");
  EXPECT_EQ(error_with("qk_head_dim", 128), "qk_head_dim: 128 differs from qk_nope_head_dim + qk_rope_head_dim = 192");
  EXPECT_EQ(error_with("first_k_dense_replace", 62), "first_k_dense_replace: 62 is more than num_hidden_layers 61");
  EXPECT_EQ(error_with("num_experts_per_tok", 300), "num_experts_per_tok: 300 is more than n_routed_experts 256");
  EXPECT_EQ(error_with("kv_lora_rank", "512"), "kv_lora_rank: must be a positive integer, got string \"512\"");
  json config = base;
  config.erase("n_routed_experts");
  EXPECT_EQ(mapping_error(config).reason(), "n_routed_experts: required");
}

TEST(HfConfigErrors, UnknownOrMissingModelType) {
  json config = fixture_json("llama3-8b.json");
  config["model_type"] = "bert";
  EXPECT_EQ(std::string(mapping_error(config).what()),
            "model.hf_config: model_type: 'bert' is not supported; supported: llama, mistral, "
            "qwen2, gpt2, gpt_neox, mixtral, qwen2_moe, deepseek_v3");
  config.erase("model_type");
  EXPECT_EQ(mapping_error(config).reason(),
            "model_type: required; supported: llama, mistral, qwen2, gpt2, gpt_neox, mixtral, qwen2_moe, "
            "deepseek_v3");
  EXPECT_EQ(mapping_error(json::array()).reason(),
            "a config.json must be a JSON object, got an array");
}

TEST(HfConfigErrors, WrongTypesNameTheHfKey) {
  const auto reason_with = [](const std::string& file, const std::string& key, json value) {
    json config = fixture_json(file);
    config[key] = std::move(value);
    return mapping_error(config).reason();
  };
  json config = fixture_json("llama3-8b.json");
  config["hidden_size"] = "4096";
  EXPECT_EQ(std::string(mapping_error(config).what()),
            "model.hf_config: hidden_size: must be a positive integer, got string \"4096\"");
  EXPECT_EQ(reason_with("llama3-8b.json", "num_key_value_heads", 0),
            "num_key_value_heads: must be a positive integer, got 0");
  EXPECT_EQ(reason_with("llama3-8b.json", "num_hidden_layers", 32.0),
            "num_hidden_layers: must be a positive integer, got 32.0");
  EXPECT_EQ(reason_with("llama3-8b.json", "vocab_size", 4294967296LL),
            "vocab_size: must be at most 2147483647, got 4294967296");
  EXPECT_EQ(reason_with("llama3-8b.json", "tie_word_embeddings", "false"),
            "tie_word_embeddings: must be true or false, got string \"false\"");
  EXPECT_EQ(reason_with("llama3-8b.json", "attention_dropout", 1.0),
            "attention_dropout: must be a number in [0, 1), got 1.0");
  EXPECT_EQ(reason_with("llama3-8b.json", "rope_scaling", "linear"),
            "rope_scaling: must be an object or null, got string \"linear\"");
  EXPECT_EQ(reason_with("llama3.1-8b-v5.json", "rope_parameters", 8),
            "rope_parameters: must be an object or null, got 8");
  EXPECT_EQ(reason_with("llama3-8b.json", "torch_dtype", 16), "torch_dtype: must be a string, got 16");
  EXPECT_EQ(reason_with("llama3.1-8b-v5.json", "dtype", true), "dtype: must be a string, got true");
  EXPECT_EQ(reason_with("llama3-8b.json", "model_type", 3), "model_type: must be a string, got 3");
  EXPECT_EQ(reason_with("gpt2.json", "n_embd", -768), "n_embd: must be a positive integer, got -768");
  EXPECT_EQ(reason_with("gpt2.json", "resid_pdrop", "0.1"),
            "resid_pdrop: must be a number in [0, 1), got string \"0.1\"");
  EXPECT_EQ(reason_with("pythia-6.9b.json", "use_parallel_residual", 1),
            "use_parallel_residual: must be true or false, got 1");
  EXPECT_EQ(reason_with("pythia-6.9b.json", "_name_or_path", json::object()),
            "_name_or_path: must be a string, got an object");

  json missing = fixture_json("mistral-7b.json");
  missing.erase("intermediate_size");
  EXPECT_EQ(mapping_error(missing).reason(), "intermediate_size: required");
}

TEST(HfConfigErrors, HeadDimOtherThanHiddenOverHeadsIsNotModelled) {
  // Mistral-Nemo: hidden 5120, 32 heads of 128 (not 160).
  json config = fixture_json("mistral-7b.json");
  config["hidden_size"] = 5120;
  config["head_dim"] = 128;
  EXPECT_EQ(mapping_error(config).reason(),
            "head_dim: 128 x num_attention_heads 32 = 4096 differs from hidden_size 5120; a "
            "head_dim other than hidden_size / num_attention_heads is not modelled");
  config["head_dim"] = 160;
  EXPECT_EQ(hf_model_from_json(config, kPath).model.head_dim(), 160);
}

TEST(HfConfigErrors, MissingDirectoryOrInvalidFile) {
  const fs::path missing = fs::path(::testing::TempDir()) / "ptsim_hf_no_such" / "config.json";
  try {
    read_hf_config(missing, kPath);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.path(), kPath);
    EXPECT_EQ(e.reason(), "cannot open file " + missing.string());
  }
  try {
    read_hf_config(fixture(""), kPath);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_THAT(e.reason(), HasSubstr("is a directory; give the config.json in it"));
  }
  const fs::path bad = fs::path(::testing::TempDir()) / "ptsim_hf_bad" / "config.json";
  write_file(bad, "{\n  \"model_type\": \"llama\",\n  \"hidden_size\": ]\n}\n");
  try {
    read_hf_config(bad, kPath);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.path(), kPath);
    EXPECT_THAT(e.reason(), HasSubstr("invalid JSON in " + bad.string() + " at line 3, column 18"));
    EXPECT_THAT(e.reason(), ::testing::Not(HasSubstr("json.exception")));
  }
}

// --- through the scenario parser -------------------------------------------------------

TEST(HfConfigScenario, ImportWithOverrides) {
  const std::string llama = fixture("llama3-8b.json").string();
  const strategies::Scenario s = parse_scenario(scenario_with({{"hf_config", llama}}));
  EXPECT_EQ(s.model.name, "llama (hf_config)");
  EXPECT_EQ(shape(s.model), shape(*strategies::find_model_preset("llama3-8b")));

  const strategies::Scenario o =
      parse_scenario(scenario_with({{"hf_config", llama}, {"num_layers", 16}, {"vocab_size", 128000}}));
  EXPECT_EQ(o.model.name, "llama (hf_config) (modified)");
  EXPECT_EQ(o.model.num_layers, 16);
  EXPECT_EQ(o.model.vocab_size, 128000);
  EXPECT_EQ(o.model.num_query_groups, 8);  // from the config, not num_attention_heads
  EXPECT_EQ(o.model.ffn_hidden_size, 14336);
}

TEST(HfConfigScenario, EveryFixtureParses) {
  for (const char* name : {"llama3-8b.json", "llama3.1-8b-v5.json", "mistral-7b.json",
                           "qwen2-7b.json", "gpt2.json", "pythia-6.9b.json", "mixtral-8x7b.json",
                           "qwen2-57b-a14b.json", "deepseek-v3.json", "deepseek-v3-v5.json"}) {
    SCOPED_TRACE(name);
    EXPECT_NO_THROW(parse_scenario(scenario_with({{"hf_config", fixture(name).string()}})));
  }
}

TEST(HfConfigScenario, Errors) {
  const std::string llama = fixture("llama3-8b.json").string();
  EXPECT_EQ(scenario_error(scenario_with({{"preset", "llama3-8b"}, {"hf_config", llama}})),
            "model: give either preset or hf_config, not both");
  EXPECT_EQ(scenario_error(scenario_with({{"hf_config", 42}})),
            "model.hf_config: must be a file path, got 42");
  EXPECT_EQ(scenario_error(scenario_with({{"hf_config", ""}})),
            "model.hf_config: must be a file path, got string \"\"");
  EXPECT_EQ(scenario_error(scenario_with({{"hf_config", llama}, {"hiden_size", 1}})),
            "model.hiden_size: unknown field; did you mean 'hidden_size'?");
  // The cross-field rules apply to the imported model.
  json tp3 = scenario_with({{"hf_config", llama}});
  tp3["layout"]["tp"] = 3;
  tp3["cluster"] = {{"preset", "dgx-h100"}, {"num_gpus", 3}};
  EXPECT_EQ(scenario_error(tp3), "layout.tp: 3 does not divide model.num_attention_heads 32");
}

// Restores the current directory when it goes out of scope.
class CurrentDirectory {
 public:
  explicit CurrentDirectory(const fs::path& dir) : saved_(fs::current_path()) {
    fs::current_path(dir);
  }
  ~CurrentDirectory() { fs::current_path(saved_); }
  CurrentDirectory(const CurrentDirectory&) = delete;
  CurrentDirectory& operator=(const CurrentDirectory&) = delete;

 private:
  fs::path saved_;
};

TEST(HfConfigScenario, RelativePathsStartAtTheScenarioFile) {
  const fs::path dir = fs::path(::testing::TempDir()) / "ptsim_hf_relative";
  fs::remove_all(dir);
  fs::create_directories(dir / "models" / "qwen2-7b");
  fs::copy_file(fixture("qwen2-7b.json"), dir / "models" / "qwen2-7b" / "config.json");
  const json doc = scenario_with({{"hf_config", "models/qwen2-7b/config.json"}, {"num_layers", 4}});
  write_file(dir / "scenario.json", doc.dump(2));

  // From another directory: the path is relative to the scenario file, not to here.
  const CurrentDirectory elsewhere(fs::path(PTSIM_IO_TESTDATA_DIR));
  const strategies::Scenario s = parse_scenario_file(dir / "scenario.json");
  EXPECT_EQ(s.model.name, "qwen2 (hf_config) (modified)");
  EXPECT_EQ(s.model.num_layers, 4);
  EXPECT_EQ(s.model.hidden_size, 3584);

  // The in-memory document has no file: relative to the current directory.
  EXPECT_THAT(scenario_error(doc), HasSubstr("model.hf_config: cannot open file models/qwen2-7b/config.json"));
  const json here = scenario_with({{"hf_config", "hf/gpt2.json"}});
  EXPECT_EQ(parse_scenario(here).model.hidden_size, 768);
}

TEST(HfConfigScenario, SchemaListsHfConfig) {
  const json model = scenario_schema()["properties"]["model"]["oneOf"][1];
  EXPECT_EQ(model["properties"]["hf_config"]["type"], "string");
  const json all_of = model["allOf"];
  EXPECT_NE(std::find(all_of.begin(), all_of.end(),
                      json({{"not", {{"required", json::array({"preset", "hf_config"})}}}})),
            all_of.end());
  bool any_of_lists_hf_config = false;
  for (const json& rule : all_of) {
    if (!rule.contains("anyOf")) continue;
    any_of_lists_hf_config = std::find(rule["anyOf"].begin(), rule["anyOf"].end(),
                                       json({{"required", json::array({"hf_config"})}})) != rule["anyOf"].end();
  }
  EXPECT_TRUE(any_of_lists_hf_config) << model.dump(2);
}

}  // namespace
}  // namespace ptsim::io

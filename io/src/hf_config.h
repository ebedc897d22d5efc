// Imports a HuggingFace transformers config.json as a TransformerConfig: the decoder
// families ptsim models (llama, mistral, qwen2, gpt2, gpt_neox; mixture of experts:
// mixtral, qwen2_moe, deepseek_v3), in transformers v4 and v5 spellings. Keys ptsim does not read are ignored (HF configs carry many irrelevant ones);
// a key it reads with a bad value is an InputError at the scenario path of the import
// ("model.hf_config") whose reason starts with the HF key ("hidden_size: ...").
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptsim/strategies/model.h"

namespace ptsim::io {

struct HfModel {
  // name: "<_name_or_path, or model_type> (hf_config)".
  strategies::TransformerConfig model;
  std::string model_type;
  // torch_dtype (v4) or dtype (v5) as written, "" when absent. Informational only: the
  // scenario's training.precision decides the GEMM format, not the checkpoint's dtype.
  std::string dtype;
};

// Maps one parsed config.json. A type not in hf_supported_model_types() is rejected, as is
// a key whose value changes the architecture in a way ptsim does not model (the error names
// the key, e.g. deepseek_v3's moe_layer_freq other than 1).
HfModel hf_model_from_json(const nlohmann::json& config, const std::string& error_path);

// Reads `file` and maps it; a file that cannot be read or is not JSON is an InputError at
// error_path whose reason names the file.
HfModel read_hf_config(const std::filesystem::path& file, const std::string& error_path);

// As read_hf_config, from the text of the file named file_name (errors name it).
HfModel hf_model_from_text(std::string_view text, const std::string& file_name, const std::string& error_path);

// read_hf_config(file, error_path).model: the reader scenario_fields.h declares for
// model.hf_config.
strategies::TransformerConfig import_hf_model(const std::filesystem::path& file,
                                              const std::string& error_path);

// The model_type values that map to a TransformerConfig, in the order errors list them.
std::vector<std::string> hf_supported_model_types();

}  // namespace ptsim::io

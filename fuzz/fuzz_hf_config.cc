// Fuzzes HuggingFace config.json import (io::hf_model_from_text): any JSON, any
// model_type, v4 and v5 key spellings.
#include "fuzz_common.h"
#include "hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ptsim::fuzz::expect_accept_or_input_error([&] {
    ptsim::io::hf_model_from_text(ptsim::fuzz::as_text(data, size), "config.json", "model.hf_config");
  });
  return 0;
}

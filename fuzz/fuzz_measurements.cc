// Fuzzes raw calibration measurement files (`ptsim-calibrate gpu|nccl` output, `fit` input)
// and nccl-tests' -J JSON: io::parse_measurements_text, then io::parse_nccl_tests_json on
// the same bytes (both are JSON documents of measurements).
#include "fuzz_common.h"
#include "ptsim/io/calibration_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = ptsim::fuzz::as_text(data, size);
  ptsim::fuzz::expect_accept_or_input_error([&] { ptsim::io::parse_measurements_text(text, "m.json"); });
  ptsim::fuzz::expect_accept_or_input_error([&] { ptsim::io::parse_nccl_tests_json(text, "nccl.json"); });
  return 0;
}

// Fuzzes validation set files (scenarios/validation/*.json) as `ptsim validate` reads
// them: io::parse_validation_set_text, which parses each row's scenario too.
#include "fuzz_common.h"
#include "ptsim/io/validation_set.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ptsim::fuzz::expect_accept_or_input_error([&] {
    ptsim::io::parse_validation_set_text(ptsim::fuzz::as_text(data, size), "fuzz.json");
  });
  return 0;
}

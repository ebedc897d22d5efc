// Fuzzes measured hardware profiles (cluster.profile, `ptsim-calibrate fit` output):
// io::parse_profile_text. Empty or non-monotonic tables are the calibration readers' rules
// to refuse; this only checks that nothing but a one-line InputError escapes.
#include "fuzz_common.h"
#include "ptsim/io/calibration_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ptsim::fuzz::expect_accept_or_input_error(
      [&] { ptsim::io::parse_profile_text(ptsim::fuzz::as_text(data, size), "profile.json"); });
  return 0;
}

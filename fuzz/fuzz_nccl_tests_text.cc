// Fuzzes nccl-tests text logs (`ptsim-calibrate import-nccl-tests`):
// calibrate::parse_nccl_tests_text, with and without the collective given.
#include "fuzz_common.h"
#include "ptsim/calibrate/nccl_tests_text.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = ptsim::fuzz::as_text(data, size);
  ptsim::fuzz::expect_accept_or_input_error([&] { ptsim::calibrate::parse_nccl_tests_text(text, "log.txt", std::nullopt); });
  ptsim::fuzz::expect_accept_or_input_error(
      [&] { ptsim::calibrate::parse_nccl_tests_text(text, "log.txt", ptsim::costmodel::CollectiveOp::all_reduce); });
  return 0;
}

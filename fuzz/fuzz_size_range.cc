// Fuzzes `ptsim collective --bytes` (io::parse_size_range): an accepted range is
// non-empty, positive, doubling and short enough to print.
#include "fuzz_common.h"
#include "ptsim/io/collective_report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ptsim::fuzz::expect_accept_or_input_error([&] {
    const auto sizes = ptsim::io::parse_size_range(ptsim::fuzz::as_text(data, size));
    if (sizes.empty() || sizes.size() > 128) ptsim::fuzz::fail("range of unexpected length", "");
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (!(sizes[i] > 0) || (i > 0 && sizes[i] != 2 * sizes[i - 1])) ptsim::fuzz::fail("bad size in range", "");
    }
  });
  return 0;
}

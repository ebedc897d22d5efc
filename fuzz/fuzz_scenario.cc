// Fuzzes scenario files: io::parse_scenario_text, the entry point of `ptsim simulate`
// (JSON syntax, duplicate keys, every field rule and cross-field check). A relative
// model.hf_config path resolves against io/testdata/hf, so imports are reached too.
#include "fuzz_common.h"
#include "ptsim/io/scenario_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ptsim::fuzz::expect_accept_or_input_error([&] {
    const auto scenario = ptsim::io::parse_scenario_text(ptsim::fuzz::as_text(data, size), "fuzz.json",
                                                         PTSIM_FUZZ_HF_DIR);
    // What the parser promises the simulator: a consistent layout.
    const auto& l = scenario.layout;
    if (l.dp * l.tp * l.pp * l.cp != scenario.cluster.num_gpus()) {
      ptsim::fuzz::fail("accepted a layout whose product is not the GPU count", scenario.name.c_str());
    }
  });
  return 0;
}

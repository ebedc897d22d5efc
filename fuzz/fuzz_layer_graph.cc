// Fuzzes layer-graph model files (layer_graph.file, docs/layer-graph.md):
// io::layer_graph_from_text, i.e. JSON syntax, duplicate keys, every layer rule and the
// graph checks of LayerGraph::build (dangling edges, cycles, shapes). A graph it accepts
// must give the simulator finite, non-negative parameter and FLOP totals.
#include <cmath>

#include "fuzz_common.h"
#include "layer_graph_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ptsim::fuzz::expect_accept_or_input_error([&] {
    const auto spec = ptsim::io::layer_graph_from_text(ptsim::fuzz::as_text(data, size), "layer_graph.file", "graph.json");
    const auto graph = ptsim::strategies::LayerGraph::build(spec);
    for (const double total : {graph.total_parameters(), graph.forward_flops_per_sample(), graph.backward_flops_per_sample()}) {
      if (!std::isfinite(total) || total < 0) ptsim::fuzz::fail("accepted a graph with a non-finite or negative total", spec.name.c_str());
    }
  });
  return 0;
}

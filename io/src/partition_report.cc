#include "ptsim/io/partition_report.h"

#include <fmt/format.h>

#include "ptsim/strategies/layer_graph.h"

namespace ptsim::io {

using nlohmann::json;

json partition_report_json(const strategies::Scenario& s, const strategies::PartitionSummary& p) {
  json stages = json::array();
  for (const auto& st : p.stages) {
    stages.push_back({{"stage", st.stage},
                      {"num_layers", st.layers.size()},
                      {"layers", st.layers},
                      {"compute_s", st.compute_s},
                      {"comm_s", st.comm_s},
                      {"cost_s", st.cost_s},
                      {"parameters", st.parameters},
                      {"memory_bytes", st.memory_bytes},
                      {"cut_bytes_out", st.cut_bytes_out}});
  }
  return json{{"scenario", s.name},
              {"model", s.graph->name()},
              {"num_layers", s.graph->num_layers()},
              {"pp", s.layout.pp},
              {"micro_batch_size", s.layout.micro_batch_size},
              {"schedule", std::string(strategies::to_string(s.layout.schedule))},
              {"method", p.method},
              {"bottleneck_s", p.bottleneck_s},
              {"balanced_s", p.balanced_s},
              {"gap_fraction", p.gap_fraction},
              {"stages", stages}};
}

std::string partition_report_table(const strategies::Scenario& s, const strategies::PartitionSummary& p) {
  constexpr double kGiB = 1024.0 * 1024 * 1024;
  constexpr double kMiB = 1024.0 * 1024;
  std::string out = fmt::format("ptsim partition: {} ({}, {} layers) into {} stages, micro-batch {}\n", s.name,
                                s.graph->name(), s.graph->num_layers(), s.layout.pp, s.layout.micro_batch_size);
  out += fmt::format("  method: {}\n", p.method);
  out += fmt::format("  {:>5}  {:>6}  {:<40}  {:>10}  {:>9}  {:>10}  {:>10}  {:>10}  {:>10}\n", "stage", "layers",
                     "first .. last", "compute_ms", "comm_ms", "cost_ms", "params", "memory_GiB", "cut_out_MiB");
  for (const auto& st : p.stages) {
    const std::string span = st.layers.front() + " .. " + st.layers.back();
    out += fmt::format("  {:>5}  {:>6}  {:<40}  {:>10.3f}  {:>9.3f}  {:>10.3f}  {:>10.4g}  {:>10.2f}  {:>10.2f}\n", st.stage,
                       st.layers.size(), span, st.compute_s * 1e3, st.comm_s * 1e3, st.cost_s * 1e3, st.parameters,
                       st.memory_bytes / kGiB, st.cut_bytes_out / kMiB);
  }
  out += fmt::format("  bottleneck {:.3f} ms per micro-batch; perfect balance sum(T_i)/p {:.3f} ms; gap {:+.1f}%\n",
                     p.bottleneck_s * 1e3, p.balanced_s * 1e3, p.gap_fraction * 100);
  return out;
}

}  // namespace ptsim::io

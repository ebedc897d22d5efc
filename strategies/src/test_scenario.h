// Scenario builder shared by the strategies tests: a model and node preset, the workload
// and the layout, with the cluster sized to the layout's GPU count, so a test states only
// what it varies. Test-only; scenarios from users come through io/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "ptsim/strategies/scenario.h"

namespace ptsim::strategies::testing {

inline Scenario make_scenario(std::string_view model, std::string_view node, std::int64_t seq_length,
                              std::int64_t global_batch, std::int64_t tp, std::int64_t pp, std::int64_t dp,
                              std::int64_t cp = 1) {
  Scenario s;
  s.name = "test";
  s.model = *find_model_preset(model);
  s.cluster = *costmodel::find_node_preset(node);
  s.training.seq_length = seq_length;
  s.training.global_batch_size = global_batch;
  s.layout.tp = tp;
  s.layout.pp = pp;
  s.layout.dp = dp;
  s.layout.cp = cp;
  const auto gpus = static_cast<int>(s.layout.num_gpus());
  if (gpus < s.cluster.gpus_per_node) {
    s.cluster.gpus_per_node = gpus;  // part of one node, as io/ builds it
  } else {
    s.cluster.num_nodes = gpus / s.cluster.gpus_per_node;
  }
  return s;
}

}  // namespace ptsim::strategies::testing

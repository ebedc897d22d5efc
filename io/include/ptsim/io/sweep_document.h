// Applying one swept value to a scenario document (`ptsim sweep --vary KEY=SPEC`). A key is a
// scenario field: a short name (`tp`, `micro_batch_size`, `global_batch_size`, `num_gpus`) or
// a dotted path (`training.seq_length`). Keys that change how many GPUs a replica needs or
// the cluster has re-derive layout.dp (see docs/sweep.md). Validation of the edited
// document is parse_scenario's: a point that breaks a rule is reported, not applied.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ptsim::io {

// The dotted scenario path a sweep key sets; InputError("--vary", ...) for a key that names
// no scenario field.
std::string sweep_key_path(const std::string& key);

// doc with the key set to value: an integer, a number, true/false, or else a string.
//   num_gpus:  cluster.num_gpus = value (cluster.num_nodes dropped); layout.dp derived, so
//              the rest of the layout stays fixed and dp = num_gpus / (tp x cp x pp)
//   num_nodes: the same with cluster.num_nodes
//   dp:        layout.dp = value and cluster.num_gpus = tp x cp x pp x dp
//   tp, pp, cp: the cluster stays, layout.dp is derived again
//   anything else: the field is set, nothing else changes
nlohmann::json apply_sweep_value(nlohmann::json doc, const std::string& key, const std::string& value);

}  // namespace ptsim::io

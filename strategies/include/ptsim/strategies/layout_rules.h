// The cross-field rules a Layout must satisfy for a model, workload and GPU count: sizes
// that divide what they split, schedule options that need each other. One definition for
// the scenario parser (io/, which reports a broken rule as a path-named error) and for
// the layout search (which counts the layouts each rule discards).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ptsim/strategies/model.h"
#include "ptsim/strategies/scenario.h"

namespace ptsim::strategies {

// Which rule a layout breaks; the search reports discards per rule.
enum class LayoutRule {
  gpu_count,          // dp x tp x pp x cp != GPUs
  ep_needs_moe,
  ep_divides,         // ep divides num_experts and dp x cp
  cp_sequence,        // seq_length divisible by 2 cp
  cp_attention,       // cp needs flash attention
  tp_divides,         // tp divides heads, query groups, ffn
  uneven_stages,      // first/last stage layer counts
  pp_divides,         // pp divides num_layers
  batch_divides,      // dp x micro_batch_size divides global_batch_size
  virtual_stages,     // interleaving: 1f1b, pp >= 2, divisibility
  zero_stage,         // 0..3
  tp_comm_overlap,    // needs sequence parallelism
  sequence_parallel,  // seq_length divisible by tp
};
inline constexpr std::size_t kLayoutRuleCount = 13;

std::string_view to_string(LayoutRule rule);

struct LayoutProblem {
  LayoutRule rule;
  std::string field;    // dotted scenario path, e.g. "layout.tp"
  std::string message;  // why, without the path
};

// The first rule `layout` breaks, or nothing when it is valid. layout.dp must be set
// (> 0); the model must satisfy its own rules (heads divisible by query groups, ...).
std::optional<LayoutProblem> check_layout(const Layout& layout, const TransformerConfig& model,
                                          const Training& training, std::int64_t num_gpus);

}  // namespace ptsim::strategies

#include "ptsim/strategies/layout_rules.h"

#include <string>
#include <utility>

namespace ptsim::strategies {
namespace {

std::string str(std::int64_t x) { return std::to_string(x); }

LayoutProblem problem(LayoutRule rule, std::string field, std::string message) {
  return LayoutProblem{rule, std::move(field), std::move(message)};
}

}  // namespace

std::string_view to_string(LayoutRule rule) {
  switch (rule) {
    case LayoutRule::gpu_count: return "dp x tp x pp x cp is not the GPU count";
    case LayoutRule::ep_needs_moe: return "ep > 1 needs a mixture-of-experts model";
    case LayoutRule::ep_divides: return "ep does not divide num_experts or dp x cp";
    case LayoutRule::cp_sequence: return "seq_length not divisible by 2 x cp";
    case LayoutRule::cp_attention: return "cp needs flash attention";
    case LayoutRule::tp_divides: return "tp does not divide heads, query groups or ffn_hidden_size";
    case LayoutRule::uneven_stages: return "uneven first/last stage layers do not split";
    case LayoutRule::pp_divides: return "pp does not divide num_layers";
    case LayoutRule::batch_divides: return "dp x micro_batch_size does not divide global_batch_size";
    case LayoutRule::virtual_stages: return "virtual_stages: needs 1f1b, pp >= 2 and divisibility";
    case LayoutRule::zero_stage: return "zero_stage: not 0..3, or not allowed with reshard_after_forward / zb-h1";
    case LayoutRule::tp_comm_overlap: return "tp_comm_overlap needs sequence_parallel";
    case LayoutRule::sequence_parallel: return "sequence_parallel needs seq_length divisible by tp";
  }
  return "?";
}

std::optional<LayoutProblem> check_layout(const Layout& l, const TransformerConfig& m, const Training& t,
                                          std::int64_t num_gpus) {
  // Every size is at most 2^31 - 1 (io/ checks), so products of two fit; guard the rest.
  const std::string cp_term = l.cp > 1 ? " x cp (" + str(l.cp) + ")" : "";
  std::int64_t tp_pp = 0;
  std::int64_t product = 0;
  const bool overflow = __builtin_mul_overflow(l.tp * l.pp, l.cp, &tp_pp) || __builtin_mul_overflow(l.dp, tp_pp, &product);
  if (overflow || product != num_gpus) {
    return problem(LayoutRule::gpu_count, "layout",
                   "dp (" + str(l.dp) + ") x tp (" + str(l.tp) + ")" + cp_term + " x pp (" + str(l.pp) + ") = " +
                       (overflow ? std::string("more than 2^63") : str(product)) + " does not equal cluster.num_gpus " +
                       str(num_gpus));
  }
  if (m.num_experts == 0 && l.ep > 1) {
    return problem(LayoutRule::ep_needs_moe, "layout.ep",
                   str(l.ep) + " needs a mixture-of-experts model (model.num_experts > 0)");
  }
  if (m.num_experts > 0) {
    if (m.num_experts % l.ep != 0) {
      return problem(LayoutRule::ep_divides, "layout.ep",
                     str(l.ep) + " does not divide model.num_experts " + str(m.num_experts));
    }
    if ((l.dp * l.cp) % l.ep != 0) {
      return problem(LayoutRule::ep_divides, "layout.ep",
                     str(l.ep) + " does not divide dp (" + str(l.dp) + ") x cp (" + str(l.cp) + ") = " +
                         str(l.dp * l.cp) + ": experts are split over data-parallel ranks");
    }
  }
  if (l.cp > 1) {
    if (t.seq_length % (2 * l.cp) != 0) {
      return problem(LayoutRule::cp_sequence, "layout.cp",
                     str(l.cp) + " needs training.seq_length " + str(t.seq_length) + " divisible by 2 x cp = " +
                         str(2 * l.cp) + " (load-balanced causal chunks)");
    }
    if (t.attention != AttentionKernel::flash) {
      return problem(LayoutRule::cp_attention, "layout.cp", str(l.cp) + " needs training.attention flash");
    }
  }
  const std::pair<const char*, std::int64_t> tp_divides[] = {
      {"num_attention_heads", m.num_attention_heads},
      {"num_query_groups", m.num_query_groups},
      {"ffn_hidden_size", m.ffn_hidden_size},
  };
  for (const auto& [name, value] : tp_divides) {
    if (value % l.tp != 0) {
      return problem(LayoutRule::tp_divides, "layout.tp",
                     str(l.tp) + " does not divide model." + name + " " + str(value));
    }
  }
  const std::int64_t first_n = l.num_layers_in_first_pipeline_stage;
  const std::int64_t last_n = l.num_layers_in_last_pipeline_stage;
  if (first_n > 0 || last_n > 0) {
    const std::string field =
        first_n > 0 ? "layout.num_layers_in_first_pipeline_stage" : "layout.num_layers_in_last_pipeline_stage";
    if (l.pp < 2) return problem(LayoutRule::uneven_stages, field, "needs layout.pp of at least 2");
    if (l.virtual_stages > 1) {
      // Megatron-LM: each stage's layers split evenly over its model chunks.
      for (const auto& [name, n] : {std::pair<const char*, std::int64_t>{"first", first_n}, {"last", last_n}}) {
        if (n > 0 && n % l.virtual_stages != 0) {
          return problem(LayoutRule::uneven_stages, std::string("layout.num_layers_in_") + name + "_pipeline_stage",
                         str(n) + " is not divisible by layout.virtual_stages " + str(l.virtual_stages) +
                             " (each stage's layers are split evenly over its model chunks)");
        }
      }
    }
    const std::int64_t rest = m.num_layers - first_n - last_n;
    const std::int64_t even_stages = l.pp - (first_n > 0 ? 1 : 0) - (last_n > 0 ? 1 : 0);
    if (rest < 0 || (even_stages == 0 && rest != 0) ||
        (even_stages > 0 && (rest < even_stages || rest % even_stages != 0))) {
      return problem(LayoutRule::uneven_stages, field,
                     "first " + str(first_n) + " + last " + str(last_n) + " leave " + str(rest) +
                         " of model.num_layers " + str(m.num_layers) + " for the other " + str(even_stages) +
                         " stages, which must split them evenly, at least one each");
    }
  } else if (m.num_layers % l.pp != 0) {
    return problem(LayoutRule::pp_divides, "layout.pp",
                   str(l.pp) + " does not divide model.num_layers " + str(m.num_layers));
  }
  const std::int64_t per_step = l.dp * l.micro_batch_size;
  if (t.global_batch_size % per_step != 0) {
    return problem(LayoutRule::batch_divides, "training.global_batch_size",
                   str(t.global_batch_size) + " is not divisible by dp (" + str(l.dp) + ") x micro_batch_size (" +
                       str(l.micro_batch_size) + ") = " + str(per_step));
  }
  if (l.virtual_stages > 1) {
    const std::string v = str(l.virtual_stages);
    if (l.schedule != Schedule::one_f_one_b) {
      return problem(LayoutRule::virtual_stages, "layout.virtual_stages", v + " needs layout.schedule 1f1b (interleaved)");
    }
    if (l.pp < 2) return problem(LayoutRule::virtual_stages, "layout.virtual_stages", v + " needs layout.pp of at least 2");
    const bool uneven = first_n > 0 || last_n > 0;
    const std::int64_t middle_stages = l.pp - (first_n > 0 ? 1 : 0) - (last_n > 0 ? 1 : 0);
    const std::int64_t middle_layers = m.num_layers - first_n - last_n;
    if (uneven && middle_stages > 0 && middle_layers % (middle_stages * l.virtual_stages) != 0) {
      return problem(LayoutRule::virtual_stages, "layout.virtual_stages",
                     v + " does not divide the " + str(middle_layers / middle_stages) + " layers of each of the " +
                         str(middle_stages) +
                         " middle stages (model.num_layers minus the first and last stages' layers, split evenly)");
    }
    if (!uneven && m.num_layers % (l.pp * l.virtual_stages) != 0) {
      return problem(LayoutRule::virtual_stages, "layout.virtual_stages",
                     "pp (" + str(l.pp) + ") x virtual_stages (" + v + ") = " + str(l.pp * l.virtual_stages) +
                         " does not divide model.num_layers " + str(m.num_layers));
    }
    const std::int64_t microbatches = t.global_batch_size / per_step;
    if (microbatches % l.pp != 0) {
      return problem(LayoutRule::virtual_stages, "layout.virtual_stages",
                     "the interleaved schedule needs micro-batches per pipeline (" + str(microbatches) +
                         ") divisible by pp (" + str(l.pp) + ")");
    }
  }
  if (l.zero_stage > 3 || l.zero_stage < 0) {
    return problem(LayoutRule::zero_stage, "layout.zero_stage", str(l.zero_stage) + " is not 0, 1, 2 or 3");
  }
  if (!l.reshard_after_forward && l.zero_stage != 3) {
    return problem(LayoutRule::zero_stage, "layout.reshard_after_forward",
                   "false needs layout.zero_stage 3 (FSDP); zero_stage is " + str(l.zero_stage));
  }
  if (l.schedule == Schedule::zb_h1 && l.zero_stage == 3) {
    return problem(LayoutRule::zero_stage, "layout.schedule",
                   "zb-h1 is not supported with layout.zero_stage 3 (FSDP gathers parameters per pass; ZB-H1 defers "
                   "weight gradients past them)");
  }
  if (l.tp_comm_overlap && !l.sequence_parallel) {
    return problem(LayoutRule::tp_comm_overlap, "layout.tp_comm_overlap",
                   "needs layout.sequence_parallel (it overlaps the all-gathers and reduce-scatters sequence "
                   "parallelism uses)");
  }
  if (l.sequence_parallel && t.seq_length % l.tp != 0) {
    return problem(LayoutRule::sequence_parallel, "layout.sequence_parallel",
                   "needs training.seq_length " + str(t.seq_length) + " divisible by tp " + str(l.tp));
  }
  return std::nullopt;
}

}  // namespace ptsim::strategies

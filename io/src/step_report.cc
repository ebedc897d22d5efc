#include "ptsim/io/step_report.h"

#include <fmt/format.h>

#include "ptsim/strategies/layer_graph.h"

namespace ptsim::io {
namespace {

using nlohmann::json;
using strategies::Breakdown;

json breakdown_json(const Breakdown& b) {
  return json{{"compute", b.compute_s},
              {"recompute", b.recompute_s},
              {"bubble", b.bubble_s},
              {"exposed_comm", {{"tp", b.exposed_tp_s}, {"dp", b.exposed_dp_s}, {"pp", b.exposed_pp_s},
                                {"cp", b.exposed_cp_s}, {"ep", b.exposed_ep_s}}},
              {"optimizer", b.optimizer_s}};
}

std::string seconds(double s) {
  if (s == 0) return "0 s";
  if (s >= 1) return fmt::format("{:.3f} s", s);
  if (s >= 1e-3) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.3f} us", s * 1e6);
}

std::string count(double x) {
  if (x >= 1e12) return fmt::format("{:.2f} T", x / 1e12);
  if (x >= 1e9) return fmt::format("{:.2f} B", x / 1e9);
  if (x >= 1e6) return fmt::format("{:.2f} M", x / 1e6);
  if (x >= 1e3) return fmt::format("{:.2f} K", x / 1e3);
  return fmt::format("{:.0f}", x);
}

json memory_kinds_json(const strategies::MemoryByKind& k) {
  return json{{"parameters", k.parameters},           {"gradients", k.gradients},
              {"optimizer_states", k.optimizer_states}, {"activations", k.activations},
              {"logits", k.logits},                   {"runtime_reserved", k.runtime_reserved},
              {"allocator_overhead", k.allocator_overhead}};
}

json memory_json(const strategies::MemoryReport& m) {
  json stages = json::array();
  for (const auto& st : m.stages) {
    stages.push_back({{"stage", st.stage},
                      {"total_bytes", st.bytes.total()},
                      {"microbatches_in_flight", st.microbatches_in_flight},
                      {"activation_bytes_per_microbatch", st.activation_bytes_per_microbatch},
                      {"by_kind_bytes", memory_kinds_json(st.bytes)}});
  }
  return json{{"peak_bytes", m.peak_bytes},
              {"peak_stage", m.peak_stage},
              {"capacity_bytes", m.capacity_bytes},
              {"fits", m.fits},
              {"stages", stages}};
}

std::string gib(double bytes) { return fmt::format("{:.1f} GiB", bytes / (1024.0 * 1024 * 1024)); }

}  // namespace

json step_report_json(const strategies::Scenario& s, const strategies::StepResult& r) {
  json stages = json::array();
  for (const auto& st : r.stages) {
    stages.push_back({{"stage", st.stage},
                      {"rank", st.rank},
                      {"num_layers", st.num_layers},
                      {"parameters", st.parameters},
                      {"forward_s", st.forward_s},
                      {"backward_s", st.backward_s},
                      {"breakdown_s", breakdown_json(st.breakdown)}});
  }
  return json{
      {"scenario", s.name},
      {"model", s.model.name},
      {"gpu", s.cluster.gpu.name},
      {"num_gpus", r.num_gpus},
      {"layout", {{"tp", s.layout.tp}, {"pp", s.layout.pp}, {"dp", s.layout.dp}, {"cp", s.layout.cp}, {"ep", s.layout.ep},
                  {"micro_batch_size", s.layout.micro_batch_size},
                  {"num_microbatches", r.num_microbatches},
                  {"schedule", std::string(strategies::to_string(s.layout.schedule))},
                  {"recompute", std::string(strategies::to_string(s.layout.recompute))},
                  {"sequence_parallel", s.layout.sequence_parallel},
                  {"zero_stage", s.layout.zero_stage},
                  {"overlap_grad_reduce", s.layout.overlap_grad_reduce},
                  {"tp_comm_overlap", s.layout.tp_comm_overlap},
                  {"pipeline_scatter_gather", s.layout.pipeline_scatter_gather},
                  {"virtual_stages", s.layout.virtual_stages},
                  {"num_layers_in_first_pipeline_stage", s.layout.num_layers_in_first_pipeline_stage},
                  {"num_layers_in_last_pipeline_stage", s.layout.num_layers_in_last_pipeline_stage}}},
      {"step_time_s", r.step_time.seconds()},
      {"step_time_ns", r.step_time.count_ns()},
      {"tokens_per_step", r.tokens_per_step},
      {"tokens_per_s", r.tokens_per_s},
      {"tokens_per_s_per_gpu", r.tokens_per_s_per_gpu},
      {"parameters", r.parameters_total},
      {"model_flops_per_step", r.model_flops_per_step},
      {"hardware_flops_per_step", r.hardware_flops_per_step},
      {"model_tflops_per_gpu", r.model_tflops_per_gpu},
      {"hardware_tflops_per_gpu", r.hardware_tflops_per_gpu},
      {"mfu", r.mfu},
      {"hfu", r.hfu},
      {"breakdown_s", breakdown_json(r.breakdown)},
      {"breakdown_stage", r.breakdown_stage},
      {"stages", stages},
      {"memory", memory_json(r.memory)},
      {"events", r.events},
      {"tasks", r.tasks},
      {"simulated_ranks", r.simulated_ranks},
      {"simulation_mode", r.full ? "full" : "collapsed"},
  };
}

std::string step_report_table(const strategies::Scenario& s, const strategies::StepResult& r) {
  std::string out;
  auto line = [&out](std::string_view label, const std::string& value) {
    out += fmt::format("  {:<22}{}\n", label, value);
  };
  out += fmt::format("ptsim simulate: {}\n", s.name);
  if (s.graph) {
    line("model", fmt::format("{} ({} parameters, {} layers, layer graph)", s.graph->name(), count(r.parameters_total),
                              s.graph->num_layers()));
  } else {
    line("model", fmt::format("{} ({} parameters, {} layers, hidden {})", s.model.name, count(r.parameters_total),
                              s.model.num_layers, s.model.hidden_size));
  }
  line("cluster", fmt::format("{} x {} ({} nodes of {})", r.num_gpus, s.cluster.gpu.name, s.cluster.num_nodes,
                              s.cluster.gpus_per_node));
  line("layout", fmt::format("tp {}{} x pp {} x dp {}, {}{} schedule, recompute {}{}{}", s.layout.tp,
                             s.layout.cp > 1 ? fmt::format(" x cp {} ({})", s.layout.cp, strategies::to_string(s.layout.cp_comm)) : "",
                             s.layout.pp, s.layout.ep > 1 ? fmt::format("{} (ep {})", s.layout.dp, s.layout.ep) : std::to_string(s.layout.dp), strategies::to_string(s.layout.schedule),
                             s.layout.virtual_stages > 1 ? fmt::format(" interleaved x{}", s.layout.virtual_stages) : "",
                             strategies::to_string(s.layout.recompute),
                             s.layout.sequence_parallel ? ", sequence parallel" : "",
                             s.layout.zero_stage > 0 ? fmt::format(", ZeRO-{}{}", s.layout.zero_stage,
                                                                   s.layout.reshard_after_forward ? "" : " (no reshard after forward)")
                                                     : ""));
  line("batch", fmt::format("global {} x seq {}, micro-batch {}, {} micro-batches per pipeline",
                            s.training.global_batch_size, s.training.seq_length, s.layout.micro_batch_size,
                            r.num_microbatches));
  out += "\n";
  line("step time", seconds(r.step_time.seconds()));
  line("throughput", fmt::format("{} tokens/s ({:.1f} tokens/s per GPU)", count(r.tokens_per_s),
                                 r.tokens_per_s_per_gpu));
  line("model TFLOP/s per GPU", fmt::format("{:.1f}  (MFU {:.1f}%)", r.model_tflops_per_gpu, 100 * r.mfu));
  line("hw TFLOP/s per GPU", fmt::format("{:.1f}  (HFU {:.1f}%)", r.hardware_tflops_per_gpu, 100 * r.hfu));
  out += "\n";
  out += fmt::format("  where the time goes (stage {}, the busiest):\n", r.breakdown_stage);
  const Breakdown& b = r.breakdown;
  const double total = r.step_time.seconds();
  auto row = [&](std::string_view name, double v) {
    out += fmt::format("    {:<20}{:>12}  {:5.1f}%\n", name, seconds(v), total > 0 ? 100 * v / total : 0.0);
  };
  row("compute", b.compute_s);
  row("recompute", b.recompute_s);
  row("pipeline bubble", b.bubble_s);
  row("exposed TP comm", b.exposed_tp_s);
  if (s.layout.cp > 1) row("exposed CP comm", b.exposed_cp_s);
  if (s.layout.ep > 1) row("exposed EP comm", b.exposed_ep_s);
  row("exposed PP comm", b.exposed_pp_s);
  row("exposed DP comm", b.exposed_dp_s);
  row("optimizer", b.optimizer_s);
  out += "\n";
  const auto& mem = r.memory;
  const auto& peak = mem.stages[static_cast<std::size_t>(mem.peak_stage)].bytes;
  out += fmt::format("  memory per GPU (stage {}, the fullest): {} of {}{}\n", mem.peak_stage, gib(mem.peak_bytes),
                     gib(mem.capacity_bytes), mem.fits ? "" : "  -- DOES NOT FIT");
  auto mrow = [&](std::string_view name, double v) { out += fmt::format("    {:<20}{:>12}\n", name, gib(v)); };
  mrow("parameters", peak.parameters);
  mrow("gradients", peak.gradients);
  mrow("optimizer states", peak.optimizer_states);
  mrow("activations", peak.activations);
  mrow("logits", peak.logits);
  mrow("runtime reserved", peak.runtime_reserved);
  mrow("allocator overhead", peak.allocator_overhead);
  out += "\n";
  line("simulated", fmt::format("{} ranks ({}), {} tasks, {} events", r.simulated_ranks,
                                r.full ? "every rank" : "one per stage", r.tasks, r.events));
  return out;
}

}  // namespace ptsim::io

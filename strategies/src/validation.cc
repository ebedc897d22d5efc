#include "ptsim/strategies/validation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ptsim::strategies {

std::optional<ValidationQuantity> parse_validation_quantity(std::string_view name) {
  for (ValidationQuantity q : {ValidationQuantity::tflops_per_gpu_eq3, ValidationQuantity::iteration_time_s,
                               ValidationQuantity::model_tflops_per_gpu, ValidationQuantity::layer_forward_ms,
                               ValidationQuantity::layer_backward_ms}) {
    if (to_string(q) == name) return q;
  }
  return std::nullopt;
}

std::string_view to_string(ValidationQuantity q) {
  switch (q) {
    case ValidationQuantity::tflops_per_gpu_eq3: return "tflops_per_gpu_eq3";
    case ValidationQuantity::iteration_time_s: return "iteration_time_s";
    case ValidationQuantity::model_tflops_per_gpu: return "model_tflops_per_gpu";
    case ValidationQuantity::layer_forward_ms: return "layer_forward_ms";
    case ValidationQuantity::layer_backward_ms: return "layer_backward_ms";
  }
  return "?";
}

double predicted_quantity(ValidationQuantity q, const Scenario& s, const StepResult& r) {
  switch (q) {
    case ValidationQuantity::iteration_time_s:
      return r.step_time.seconds();
    case ValidationQuantity::model_tflops_per_gpu:
      return r.model_tflops_per_gpu;
    case ValidationQuantity::layer_forward_ms:
      return r.stages.empty() ? 0.0 : 1e3 * r.stages.front().layer_forward_s;
    case ValidationQuantity::layer_backward_ms:
      return r.stages.empty() ? 0.0 : 1e3 * r.stages.front().layer_backward_s;
    case ValidationQuantity::tflops_per_gpu_eq3: {
      const double B = static_cast<double>(s.training.global_batch_size);
      const double seq = static_cast<double>(s.training.seq_length);
      const double l = static_cast<double>(s.model.num_layers);
      const double h = static_cast<double>(s.model.hidden_size);
      const double V = static_cast<double>(s.model.vocab_size);
      const double flops = 96 * B * seq * l * h * h * (1 + seq / (6 * h) + V / (16 * l * h));
      return flops / (r.step_time.seconds() * static_cast<double>(r.num_gpus)) / 1e12;
    }
  }
  return 0;
}

ValidationSummary summarize(const std::vector<ValidationRowResult>& rows) {
  ValidationSummary out;
  if (rows.empty()) return out;
  double total = 0;
  for (const auto& row : rows) {
    total += std::abs(row.error);
    if (std::abs(row.error) >= std::abs(out.worst_error)) {
      out.worst_error = row.error;
      out.worst_row = row.name;
    }
  }
  out.mean_absolute_error = total / static_cast<double>(rows.size());
  return out;
}

void add_speedup(ValidationSummary& summary, const std::vector<ValidationRowResult>& rows, const std::string& row,
                 const std::string& baseline) {
  auto find = [&](const std::string& name) {
    return std::find_if(rows.begin(), rows.end(), [&](const ValidationRowResult& r) { return r.name == name; });
  };
  const auto r = find(row);
  const auto b = find(baseline);
  if (r == rows.end() || b == rows.end()) return;
  ValidationSpeedup s{row, baseline, b->predicted / r->predicted - 1, b->measured / r->measured - 1};
  summary.worst_speedup_error = std::max(summary.worst_speedup_error, std::abs(s.predicted - s.measured));
  summary.speedups.push_back(std::move(s));
}

std::vector<std::string> exceeded_bounds(const ValidationSummary& summary, const ValidationBounds& bounds) {
  std::vector<std::string> out;
  auto check = [&](const char* what, double value, double bound, const char* unit) {
    if (bound > 0 && value > bound) {
      char line[160];
      std::snprintf(line, sizeof line, "%s %.1f%s > %.1f%s", what, 100 * value, unit, 100 * bound, unit);
      out.emplace_back(line);
    }
  };
  check("mean absolute error", summary.mean_absolute_error, bounds.mean_absolute_error, "%");
  check("worst row error", std::abs(summary.worst_error), bounds.max_absolute_error, "%");
  check("worst speed-up error", summary.worst_speedup_error, bounds.speedup_error, " points");
  return out;
}

}  // namespace ptsim::strategies

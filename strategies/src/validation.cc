#include "ptsim/strategies/validation.h"

#include <cmath>

namespace ptsim::strategies {

std::optional<ValidationQuantity> parse_validation_quantity(std::string_view name) {
  for (ValidationQuantity q : {ValidationQuantity::tflops_per_gpu_eq3, ValidationQuantity::iteration_time_s,
                               ValidationQuantity::model_tflops_per_gpu}) {
    if (to_string(q) == name) return q;
  }
  return std::nullopt;
}

std::string_view to_string(ValidationQuantity q) {
  switch (q) {
    case ValidationQuantity::tflops_per_gpu_eq3: return "tflops_per_gpu_eq3";
    case ValidationQuantity::iteration_time_s: return "iteration_time_s";
    case ValidationQuantity::model_tflops_per_gpu: return "model_tflops_per_gpu";
  }
  return "?";
}

double predicted_quantity(ValidationQuantity q, const Scenario& s, const StepResult& r) {
  switch (q) {
    case ValidationQuantity::iteration_time_s:
      return r.step_time.seconds();
    case ValidationQuantity::model_tflops_per_gpu:
      return r.model_tflops_per_gpu;
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

}  // namespace ptsim::strategies

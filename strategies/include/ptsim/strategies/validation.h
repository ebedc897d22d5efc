// Predicted-versus-measured for published runs: the quantity each source reports, computed
// from a simulated step the way that source computes it, and the error statistics
// `ptsim validate` prints. Which rows exist is data (scenarios/validation/); nothing here
// is tuned per row.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ptsim/strategies/scenario.h"
#include "ptsim/strategies/step_result.h"

namespace ptsim::strategies {

enum class ValidationQuantity {
  tflops_per_gpu_eq3,    // Narayanan et al. SC21 Eq. 3: 96 B s l h^2 (1 + s/6h + V/16lh) / (time x GPUs)
  iteration_time_s,      // seconds per step
  model_tflops_per_gpu,  // model FLOPs (no recompute) per second per GPU
};

std::optional<ValidationQuantity> parse_validation_quantity(std::string_view name);
std::string_view to_string(ValidationQuantity q);

double predicted_quantity(ValidationQuantity q, const Scenario& scenario, const StepResult& result);

struct ValidationRowResult {
  std::string name;
  double predicted = 0;
  double measured = 0;
  double error = 0;  // (predicted - measured) / measured
};

struct ValidationSummary {
  double mean_absolute_error = 0;  // MAPE as a fraction
  std::string worst_row;
  double worst_error = 0;          // signed, largest magnitude
};

ValidationSummary summarize(const std::vector<ValidationRowResult>& rows);

}  // namespace ptsim::strategies

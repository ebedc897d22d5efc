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
  layer_forward_ms,      // one transformer layer's forward, one micro-batch (first stage), ms
  layer_backward_ms,     // one transformer layer's backward including its recompute, ms
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

// A speed-up one setting gives over another of the same run (Korthikanti: selective
// recompute + SP over full recompute), measured and predicted, from two rows' iteration
// times: baseline / row - 1.
struct ValidationSpeedup {
  std::string row;
  std::string baseline;
  double predicted = 0;
  double measured = 0;
};

struct ValidationSummary {
  double mean_absolute_error = 0;  // MAPE as a fraction
  std::string worst_row;
  double worst_error = 0;          // signed, largest magnitude
  std::vector<ValidationSpeedup> speedups;
  double worst_speedup_error = 0;  // largest |predicted - measured| speed-up, as a fraction (0.05 = 5 points)
};

ValidationSummary summarize(const std::vector<ValidationRowResult>& rows);

// Speed-ups of `row` over `baseline` (row names of `rows`); appended to `summary`.
void add_speedup(ValidationSummary& summary, const std::vector<ValidationRowResult>& rows, const std::string& row,
                 const std::string& baseline);

// Error bounds of one set, as fractions; 0 = no bound. `target` is what the project aims
// for (issue 7); `guard` is the level the model has reached, which a change must not lose.
struct ValidationBounds {
  double mean_absolute_error = 0;
  double max_absolute_error = 0;
  double speedup_error = 0;
};

struct ValidationTargets {
  ValidationBounds target;
  ValidationBounds guard;
};

// Which bounds a summary exceeds, one line each ("mean absolute error 13.3% > 8.0%");
// empty when all hold.
std::vector<std::string> exceeded_bounds(const ValidationSummary& summary, const ValidationBounds& bounds);

}  // namespace ptsim::strategies

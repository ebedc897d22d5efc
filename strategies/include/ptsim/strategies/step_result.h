// What one simulated training step produced: step time, throughput, FLOP/s utilisation and
// where the time went, for the whole step and per pipeline stage. Plain data; io/ turns it
// into JSON and tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ptsim/sim/time.h"
#include "ptsim/strategies/memory_model.h"

namespace ptsim::strategies {

// Where one rank's step time went. Every instant of [0, step_time) is counted once:
// a compute-stream kernel if one runs (compute, recompute or optimizer), else exposed
// communication touching the rank (tp, cp, ep, pp, dp in that order), else bubble (idle).
struct Breakdown {
  double compute_s = 0;
  double recompute_s = 0;
  double bubble_s = 0;
  double optimizer_s = 0;
  double exposed_tp_s = 0;
  double exposed_dp_s = 0;
  double exposed_pp_s = 0;
  double exposed_cp_s = 0;
  double exposed_ep_s = 0;

  double total_s() const {
    return compute_s + recompute_s + bubble_s + optimizer_s + exposed_tp_s + exposed_dp_s +
           exposed_pp_s + exposed_cp_s + exposed_ep_s;
  }
};

struct StageResult {
  int stage = 0;
  int rank = 0;                   // global rank of the simulated representative
  std::int64_t num_layers = 0;
  double parameters = 0;          // parameters held by one GPU of this stage
  double forward_s = 0;           // one micro-batch, kernels and TP communication
  double backward_s = 0;          // one micro-batch, including recompute
  double layer_forward_s = 0;     // one transformer layer of forward_s (kernels + TP communication)
  double layer_backward_s = 0;    // one transformer layer of backward_s (including its recompute)
  Breakdown breakdown;
};

struct StepResult {
  sim::Time step_time;
  std::int64_t num_gpus = 0;
  std::int64_t num_microbatches = 0;
  double tokens_per_step = 0;
  double tokens_per_s = 0;
  double tokens_per_s_per_gpu = 0;
  double parameters_total = 0;
  double model_flops_per_step = 0;     // forward + backward, no recompute (MFU numerator)
  double hardware_flops_per_step = 0;  // including recompute (HFU numerator)
  double model_tflops_per_gpu = 0;
  double hardware_tflops_per_gpu = 0;
  double mfu = 0;
  double hfu = 0;
  Breakdown breakdown;                 // of the busiest stage, `breakdown_stage`
  int breakdown_stage = 0;
  std::vector<StageResult> stages;
  MemoryReport memory;                 // per GPU; `memory.fits` false: the layout does not fit
  std::uint64_t events = 0;
  std::uint64_t tasks = 0;
  int simulated_ranks = 0;
  bool full = false;             // every rank simulated (--full, or the automatic fallback)
  std::string fallback_reason;   // why the automatic mode simulated every rank, else empty
};

}  // namespace ptsim::strategies

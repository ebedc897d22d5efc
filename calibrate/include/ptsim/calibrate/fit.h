// Measurements -> HardwareProfile: GEMM tables on the measured grid with their median
// efficiency, bandwidth curves, the attention efficiency, and per collective and group
// shape the time curve with a least-squares alpha-beta fit and its residual.
#pragma once

#include <span>

#include "ptsim/costmodel/hardware.h"
#include "ptsim/costmodel/measurements.h"
#include "ptsim/costmodel/profile.h"

namespace ptsim::calibrate {

struct AlphaBeta {
  double alpha_s = 0;
  double beta_s_per_byte = 0;
  double rms_relative_residual = 0;  // sqrt(mean(((alpha + beta x - t) / t)^2))
};

// Minimises the sum of squared relative errors ((alpha + beta x_i - t_i) / t_i)^2, so
// small messages (latency) weigh as much as large ones (bandwidth). Needs two distinct x.
AlphaBeta fit_alpha_beta(std::span<const double> bytes, std::span<const double> time_s);

// Merges several measurement sets (device fields and sources concatenated in order).
costmodel::Measurements merge(std::span<const costmodel::Measurements> parts);

// `gpu` is the preset the measurements were taken on: its peaks turn times into
// efficiencies. Throws io::InputError naming what is missing or inconsistent (an
// incomplete GEMM grid, a collective with one size, a dtype the GPU does not support).
costmodel::HardwareProfile fit_profile(const costmodel::Measurements& m, const costmodel::GpuSpec& gpu);

}  // namespace ptsim::calibrate

// Writes a simulated timeline in the Chrome trace event format, which ui.perfetto.dev and
// chrome://tracing open: one process per simulated rank, one thread per stream, one
// complete ("X") event per task with its layer and micro-batch in args. Timestamps are the
// engine's integer nanoseconds printed exactly as microseconds with three decimals.
#pragma once

#include <ostream>

#include "ptsim/strategies/step_metrics.h"

namespace ptsim::io {

void write_chrome_trace(std::ostream& out, const strategies::SimulatedStep& step);

}  // namespace ptsim::io

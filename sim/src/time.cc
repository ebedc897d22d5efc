#include "ptsim/sim/time.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace ptsim::sim {

Time Time::from_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0.0) {
    throw std::out_of_range("simulated duration must be finite and >= 0, got " +
                            std::to_string(seconds) + " s");
  }
  const double ns = std::nearbyint(seconds * 1e9);
  // 2^63 is exactly representable; anything at or above it does not fit.
  if (ns >= 9.223372036854775808e18) {
    throw TimeOverflow("simulated duration " + std::to_string(seconds) + " s exceeds the 64-bit nanosecond range");
  }
  return Time::ns(static_cast<std::int64_t>(ns));
}

}  // namespace ptsim::sim

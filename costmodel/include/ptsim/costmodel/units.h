// Named unit constructors, so presets and parameters read in the units of their source
// (TFLOP/s, GB/s, Gb/s, GiB) without literal multipliers scattered through the code.
// Decimal prefixes for rates (as spec sheets use them), binary for memory capacities.
#pragma once

#include <cstdint>

namespace ptsim::costmodel::units {

constexpr double tflops(double x) { return x * 1e12; }
constexpr double gb_per_s(double x) { return x * 1e9; }        // gigabytes per second
constexpr double tb_per_s(double x) { return x * 1e12; }       // terabytes per second
constexpr double gbit_per_s(double x) { return x * 1e9 / 8; }  // gigabits per second, in bytes/s
constexpr double gib(double x) { return x * 1024.0 * 1024.0 * 1024.0; }
constexpr double gb(double x) { return x * 1e9; }
constexpr double microseconds(double x) { return x * 1e-6; }   // in seconds

}  // namespace ptsim::costmodel::units

// Simulated time: a signed 64-bit count of nanoseconds behind a strong type.
// Simulated time is never a double; conversion from seconds happens once, at the edge,
// with round-to-nearest, and refuses values that do not fit (about +/-292 years).
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <ostream>

namespace ptsim::sim {

class Time {
 public:
  constexpr Time() = default;

  static constexpr Time ns(std::int64_t count) { return Time(count); }
  static constexpr Time us(std::int64_t count) { return Time(count * 1000); }
  static constexpr Time ms(std::int64_t count) { return Time(count * 1000 * 1000); }
  static constexpr Time zero() { return Time(0); }
  static constexpr Time max() { return Time(std::numeric_limits<std::int64_t>::max()); }

  // Rounds to the nearest nanosecond. Throws std::out_of_range for NaN, infinities,
  // negative values and values beyond max(): simulated durations are finite and >= 0.
  static Time from_seconds(double seconds);

  constexpr std::int64_t count_ns() const { return ns_; }
  constexpr double seconds() const { return static_cast<double>(ns_) * 1e-9; }

  constexpr Time& operator+=(Time other) { ns_ += other.ns_; return *this; }
  constexpr Time& operator-=(Time other) { ns_ -= other.ns_; return *this; }
  friend constexpr Time operator+(Time a, Time b) { return Time(a.ns_ + b.ns_); }
  friend constexpr Time operator-(Time a, Time b) { return Time(a.ns_ - b.ns_); }
  friend constexpr Time operator*(Time a, std::int64_t k) { return Time(a.ns_ * k); }
  friend constexpr Time operator*(std::int64_t k, Time a) { return Time(a.ns_ * k); }
  friend constexpr auto operator<=>(Time a, Time b) = default;

 private:
  constexpr explicit Time(std::int64_t count) : ns_(count) {}
  std::int64_t ns_ = 0;
};

// Readable test failures and logs: "1234567 ns".
inline std::ostream& operator<<(std::ostream& os, Time t) { return os << t.count_ns() << " ns"; }

}  // namespace ptsim::sim

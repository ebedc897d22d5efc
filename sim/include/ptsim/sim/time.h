// Simulated time: a signed 64-bit count of nanoseconds behind a strong type.
// Simulated time is never a double; conversion from seconds happens once, at the edge,
// with round-to-nearest, and refuses values that do not fit (about +/-292 years).
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <ostream>
#include <stdexcept>

namespace ptsim::sim {

// A duration or a point in time beyond the clock's range (about 292 years): the input asked
// for an absurd simulation (apps report it as bad input), not a broken invariant.
class TimeOverflow : public std::out_of_range {
 public:
  using std::out_of_range::out_of_range;
};

class Time {
 public:
  constexpr Time() = default;

  static constexpr Time ns(std::int64_t count) { return Time(count); }
  static constexpr Time us(std::int64_t count) { return Time(count * 1000); }
  static constexpr Time ms(std::int64_t count) { return Time(count * 1000 * 1000); }
  static constexpr Time zero() { return Time(0); }
  static constexpr Time max() { return Time(std::numeric_limits<std::int64_t>::max()); }

  // Rounds to the nearest nanosecond. Throws std::out_of_range for NaN, infinities and
  // negative values (simulated durations are finite and >= 0), TimeOverflow for values
  // beyond max().
  static Time from_seconds(double seconds);

  constexpr std::int64_t count_ns() const { return ns_; }
  constexpr double seconds() const { return static_cast<double>(ns_) * 1e-9; }

  // Sums and products that leave the 64-bit range throw TimeOverflow instead of wrapping.
  constexpr Time& operator+=(Time other) { return *this = *this + other; }
  constexpr Time& operator-=(Time other) { return *this = *this - other; }
  friend constexpr Time operator+(Time a, Time b) { return checked(__builtin_add_overflow(a.ns_, b.ns_, &a.ns_), a); }
  friend constexpr Time operator-(Time a, Time b) { return checked(__builtin_sub_overflow(a.ns_, b.ns_, &a.ns_), a); }
  friend constexpr Time operator*(Time a, std::int64_t k) { return checked(__builtin_mul_overflow(a.ns_, k, &a.ns_), a); }
  friend constexpr Time operator*(std::int64_t k, Time a) { return a * k; }
  friend constexpr auto operator<=>(Time a, Time b) = default;

 private:
  constexpr explicit Time(std::int64_t count) : ns_(count) {}
  static constexpr Time checked(bool overflowed, Time t) {
    if (overflowed) throw TimeOverflow("simulated time beyond the 64-bit nanosecond range (292 years)");
    return t;
  }
  std::int64_t ns_ = 0;
};

// Readable test failures and logs: "1234567 ns".
inline std::ostream& operator<<(std::ostream& os, Time t) { return os << t.count_ns() << " ns"; }

}  // namespace ptsim::sim

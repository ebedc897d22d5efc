#include "ptsim/sim/time.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace ptsim::sim {
namespace {

TEST(Time, ArithmeticIsExactIntegerNanoseconds) {
  EXPECT_EQ((Time::us(3) + Time::ns(7)).count_ns(), 3007);
  EXPECT_EQ((Time::ms(2) - Time::us(1)).count_ns(), 1'999'000);
  EXPECT_EQ((Time::ns(5) * 4).count_ns(), 20);
  EXPECT_LT(Time::ns(1), Time::ns(2));
}

TEST(Time, FromSecondsRoundsToNearestNanosecond) {
  EXPECT_EQ(Time::from_seconds(1.5e-9).count_ns(), 2);
  EXPECT_EQ(Time::from_seconds(1.4e-9).count_ns(), 1);
  EXPECT_EQ(Time::from_seconds(2.0).count_ns(), 2'000'000'000);
  EXPECT_DOUBLE_EQ(Time::ns(1'500'000'000).seconds(), 1.5);
}

TEST(Time, FromSecondsRejectsNonPhysicalValues) {
  EXPECT_THROW(Time::from_seconds(-1e-9), std::out_of_range);
  EXPECT_THROW(Time::from_seconds(std::nan("")), std::out_of_range);
  EXPECT_THROW(Time::from_seconds(std::numeric_limits<double>::infinity()), std::out_of_range);
  EXPECT_THROW(Time::from_seconds(1e12), std::out_of_range);
}

}  // namespace
}  // namespace ptsim::sim

namespace ptsim::sim {
namespace {

TEST(TimeOverflowTest, SumsAndProductsBeyondTheRangeThrowInsteadOfWrapping) {
  EXPECT_THROW(Time::max() + Time::ns(1), TimeOverflow);
  EXPECT_THROW(Time::ns(-2) - Time::max(), TimeOverflow);
  EXPECT_THROW(Time::ns(std::int64_t{1} << 62) * 2, TimeOverflow);
  EXPECT_THROW(Time::from_seconds(1e12), TimeOverflow);
  Time t = Time::max() - Time::ns(5);
  EXPECT_THROW(t += Time::ns(6), TimeOverflow);
  EXPECT_EQ((Time::max() - Time::ns(5) + Time::ns(5)).count_ns(), Time::max().count_ns());
}

}  // namespace
}  // namespace ptsim::sim

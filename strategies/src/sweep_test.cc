#include "ptsim/strategies/sweep.h"

#include <gtest/gtest.h>

namespace ptsim::strategies {
namespace {

using Values = std::vector<std::string>;

TEST(SweepSpec, GeometricIncludesStopWhenReached) {
  EXPECT_EQ(parse_sweep_spec("64:4096:x2").values, (Values{"64", "128", "256", "512", "1024", "2048", "4096"}));
  EXPECT_EQ(parse_sweep_spec("1:100:x10").values, (Values{"1", "10", "100"}));
  EXPECT_EQ(parse_sweep_spec("3:20:x3").values, (Values{"3", "9"}));
}

TEST(SweepSpec, Arithmetic) {
  EXPECT_EQ(parse_sweep_spec("1:8:+1").values, (Values{"1", "2", "3", "4", "5", "6", "7", "8"}));
  EXPECT_EQ(parse_sweep_spec("2:9:+3").values, (Values{"2", "5", "8"}));
  EXPECT_EQ(parse_sweep_spec("4:4:+1").values, (Values{"4"}));
}

TEST(SweepSpec, ListKeepsTextAndOrder) {
  EXPECT_EQ(parse_sweep_spec("1f1b,gpipe,sequential").values, (Values{"1f1b", "gpipe", "sequential"}));
  EXPECT_EQ(parse_sweep_spec("8").values, (Values{"8"}));
}

TEST(SweepSpec, MalformedSpecsSayWhy) {
  for (const char* bad : {"", "8:1:x2", "0:8:x2", "1:8:x1", "1:8:+0", "1:8:*2", "1:8", "a:8:+1", "1,,2", "1:8:x2:3",
                          "1:100000:+1"}) {
    const SweepValues v = parse_sweep_spec(bad);
    EXPECT_TRUE(v.values.empty()) << bad;
    EXPECT_FALSE(v.error.empty()) << bad;
  }
  EXPECT_NE(parse_sweep_spec("1:8:x1").error.find("factor"), std::string::npos);
}

TEST(SweepGrid, CartesianProductFirstAxisSlowest) {
  const auto grid = sweep_grid({{"tp", {"2", "4"}}, {"pp", {"1", "2", "4"}}});
  ASSERT_EQ(grid.size(), 6u);
  EXPECT_EQ(grid[0], (SweepAssignment{{"tp", "2"}, {"pp", "1"}}));
  EXPECT_EQ(grid[2], (SweepAssignment{{"tp", "2"}, {"pp", "4"}}));
  EXPECT_EQ(grid[3], (SweepAssignment{{"tp", "4"}, {"pp", "1"}}));
  EXPECT_EQ(sweep_point_label(grid[5]), "tp=4 pp=4");
  EXPECT_EQ(sweep_point_label({{"num_gpus", "64"}}), "64");
  const SweepAxis big{"x", std::vector<std::string>(kMaxSweepPoints / 2 + 1, "1")};
  EXPECT_TRUE(sweep_grid({big, {"y", {"1", "2"}}}).empty());
  EXPECT_TRUE(sweep_grid({}).empty());
}

SweepPoint point(SweepStatus status, std::int64_t gpus, double tokens_per_s) {
  SweepPoint p;
  p.status = status;
  if (status != SweepStatus::invalid) {
    StepResult r;
    r.num_gpus = gpus;
    r.tokens_per_s = tokens_per_s;
    p.result = r;
  }
  return p;
}

TEST(SweepScaling, SpeedupAndEfficiencyAgainstFirstOkPoint) {
  std::vector<SweepPoint> pts = {point(SweepStatus::invalid, 0, 0), point(SweepStatus::does_not_fit, 32, 50),
                                 point(SweepStatus::ok, 64, 100), point(SweepStatus::ok, 128, 180),
                                 point(SweepStatus::ok, 256, 400)};
  compute_scaling(pts);
  ASSERT_EQ(sweep_baseline(pts), 2u);
  EXPECT_FALSE(pts[0].speedup.has_value());
  EXPECT_DOUBLE_EQ(*pts[1].speedup, 0.5);
  EXPECT_DOUBLE_EQ(*pts[1].scaling_efficiency, 1.0);
  EXPECT_DOUBLE_EQ(*pts[2].speedup, 1.0);
  EXPECT_DOUBLE_EQ(*pts[2].scaling_efficiency, 1.0);
  EXPECT_DOUBLE_EQ(*pts[3].speedup, 1.8);
  EXPECT_DOUBLE_EQ(*pts[3].scaling_efficiency, 0.9);
  EXPECT_DOUBLE_EQ(*pts[4].speedup, 4.0);
  EXPECT_DOUBLE_EQ(*pts[4].scaling_efficiency, 1.0);
}

TEST(SweepScaling, NoBaselineLeavesScalingUnset) {
  std::vector<SweepPoint> pts = {point(SweepStatus::invalid, 0, 0), point(SweepStatus::does_not_fit, 8, 10)};
  compute_scaling(pts);
  EXPECT_FALSE(sweep_baseline(pts).has_value());
  EXPECT_FALSE(pts[1].speedup.has_value());
}

}  // namespace
}  // namespace ptsim::strategies

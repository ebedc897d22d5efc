#include "ptsim/strategies/validation.h"

#include <gtest/gtest.h>

#include "test_scenario.h"
#include "ptsim/strategies/step_metrics.h"

namespace ptsim::strategies {
namespace {

TEST(Validation, SummaryAndSpeedups) {
  const std::vector<ValidationRowResult> rows = {{"full", 1.2, 1.0, 0.2}, {"sel", 1.0, 0.8, 0.25}};
  ValidationSummary s = summarize(rows);
  EXPECT_DOUBLE_EQ(s.mean_absolute_error, 0.225);
  EXPECT_EQ(s.worst_row, "sel");
  add_speedup(s, rows, "sel", "full");
  ASSERT_EQ(s.speedups.size(), 1u);
  EXPECT_DOUBLE_EQ(s.speedups[0].predicted, 1.2 / 1.0 - 1);
  EXPECT_DOUBLE_EQ(s.speedups[0].measured, 1.0 / 0.8 - 1);
  EXPECT_DOUBLE_EQ(s.worst_speedup_error, (1.0 / 0.8 - 1) - (1.2 / 1.0 - 1));
  add_speedup(s, rows, "sel", "missing");  // unknown rows add nothing
  EXPECT_EQ(s.speedups.size(), 1u);
}

TEST(Validation, ExceededBoundsNamesEachOne) {
  ValidationSummary s;
  s.mean_absolute_error = 0.1;
  s.worst_error = -0.2;
  s.worst_speedup_error = 0.03;
  EXPECT_TRUE(exceeded_bounds(s, {}).empty());  // no bounds
  EXPECT_TRUE(exceeded_bounds(s, {0.1, 0.2, 0.03}).empty());
  const auto lines = exceeded_bounds(s, {0.08, 0.15, 0.05});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "mean absolute error 10.0% > 8.0%");
  EXPECT_EQ(lines[1], "worst row error 20.0% > 15.0%");
}

TEST(Validation, LayerTimesAreOneLayerOfTheStageBlock) {
  Scenario s = testing::make_scenario("megatron-1.7b", "dgx-a100", 2048, 8, 2, 2, 2);
  const auto step = simulate_step(s);
  const StageResult& st = step.result.stages.front();
  EXPECT_GT(st.layer_forward_s, 0);
  EXPECT_GT(st.layer_backward_s, st.layer_forward_s);  // backward GEMMs do twice the forward's FLOPs
  // The stage block is its layers plus the embedding (and head on the last stage).
  EXPECT_LE(st.layer_forward_s * static_cast<double>(st.num_layers), st.forward_s);
  EXPECT_DOUBLE_EQ(predicted_quantity(ValidationQuantity::layer_forward_ms, s, step.result), 1e3 * st.layer_forward_s);
  EXPECT_DOUBLE_EQ(predicted_quantity(ValidationQuantity::layer_backward_ms, s, step.result), 1e3 * st.layer_backward_s);
  EXPECT_EQ(parse_validation_quantity("layer_backward_ms"), ValidationQuantity::layer_backward_ms);
  EXPECT_FALSE(parse_validation_quantity("layer_ms").has_value());
}

}  // namespace
}  // namespace ptsim::strategies

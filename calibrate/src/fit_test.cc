#include "ptsim/calibrate/fit.h"

#include <cmath>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "ptsim/calibrate/nccl_tests_text.h"
#include "ptsim/io/calibration_json.h"
#include "ptsim/io/input_error.h"

namespace ptsim::calibrate {
namespace {

using costmodel::CollectiveOp;
using costmodel::Dtype;

costmodel::GpuSpec h100() { return *costmodel::find_gpu_preset("h100-sxm-80gb"); }

TEST(AlphaBeta, ExactOnSyntheticAlphaBetaData) {
  const double alpha = 7e-6, beta = 1 / 180e9;
  std::vector<double> x, t;
  for (double b = 1024; b <= 8e9; b *= 4) {
    x.push_back(b);
    t.push_back(alpha + beta * b);
  }
  const AlphaBeta f = fit_alpha_beta(x, t);
  EXPECT_NEAR(f.alpha_s, alpha, 1e-15);
  EXPECT_NEAR(f.beta_s_per_byte, beta, 1e-22);
  EXPECT_NEAR(f.rms_relative_residual, 0, 1e-12);
}

TEST(AlphaBeta, ResidualIsTheRmsRelativeError) {
  // Two points fit exactly; a third off the line by +10% of itself leaves a residual.
  const std::vector<double> x = {1, 2, 3};
  const std::vector<double> t = {1, 2, 3.3};
  const AlphaBeta f = fit_alpha_beta(x, t);
  double sq = 0;
  for (int i = 0; i < 3; ++i) sq += std::pow((f.alpha_s + f.beta_s_per_byte * x[i] - t[i]) / t[i], 2);
  EXPECT_DOUBLE_EQ(f.rms_relative_residual, std::sqrt(sq / 3));
  EXPECT_GT(f.rms_relative_residual, 0.01);
}

TEST(AlphaBeta, OneSizeIsAnError) {
  const std::vector<double> x = {1024, 1024}, t = {1e-5, 1.1e-5};
  EXPECT_THROW(fit_alpha_beta(x, t), io::InputError);
}

costmodel::Measurements synthetic() {
  costmodel::Measurements m;
  for (double mm : {1024.0, 4096.0})
    for (double nn : {1024.0, 8192.0})
      for (double kk : {1024.0, 8192.0}) m.gemm.push_back({Dtype::bf16, mm, nn, kk, 2 * mm * nn * kk / (0.5 * h100().peak(Dtype::bf16)), 0.01});
  for (double b = 1024; b <= 1 << 30; b *= 8) {
    m.collectives.push_back({CollectiveOp::all_gather, 8, 8, 1, b, 10e-6 + b / 300e9});
    m.bandwidth.push_back({"elementwise", b, b / 2.5e12, 0.0});
  }
  m.attention.push_back({Dtype::bf16, false, 2, 8, 4096, 128, 1e12, 1e12 / (0.4 * h100().peak(Dtype::bf16)), 0.0});
  m.kernel_launch_overhead_s = 2.5e-6;
  return m;
}

TEST(FitProfile, TablesCurvesAndFitsFromSyntheticMeasurements) {
  const auto p = fit_profile(synthetic(), h100());
  EXPECT_EQ(p.gpu, "h100-sxm-80gb");
  ASSERT_EQ(p.gemm.size(), 1u);
  EXPECT_EQ(p.gemm[0].m, (std::vector<double>{1024, 4096}));
  EXPECT_EQ(p.gemm[0].time_s.size(), 8u);
  EXPECT_NEAR(p.gemm[0].fitted_efficiency, 0.5, 1e-12);
  EXPECT_NEAR(*p.attention_flops_fraction, 0.4, 1e-12);
  ASSERT_EQ(p.memory.size(), 1u);
  EXPECT_NEAR(p.memory[0].bytes_per_s[0], 2.5e12, 1);
  ASSERT_EQ(p.collectives.size(), 1u);
  EXPECT_NEAR(p.collectives[0].alpha_s, 10e-6, 1e-15);
  EXPECT_NEAR(p.collectives[0].beta_s_per_byte, 1 / 300e9, 1e-22);
  EXPECT_NEAR(p.collectives[0].rms_relative_residual, 0, 1e-12);
  // The profile survives its JSON unchanged.
  const auto again = io::parse_profile_text(io::profile_to_json(p), "p.json");
  EXPECT_EQ(io::profile_to_json(again), io::profile_to_json(p));
}

TEST(FitProfile, AnIncompleteGemmGridIsAnError) {
  auto m = synthetic();
  m.gemm.pop_back();
  try {
    fit_profile(m, h100());
    FAIL();
  } catch (const io::InputError& e) {
    EXPECT_STREQ(e.what(), "gemm bf16: the grid is incomplete: no measurement of m=4096 n=8192 k=8192");
  }
}

TEST(FitProfile, TheRealTwoNodeLogGivesACurveWithItsResidual) {
  std::ifstream in(std::string(PTSIM_CALIBRATE_TESTDATA) + "/h100_2x8_all_reduce.txt");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto p = fit_profile(parse_nccl_tests_text(text, "log", CollectiveOp::all_reduce), h100());
  ASSERT_EQ(p.collectives.size(), 1u);
  const auto& c = p.collectives[0];
  EXPECT_EQ(c.ranks, 16);
  EXPECT_EQ(c.domains, 2);
  EXPECT_GT(c.alpha_s, 0);
  // The large-message slope is the measured bus bandwidth: 1 / beta within 20% of the
  // 8 GiB point's algbw (179.92 GB/s in place).
  EXPECT_NEAR(1 / c.beta_s_per_byte / 179.92e9, 1.0, 0.2);
  EXPECT_GT(c.rms_relative_residual, 0.0);  // a real curve is not a straight line
}

}  // namespace
}  // namespace ptsim::calibrate

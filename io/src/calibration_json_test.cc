#include "ptsim/io/calibration_json.h"

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ptsim/io/scenario_parser.h"

namespace ptsim::io {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

const char* kProfile = R"({
  "format": "ptsim-profile/1", "gpu": "h100-sxm-80gb", "sources": ["test"], "device": {"name": "x"},
  "gemm": [{"dtype": "bf16", "m": [1024, 4096], "n": [1024], "k": [1024], "time_s": [3e-6, 9e-6],
            "fitted_efficiency": 0.7}],
  "memory": [{"kernel": "elementwise", "bytes": [1e6, 1e9], "bytes_per_s": [1e12, 3e12]}],
  "collectives": [{"op": "all_reduce", "ranks": 8, "ranks_per_domain": 8, "domains": 1,
                   "bytes": [1e6, 1e9], "time_s": [3e-5, 5e-3], "alpha_s": 2e-5,
                   "beta_s_per_byte": 5e-12, "rms_relative_residual": 0.05}]
})";

std::string error_of(const std::string& text) {
  try {
    parse_profile_text(text, "p.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

std::string with(const std::string& from, const std::string& to) {
  std::string s = kProfile;
  s.replace(s.find(from), from.size(), to);
  return s;
}

TEST(ProfileJson, RoundTrips) {
  const auto p = parse_profile_text(kProfile, "p.json");
  EXPECT_EQ(p.gpu, "h100-sxm-80gb");
  ASSERT_EQ(p.gemm.size(), 1u);
  EXPECT_EQ(p.gemm[0].time_s.size(), 2u);
  EXPECT_EQ(profile_to_json(parse_profile_text(profile_to_json(p), "q")), profile_to_json(p));
}

TEST(ProfileJson, BadValuesNameFileAndPath) {
  EXPECT_EQ(error_of(with("\"time_s\": [3e-6, 9e-6]", "\"time_s\": [3e-6]")),
            "p.json: gemm[0].time_s: has 1 entries, the 2 x 1 x 1 grid needs 2");
  EXPECT_EQ(error_of(with("\"m\": [1024, 4096]", "\"m\": [4096, 1024]")),
            "p.json: gemm[0].m[1]: 1024 is not above the previous 4096");
  EXPECT_EQ(error_of(with("\"ranks\": 8", "\"ranks\": 16")), "p.json: collectives[0].ranks: 16 ranks do not fit 1 domains of 8");
  EXPECT_THAT(error_of(with("\"sources\"", "\"source\"")), HasSubstr("p.json: source: unknown field"));
  EXPECT_EQ(error_of(with("ptsim-profile/1", "v0")), "p.json: format: must be \"ptsim-profile/1\", got \"v0\"");
  EXPECT_THAT(error_of(with("\"op\": \"all_reduce\"", "\"op\": \"allreduce\"")),
              HasSubstr("p.json: collectives[0].op: unknown collective \"allreduce\""));
}

TEST(ProfileJson, MeasurementsRoundTrip) {
  costmodel::Measurements m;
  m.device = {{"name", "NVIDIA H100 80GB HBM3"}};
  m.gemm.push_back({costmodel::Dtype::fp8, 1024, 2048, 4096, 1e-5, 0.02});
  m.collectives.push_back({costmodel::CollectiveOp::send_recv, 2, 1, 2, 4096, 2e-5});
  m.kernel_launch_overhead_s = 2e-6;
  const std::string text = measurements_to_json(m);
  EXPECT_EQ(measurements_to_json(parse_measurements_text(text, "m.json")), text);
}

// A scenario naming a profile: attached to the GPU, or an error naming cluster.profile.
class ScenarioProfile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ptsim_profile_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "h100.json") << kProfile;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write_scenario(const std::string& gpu, const std::string& profile) {
    json s = {{"model", {{"preset", "megatron-1.7b"}}},
              {"cluster", {{"gpu", gpu}, {"num_gpus", 8}, {"network_bandwidth_gbit_per_s", 400}, {"profile", profile}}},
              {"training", {{"seq_length", 2048}, {"global_batch_size", 8}}},
              {"layout", {{"tp", 8}}}};
    std::ofstream(dir_ / "s.json") << s.dump();
    return dir_ / "s.json";
  }
  std::filesystem::path dir_;
};

TEST_F(ScenarioProfile, ARelativePathIsAttachedToTheGpu) {
  const auto s = parse_scenario_file(write_scenario("h100-sxm-80gb", "h100.json"));
  ASSERT_NE(s.cluster.gpu.profile, nullptr);
  EXPECT_EQ(s.cluster.gpu.profile->collectives.size(), 1u);
}

TEST_F(ScenarioProfile, AnotherGpusProfileIsAnErrorNamingTheField) {
  try {
    parse_scenario_file(write_scenario("a100-sxm-80gb", "h100.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.path(), "cluster.profile");
    EXPECT_THAT(e.reason(), HasSubstr("was measured on GPU \"h100-sxm-80gb\", but cluster.gpu is \"a100-sxm-80gb\""));
  }
}

TEST_F(ScenarioProfile, AMissingFileIsAnErrorNamingTheField) {
  try {
    parse_scenario_file(write_scenario("h100-sxm-80gb", "nope.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.path(), "cluster.profile");
    EXPECT_THAT(e.reason(), HasSubstr("cannot open file"));
  }
}

}  // namespace
}  // namespace ptsim::io

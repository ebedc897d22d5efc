// Golden scenario tests: each tests/golden/NAME.json is simulated and its JSON report
// compared with tests/golden/NAME.expected.json. Integers (step_time_ns, events, counts)
// must match exactly; floating-point values within a relative 1e-9. To accept a change
// in the model, run with PTSIM_UPDATE_GOLDEN=1 and review the diff of the expected files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptsim/io/scenario_parser.h"
#include "ptsim/io/step_report.h"
#include "ptsim/strategies/step_metrics.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kRelativeTolerance = 1e-9;

std::vector<fs::path> golden_scenarios() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(PTSIM_GOLDEN_DIR)) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() == ".json" && name.find(".expected.") == std::string::npos) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

void compare(const json& expected, const json& actual, const std::string& path) {
  if (expected.is_number_integer() && actual.is_number_integer()) {  // signed or unsigned
    EXPECT_EQ(expected.get<std::int64_t>(), actual.get<std::int64_t>()) << path;
    return;
  }
  ASSERT_EQ(expected.type_name(), std::string(actual.type_name())) << path;
  if (expected.is_object()) {
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      ASSERT_TRUE(actual.contains(it.key())) << path << "." << it.key() << " missing";
      compare(it.value(), actual[it.key()], path + "." + it.key());
    }
    EXPECT_EQ(expected.size(), actual.size()) << path << ": different keys";
  } else if (expected.is_array()) {
    ASSERT_EQ(expected.size(), actual.size()) << path;
    for (std::size_t i = 0; i < expected.size(); ++i) compare(expected[i], actual[i], path + "[" + std::to_string(i) + "]");
  } else if (expected.is_number_float()) {
    const double e = expected.get<double>(), a = actual.get<double>();
    EXPECT_NEAR(a, e, kRelativeTolerance * std::max(std::abs(e), 1e-30)) << path;
  } else {
    EXPECT_EQ(expected, actual) << path;
  }
}

class Golden : public testing::TestWithParam<fs::path> {};

TEST_P(Golden, ReportMatchesExpected) {
  const fs::path scenario_file = GetParam();
  const auto scenario = ptsim::io::parse_scenario_file(scenario_file);
  const auto step = ptsim::strategies::simulate_step(scenario);
  const json actual = ptsim::io::step_report_json(scenario, step.result);
  fs::path expected_file = scenario_file;
  expected_file.replace_extension(".expected.json");
  const char* update = std::getenv("PTSIM_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(expected_file) << actual.dump(2) << "\n";
    GTEST_SKIP() << "rewrote " << expected_file;
  }
  std::ifstream in(expected_file);
  ASSERT_TRUE(in) << "no expected file " << expected_file << "; run with PTSIM_UPDATE_GOLDEN=1";
  compare(json::parse(in), actual, "report");
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Golden, testing::ValuesIn(golden_scenarios()),
                         [](const testing::TestParamInfo<fs::path>& param_info) {
                           std::string name = param_info.param.stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace

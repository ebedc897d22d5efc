// Regression tests for what scripts/fuzz.sh found in the io readers (docs/hardening.md):
// each input here once escaped as something other than a one-line InputError.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "hf_config.h"
#include "input_file.h"
#include "ptsim/io/input_error.h"
#include "ptsim/io/scenario_parser.h"
#include "ptsim/io/validation_set.h"

namespace ptsim::io {
namespace {

using ::testing::HasSubstr;

template <class Fn>
std::string input_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no InputError";
}

// fuzz_scenario: nlohmann throws out_of_range (not parse_error) for a number beyond double.
TEST(InputHardening, NumberBeyondDoubleInAScenarioIsInvalidJson) {
  EXPECT_EQ(input_error_of([] { parse_scenario_text(R"({"model": 45315E792})", "s.json", {}); }),
            "s.json: invalid JSON: number overflow parsing '45315E792'");
}

// fuzz_hf_config: the same in a config.json, with the file named.
TEST(InputHardening, NumberBeyondDoubleInAnHfConfigIsInvalidJson) {
  EXPECT_EQ(input_error_of([] { hf_model_from_text(R"({"initializer_range": 0.01e3082})", "config.json", "model.hf_config"); }),
            "model.hf_config: invalid JSON in config.json: number overflow parsing '0.01e3082'");
}

TEST(InputHardening, NumberBeyondDoubleInAValidationSetIsInvalidJson) {
  EXPECT_EQ(input_error_of([] { parse_validation_set_text(R"({"rows": [1e400]})", "v.json"); }),
            "v.json: invalid JSON: number overflow parsing '1e400'");
}

TEST(InputHardening, SyntaxErrorsKeepLineAndColumn) {
  EXPECT_EQ(input_error_of([] { parse_scenario_text("{\n  \"model\": ]", "s.json", {}); }),
            "s.json: invalid JSON at line 2, column 12: syntax error while parsing value - unexpected ']'; expected '[', "
            "'{', or a literal");
}

TEST(InputHardening, ErrorsAreOneLineWhateverTheInputHolds) {
  const std::string message = input_error_of([] { parse_scenario_text("{\"a\\nb\\u0001\": 1}", "s.json", {}); });
  EXPECT_THAT(message, HasSubstr("a\\nb\\x01: unknown field"));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(InputHardening, ReadsStopAtTheLimit) {
  std::istringstream small("0123456789");
  EXPECT_EQ(read_at_most(small, 10).value(), "0123456789");
  std::istringstream big("0123456789a");
  EXPECT_FALSE(read_at_most(big, 10).has_value());
  EXPECT_EQ(too_large_reason(), "is larger than 64 MiB (ptsim reads input files of at most 64 MiB)");
}

TEST(InputHardening, DevZeroIsRefusedNotRead) {
  EXPECT_EQ(input_error_of([] { parse_scenario_file("/dev/zero"); }),
            "/dev/zero: is larger than 64 MiB (ptsim reads input files of at most 64 MiB)");
}

}  // namespace
}  // namespace ptsim::io

// The command line's promises across every command: documented exit codes (README "Exit
// codes": 0 ok, 1 internal, 2 bad input, 3 does not fit) and byte-identical output for the
// same command run twice (JSON, table, trace, collective, validate).
#include <string>
#include <vector>

#include "cli_runner.h"

namespace {

using namespace ptsim::testing_cli;

const std::string kSource = PTSIM_SOURCE_DIR;
const std::string kScenario = "'" + kSource + "/tests/golden/megatron-1.7b-8xa100-tp2-pp2-dp2.json'";
const std::string kValidation = "'" + kSource + "/scenarios/validation'";

// A one-row validation set (the small golden scenario) in the test's folder: `ptsim
// validate` on it takes a fraction of a second, the published sets take seconds.
std::string tiny_validation_dir() {
  const std::string row = slurp(kSource + "/tests/golden/megatron-1.7b-8xa100-tp2-pp2-dp2.json");
  write_file("tiny_set.json", R"({"set": "tiny", "title": "one small row", "quantity": "iteration_time_s",
    "quantity_text": "seconds per iteration", "rows": [{"name": "1.7b", "source": "test", "measured": 1.5,
    "assumptions": ["none"], "scenario": )" + row + "}]}");
  return "'" + temp_dir().string() + "'";
}

// Runs `args` twice; both succeed with the same stdout, which is not empty.
std::string expect_same_twice(const std::string& args) {
  const CommandResult a = run_ptsim(args, "first");
  const CommandResult b = run_ptsim(args, "second");
  EXPECT_EQ(a.exit_code, 0) << args << ": " << a.err;
  EXPECT_EQ(b.exit_code, 0) << args << ": " << b.err;
  EXPECT_FALSE(a.out.empty()) << args;
  EXPECT_EQ(a.out, b.out) << args;
  return a.out;
}

TEST(Determinism, SimulateTableJsonAndTraceAreByteIdentical) {
  expect_same_twice("simulate " + kScenario);
  expect_same_twice("simulate --json " + kScenario);
  const fs::path dir = temp_dir();
  expect_same_twice("simulate --trace '" + (dir / "t1.json").string() + "' " + kScenario);
  const std::string trace1 = slurp(dir / "t1.json");
  run_ptsim("simulate --trace '" + (dir / "t2.json").string() + "' " + kScenario, "third");
  EXPECT_GT(trace1.size(), 1000u);
  EXPECT_EQ(trace1, slurp(dir / "t2.json"));
}

TEST(Determinism, CollectiveTableAndJsonAreByteIdentical) {
  expect_same_twice("collective --cluster dgx-h100 --nodes 4 --op all_reduce --bytes 1K:1G");
  const std::string json = expect_same_twice("collective --cluster dgx-a100 --nodes 2 --op reduce_scatter --bytes 1M:64M --json");
  EXPECT_NE(json.find("\"busbw_gb_per_s\""), std::string::npos);
}

TEST(Determinism, ValidateTableJsonAndMarkdownAreByteIdentical) {
  const std::string sets = tiny_validation_dir();
  expect_same_twice("validate --dir " + sets);
  const std::string json = expect_same_twice("validate --json --dir " + sets);
  EXPECT_NE(json.find("\"mean_absolute_error\""), std::string::npos);
  const fs::path dir = temp_dir() / "md";
  fs::create_directories(dir);
  for (const char* name : {"a.md", "b.md"}) {
    const auto r = run_ptsim("validate --markdown --markdown-file '" + (dir / name).string() + "' --dir " + sets, name);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_EQ(slurp(dir / "a.md"), slurp(dir / "b.md"));
  EXPECT_NE(slurp(dir / "a.md").find("|"), std::string::npos);
}

TEST(ExitCodes, ZeroForSuccessOnEveryCommand) {
  const std::string sets = tiny_validation_dir();
  for (const std::string& args : std::vector<std::string>{"schema", "presets", "--help", "--version",
                                                          "simulate " + kScenario, "collective --bytes 1M",
                                                          "validate --dir " + sets}) {
    const auto r = run_ptsim(args);
    EXPECT_EQ(r.exit_code, 0) << args << ": " << r.err;
  }
}

TEST(ExitCodes, TwoForBadInputOnEveryCommand) {
  const std::string sets = tiny_validation_dir();
  for (const std::string& args : std::vector<std::string>
       {std::string("simulate /nonexistent.json"), std::string("simulate"), std::string("no-such-command"),
        std::string(""), "simulate --trace /nonexistent/dir/t.json " + kScenario, std::string("collective --nodes 0"),
        std::string("collective --gpus 12 --cluster dgx-h100 --nodes 2"), std::string("collective --bytes x"),
        std::string("validate --dir /nonexistent"), "validate --set nope --dir " + kValidation,
        "validate --markdown --markdown-file /nonexistent/dir/a.md --dir " + sets,
        std::string("schema --frobnicate")}) {
    const auto r = run_ptsim(args);
    EXPECT_EQ(r.exit_code, 2) << "'" << args << "': " << r.err;
    EXPECT_FALSE(r.err.empty()) << args;
  }
}

TEST(ExitCodes, TwoForABadValidationSetNamingTheFileAndRow) {
  const fs::path dir = temp_dir() / "sets";
  fs::create_directories(dir);
  write_file("sets/bad.json", R"({"set": "s", "title": "t", "quantity": "iteration_time_s", "quantity_text": "s",
    "rows": [{"name": "r", "source": "x", "measured": -1, "scenario": {}}]})");
  const auto r = run_ptsim("validate --dir '" + dir.string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("bad.json: rows[0].measured: must be a positive number"), std::string::npos) << r.err;
}

TEST(ExitCodes, ThreeWhenTheLayoutDoesNotFitYetIsReported) {
  const fs::path file = write_file("big.json", R"({"model": "gpt3-175b", "cluster": {"preset": "dgx-a100", "num_gpus": 8},
    "training": {"seq_length": 2048, "global_batch_size": 8}, "layout": {"tp": 8, "pp": 1}})");
  const auto r = run_ptsim("simulate --json '" + file.string() + "'");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.out.find("\"fits\": false"), std::string::npos);
  EXPECT_NE(r.err.find("ptsim: error: layout does not fit: stage 0 needs"), std::string::npos) << r.err;
  const auto table = run_ptsim("simulate '" + file.string() + "'", "table");
  EXPECT_EQ(table.exit_code, 3);
  EXPECT_NE(table.out.find("DOES NOT FIT"), std::string::npos);
}

}  // namespace

// Tests of the ptsim binary as a user runs it: bad input gives exit code 2 and exactly one
// line on stderr naming the field; good input gives byte-identical output every time.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path temp_dir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::temp_directory_path() /
                (std::string("ptsim_cli_test_") + std::to_string(getpid())) / info->name();
  fs::create_directories(dir);
  return dir;
}

CommandResult run_ptsim(const std::string& args) {
  const fs::path dir = temp_dir();
  const std::string cmd = std::string("'") + PTSIM_BINARY + "' " + args + " >'" + (dir / "stdout").string() +
                          "' 2>'" + (dir / "stderr").string() + "'";
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir / "stdout");
  r.err = slurp(dir / "stderr");
  return r;
}

fs::path write_scenario(const std::string& name, const std::string& text) {
  const fs::path file = temp_dir() / (name + ".json");
  std::ofstream(file) << text;
  return file;
}

// A valid scenario with one fragment replaced.
std::string scenario(const std::string& model = R"("megatron-1.7b")",
                     const std::string& cluster = R"({"preset": "dgx-a100", "num_gpus": 8})",
                     const std::string& training = R"({"seq_length": 2048, "global_batch_size": 16})",
                     const std::string& layout = R"({"tp": 2, "pp": 2, "dp": 2, "micro_batch_size": 1})",
                     const std::string& extra = "") {
  return "{\"model\": " + model + ", \"cluster\": " + cluster + ", \"training\": " + training +
         ", \"layout\": " + layout + extra + "}";
}

struct BadInput {
  const char* name;
  std::string json;
  const char* expected_error;  // must appear in the single stderr line
};

void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name; }

class BadScenario : public testing::TestWithParam<BadInput> {};

TEST_P(BadScenario, OneLineErrorNamingTheFieldAndExitCode2) {
  const BadInput& c = GetParam();
  const fs::path file = write_scenario(c.name, c.json);
  const CommandResult r = run_ptsim("simulate '" + file.string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
  EXPECT_NE(r.err.find(c.expected_error), std::string::npos) << "stderr: " << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    Cli, BadScenario,
    testing::Values(
        BadInput{"unknown_key", scenario(R"({"preset": "megatron-1.7b", "hiden_size": 2048})"),
                 "model.hiden_size: unknown field"},
        BadInput{"unknown_top_level_key", scenario(R"("megatron-1.7b")", R"({"preset": "dgx-a100", "num_gpus": 8})",
                                                   R"({"seq_length": 2048, "global_batch_size": 16})",
                                                   R"({"tp": 2, "pp": 2, "dp": 2})", R"(, "layuot": {})"),
                 "layuot: unknown field"},
        BadInput{"wrong_type", scenario(R"("megatron-1.7b")", R"({"preset": "dgx-a100", "num_gpus": 8})",
                                        R"({"seq_length": "2048", "global_batch_size": 16})"),
                 "training.seq_length:"},
        BadInput{"non_positive_size", scenario(R"({"preset": "megatron-1.7b", "num_layers": 0})"),
                 "model.num_layers:"},
        BadInput{"negative_batch", scenario(R"("megatron-1.7b")", R"({"preset": "dgx-a100", "num_gpus": 8})",
                                            R"({"seq_length": 2048, "global_batch_size": -16})"),
                 "training.global_batch_size:"},
        BadInput{"gpu_count_mismatch", scenario(R"("megatron-1.7b")", R"({"preset": "dgx-a100", "num_gpus": 16})"),
                 "does not equal cluster.num_gpus 16"},
        BadInput{"heads_not_divisible_by_tp",
                 scenario(R"("megatron-3.6b")", R"({"preset": "dgx-a100", "num_gpus": 6})",
                          R"({"seq_length": 2048, "global_batch_size": 16})", R"({"tp": 3, "pp": 1, "dp": 2})"),
                 "layout.tp: 3 does not divide model.num_attention_heads 32"},
        BadInput{"query_groups_not_divisible_by_tp",
                 scenario(R"({"preset": "llama3-8b", "num_attention_heads": 32, "num_query_groups": 2})",
                          R"({"preset": "dgx-h100", "num_gpus": 8})", R"({"seq_length": 4096, "global_batch_size": 8})",
                          R"({"tp": 4, "pp": 1, "dp": 2})"),
                 "layout.tp: 4 does not divide model.num_query_groups 2"},
        BadInput{"batch_not_divisible",
                 scenario(R"("megatron-1.7b")", R"({"preset": "dgx-a100", "num_gpus": 8})",
                          R"({"seq_length": 2048, "global_batch_size": 20})",
                          R"({"tp": 2, "pp": 2, "dp": 2, "micro_batch_size": 4})"),
                 "training.global_batch_size: 20 is not divisible by"},
        BadInput{"unknown_model_preset", scenario(R"("gpt-4")"), "unknown model preset 'gpt-4'"},
        BadInput{"unknown_node_preset", scenario(R"("megatron-1.7b")", R"({"preset": "dgx-b300", "num_gpus": 8})"),
                 "cluster.preset: unknown"},
        BadInput{"layers_not_divisible_by_pp",
                 scenario(R"({"preset": "megatron-1.7b", "num_layers": 25})"), "layout.pp: 2 does not divide"},
        BadInput{"zb_h1_interleaved",
                 scenario(R"("megatron-1.7b")", R"({"preset": "dgx-a100", "num_gpus": 8})",
                          R"({"seq_length": 2048, "global_batch_size": 16})",
                          R"({"tp": 2, "pp": 2, "dp": 2, "schedule": "zb-h1", "virtual_stages": 2})"),
                 "layout.virtual_stages: 2 needs layout.schedule 1f1b"},
        BadInput{"reshard_without_zero3",
                 scenario(R"("megatron-1.7b")", R"({"preset": "dgx-a100", "num_gpus": 8})",
                          R"({"seq_length": 2048, "global_batch_size": 16})",
                          R"({"tp": 2, "pp": 2, "dp": 2, "reshard_after_forward": false})"),
                 "layout.reshard_after_forward: false needs layout.zero_stage 3"},
        BadInput{"not_json", "{\"model\": ", "invalid JSON"}),
    [](const testing::TestParamInfo<BadInput>& param_info) { return std::string(param_info.param.name); });

TEST(Cli, MissingFileIsBadInput) {
  const CommandResult r = run_ptsim("simulate /nonexistent/scenario.json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/scenario.json"), std::string::npos) << r.err;
}

TEST(Cli, UnknownFlagIsBadInput) {
  const CommandResult r = run_ptsim("simulate --frobnicate x.json");
  EXPECT_EQ(r.exit_code, 2);
}

TEST(Cli, SameScenarioTwiceGivesByteIdenticalJsonAndTrace) {
  const fs::path scenario_file = fs::path(PTSIM_SOURCE_DIR) / "tests/golden/megatron-1.7b-8xa100-tp2-pp2-dp2.json";
  const fs::path dir = temp_dir();
  const CommandResult a = run_ptsim("simulate --json --trace '" + (dir / "a.trace.json").string() + "' '" + scenario_file.string() + "'");
  const CommandResult b = run_ptsim("simulate --json --trace '" + (dir / "b.trace.json").string() + "' '" + scenario_file.string() + "'");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  const std::string ta = slurp(dir / "a.trace.json");
  EXPECT_GT(ta.size(), 1000u);
  EXPECT_EQ(ta, slurp(dir / "b.trace.json"));
}

TEST(Cli, JsonHasTheOutputContract) {
  const fs::path scenario_file = fs::path(PTSIM_SOURCE_DIR) / "tests/golden/megatron-1.7b-8xa100-tp2-pp2-dp2.json";
  const CommandResult r = run_ptsim("simulate --json '" + scenario_file.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* key : {"\"step_time_s\"", "\"tokens_per_s\"", "\"tokens_per_s_per_gpu\"", "\"model_tflops_per_gpu\"",
                          "\"mfu\"", "\"breakdown_s\"", "\"compute\"", "\"recompute\"", "\"bubble\"", "\"exposed_comm\"",
                          "\"tp\"", "\"dp\"", "\"pp\"", "\"optimizer\"", "\"num_gpus\"", "\"events\""}) {
    EXPECT_NE(r.out.find(key), std::string::npos) << key;
  }
}

TEST(Cli, DeepSeekV3ScenarioFitsAndPresetsListTheNewModels) {
  const fs::path scenario_file = fs::path(PTSIM_SOURCE_DIR) / "scenarios/deepseek-v3-2048-h100.json";
  const CommandResult r = run_ptsim("simulate --json '" + scenario_file.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"fits\": true"), std::string::npos);
  EXPECT_NE(r.out.find("\"ep\": 64"), std::string::npos);
  const CommandResult p = run_ptsim("presets");
  ASSERT_EQ(p.exit_code, 0);
  for (const char* model : {"deepseek-v3", "qwen2-57b-a14b", "bert-large"}) {
    EXPECT_NE(p.out.find(model), std::string::npos) << model;
  }
}

// --full simulates every rank: same step time where the ranks are equivalent.
TEST(Cli, FullModeGivesTheSameStepTime) {
  const fs::path scenario_file = fs::path(PTSIM_SOURCE_DIR) / "tests/golden/megatron-1.7b-8xa100-tp2-pp2-dp2.json";
  const CommandResult collapsed = run_ptsim("simulate --json '" + scenario_file.string() + "'");
  const CommandResult full = run_ptsim("simulate --json --full '" + scenario_file.string() + "'");
  ASSERT_EQ(collapsed.exit_code, 0) << collapsed.err;
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_NE(collapsed.out.find("\"simulation_mode\": \"collapsed\""), std::string::npos);
  EXPECT_NE(full.out.find("\"simulation_mode\": \"full\""), std::string::npos);
  EXPECT_NE(full.out.find("\"simulated_ranks\": 8"), std::string::npos);
  auto step_ns = [](const std::string& out) {
    const auto at = out.find("\"step_time_ns\"");
    return at == std::string::npos ? std::string() : out.substr(at, out.find(',', at) - at);
  };
  EXPECT_FALSE(step_ns(full.out).empty());
  EXPECT_EQ(step_ns(collapsed.out), step_ns(full.out));
}

// Ranks that are not equivalent (CP ring steps inside a node for some ranks, across nodes
// for others): every rank is simulated, and stderr says why.
TEST(Cli, AsymmetricPlacementSimulatesEveryRankAndSaysWhy) {
  const fs::path file = write_scenario(
      "cp_ring", scenario(R"("llama3-8b")", R"({"preset": "dgx-h100", "num_gpus": 16})",
                          R"({"seq_length": 16384, "global_batch_size": 1})",
                          R"({"tp": 4, "cp": 4, "pp": 1, "dp": 1, "micro_batch_size": 1})"));
  const CommandResult r = run_ptsim("simulate --json '" + file.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"simulation_mode\": \"full\""), std::string::npos);
  EXPECT_NE(r.err.find("simulating every rank"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CP ring steps of stage 0"), std::string::npos) << r.err;
}

TEST(Cli, TableIsTheDefaultAndSchemaPrints) {
  const fs::path scenario_file = fs::path(PTSIM_SOURCE_DIR) / "scenarios/gpt3-175b-1024-a100.json";
  const CommandResult r = run_ptsim("simulate '" + scenario_file.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("step time"), std::string::npos);
  EXPECT_NE(r.out.find("pipeline bubble"), std::string::npos);
  const CommandResult s = run_ptsim("schema");
  ASSERT_EQ(s.exit_code, 0);
  EXPECT_NE(s.out.find("\"global_batch_size\""), std::string::npos);
}

}  // namespace

namespace {

TEST(CliCollective, PrintsNcclTestsColumns) {
  const CommandResult r = run_ptsim("collective --cluster dgx-h100 --nodes 1 --op all_reduce --bytes 1M:8G");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* column : {"size", "count", "type", "redop", "time", "algbw", "busbw"}) {
    EXPECT_NE(r.out.find(column), std::string::npos) << column;
  }
  // 1 MiB .. 8 GiB doubling: 14 rows; the largest uses NVLS.
  std::size_t rows = 0;
  for (std::size_t pos = 0; (pos = r.out.find("float", pos)) != std::string::npos; ++pos) ++rows;
  EXPECT_EQ(rows, 14u);
  EXPECT_NE(r.out.find("nvls/NVLS"), std::string::npos);
}

TEST(CliCollective, JsonAndBadArguments) {
  const CommandResult j = run_ptsim("collective --cluster dgx-a100 --nodes 2 --op all_gather --bytes 64M --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_NE(j.out.find("\"busbw_gb_per_s\""), std::string::npos);
  EXPECT_NE(j.out.find("\"domains\": 2"), std::string::npos);
  const CommandResult bad_op = run_ptsim("collective --op allreduce");
  EXPECT_EQ(bad_op.exit_code, 2);
  EXPECT_NE(bad_op.err.find("--op: unknown collective 'allreduce'"), std::string::npos) << bad_op.err;
  const CommandResult bad_size = run_ptsim("collective --bytes 8G:1K");
  EXPECT_EQ(bad_size.exit_code, 2);
  EXPECT_NE(bad_size.err.find("--bytes:"), std::string::npos);
  const CommandResult bad_cluster = run_ptsim("collective --cluster dgx-z");
  EXPECT_EQ(bad_cluster.exit_code, 2);
  EXPECT_NE(bad_cluster.err.find("--cluster: unknown node preset 'dgx-z'"), std::string::npos);
}

}  // namespace

namespace {

TEST(CliValidate, RunsEverySetAndReportsTheError) {
  const CommandResult r = run_ptsim("validate --json --dir '" + std::string(PTSIM_SOURCE_DIR) + "/scenarios/validation'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* set : {"\"sc21_table1\"", "\"korthikanti_table5\"", "\"korthikanti_table4\"", "\"megatron_core_h100\""}) {
    EXPECT_NE(r.out.find(set), std::string::npos) << set;
  }
  EXPECT_NE(r.out.find("\"mean_absolute_error\""), std::string::npos);
  const CommandResult one = run_ptsim("validate --set korthikanti_table5 --dir '" + std::string(PTSIM_SOURCE_DIR) +
                                      "/scenarios/validation'");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("22B selective + SP"), std::string::npos);
  EXPECT_EQ(one.out.find("SC21"), std::string::npos);
  const CommandResult bad = run_ptsim("validate --dir /nonexistent");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--dir: '/nonexistent' is not a directory"), std::string::npos) << bad.err;
}

TEST(CliSweep, RowsPerPointSameOutputWithThreadsAndCsv) {
  const fs::path scenario_file = fs::path(PTSIM_SOURCE_DIR) / "tests/golden/megatron-1.7b-8xa100-tp2-pp2-dp2.json";
  const fs::path dir = temp_dir();
  const std::string args = "sweep '" + scenario_file.string() + "' --vary num_gpus=4:64:x2 --json";
  const CommandResult one = run_ptsim(args + " -j 1");
  const CommandResult three = run_ptsim(args + " -j 3 --csv '" + (dir / "s.csv").string() + "'");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(three.exit_code, 0) << three.err;
  EXPECT_EQ(one.out, three.out);
  // 4, 8, 16, 32 GPUs simulate; 64 GPUs make dp 16, which does not divide the batch.
  EXPECT_NE(one.out.find("\"status\": \"invalid\""), std::string::npos);
  EXPECT_NE(one.out.find("training.global_batch_size: 16 is not divisible"), std::string::npos) << one.out;
  const std::string csv = slurp(dir / "s.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);  // header + 5 points
  EXPECT_NE(csv.find("\n4,ok,,4,2,2,1,"), std::string::npos) << csv;
  const CommandResult table = run_ptsim("sweep '" + scenario_file.string() + "' --vary tp=1,2 --vary pp=1,2");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("tp=2 pp=2"), std::string::npos) << table.out;
  // Options before the scenario take one value each: --vary and --json do not swallow it.
  const CommandResult first = run_ptsim("sweep --vary tp=1,2 --vary pp=1,2 --json '" + (dir / "g.json").string() +
                                        "' '" + scenario_file.string() + "'");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(slurp(dir / "g.json").find("\"tp=2 pp=2\""), std::string::npos);
}

TEST(CliSweep, BadVaryIsBadInputAndNoFittingPointIsExit3) {
  const fs::path scenario_file = fs::path(PTSIM_SOURCE_DIR) / "tests/golden/megatron-1.7b-8xa100-tp2-pp2-dp2.json";
  const std::string base = "sweep '" + scenario_file.string() + "' ";
  for (const char* vary : {"--vary tensor=1,2", "--vary tp", "--vary tp=8:1:x2", "--vary tp=1:4:x1",
                           "--vary tp=1,2 --vary layout.tp=4"}) {
    const CommandResult r = run_ptsim(base + vary);
    EXPECT_EQ(r.exit_code, 2) << vary;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << vary << ": " << r.err;
    EXPECT_NE(r.err.find("--vary"), std::string::npos) << r.err;
  }
  // No point valid: every row says why, and the exit code is 3.
  const CommandResult none = run_ptsim(base + "--vary num_gpus=3,5");
  EXPECT_EQ(none.exit_code, 3);
  EXPECT_NE(none.out.find("invalid: layout.dp: not given, and cluster.num_gpus 3 is not divisible"), std::string::npos) << none.out;
}


// ptsim search / merge: a small space (8 GPUs, a 4-layer model), every knob open.
std::string search_scenario() {
  return R"({"model": {"preset": "megatron-1.7b", "num_layers": 4}, "cluster": {"preset": "dgx-a100", "num_gpus": 8},
             "training": {"seq_length": 2048, "global_batch_size": 8}})";
}

TEST(Cli, SearchIsByteIdenticalWithOneOrTwoThreadsAndEmitsConfigs) {
  const fs::path file = write_scenario("search", search_scenario());
  const CommandResult one = run_ptsim("search '" + file.string() + "' --threads 1 --json");
  const CommandResult two = run_ptsim("search '" + file.string() + "' --threads 2 --json");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out, two.out);
  EXPECT_NE(one.out.find("\"ranking\""), std::string::npos);
  const CommandResult table = run_ptsim("search '" + file.string() + "' --top 3");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("pruned by the lower bound"), std::string::npos) << table.out;
  EXPECT_EQ(table.err, "");  // no progress bar when stderr is not a terminal
  const CommandResult megatron = run_ptsim("search '" + file.string() + "' --emit megatron");
  EXPECT_NE(megatron.out.find("--tensor-model-parallel-size"), std::string::npos) << megatron.out;
  const CommandResult titan = run_ptsim("search '" + file.string() + "' --emit torchtitan");
  EXPECT_NE(titan.out.find("[parallelism]"), std::string::npos) << titan.out;
  const CommandResult ds = run_ptsim("search '" + file.string() + "' --emit deepspeed");
  EXPECT_NE(ds.out.find("\"zero_optimization\""), std::string::npos) << ds.out;
  EXPECT_EQ(run_ptsim("search '" + file.string() + "' --emit nemo").exit_code, 2);
}

TEST(Cli, SearchShardsMergedGiveTheSameRanking) {
  const fs::path file = write_scenario("search", search_scenario());
  const fs::path dir = temp_dir();
  const CommandResult whole = run_ptsim("search '" + file.string() + "' --top 5 --json");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  std::string shards;
  for (int i = 0; i < 3; ++i) {
    const fs::path out = dir / ("shard" + std::to_string(i) + ".jsonl");
    const CommandResult r = run_ptsim("search '" + file.string() + "' --top 5 --shard " + std::to_string(i) + "/3");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::ofstream(out) << r.out;
    shards += " '" + out.string() + "'";
  }
  const CommandResult merged = run_ptsim("merge '" + file.string() + "'" + shards + " --top 5 --json");
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  auto ranking = [](const std::string& s) { return s.substr(s.find("\"ranking\"")); };
  EXPECT_EQ(ranking(merged.out), ranking(whole.out));
  // SLURM array variables select the shard too.
  setenv("SLURM_ARRAY_TASK_ID", "1", 1);
  setenv("SLURM_ARRAY_TASK_COUNT", "3", 1);
  const CommandResult slurm = run_ptsim("search '" + file.string() + "' --top 5");
  unsetenv("SLURM_ARRAY_TASK_ID");
  unsetenv("SLURM_ARRAY_TASK_COUNT");
  EXPECT_EQ(slurm.out, slurp(dir / "shard1.jsonl"));
  EXPECT_EQ(run_ptsim("search '" + file.string() + "' --shard 3/3").exit_code, 2);
}

// ptsim sweep --search: each point's layout is what `ptsim search` ranks first on that
// point's scenario, and its step time is `ptsim simulate`'s for that layout.
void expect_points_match_search_and_simulate(const nlohmann::json& sweep, const std::string& base_doc,
                                             const std::string& key_path) {
  for (const nlohmann::json& point : sweep["points"]) {
    if (point["status"] != "ok") continue;
    nlohmann::json doc = nlohmann::json::parse(base_doc);
    const std::string value = point["value"].get<std::string>();
    if (key_path == "cluster.num_gpus") {
      doc["cluster"]["num_gpus"] = std::stoll(value);
    } else {
      doc["layout"]["tp"] = std::stoll(value);
    }
    const fs::path file = write_scenario("point" + value, doc.dump());
    const CommandResult search = run_ptsim("search '" + file.string() + "' --json");
    ASSERT_EQ(search.exit_code, 0) << value << ": " << search.err;
    const nlohmann::json ranked = nlohmann::json::parse(search.out)["ranking"][0];
    EXPECT_EQ(point["layout"], ranked["layout"]) << value;
    EXPECT_EQ(point["num_gpus"], ranked["num_gpus"]) << value;
    EXPECT_EQ(point["step_time_s"], ranked["step_time_s"]) << value;
    doc["layout"] = ranked["layout"];
    const fs::path chosen = write_scenario("chosen" + value, doc.dump());
    const CommandResult sim = run_ptsim("simulate '" + chosen.string() + "' --json");
    ASSERT_EQ(sim.exit_code, 0) << value << ": " << sim.err;
    const nlohmann::json simulated = nlohmann::json::parse(sim.out);
    EXPECT_EQ(point["step_time_ns"], simulated["step_time_ns"]) << value;
    EXPECT_EQ(point["step_time_s"], simulated["step_time_s"]) << value;
    EXPECT_EQ(point["breakdown_s"], simulated["breakdown_s"]) << value;
  }
}

TEST(CliSweep, SearchPerPointIsWhatSearchAndSimulateGive) {
  const fs::path file = write_scenario("search", search_scenario());
  const fs::path dir = temp_dir();
  // 5 GPUs: no layout is valid (5 divides neither the batch, the layers nor the heads).
  const CommandResult r = run_ptsim("sweep '" + file.string() + "' --vary num_gpus=5,4,8 --search --json --csv '" +
                                    (dir / "s.csv").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json sweep = nlohmann::json::parse(r.out);
  const nlohmann::json& points = sweep["points"];
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0]["status"], "no_layout");
  EXPECT_NE(points[0]["reason"].get<std::string>().find("no valid layout fits in memory"), std::string::npos);
  EXPECT_EQ(points[0]["search"]["valid"], 0);
  EXPECT_EQ(points[1]["status"], "ok");
  EXPECT_EQ(points[2]["status"], "ok");
  EXPECT_EQ(sweep["baseline_index"], 1);
  EXPECT_EQ(points[1]["speedup"], 1.0);
  expect_points_match_search_and_simulate(sweep, search_scenario(), "cluster.num_gpus");
  const std::string csv = slurp(dir / "s.csv");
  EXPECT_NE(csv.find("\n5,no_layout,\"no valid layout fits in memory ("), std::string::npos) << csv;
  // The same with two threads per search; the table names the whole layout.
  EXPECT_EQ(run_ptsim("sweep '" + file.string() + "' --vary num_gpus=5,4,8 --search --json -j 2").out, r.out);
  const CommandResult table = run_ptsim("sweep '" + file.string() + "' --vary num_gpus=5,4,8 --search");
  EXPECT_NE(table.out.find("best layout searched per point"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("  no valid layout fits in memory ("), std::string::npos) << table.out;
}

TEST(CliSweep, SearchKeepsAVariedLayoutKnobFixed) {
  const fs::path file = write_scenario("search", search_scenario());
  const CommandResult r = run_ptsim("sweep '" + file.string() + "' --vary tp=1,2,4 --search --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json sweep = nlohmann::json::parse(r.out);
  ASSERT_EQ(sweep["points"].size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(sweep["points"][i]["status"], "ok") << r.out;
    EXPECT_EQ(sweep["points"][i]["layout"]["tp"], std::int64_t{1} << i);
  }
  expect_points_match_search_and_simulate(sweep, search_scenario(), "layout.tp");
  // Without --search a partial layout is not a scenario: the base file is refused.
  EXPECT_EQ(run_ptsim("sweep '" + file.string() + "' --vary tp=1,2").exit_code, 2);
}

// Two nodes: CP rings that leave the node make layouts whose ranks differ; with a task
// limit of 1 none of them is simulated, the table says so, and since every layout reaches
// the front (--top above the count) the ranking is flagged as not proven.
TEST(Cli, SearchCountsLayoutsTooLargeToSimulateRankByRank) {
  const fs::path file = write_scenario(
      "twonode", R"({"model": {"preset": "megatron-1.7b", "num_layers": 2}, "cluster": {"preset": "dgx-a100", "num_gpus": 16},
                     "training": {"seq_length": 4096, "global_batch_size": 16}})");
  const CommandResult r = run_ptsim("search '" + file.string() + "' --top 100000 --max-full-tasks 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" layouts not simulated: their ranks are placed unlike each other"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  WARNING: that bound is below the ranking's last score"), std::string::npos) << r.out;
  const CommandResult j = run_ptsim("search '" + file.string() + "' --top 100000 --max-full-tasks 1 --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const nlohmann::json doc = nlohmann::json::parse(j.out);
  EXPECT_GT(doc["counts"]["too_large_to_simulate"].get<int>(), 0);
  const CommandResult bad = run_ptsim("search '" + file.string() + "' --max-full-tasks 0");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "ptsim: error: --max-full-tasks: must be at least 1\n");
}

TEST(Cli, SearchWithNoFittingLayoutExits3) {
  const fs::path file = write_scenario(
      "nofit", R"({"model": "gpt3-175b", "cluster": {"preset": "dgx-a100", "num_gpus": 1},
                   "training": {"seq_length": 2048, "global_batch_size": 8}})");
  const CommandResult r = run_ptsim("search '" + file.string() + "'");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.out.find("do not fit in memory"), std::string::npos) << r.out;
}

}  // namespace

namespace {

// A scenario whose TP all-reduces (8 GPUs in one node) have a measured curve in the
// shipped A100 profile: the profile must change the step time.
std::string profiled_scenario(const std::string& gpu_preset, const std::string& profile) {
  return scenario(R"("megatron-1.7b")", "{\"preset\": \"" + gpu_preset + "\", \"num_gpus\": 8, \"profile\": \"" + profile + "\"}",
                  R"({"seq_length": 2048, "global_batch_size": 16})", R"({"tp": 8, "pp": 1, "dp": 1, "micro_batch_size": 1})");
}

TEST(CliProfile, AShippedProfileChangesTheStepTime) {
  const std::string profile = std::string(PTSIM_SOURCE_DIR) + "/scenarios/profiles/a100-sxm-80gb.json";
  const auto with = run_ptsim("simulate --json '" + write_scenario("with", profiled_scenario("dgx-a100", profile)).string() + "'");
  std::string plain_text = profiled_scenario("dgx-a100", profile);
  plain_text.replace(plain_text.find(", \"profile\""), std::string(", \"profile\": \"" + profile + "\"").size(), "");
  const auto without = run_ptsim("simulate --json '" + write_scenario("without", plain_text).string() + "'");
  ASSERT_EQ(with.exit_code, 0) << with.err;
  ASSERT_EQ(without.exit_code, 0) << without.err;
  const auto step = [](const std::string& json) {
    const auto at = json.find("\"step_time_s\": ");
    return std::stod(json.substr(at + 15));
  };
  EXPECT_NE(step(with.out), step(without.out));
  EXPECT_LT(step(with.out), step(without.out));  // vTrain's measured 8-GPU all-reduce beats the model here
}

TEST(CliProfile, AProfileOfAnotherGpuIsBadInputNamingTheField) {
  const std::string profile = std::string(PTSIM_SOURCE_DIR) + "/scenarios/profiles/h100-sxm-80gb.json";
  const auto r = run_ptsim("simulate '" + write_scenario("mismatch", profiled_scenario("dgx-a100", profile)).string() + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  EXPECT_NE(r.err.find("cluster.profile: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("was measured on GPU \"h100-sxm-80gb\", but cluster.gpu is \"a100-sxm-80gb\""), std::string::npos) << r.err;
}

}  // namespace

namespace {

TEST(CliProfile, ValidateReportsBothWithAndWithoutTheProfile) {
  const fs::path dir = temp_dir() / "sets";
  fs::create_directories(dir);
  const std::string row_scenario = scenario(R"("megatron-1.7b")", R"({"preset": "dgx-a100", "num_gpus": 8})",
                                            R"({"seq_length": 2048, "global_batch_size": 16})",
                                            R"({"tp": 8, "pp": 1, "dp": 1, "micro_batch_size": 1})");
  std::ofstream(dir / "tiny.json") << R"x({"set": "tiny", "title": "one row", "quantity": "iteration_time_s",
    "quantity_text": "iteration time (s)", "rows": [{"name": "tp8", "source": "test", "measured": 1.0,
    "assumptions": [], "scenario": )x" << row_scenario << "}]}";
  const std::string profile = std::string(PTSIM_SOURCE_DIR) + "/scenarios/profiles/a100-sxm-80gb.json";
  const auto r = run_ptsim("validate --dir '" + dir.string() + "' --profile '" + profile + "' --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto predicted = [&](const std::string& key) {
    const auto at = r.out.find("\"predicted\": ", r.out.find("\"" + key + "\""));
    return std::stod(r.out.substr(at + 13));
  };
  EXPECT_NE(r.out.find("\"without_profile\""), std::string::npos) << r.out;
  EXPECT_LT(predicted("with_profile"), predicted("without_profile"));
  const auto bad = run_ptsim("validate --dir '" + dir.string() + "' --profile /nonexistent.json");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--profile: /nonexistent.json: cannot open file"), std::string::npos) << bad.err;
}

// A one-set folder: Table 4's first two rows with the given targets block.
fs::path table4_subset(const std::string& targets) {
  const fs::path dir = temp_dir() / "sets";
  fs::create_directories(dir);
  std::string text = slurp(fs::path(PTSIM_SOURCE_DIR) / "scenarios/validation/korthikanti_table4.json");
  const auto from = text.find("\"targets\"");
  const auto to = text.find("\"rows\"");
  text = text.substr(0, from) + "\"targets\": " + targets + ",\n " + text.substr(to);
  std::ofstream(dir / "t4.json") << text;
  return dir;
}

TEST(CliValidate, CheckFailsWhenASetLosesItsGuard) {
  const fs::path ok = table4_subset(R"({"target": {"max_absolute_error": 0.5}, "guard": {"max_absolute_error": 0.5}})");
  const CommandResult pass = run_ptsim("validate --check --dir '" + ok.string() + "'");
  EXPECT_EQ(pass.exit_code, 0) << pass.err;
  EXPECT_NE(pass.out.find("target (every row <= 50.0%): met"), std::string::npos) << pass.out;
  EXPECT_NE(pass.out.find("Baseline no recompute forward"), std::string::npos);

  const fs::path tight = table4_subset(R"({"target": {"mean_absolute_error": 1e-6}, "guard": {"mean_absolute_error": 1e-6}})");
  const CommandResult fail = run_ptsim("validate --check --dir '" + tight.string() + "'");
  EXPECT_EQ(fail.exit_code, 4);
  EXPECT_NE(fail.err.find("korthikanti_table4: mean absolute error"), std::string::npos) << fail.err;
  EXPECT_NE(fail.out.find("not met"), std::string::npos);
  // Without --check the same set only reports.
  EXPECT_EQ(run_ptsim("validate --dir '" + tight.string() + "'").exit_code, 0);

  const fs::path bad = table4_subset(R"({"guard": {"mean_absolute_error": -1}})");
  const CommandResult refused = run_ptsim("validate --dir '" + bad.string() + "'");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("targets.guard.mean_absolute_error: must be a positive fraction"), std::string::npos)
      << refused.err;
}

}  // namespace

namespace {

const std::string kCnnGraph = R"({"name": "tiny-cnn", "layers": [
  {"name": "image", "op": "input", "shape": [1, 28, 28]},
  {"name": "conv", "op": "conv2d", "inputs": ["image"], "out_channels": 8, "kernel": 3, "padding": 1},
  {"name": "relu", "op": "relu", "inputs": ["conv"]},
  {"name": "pool", "op": "maxpool", "inputs": ["relu"], "kernel": 2},
  {"name": "flat", "op": "flatten", "inputs": ["pool"]},
  {"name": "fc", "op": "linear", "inputs": ["flat"], "out_features": 10},
  {"name": "loss", "op": "softmax_loss", "inputs": ["fc"]}
]})";

std::string graph_scenario(const std::string& graph_file, const std::string& layout) {
  return R"({"layer_graph": {"file": ")" + graph_file + R"("}, "cluster": {"preset": "dgx-a100", "num_gpus": 4},
             "training": {"global_batch_size": 64}, "layout": )" + layout + "}";
}

TEST(CliLayerGraph, SimulatesAGraphFileAndPartitionsIt) {
  const fs::path dir = temp_dir();
  std::ofstream(dir / "cnn.json") << kCnnGraph;
  const fs::path file = write_scenario("graph", graph_scenario("cnn.json", R"({"pp": 2, "micro_batch_size": 8})"));
  const CommandResult sim = run_ptsim("simulate '" + file.string() + "' --json");
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  EXPECT_NE(sim.out.find(R"("model": "tiny-cnn")"), std::string::npos);
  const CommandResult part = run_ptsim("partition '" + file.string() + "'");
  ASSERT_EQ(part.exit_code, 0) << part.err;
  EXPECT_NE(part.out.find("perfect balance sum(T_i)/p"), std::string::npos) << part.out;
  const CommandResult json1 = run_ptsim("partition '" + file.string() + "' --pp 4 --json");
  const CommandResult json2 = run_ptsim("partition '" + file.string() + "' --pp 4 --json");
  ASSERT_EQ(json1.exit_code, 0) << json1.err;
  EXPECT_EQ(json1.out, json2.out);
  EXPECT_NE(json1.out.find(R"("gap_fraction")"), std::string::npos);
  EXPECT_NE(json1.out.find(R"("cut_bytes_out")"), std::string::npos);
}

TEST(CliLayerGraph, BadGraphsAndLayoutsAreOneLineErrors) {
  const fs::path dir = temp_dir();
  std::string bad = kCnnGraph;
  bad.replace(bad.find(R"("inputs": ["pool"])"), 18, R"("inputs": ["pol"])");
  std::ofstream(dir / "bad.json") << bad;
  const fs::path file = write_scenario("scenario", graph_scenario("bad.json", R"({"pp": 1})"));
  const CommandResult r = run_ptsim("simulate '" + file.string() + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "ptsim: error: " + file.string() +
                       ": layer_graph.file: bad.json: layers[4] (flat).inputs[0]: unknown layer 'pol' (a dangling edge)\n");
  std::ofstream(dir / "cnn.json") << kCnnGraph;
  const fs::path tp = write_scenario("tp", graph_scenario("cnn.json", R"({"tp": 2, "pp": 1})"));
  const CommandResult t = run_ptsim("simulate '" + tp.string() + "'");
  EXPECT_EQ(t.exit_code, 2);
  EXPECT_EQ(t.err, "ptsim: error: " + tp.string() +
                       ": layout.tp: 2 is not 1: layer-graph models run with data and pipeline parallelism only\n");
  const CommandResult pp = run_ptsim("partition '" + tp.string() + "' --pp 9");
  EXPECT_EQ(pp.exit_code, 2);
  const CommandResult transformer = run_ptsim("partition '" + std::string(PTSIM_SOURCE_DIR) + "/scenarios/gpt3-175b-1024-a100.json'");
  EXPECT_EQ(transformer.exit_code, 2);
}

}  // namespace

std::string fmt_double(double v) {
  std::ostringstream o;
  o.precision(17);
  o << v;
  return o.str();
}

// ptsim plan: the arithmetic of one option exactly, on the search scenario (dgx-a100, 8 GPUs).
TEST(CliPlan, OptionArithmeticIsExactAndTheLayoutIsTheSearchsBest) {
  const fs::path file = write_scenario("plan", search_scenario());
  const CommandResult plan =
      run_ptsim("plan '" + file.string() + "' --tokens 1B --gpu a100-sxm-80gb --gpus 8 --price-per-gpu-hour a100-sxm-80gb=2 --json");
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  const nlohmann::json j = nlohmann::json::parse(plan.out);
  ASSERT_EQ(j["options"].size(), 1u);
  const nlohmann::json& o = j["options"][0];
  const double step = o["step_time_s"].get<double>();
  const double steps = 61036;  // ceil(1e9 / (8 * 2048)) = ceil(61035.15625)
  EXPECT_EQ(o["steps"].get<double>(), steps);
  EXPECT_EQ(o["days"].get<double>(), steps * step / 86400);
  const double gpu_hours = 8.0 * (steps * step) / 3600;
  EXPECT_EQ(o["gpu_hours"].get<double>(), gpu_hours);
  EXPECT_EQ(o["cost_usd"].get<double>(), gpu_hours * 2.0);
  EXPECT_EQ(o["energy_mwh"].get<double>(), gpu_hours * 400 / 1e6);  // A100 SXM TDP 400 W
  // The same layout and step time as `ptsim search` ranks first.
  const CommandResult search = run_ptsim("search '" + file.string() + "' --top 1 --json");
  ASSERT_EQ(search.exit_code, 0) << search.err;
  const nlohmann::json s = nlohmann::json::parse(search.out);
  EXPECT_EQ(s["ranking"][0]["layout"], o["layout"]) << search.out;
  EXPECT_EQ(s["ranking"][0]["step_time_s"].get<double>(), step);
}

TEST(CliPlan, DeadlineMarksOptionsAndNoneFittingIsExit3) {
  const fs::path file = write_scenario("plan", search_scenario());
  const std::string base = "plan '" + file.string() + "' --tokens 1B --gpus 1,8 --json";
  const nlohmann::json all = nlohmann::json::parse(run_ptsim(base).out);
  ASSERT_EQ(all["options"].size(), 4u);  // two GPU types x two counts
  double fastest = 1e300, slowest = 0;
  for (const auto& o : all["options"]) {
    EXPECT_TRUE(o["meets_constraints"].get<bool>());
    fastest = std::min(fastest, o["days"].get<double>());
    slowest = std::max(slowest, o["days"].get<double>());
  }
  // Sorted by cost.
  for (std::size_t i = 1; i < all["options"].size(); ++i) {
    EXPECT_LE(all["options"][i - 1]["cost_usd"].get<double>(), all["options"][i]["cost_usd"].get<double>());
  }
  const double deadline = (fastest + slowest) / 2;
  const CommandResult some = run_ptsim(base + " --deadline-days " + fmt_double(deadline));
  ASSERT_EQ(some.exit_code, 0) << some.err;
  const nlohmann::json some_json = nlohmann::json::parse(some.out);  // named: a range-for over a temporary's member dangles
  for (const auto& o : some_json["options"]) {
    EXPECT_EQ(o["meets_constraints"].get<bool>(), o["days"].get<double>() <= deadline) << o.dump();
  }
  const CommandResult none = run_ptsim(base + " --deadline-days " + fmt_double(fastest / 2));
  EXPECT_EQ(none.exit_code, 3) << none.out;
  const CommandResult budget = run_ptsim(base + " --gpu-budget 4");
  ASSERT_EQ(budget.exit_code, 0) << budget.err;
  const nlohmann::json budget_json = nlohmann::json::parse(budget.out);
  for (const auto& o : budget_json["options"]) {
    EXPECT_EQ(o["meets_constraints"].get<bool>(), o["num_gpus"].get<int>() <= 4);
  }
}

TEST(CliPlan, BadFlagsAreExit2NamingTheFlag) {
  const fs::path file = write_scenario("plan", search_scenario());
  const std::string base = "plan '" + file.string() + "' ";
  const std::pair<const char*, const char*> cases[] = {
      {"--tokens 2X", "--tokens"},
      {"--tokens -5", "--tokens"},
      {"--tokens 1B --gpu tpu-v5", "--gpu"},
      {"--tokens 1B --gpus 0", "--gpus"},
      {"--tokens 1B --price-per-gpu-hour h100-sxm-80gb", "--price-per-gpu-hour"},
      {"--tokens 1B --price-per-gpu-hour v100=1", "--price-per-gpu-hour"},
      {"--tokens 1B --gpu gb200", "--price-per-gpu-hour"},
      {"--tokens 1B --deadline-days -1", "--deadline-days"},
      {"--tokens 1B --gpu-budget -1", "--gpu-budget"},
  };
  for (const auto& [args, flag] : cases) {
    const CommandResult r = run_ptsim(base + args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_NE(r.err.find(flag), std::string::npos) << args << ": " << r.err;
  }
  EXPECT_EQ(run_ptsim(base + "--tokens 2T --gpu h100-sxm-80gb --gpus 8").exit_code, 0);
  // Documented default prices (docs/search.md): H200 has one, GB200 (rented per superchip) not.
  const CommandResult h200 = run_ptsim(base + "--tokens 1B --gpu h200-sxm-141gb --gpus 8 --json");
  ASSERT_EQ(h200.exit_code, 0) << h200.err;
  const nlohmann::json h200_json = nlohmann::json::parse(h200.out);
  EXPECT_EQ(h200_json["options"][0]["price_per_gpu_hour"].get<double>(), 4.0);
}

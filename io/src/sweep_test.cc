// Sweep documents (what each key changes) and the sweep writers (rows, cells, quoting).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ptsim/io/input_error.h"
#include "ptsim/io/scenario_parser.h"
#include "ptsim/io/sweep_document.h"
#include "ptsim/io/sweep_report.h"
#include "ptsim/strategies/step_metrics.h"

namespace ptsim::io {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json base_doc() {
  return json::parse(R"({
    "name": "sweep-base",
    "model": "megatron-1.7b",
    "cluster": {"preset": "dgx-a100", "num_nodes": 1},
    "training": {"seq_length": 2048, "global_batch_size": 16, "precision": "fp16"},
    "layout": {"tp": 2, "pp": 2, "dp": 2, "micro_batch_size": 2}
  })");
}

TEST(SweepDocument, KeysResolveToScenarioFields) {
  EXPECT_EQ(sweep_key_path("num_gpus"), "cluster.num_gpus");
  EXPECT_EQ(sweep_key_path("tp"), "layout.tp");
  EXPECT_EQ(sweep_key_path("micro_batch_size"), "layout.micro_batch_size");
  EXPECT_EQ(sweep_key_path("global_batch_size"), "training.global_batch_size");
  EXPECT_EQ(sweep_key_path("training.seq_length"), "training.seq_length");
  try {
    sweep_key_path("tensor_parallel");
    FAIL() << "unknown key accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.path(), "--vary");
    EXPECT_THAT(e.reason(), HasSubstr("tensor_parallel"));
  }
  EXPECT_THROW(sweep_key_path("layout.nope"), InputError);
}

TEST(SweepDocument, NumGpusKeepsTheLayoutAndDerivesDp) {
  const json doc = apply_sweep_value(base_doc(), "num_gpus", "32");
  EXPECT_FALSE(doc["cluster"].contains("num_nodes"));
  EXPECT_FALSE(doc["layout"].contains("dp"));
  const auto s = parse_scenario(doc);
  EXPECT_EQ(s.cluster.num_gpus(), 32);
  EXPECT_EQ(s.layout.tp, 2);
  EXPECT_EQ(s.layout.pp, 2);
  EXPECT_EQ(s.layout.dp, 8);
}

TEST(SweepDocument, NumGpusNotAMultipleOfTheReplicaIsAnInputError) {
  EXPECT_THROW(parse_scenario(apply_sweep_value(base_doc(), "num_gpus", "6")), InputError);
}

TEST(SweepDocument, TpKeepsTheClusterAndDerivesDp) {
  const auto s = parse_scenario(apply_sweep_value(base_doc(), "tp", "4"));
  EXPECT_EQ(s.cluster.num_gpus(), 8);
  EXPECT_EQ(s.layout.tp, 4);
  EXPECT_EQ(s.layout.dp, 1);
}

TEST(SweepDocument, DpSizesTheCluster) {
  const auto s = parse_scenario(apply_sweep_value(base_doc(), "dp", "4"));
  EXPECT_EQ(s.layout.dp, 4);
  EXPECT_EQ(s.cluster.num_gpus(), 16);
}

TEST(SweepDocument, NamesBooleansAndNumbers) {
  EXPECT_EQ(apply_sweep_value(base_doc(), "schedule", "gpipe")["layout"]["schedule"], "gpipe");
  EXPECT_EQ(apply_sweep_value(base_doc(), "sequence_parallel", "true")["layout"]["sequence_parallel"], true);
  EXPECT_EQ(apply_sweep_value(base_doc(), "global_batch_size", "64")["training"]["global_batch_size"], 64);
  const json preset_cluster = apply_sweep_value(json{{"cluster", "dgx-a100"}}, "num_gpus", "16");
  EXPECT_EQ(preset_cluster["cluster"], (json{{"preset", "dgx-a100"}, {"num_gpus", 16}}));
}

std::vector<strategies::SweepPoint> two_points() {
  std::vector<strategies::SweepPoint> pts(2);
  pts[0].assignment = {{"num_gpus", "8"}};
  pts[0].value = "8";
  pts[0].scenario = parse_scenario(apply_sweep_value(base_doc(), "num_gpus", "8"));
  pts[0].result = strategies::simulate_step(*pts[0].scenario).result;
  pts[0].status = strategies::SweepStatus::ok;
  pts[1].assignment = {{"num_gpus", "6"}};
  pts[1].value = "6";
  pts[1].status = strategies::SweepStatus::invalid;
  pts[1].reason = "layout.dp: not given, and 6 is not divisible by 4, \"really\"";
  strategies::compute_scaling(pts);
  return pts;
}

TEST(SweepReport, CsvHasOneRowPerPointAndQuotesReasons) {
  const std::string csv = sweep_csv(two_points());
  std::vector<std::string> lines;
  for (std::size_t start = 0, nl; (nl = csv.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(csv.substr(start, nl - start));
  }
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(std::count(lines[0].begin(), lines[0].end(), ','), static_cast<long>(sweep_csv_columns().size() - 1));
  EXPECT_THAT(lines[1], ::testing::StartsWith("8,ok,,8,2,2,2,1,1,2,16,2048,4,1f1b,1,none,"));
  EXPECT_THAT(lines[1], HasSubstr(",1,1,"));  // speedup and efficiency of the baseline
  EXPECT_EQ(lines[2], "6,invalid,\"layout.dp: not given, and 6 is not divisible by 4, \"\"really\"\"\"" +
                          std::string(sweep_csv_columns().size() - 3, ','));
}

TEST(SweepReport, JsonCarriesTheSimulateContractPerPoint) {
  const json j = sweep_json({"sweep-base", {"num_gpus"}, {"cluster.num_gpus"}}, two_points());
  EXPECT_EQ(j["baseline_index"], 0);
  ASSERT_EQ(j["points"].size(), 2u);
  const json& ok = j["points"][0];
  EXPECT_EQ(ok["status"], "ok");
  EXPECT_EQ(ok["values"], (json{{"num_gpus", "8"}}));
  EXPECT_EQ(ok["speedup"], 1.0);
  EXPECT_EQ(ok["num_gpus"], 8);
  EXPECT_TRUE(ok.contains("step_time_s"));
  EXPECT_TRUE(ok["breakdown_s"].contains("exposed_comm"));
  EXPECT_TRUE(ok["memory"].contains("stages"));
  const json& bad = j["points"][1];
  EXPECT_EQ(bad["status"], "invalid");
  EXPECT_TRUE(bad["speedup"].is_null());
  EXPECT_FALSE(bad.contains("step_time_s"));
}

}  // namespace
}  // namespace ptsim::io

// Absurd but well-formed inputs (issue 11): each is refused with one line naming the field
// and exit code 2, or simulated in bounded time and memory with an honest answer (exit 0,
// or 3 when it does not fit). A huge but valid scenario must never crash, hang, overflow
// an integer or print inf/nan (the sanitizer build of this test catches the overflows).
#include <string>

#include "cli_runner.h"

namespace {

using namespace ptsim::testing_cli;

std::string scenario(const std::string& model, const std::string& cluster, const std::string& training,
                     const std::string& layout) {
  return "{\"model\": " + model + ", \"cluster\": " + cluster + ", \"training\": " + training +
         ", \"layout\": " + layout + "}";
}

CommandResult simulate(const std::string& name, const std::string& text, const std::string& flags = "") {
  const fs::path file = write_file(name + ".json", text);
  return run_ptsim("simulate " + flags + " '" + file.string() + "'", name);
}

// One line on stderr containing `expected`, nothing on stdout, exit 2.
void expect_refused(const CommandResult& r, const std::string& expected) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
  EXPECT_NE(r.err.find(expected), std::string::npos) << "stderr: " << r.err;
}

// A finished simulation whose JSON holds no inf or nan (nlohmann prints both as null).
void expect_finite_json(const CommandResult& r) {
  EXPECT_EQ(r.out.find("null"), std::string::npos) << r.out.substr(0, 2000);
  EXPECT_NE(r.out.find("\"step_time_s\""), std::string::npos);
}

const std::string kLlama8b = R"("llama3-8b")";
const std::string kTraining = R"({"seq_length": 4096, "global_batch_size": 8})";

TEST(AbsurdInputs, MillionGpusSimulateInBoundedTime) {
  const auto r = simulate("million_gpus",
                          scenario(kLlama8b, R"({"preset": "dgx-h100", "num_gpus": 1000000})",
                                   R"({"seq_length": 4096, "global_batch_size": 125000})",
                                   R"({"tp": 8, "pp": 1, "micro_batch_size": 1})"),
                          "--json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_finite_json(r);
  EXPECT_NE(r.out.find("\"num_gpus\": 1000000"), std::string::npos);
}

TEST(AbsurdInputs, TenThousandLayersDoNotFitAndSaySo) {
  const auto r = simulate("ten_thousand_layers",
                          scenario(R"({"preset": "llama3-8b", "num_layers": 10000})",
                                   R"({"preset": "dgx-h100", "num_gpus": 8})", kTraining,
                                   R"({"tp": 8, "pp": 1, "micro_batch_size": 1})"),
                          "--json");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  expect_finite_json(r);
  EXPECT_NE(r.out.find("\"fits\": false"), std::string::npos);
  EXPECT_NE(r.err.find("ptsim: error: layout does not fit"), std::string::npos) << r.err;
}

TEST(AbsurdInputs, TenMillionTokenSequenceDoesNotFit) {
  const auto r = simulate("seq_10m",
                          scenario(kLlama8b, R"({"preset": "dgx-h100", "num_gpus": 8})",
                                   R"({"seq_length": 10000000, "global_batch_size": 1})",
                                   R"({"tp": 8, "pp": 1, "micro_batch_size": 1})"),
                          "--json");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  expect_finite_json(r);
  EXPECT_NE(r.err.find("layout does not fit"), std::string::npos) << r.err;
}

TEST(AbsurdInputs, GlobalBatchOfOneRunsOnOneReplica) {
  const auto ok = simulate("batch_1", scenario(kLlama8b, R"({"preset": "dgx-h100", "num_gpus": 8})",
                                               R"({"seq_length": 4096, "global_batch_size": 1})",
                                               R"({"tp": 8, "pp": 1})"),
                           "--json");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  expect_finite_json(ok);
  expect_refused(simulate("batch_1_dp2", scenario(kLlama8b, R"({"preset": "dgx-h100", "num_gpus": 8})",
                                                  R"({"seq_length": 4096, "global_batch_size": 1})",
                                                  R"({"tp": 4, "pp": 1})")),
                 "training.global_batch_size: 1 is not divisible by dp (2) x micro_batch_size (1) = 2");
}

TEST(AbsurdInputs, MicroBatchLargerThanTheBatch) {
  expect_refused(simulate("mbs_gt_gbs", scenario(kLlama8b, R"({"preset": "dgx-h100", "num_gpus": 8})",
                                                 R"({"seq_length": 4096, "global_batch_size": 2})",
                                                 R"({"tp": 8, "pp": 1, "micro_batch_size": 4})")),
                 "training.global_batch_size: 2 is not divisible by dp (1) x micro_batch_size (4) = 4");
}

TEST(AbsurdInputs, ZeroBandwidthIsRefused) {
  expect_refused(simulate("network_bw_0",
                          scenario(kLlama8b, R"({"preset": "dgx-h100", "num_gpus": 8, "network_bandwidth_gbit_per_s": 0})",
                                   kTraining, R"({"tp": 8})")),
                 "cluster.network_bandwidth_gbit_per_s: must be a positive number, got 0");
  expect_refused(simulate("nvlink_bw_0",
                          scenario(kLlama8b,
                                   R"({"preset": "dgx-h100", "num_gpus": 8, "gpu": {"preset": "h100-sxm-80gb", "nvlink_bandwidth_gb_per_s": 0}})",
                                   kTraining, R"({"tp": 8})")),
                 "cluster.gpu.nvlink_bandwidth_gb_per_s: must be a positive number, got 0");
  expect_refused(simulate("hbm_bw_0",
                          scenario(kLlama8b,
                                   R"({"preset": "dgx-h100", "num_gpus": 8, "gpu": {"preset": "h100-sxm-80gb", "hbm_bandwidth_gb_per_s": 0}})",
                                   kTraining, R"({"tp": 8})")),
                 "cluster.gpu.hbm_bandwidth_gb_per_s: must be a positive number, got 0");
}

// A hardware profile with every table empty measures nothing: the step is the model's,
// to the nanosecond; a non-monotonic table is refused naming the entry.
TEST(AbsurdInputs, ProfileWithEmptyTablesIsTheModelAndNonMonotonicIsRefused) {
  const std::string head = R"({"format": "ptsim-profile/1", "gpu": "h100-sxm-80gb", "sources": ["test"], "device": {"name": "x"}, )";
  const fs::path empty = write_file("empty_profile.json", head + R"("gemm": [], "memory": [], "collectives": []})");
  const std::string cluster = R"({"preset": "dgx-h100", "num_gpus": 8)";
  const std::string layout = R"({"tp": 8})";
  const CommandResult with = simulate("empty_profile_scn",
                                      scenario(kLlama8b, cluster + R"(, "profile": ")" + empty.string() + "\"}", kTraining, layout), "--json");
  const CommandResult without = simulate("no_profile_scn", scenario(kLlama8b, cluster + "}", kTraining, layout), "--json");
  ASSERT_EQ(with.exit_code, 0) << with.err;
  ASSERT_EQ(without.exit_code, 0) << without.err;
  auto step_ns = [](const std::string& out) { return out.substr(out.find("\"step_time_ns\""), 40); };
  EXPECT_EQ(step_ns(with.out), step_ns(without.out));
  const fs::path bad = write_file(
      "nonmonotonic_profile.json",
      head + R"("gemm": [], "memory": [{"kernel": "elementwise", "bytes": [1e9, 1e6], "bytes_per_s": [1e12, 3e12]}], "collectives": []})");
  expect_refused(simulate("nonmonotonic_scn", scenario(kLlama8b, cluster + R"(, "profile": ")" + bad.string() + "\"}", kTraining, layout)),
                 "nonmonotonic_profile.json: memory[0].bytes[1]: 1000000 is not above the previous 1000000000");
}

TEST(AbsurdInputs, NegativeLatencyIsRefused) {
  expect_refused(simulate("negative_latency",
                          scenario(kLlama8b,
                                   R"({"preset": "dgx-h100", "num_gpus": 8, "efficiency": {"inter_node_step_latency_us": -5}})",
                                   kTraining, R"({"tp": 8})")),
                 "cluster.efficiency.inter_node_step_latency_us: must be a non-negative number, got -5");
  expect_refused(simulate("negative_launch",
                          scenario(kLlama8b,
                                   R"({"preset": "dgx-h100", "num_gpus": 8, "efficiency": {"kernel_launch_overhead_us": -0.5}})",
                                   kTraining, R"({"tp": 8})")),
                 "cluster.efficiency.kernel_launch_overhead_us: must be a non-negative number, got -0.5");
}

TEST(AbsurdInputs, NanInfinityAndOverflowingNumbersAreRefused) {
  const std::string cluster_with = R"({"preset": "dgx-h100", "num_gpus": 8, "gpu": {"preset": "h100-sxm-80gb", "hbm_capacity_gib": X}})";
  auto with = [&](const std::string& value) {
    std::string c = cluster_with;
    return scenario(kLlama8b, c.replace(c.find('X'), 1, value), kTraining, R"({"tp": 8})");
  };
  expect_refused(simulate("nan", with("NaN")), "invalid JSON at line 1");
  expect_refused(simulate("infinity", with("Infinity")), "invalid JSON at line 1");
  expect_refused(simulate("number_overflow", with("1e999")), "invalid JSON: number overflow parsing '1e999'");
  expect_refused(simulate("si_overflow", with("1e308")),
                 "cluster.gpu.hbm_capacity_gib: 1e+308 is too large (beyond the range of a double in SI units)");
}

TEST(AbsurdInputs, IntegerOverflowsAreRefused) {
  expect_refused(simulate("gpus_over_int32", scenario(kLlama8b, R"({"preset": "dgx-h100", "num_gpus": 4294967296})",
                                                      kTraining, R"({"tp": 8})")),
                 "cluster.num_gpus: must be at most 2147483647, got 4294967296");
  expect_refused(simulate("gpus_over_uint64", scenario(kLlama8b, R"({"preset": "dgx-h100", "num_gpus": 18446744073709551616})",
                                                       kTraining, R"({"tp": 8})")),
                 "cluster.num_gpus: must be a positive integer, got 1.8446744073709552e+19");
  expect_refused(simulate("nodes_times_gpus", scenario(kLlama8b, R"({"preset": "dgx-h100", "num_nodes": 2147483647})",
                                                       kTraining, R"({"tp": 8})")),
                 "cluster.num_nodes: 2147483647 nodes x 8 GPUs per node is more than 2147483647 GPUs");
  // dp x tp x pp would be 2^93: the product is checked, not computed.
  expect_refused(simulate("layout_product", scenario(kLlama8b, R"({"preset": "dgx-h100", "num_gpus": 8})", kTraining,
                                                     R"({"tp": 2147483647, "pp": 2147483647, "dp": 2147483647})")),
                 "layout: dp (2147483647) x tp (2147483647) x pp (2147483647) = more than 2^63 does not equal cluster.num_gpus 8");
  // tokens x hidden: 2^31 tokens per sequence x 2^31 sequences per micro-batch. Sizes are
  // doubles, so nothing wraps; the step would last ~800 years, past the simulator's clock.
  expect_refused(simulate("tokens_times_hidden",
                          scenario(kLlama8b, R"({"preset": "dgx-h100", "num_gpus": 8})",
                                   R"({"seq_length": 2147483640, "global_batch_size": 2147483647})",
                                   R"({"tp": 8, "pp": 1, "micro_batch_size": 2147483647})")),
                 "exceeds the 64-bit nanosecond range: the scenario's sizes, batch or bandwidths are out of any real range");
}

TEST(AbsurdInputs, TooManyMicroBatchesToSimulateAreRefused) {
  // 2^31 micro-batches x 32 layers would be ~10^12 tasks: refused before lowering.
  expect_refused(simulate("microbatches", scenario(kLlama8b, R"({"preset": "dgx-h100", "num_gpus": 8})",
                                                   R"({"seq_length": 4096, "global_batch_size": 2147483647})",
                                                   R"({"tp": 8, "pp": 1, "micro_batch_size": 1})")),
                 "training.global_batch_size: 2147483647 micro-batches x model.num_layers 32");
}

TEST(AbsurdInputs, DeepJsonNestingIsRefused) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  expect_refused(simulate("deep_nesting", "{\"description\": " + deep + "}"), "description: must be a string, got an array");
  expect_refused(simulate("deep_unclosed", std::string(100000, '{')), "invalid JSON at line 1");
}

TEST(AbsurdInputs, ControlCharactersInNamesStayOnOneLine) {
  expect_refused(simulate("newline_key", "{\"mo\\ndel\": 1}"), "mo\\ndel: unknown field");
  expect_refused(simulate("newline_preset", scenario("\"llama\\n3\"", R"({"preset": "dgx-h100", "num_gpus": 8})", kTraining,
                                                     R"({"tp": 8})")),
                 "unknown model preset 'llama\\n3'");
}

TEST(AbsurdInputs, CollectiveSizesAreBounded) {
  const auto over = run_ptsim("collective --bytes 1:2000000000000", "over");
  EXPECT_EQ(over.exit_code, 2);
  EXPECT_NE(over.err.find("--bytes: size '1:2000000000000' is over 1T"), std::string::npos) << over.err;
  const auto big = run_ptsim("collective --cluster dgx-h100 --nodes 1000000 --bytes 8G --json", "big");
  EXPECT_EQ(big.exit_code, 0) << big.err;
  EXPECT_EQ(big.out.find("null"), std::string::npos) << big.out;
  const auto nodes = run_ptsim("collective --nodes 2147483647", "nodes");
  EXPECT_EQ(nodes.exit_code, 2) << nodes.err;
  // nodes x 8 GPUs would wrap an int.
  EXPECT_NE(nodes.err.find("--nodes: must be between 1 and 268435455, got 2147483647"), std::string::npos) << nodes.err;
}

}  // namespace

#include "ptsim/calibrate/nccl_tests_text.h"

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "ptsim/io/calibration_json.h"
#include "ptsim/io/input_error.h"

namespace ptsim::calibrate {
namespace {

using costmodel::CollectiveOp;

const std::string kLog = std::string(PTSIM_CALIBRATE_TESTDATA) + "/h100_2x8_all_reduce.txt";
const std::string kJson = std::string(PTSIM_CALIBRATE_TESTDATA) + "/h100_2x8_all_reduce.json";

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string error_of(const std::string& text, std::optional<CollectiveOp> op) {
  try {
    parse_nccl_tests_text(text, "log.txt", op);
  } catch (const io::InputError& e) {
    return e.what();
  }
  return "no error";
}

// The line number (1-based) of the first line containing `needle`.
int line_of(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

TEST(NcclTestsText, ReadsThePublishedTwoNodeH100Log) {
  const auto m = parse_nccl_tests_text(read(kLog), kLog, CollectiveOp::all_reduce);
  ASSERT_EQ(m.collectives.size(), 31u);  // 8 B .. 8 GiB
  const auto& last = m.collectives.back();
  EXPECT_EQ(last.op, CollectiveOp::all_reduce);
  EXPECT_EQ(last.ranks, 16);
  EXPECT_EQ(last.ranks_per_domain, 8);
  EXPECT_EQ(last.domains, 2);
  EXPECT_DOUBLE_EQ(last.bytes, 8589934592.0);
  EXPECT_DOUBLE_EQ(last.time_s, 47743e-6);  // in-place time
  EXPECT_DOUBLE_EQ(m.collectives.front().bytes, 8.0);
  ASSERT_FALSE(m.device.empty());
  EXPECT_EQ(m.device[0].second, "NVIDIA H100 80GB HBM3");
}

TEST(NcclTestsText, TheJsonOfTheSameRunGivesTheSameSamples) {
  const auto text = parse_nccl_tests_text(read(kLog), kLog, CollectiveOp::all_reduce);
  const auto json = io::parse_nccl_tests_json(read(kJson), kJson);
  ASSERT_EQ(json.collectives.size(), text.collectives.size());
  for (std::size_t i = 0; i < json.collectives.size(); ++i) {
    EXPECT_EQ(json.collectives[i].op, text.collectives[i].op);
    EXPECT_EQ(json.collectives[i].ranks, 16);
    EXPECT_EQ(json.collectives[i].domains, 2);
    EXPECT_DOUBLE_EQ(json.collectives[i].bytes, text.collectives[i].bytes);
    EXPECT_DOUBLE_EQ(json.collectives[i].time_s, text.collectives[i].time_s);
  }
}

TEST(NcclTestsText, CollectiveTestStartingLineNamesTheOp) {
  std::string text = read(kLog);
  text.insert(text.find("# nThread"), "# Collective test starting: all_reduce_perf\n");
  EXPECT_EQ(parse_nccl_tests_text(text, "log", std::nullopt).collectives.size(), 31u);
}

TEST(NcclTestsText, ATruncatedRowIsAnErrorNamingItsLine) {
  std::string text = read(kLog);
  const std::string row = "  1073741824     268435456     float     sum      -1   6759.0  158.86  297.86      0   6737.4  159.37  298.82      0";
  const int line = line_of(text, row);
  text.replace(text.find(row), row.size(), "  1073741824     268435456     float     sum      -1   6759.0  158.86");
  const std::string err = error_of(text, CollectiveOp::all_reduce);
  EXPECT_NE(err.find("log.txt:" + std::to_string(line) + ": expected 13 columns"), std::string::npos) << err;
}

TEST(NcclTestsText, ANonNumericTimeIsAnErrorNamingItsLine) {
  std::string text = read(kLog);
  const int line = line_of(text, "   2360.9  113.70");
  text.replace(text.find("2360.9"), 6, "2360,9");
  const std::string err = error_of(text, CollectiveOp::all_reduce);
  EXPECT_NE(err.find("log.txt:" + std::to_string(line) + ": time, algbw and busbw must be numbers"), std::string::npos) << err;
}

// Found by fuzz_nccl_tests_text: a rank number beyond int was converted to int (undefined
// behaviour); it is now an error naming the line.
TEST(NcclTestsText, AHugeRankNumberIsAnErrorNamingItsLine) {
  std::string text = read(kLog);
  const int line = line_of(text, "Rank  0 Group");
  text.replace(text.find("Rank  0 Group"), 13, "Rank  1.33e24 Group");
  const std::string err = error_of(text, CollectiveOp::all_reduce);
  EXPECT_NE(err.find("log.txt:" + std::to_string(line) + ": rank '1.33e24' is not a whole number"), std::string::npos)
      << err;
}

TEST(NcclTestsText, AWrongCollectiveIsCaughtByTheBusBandwidthFactor) {
  const std::string err = error_of(read(kLog), CollectiveOp::all_gather);
  EXPECT_NE(err.find("busbw/algbw = 1.87"), std::string::npos) << err;
  EXPECT_NE(err.find("all_gather on 16 ranks has the factor 0.938"), std::string::npos) << err;
}

TEST(NcclTestsText, AnUnnamedCollectiveIsAnError) {
  const std::string err = error_of(read(kLog), std::nullopt);
  EXPECT_NE(err.find("name it with --op"), std::string::npos) << err;
}

TEST(NcclTestsText, RowsWithoutRankLinesAreAnError) {
  std::string text = read(kLog);
  text.erase(text.find("# Using devices"), text.find("#                                                              out-of-place") - text.find("# Using devices"));
  const std::string err = error_of(text, CollectiveOp::all_reduce);
  EXPECT_NE(err.find("before any '#  Rank N ... on HOST' line"), std::string::npos) << err;
}

TEST(NcclTestsText, ALogWithoutResultsIsAnError) {
  EXPECT_EQ(error_of("# nThread 1 nGpus 8\n# Using devices\n", CollectiveOp::all_reduce),
            "log.txt: no nccl-tests result rows (a '#  size  count ...' header and rows below it)");
}

TEST(NcclTestsJson, BadDocumentsNameThePath) {
  auto err = [](const std::string& text) {
    try {
      io::parse_nccl_tests_json(text, "r.json");
    } catch (const io::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(err("{\"results\": []}"), "r.json: config: missing");
  EXPECT_EQ(err("{\"config\": {\"nthreads\": 1, \"ngpus\": 1, \"devices\": [{\"hostname\": \"a\"}, {\"hostname\": \"b\"}]},"
                " \"args\": [\"./reduce_perf\"], \"results\": [{\"size\": 1024, \"in_place\": {\"time\": 5.0}}]}"),
            "r.json: results[0]: collective \"./reduce_perf\" is not one ptsim models (all_reduce, all_gather, "
            "reduce_scatter, alltoall, broadcast, sendrecv)");
  EXPECT_NE(err("{\"config\": 1").find("invalid JSON at line 1"), std::string::npos);
}

}  // namespace
}  // namespace ptsim::calibrate

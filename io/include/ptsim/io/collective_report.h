// `ptsim collective`: the modelled time of one collective over a range of sizes, printed in
// nccl-tests' columns (size, count, type, time, algbw, busbw) so it can be held against a
// real all_reduce_perf run, or as JSON. Also parses the size-range argument ("1K:8G").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptsim/costmodel/collective_algorithms.h"

namespace ptsim::io {

struct CollectiveRow {
  double bytes = 0;
  costmodel::CollectivePlan plan;
  double algbw_gb_per_s = 0;
  double busbw_gb_per_s = 0;
};

// "1K:8G" (powers of two from 1 KiB to 8 GiB, doubling), "1048576", "64M:64M"; K, M, G are
// binary as in nccl-tests. Throws InputError("--bytes", ...) on anything else.
std::vector<double> parse_size_range(std::string_view text);

std::vector<CollectiveRow> collective_sweep(costmodel::CollectiveOp op, const costmodel::GroupShape& shape,
                                            const std::vector<double>& sizes, const costmodel::ClusterSpec& cluster);

std::string collective_table(costmodel::CollectiveOp op, const costmodel::GroupShape& shape,
                             const costmodel::ClusterSpec& cluster, const std::vector<CollectiveRow>& rows);
nlohmann::json collective_json(costmodel::CollectiveOp op, const costmodel::GroupShape& shape,
                               const costmodel::ClusterSpec& cluster, const std::vector<CollectiveRow>& rows);

}  // namespace ptsim::io

// nccl-tests' text output (what all_reduce_perf and friends print) as measurements: the
// "#  Rank N Group G Pid P on HOST device D [bus] NAME" lines give the ranks and nodes,
// the column header ("size count type redop root time algbw busbw #wrong" twice, out-of-
// place then in-place; older versions without root) the layout of the rows that follow.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ptsim/costmodel/measurements.h"

namespace ptsim::calibrate {

// `op` names the collective when the log does not ("# Collective test starting: X" line,
// nccl-tests >= 2.14). Throws io::InputError "FILE:LINE" with the reason for a malformed
// row, a busbw/algbw ratio that contradicts the rank count, or a log without results.
costmodel::Measurements parse_nccl_tests_text(std::string_view text, const std::string& file,
                                              std::optional<costmodel::CollectiveOp> op);

}  // namespace ptsim::calibrate

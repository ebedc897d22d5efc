#include "ptsim/strategies/rank_grid.h"

#include <algorithm>

namespace ptsim::strategies {

RankGrid::RankGrid(std::int64_t tp, std::int64_t dp, std::int64_t pp, RankOrder order, std::int64_t cp)
    : tp_(tp), dp_(dp), pp_(pp), cp_(cp), size_{tp * cp, dp, pp} {
  constexpr std::size_t kTp = 0, kDp = 1, kPp = 2;
  switch (order) {
    case RankOrder::tp_dp_pp: order_ = {kTp, kDp, kPp}; break;
    case RankOrder::tp_pp_dp: order_ = {kTp, kPp, kDp}; break;
    case RankOrder::dp_tp_pp: order_ = {kDp, kTp, kPp}; break;
    case RankOrder::dp_pp_tp: order_ = {kDp, kPp, kTp}; break;
    case RankOrder::pp_tp_dp: order_ = {kPp, kTp, kDp}; break;
    case RankOrder::pp_dp_tp: order_ = {kPp, kDp, kTp}; break;
  }
}

std::vector<int> RankGrid::tp_group(std::int64_t dp_index, std::int64_t pp_index) const {
  std::vector<int> ranks;
  for (std::int64_t t = 0; t < tp_; ++t) ranks.push_back(rank(t, dp_index, pp_index));
  return ranks;
}

std::vector<int> RankGrid::cp_group(std::int64_t tp_index, std::int64_t dp_index, std::int64_t pp_index) const {
  std::vector<int> ranks;
  for (std::int64_t c = 0; c < cp_; ++c) ranks.push_back(rank(tp_index, dp_index, pp_index, c));
  return ranks;
}

std::vector<int> RankGrid::dp_cp_group(std::int64_t tp_index, std::int64_t pp_index) const {
  std::vector<int> ranks;
  for (std::int64_t d = 0; d < dp_; ++d) {
    for (std::int64_t c = 0; c < cp_; ++c) ranks.push_back(rank(tp_index, d, pp_index, c));
  }
  std::sort(ranks.begin(), ranks.end());
  return ranks;
}

std::vector<int> RankGrid::dp_group(std::int64_t tp_index, std::int64_t pp_index) const {
  std::vector<int> ranks;
  for (std::int64_t d = 0; d < dp_; ++d) ranks.push_back(rank(tp_index, d, pp_index));
  return ranks;
}

}  // namespace ptsim::strategies

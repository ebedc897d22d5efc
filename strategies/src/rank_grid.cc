#include "ptsim/strategies/rank_grid.h"

namespace ptsim::strategies {

std::vector<int> RankGrid::tp_group(std::int64_t dp_index, std::int64_t pp_index) const {
  std::vector<int> ranks;
  for (std::int64_t t = 0; t < tp_; ++t) ranks.push_back(rank(t, dp_index, pp_index));
  return ranks;
}

std::vector<int> RankGrid::dp_group(std::int64_t tp_index, std::int64_t pp_index) const {
  std::vector<int> ranks;
  for (std::int64_t d = 0; d < dp_; ++d) ranks.push_back(rank(tp_index, d, pp_index));
  return ranks;
}

}  // namespace ptsim::strategies

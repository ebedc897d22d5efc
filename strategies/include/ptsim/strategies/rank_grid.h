// Maps (tp, dp, pp) coordinates to global ranks, fastest-varying dimension first. With
// Megatron-LM's default order (tensor, data, pipeline) a TP group is consecutive ranks,
// inside one node when tp <= gpus_per_node, and pipeline stages are furthest apart.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "ptsim/strategies/scenario.h"

namespace ptsim::strategies {

class RankGrid {
 public:
  RankGrid(std::int64_t tp, std::int64_t dp, std::int64_t pp, RankOrder order = RankOrder::tp_dp_pp);

  int rank(std::int64_t tp_index, std::int64_t dp_index, std::int64_t pp_index) const {
    const std::array<std::int64_t, 3> index{tp_index, dp_index, pp_index};
    return static_cast<int>(index[order_[0]] +
                            size_[order_[0]] * (index[order_[1]] + size_[order_[1]] * index[order_[2]]));
  }
  std::vector<int> tp_group(std::int64_t dp_index, std::int64_t pp_index) const;
  std::vector<int> dp_group(std::int64_t tp_index, std::int64_t pp_index) const;

 private:
  std::int64_t tp_, dp_, pp_;
  std::array<std::int64_t, 3> size_;   // by dimension: tp, dp, pp
  std::array<std::size_t, 3> order_;   // dimensions, fastest first
};

}  // namespace ptsim::strategies

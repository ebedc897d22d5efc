// Maps (tp, cp, dp, pp) coordinates to global ranks, fastest-varying dimension first. With
// Megatron-LM's default order (tensor, context, data, pipeline) a TP group is consecutive
// ranks, inside one node when tp <= gpus_per_node, and pipeline stages are furthest apart.
// Context parallelism always sits right after tensor parallelism (tp x cp is one block in
// the chosen order of tp, dp and pp).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "ptsim/strategies/scenario.h"

namespace ptsim::strategies {

class RankGrid {
 public:
  RankGrid(std::int64_t tp, std::int64_t dp, std::int64_t pp, RankOrder order = RankOrder::tp_dp_pp,
           std::int64_t cp = 1);

  int rank(std::int64_t tp_index, std::int64_t dp_index, std::int64_t pp_index, std::int64_t cp_index = 0) const {
    const std::array<std::int64_t, 3> index{tp_index + tp_ * cp_index, dp_index, pp_index};
    return static_cast<int>(index[order_[0]] +
                            size_[order_[0]] * (index[order_[1]] + size_[order_[1]] * index[order_[2]]));
  }
  std::vector<int> tp_group(std::int64_t dp_index, std::int64_t pp_index) const;
  std::vector<int> dp_group(std::int64_t tp_index, std::int64_t pp_index) const;
  std::vector<int> cp_group(std::int64_t tp_index, std::int64_t dp_index, std::int64_t pp_index) const;
  // The group that reduces gradients: data and context parallel ranks together.
  std::vector<int> dp_cp_group(std::int64_t tp_index, std::int64_t pp_index) const;

 private:
  std::int64_t tp_, dp_, pp_, cp_;
  std::array<std::int64_t, 3> size_;   // by dimension: tp x cp, dp, pp
  std::array<std::size_t, 3> order_;   // dimensions, fastest first
};

}  // namespace ptsim::strategies

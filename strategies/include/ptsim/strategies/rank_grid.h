// Maps (tp, dp, pp) coordinates to global ranks in Megatron-LM's default order: tensor
// parallel fastest, then data parallel, then pipeline. So a TP group is consecutive ranks
// (inside one node when tp <= gpus_per_node) and pipeline stages are furthest apart.
#pragma once

#include <cstdint>
#include <vector>

namespace ptsim::strategies {

class RankGrid {
 public:
  RankGrid(std::int64_t tp, std::int64_t dp, std::int64_t pp) : tp_(tp), dp_(dp), pp_(pp) {}

  int rank(std::int64_t tp_index, std::int64_t dp_index, std::int64_t pp_index) const {
    return static_cast<int>(tp_index + tp_ * (dp_index + dp_ * pp_index));
  }
  std::vector<int> tp_group(std::int64_t dp_index, std::int64_t pp_index) const;
  std::vector<int> dp_group(std::int64_t tp_index, std::int64_t pp_index) const;

 private:
  std::int64_t tp_, dp_, pp_;
};

}  // namespace ptsim::strategies

// The communication groups of one pipeline stage, as lanes of the stage (lane = tp index +
// tp x (cp index + cp x dp index); lane 0 is the representative: TP rank 0 of CP rank 0 of
// DP replica 0), with each group's placement (GroupShape) reduced to a few shape classes.
// The collapsed lowering keeps only lane 0 and its groups; the full lowering every lane.
// rank_asymmetry() reads them to decide whether the ranks of a stage are equivalent.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ptsim/costmodel/collective_algorithms.h"
#include "ptsim/strategies/rank_grid.h"
#include "ptsim/strategies/scenario.h"

namespace ptsim::strategies::detail {

// The groups of one kind in a stage. Group g's members are
// members[offsets[g] .. offsets[g + 1]); per member entry, the shape class of what it sends
// (tx) and receives (rx): a ring step sends to the next member and receives from the
// previous one, a collective uses its group's shape for both. shapes[0] is the
// representative's (lane 0's) class.
struct GroupSet {
  std::vector<std::uint32_t> members;
  std::vector<std::uint32_t> offsets{0};
  std::vector<std::uint16_t> tx_class;
  std::vector<std::uint16_t> rx_class;
  std::vector<costmodel::GroupShape> shapes;
  // Per class, one group (as global ranks) of that class, for messages.
  std::vector<std::vector<int>> examples;
  // Ring sets: the shape of every step sent within the group holding lane 0, in both modes
  // (the collapsed mode keeps only lane 0's step, the full mode moves them all in one
  // task, which lasts at least the slowest step alone: step_bound uses it).
  std::vector<costmodel::GroupShape> rep_ring_shapes;

  std::size_t num_groups() const { return offsets.size() - 1; }
  std::span<const std::uint32_t> group(std::size_t g) const {
    return {members.data() + offsets[g], offsets[g + 1] - offsets[g]};
  }
};

// Pipeline sends out of a stage: forward (to the next stage) and backward (to the
// previous one; interleaved schedules wrap around), one single-member group per lane.
struct StageGroups {
  int stage = 0;
  GroupSet tp;        // tensor-parallel groups
  GroupSet cp;        // context-parallel groups (all-gather variant)
  GroupSet cp_ring;   // context-parallel ring steps: each member to the next
  GroupSet ep;        // expert-parallel groups: ep consecutive (cp, dp) ranks, Megatron's order
  GroupSet dp;        // gradient reduction: data and context parallel ranks together
  std::array<GroupSet, 2> send;
  std::array<int, 2> send_to{-1, -1};  // receiving stage, -1 when none
};

bool same_shape(const costmodel::GroupShape& a, const costmodel::GroupShape& b);

// Ranks per stage (tp x cp x dp), and the global rank of a lane of stage `stage`.
std::int64_t lanes_per_stage(const Scenario& scenario);
int lane_rank(const Scenario& scenario, const RankGrid& grid, int stage, std::uint32_t lane);

// all_lanes: every lane (full mode), else only lane 0 and the groups it belongs to.
StageGroups build_stage_groups(const Scenario& scenario, const RankGrid& grid, int stage, bool all_lanes);

// "ranks 8-15 (2 NVLink domains of up to 4 ranks, 1 pod)".
std::string describe_group(const std::vector<int>& ranks, const costmodel::GroupShape& shape);

}  // namespace ptsim::strategies::detail

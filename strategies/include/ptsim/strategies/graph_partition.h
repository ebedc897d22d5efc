// Splitting a layer graph into pipeline stages. A partition gives every layer a stage such
// that no edge goes from a later stage to an earlier one (stage s only needs stages < s).
// Objective (docs/partitioning.md): minimise the bottleneck stage cost, where a stage costs
// its layers' forward + backward time plus the time to send its activations across the cut
// to the next stage and its gradients across the cut to the previous one; a cut carries every
// tensor produced at or before it and consumed after it (skip connections are relayed).
// Methods: on a chain, exact dynamic programming over contiguous splits; on a general DAG,
// the same DP over a topological order, refined by Kernighan-Lin passes of single-layer
// moves between adjacent stages.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ptsim/strategies/layer_graph.h"

namespace ptsim::strategies {

struct PartitionProblem {
  const LayerGraph* graph = nullptr;
  int num_stages = 1;
  std::vector<double> layer_time_s;  // per layer: forward + backward of one micro-batch
  std::vector<double> output_bytes;  // per layer: its output tensor for one micro-batch
  // One-way time to move `bytes` across the cut between stage `cut` and `cut + 1`.
  std::function<double(int cut, double bytes)> transfer_s;
};

struct PartitionCost {
  std::vector<double> compute_s;  // per stage
  std::vector<double> comm_s;     // per stage: its forward send plus its backward send
  std::vector<double> cut_bytes;  // per cut (num_stages - 1), one direction
  std::vector<int> num_layers;    // per stage
  double bottleneck_s = 0;        // max over stages of compute + comm
  double balanced_s = 0;          // perfect balance: sum of layer times / num_stages
  double cost(int stage) const { return compute_s[stage] + comm_s[stage]; }
};

struct Partition {
  std::vector<int> stage_of;  // per layer
  int num_stages = 1;
  std::string method;
};

// Every layer in [0, num_stages), no stage empty, no edge backwards.
bool is_valid_partition(const LayerGraph& graph, const std::vector<int>& stage_of, int num_stages);

PartitionCost evaluate_partition(const PartitionProblem& problem, const std::vector<int>& stage_of);

// The best split of `order` (a topological order) into num_stages contiguous, non-empty
// ranges under the objective: exact, O(num_stages x n^2).
std::vector<int> split_order_optimally(const PartitionProblem& problem, const std::vector<std::size_t>& order);

// Kernighan-Lin refinement: passes of tentative single-layer moves to an adjacent stage
// (each layer moved at most once per pass, the best move taken even if it is worse),
// keeping the best prefix; stops when a pass does not improve (bottleneck, then the sum of
// squared stage costs).
std::vector<int> refine_partition(const PartitionProblem& problem, std::vector<int> stage_of);

// Chains: exact DP. DAGs: DP over the topological order, then refine_partition.
// Needs 1 <= num_stages <= layers.
Partition partition_layer_graph(const PartitionProblem& problem);

}  // namespace ptsim::strategies

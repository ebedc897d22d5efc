// Partitioning: the chain DP against brute force over every split of random chains, and the
// DAG method's validity and its refinement never losing to the topological-order split.
#include "ptsim/strategies/graph_partition.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace ptsim::strategies {
namespace {

constexpr unsigned kSeed = 20261123;  // the one root seed of these tests

// Layer i's name. Appended, not "l" + std::to_string(i): GCC 12 warns on the latter with a
// -Wrestrict false positive.
std::string layer_name(std::size_t i) {
  std::string name = "l";
  name += std::to_string(i);
  return name;
}

LayerGraph random_chain(std::size_t n) {
  LayerGraphSpec spec;
  spec.name = "chain";
  for (std::size_t i = 0; i < n; ++i) {
    LayerSpec l = make_layer(layer_name(i), i == 0 ? LayerOp::input : LayerOp::relu);
    if (i == 0) l.shape = {8};
    if (i > 0) l.inputs = {layer_name(i - 1)};
    spec.layers.push_back(l);
  }
  return LayerGraph::build(spec);
}

// Integer-valued times and bytes: sums are exact, so optima compare exactly.
PartitionProblem random_problem(const LayerGraph& g, int p, std::mt19937& rng) {
  PartitionProblem pr;
  pr.graph = &g;
  pr.num_stages = p;
  std::uniform_int_distribution<int> time(1, 100), bytes(0, 60);
  for (std::size_t v = 0; v < g.num_layers(); ++v) {
    pr.layer_time_s.push_back(time(rng));
    pr.output_bytes.push_back(bytes(rng));
  }
  // Slower cuts further down the pipeline, so the cut index matters.
  pr.transfer_s = [](int cut, double b) { return b > 0 ? b * (1 + cut % 2) + 3 : 0; };
  return pr;
}

// The smallest bottleneck over every split of the chain into p non-empty ranges.
double brute_force(const PartitionProblem& pr, std::size_t n, int p) {
  double best = 1e300;
  std::vector<int> stage_of(n);
  // Choose p - 1 cut positions among 1..n-1 by enumerating bit masks.
  for (std::uint32_t mask = 0; mask < (1u << (n - 1)); ++mask) {
    if (std::popcount(mask) != p - 1) continue;
    int s = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0 && (mask >> (i - 1) & 1u)) ++s;
      stage_of[i] = s;
    }
    best = std::min(best, evaluate_partition(pr, stage_of).bottleneck_s);
  }
  return best;
}

TEST(GraphPartition, ChainDynamicProgrammingEqualsBruteForce) {
  std::mt19937 rng(kSeed);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 11)(rng);
    const int p = std::uniform_int_distribution<int>(1, static_cast<int>(n))(rng);
    const LayerGraph g = random_chain(n);
    const PartitionProblem pr = random_problem(g, p, rng);
    const Partition part = partition_layer_graph(pr);
    ASSERT_TRUE(is_valid_partition(g, part.stage_of, p)) << "seed " << kSeed << " trial " << trial;
    EXPECT_EQ(evaluate_partition(pr, part.stage_of).bottleneck_s, brute_force(pr, n, p))
        << "seed " << kSeed << " trial " << trial << " n " << n << " p " << p;
  }
}

// A random DAG: each layer reads one or two earlier layers (adds where two).
LayerGraph random_dag(std::size_t n, std::mt19937& rng) {
  LayerGraphSpec spec;
  spec.layers.push_back(make_layer("l0", LayerOp::input));
  spec.layers.back().shape = {8};
  for (std::size_t i = 1; i < n; ++i) {
    std::uniform_int_distribution<std::size_t> pick(0, i - 1);
    const std::size_t a = i - 1, b = pick(rng);
    LayerSpec l = make_layer(layer_name(i), a == b ? LayerOp::relu : LayerOp::add, {layer_name(a)});
    if (a != b) l.inputs.push_back(layer_name(b));
    spec.layers.push_back(l);
  }
  return LayerGraph::build(spec);
}

TEST(GraphPartition, DagRefinementIsValidAndNeverWorseThanTheTopologicalSplit) {
  std::mt19937 rng(kSeed);
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(4, 40)(rng);
    const int p = std::uniform_int_distribution<int>(2, std::min<int>(8, static_cast<int>(n)))(rng);
    const LayerGraph g = random_dag(n, rng);
    const PartitionProblem pr = random_problem(g, p, rng);
    const auto split = split_order_optimally(pr, g.topological_order());
    const Partition part = partition_layer_graph(pr);
    ASSERT_TRUE(is_valid_partition(g, split, p));
    ASSERT_TRUE(is_valid_partition(g, part.stage_of, p)) << "seed " << kSeed << " trial " << trial;
    EXPECT_LE(evaluate_partition(pr, part.stage_of).bottleneck_s, evaluate_partition(pr, split).bottleneck_s);
  }
}

TEST(GraphPartition, CutCarriesEveryTensorThatCrossesIt) {
  // x -> a -> b -> c, with x also read by c: cutting after a carries a's and x's outputs.
  LayerGraphSpec spec;
  spec.layers.push_back(make_layer("x", LayerOp::input));
  spec.layers.back().shape = {4};
  spec.layers.push_back(make_layer("a", LayerOp::relu, {"x"}));
  spec.layers.push_back(make_layer("b", LayerOp::relu, {"a"}));
  spec.layers.push_back(make_layer("c", LayerOp::add, {"b", "x"}));
  const LayerGraph g = LayerGraph::build(spec);
  PartitionProblem pr;
  pr.graph = &g;
  pr.num_stages = 3;
  pr.layer_time_s = {1, 2, 3, 4};
  pr.output_bytes = {10, 20, 30, 40};
  pr.transfer_s = [](int, double b) { return b / 10; };
  const PartitionCost c = evaluate_partition(pr, {0, 0, 1, 2});
  EXPECT_EQ(c.cut_bytes, (std::vector<double>{30, 40}));  // x + a; then x (relayed) + b
  EXPECT_EQ(c.compute_s, (std::vector<double>{3, 3, 4}));
  EXPECT_EQ(c.comm_s, (std::vector<double>{3, 7, 4}));
  EXPECT_EQ(c.bottleneck_s, 10);
  EXPECT_EQ(c.balanced_s, 10.0 / 3);
  EXPECT_FALSE(is_valid_partition(g, {0, 1, 0, 2}, 3));  // a edge runs backwards
}

}  // namespace
}  // namespace ptsim::strategies

// A model given as a directed acyclic graph of layers (CNNs, encoders, anything that is not a
// stack of identical transformer layers). LayerGraphSpec is what a user writes (io/ fills it
// from JSON; presets build it in code); LayerGraph::build validates it (unknown inputs,
// cycles, shape mismatches: LayerGraphError naming the layer) into a Boost.Graph
// adjacency_list with per-sample output shapes, parameters, FLOPs, HBM traffic and saved
// activations derived from each op's shapes (formulas: docs/layer-graph.md).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "ptsim/costmodel/op_cost.h"

namespace ptsim::strategies {

enum class LayerOp {
  input,           // the sample (image, token ids): shape given, no cost
  conv2d,          // [C,H,W] -> [out_channels, H', W']
  linear,          // [..., F] -> [..., out_features]
  maxpool,         // [C,H,W] -> [C,H',W']
  avgpool,
  global_avgpool,  // [C,H,W] -> [C]
  batchnorm,       // per channel (dim 0)
  layernorm,       // over the last dim
  relu,
  gelu,
  add,             // two or more inputs of one shape
  concat,          // along dim 0 (channels)
  flatten,         // -> [prod(shape)], a view
  attention,       // self-attention block on [S, H]: QKV and output projections + the core
  embedding,       // token ids [S] -> [S, embedding_dim]
  softmax_loss,    // [..., C] -> [1]: softmax + cross-entropy
  custom,          // output_shape, parameters and forward_flops given explicitly
};

inline constexpr LayerOp kAllLayerOps[] = {
    LayerOp::input,     LayerOp::conv2d,    LayerOp::linear,    LayerOp::maxpool,   LayerOp::avgpool,
    LayerOp::global_avgpool, LayerOp::batchnorm, LayerOp::layernorm, LayerOp::relu, LayerOp::gelu,
    LayerOp::add,       LayerOp::concat,    LayerOp::flatten,   LayerOp::attention, LayerOp::embedding,
    LayerOp::softmax_loss, LayerOp::custom};

std::string_view to_string(LayerOp op);

using Shape = std::vector<std::int64_t>;  // per sample, without the batch dimension

// One layer as written. Attributes an op does not use stay at their defaults; io/ rejects
// attributes an op does not take. Explicit costs, when given, replace the derived ones.
struct LayerSpec {
  std::string name;
  LayerOp op = LayerOp::custom;
  std::vector<std::string> inputs;  // names of earlier-or-later layers (any order in the file)
  Shape shape;                      // input: the sample's shape
  std::int64_t out_channels = 0;    // conv2d
  std::int64_t out_features = 0;    // linear
  std::int64_t in_channels = 0;     // conv2d, optional: checked against the input
  std::int64_t in_features = 0;     // linear, optional: checked against the input
  std::int64_t kernel = 0;          // conv2d, pools (square)
  std::int64_t stride = 0;         // 0: conv2d 1, pools the kernel size
  std::int64_t padding = 0;
  std::int64_t groups = 1;          // conv2d
  std::optional<bool> bias;         // conv2d default false, linear and attention default true
  std::int64_t heads = 0;           // attention
  std::int64_t vocab_size = 0;      // embedding
  std::int64_t embedding_dim = 0;   // embedding
  std::int64_t positions = 0;       // embedding: learned position table rows (0: none)
  Shape output_shape;               // optional (required for custom): checked against the derived one
  std::optional<double> parameters;
  std::optional<double> forward_flops;      // per sample
  std::optional<double> backward_flops;     // per sample; custom default 2 x forward
  std::optional<double> activation_bytes;   // per sample, kept for backward
};

// A layer with only its name, op and inputs set.
inline LayerSpec make_layer(std::string name, LayerOp op, std::vector<std::string> inputs = {}) {
  LayerSpec l;
  l.name = std::move(name);
  l.op = op;
  l.inputs = std::move(inputs);
  return l;
}

struct LayerGraphSpec {
  std::string name = "custom";
  // What one sample counts as in throughput figures (tokens/s): 1 for an image, the
  // sequence length for a text encoder.
  std::int64_t tokens_per_sample = 1;
  std::vector<LayerSpec> layers;
};

// Bad graph: `where` names the layer and field ("layers[3] (conv2).inputs[0]").
class LayerGraphError : public std::runtime_error {
 public:
  LayerGraphError(std::string where, std::string reason)
      : std::runtime_error(where + ": " + reason), where_(std::move(where)), reason_(std::move(reason)) {}
  const std::string& where() const { return where_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string where_;
  std::string reason_;
};

// One kernel of a layer for one sample: `activation_elements` scale with the batch (in the
// activation format), `weight_elements` do not (read once per micro-batch).
struct LayerKernel {
  costmodel::OpClass op_class = costmodel::OpClass::memory;
  double flops = 0;
  double activation_elements = 0;
  double weight_elements = 0;
  double fp32_elements = 0;  // per sample, always 4 bytes (the loss's softmax)
};

struct LayerNode {
  LayerSpec spec;
  Shape output_shape;
  double output_elements = 0;  // per sample
  double parameters = 0;
  double forward_flops = 0;    // per sample
  double backward_flops = 0;
  std::vector<LayerKernel> forward;
  std::vector<LayerKernel> backward;
  // Saved for backward, per sample: elements in the activation format, or explicit bytes.
  double activation_elements = 0;
  double activation_fp32_elements = 0;  // the loss's softmax probabilities
  std::optional<double> activation_bytes;
};

class LayerGraph {
 public:
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, LayerNode>;
  using Vertex = std::size_t;  // index into the spec's layer list

  static LayerGraph build(const LayerGraphSpec& spec);

  const std::string& name() const { return name_; }
  std::int64_t tokens_per_sample() const { return tokens_per_sample_; }
  std::size_t num_layers() const { return boost::num_vertices(graph_); }
  const LayerNode& layer(Vertex v) const { return graph_[v]; }
  const Graph& graph() const { return graph_; }
  // Kahn's order, ties to the layer listed first: deterministic, and the file's own order
  // when that is topological.
  const std::vector<Vertex>& topological_order() const { return order_; }
  std::vector<Vertex> predecessors(Vertex v) const;
  std::vector<Vertex> successors(Vertex v) const;
  bool is_chain() const;  // every layer has at most one input and one consumer

  double total_parameters() const;
  double forward_flops_per_sample() const;
  double backward_flops_per_sample() const;

 private:
  std::string name_;
  std::int64_t tokens_per_sample_ = 1;
  Graph graph_;
  std::vector<Vertex> order_;
};

// Bytes one layer keeps for backward per sample, activations in `element_bytes` each.
double layer_activation_bytes(const LayerNode& node, double element_bytes);

// Presets built in code: resnet50 (ImageNet 224x224), bert-large (seq 512), mnist-cnn.
std::optional<LayerGraphSpec> find_layer_graph_preset(std::string_view name);
std::vector<std::string> layer_graph_preset_names();

}  // namespace ptsim::strategies

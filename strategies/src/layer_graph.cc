#include "ptsim/strategies/layer_graph.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <queue>
#include <string>

namespace ptsim::strategies {
namespace {

using costmodel::OpClass;

std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(s[i]);
  }
  out += ']';
  return out;
}

double elements(const Shape& s) {
  double n = 1;
  for (std::int64_t d : s) n *= static_cast<double>(d);
  return n;
}

// Derives one layer from its inputs' shapes; errors name the layer at `where`.
class LayerDeriver {
 public:
  LayerDeriver(const LayerSpec& spec, std::vector<const LayerNode*> inputs, std::string where)
      : s_(spec), in_(std::move(inputs)), where_(std::move(where)) {}

  LayerNode run() {
    LayerNode n;
    n.spec = s_;
    derive(n);
    n.output_elements = elements(n.output_shape);
    if (!s_.output_shape.empty() && s_.op != LayerOp::custom && s_.output_shape != n.output_shape) {
      fail("output_shape", shape_text(s_.output_shape) + " does not match the shape derived from the inputs, " +
                               shape_text(n.output_shape));
    }
    if (s_.parameters) n.parameters = *s_.parameters;
    if (s_.forward_flops) n.forward = {merged(n.forward, *s_.forward_flops)};
    if (s_.backward_flops) n.backward = {merged(n.backward, *s_.backward_flops)};
    for (const auto& k : n.forward) n.forward_flops += k.flops;
    for (const auto& k : n.backward) n.backward_flops += k.flops;
    if (s_.activation_bytes) n.activation_bytes = s_.activation_bytes;
    return n;
  }

 private:
  [[noreturn]] void fail(std::string_view field, const std::string& reason) const {
    throw LayerGraphError(field.empty() ? where_ : where_ + "." + std::string(field), reason);
  }

  void need_inputs(std::size_t lo, std::size_t hi) const {
    if (in_.size() < lo || in_.size() > hi) {
      const std::string want = lo == hi ? std::to_string(lo) : hi > 1000 ? "at least " + std::to_string(lo)
                                                                           : std::to_string(lo) + " to " + std::to_string(hi);
      fail("inputs", std::string(to_string(s_.op)) + " takes " + want + " input(s), got " + std::to_string(in_.size()));
    }
  }

  const Shape& in_shape(std::size_t i = 0) const { return in_[i]->output_shape; }

  void need_rank(std::size_t rank, std::string_view what) const {
    if (in_shape().size() != rank) {
      fail("inputs", std::string(to_string(s_.op)) + " needs a " + std::string(what) + " input, '" + in_[0]->spec.name +
                         "' gives " + shape_text(in_shape()));
    }
  }

  void need_positive(std::string_view field, std::int64_t v) const {
    if (v <= 0) fail(field, std::string("required (a positive integer) for ") + std::string(to_string(s_.op)));
  }

  // Spatial size after a window of `kernel` with stride and padding.
  std::int64_t window_out(std::int64_t size, std::int64_t kernel, std::int64_t stride, std::int64_t pad) const {
    if (pad < 0) fail("padding", "must not be negative");
    const std::int64_t out = (size + 2 * pad - kernel) / stride + 1;
    if (size + 2 * pad < kernel || out < 1) {
      fail("kernel", std::to_string(kernel) + " does not fit the input " + shape_text(in_shape()) + " with padding " +
                         std::to_string(pad));
    }
    return out;
  }

  // Whether backward must produce the gradient of the layer's input (not for the sample).
  bool needs_input_grad() const {
    return std::any_of(in_.begin(), in_.end(), [](const LayerNode* p) { return p->spec.op != LayerOp::input; });
  }

  // A GEMM-like layer (convolution, linear): forward; backward = data gradient (unless the
  // input is the sample) + weight gradient, each as many FLOPs as the forward.
  void gemm_like(LayerNode& n, double macs, double in_elems, double out_elems, double weights) const {
    n.forward = {{OpClass::gemm, 2 * macs, in_elems + out_elems, weights, 0}};
    if (needs_input_grad()) n.backward.push_back({OpClass::gemm, 2 * macs, out_elems + in_elems, weights, 0});
    n.backward.push_back({OpClass::gemm, 2 * macs, out_elems + in_elems, weights, 0});
  }

  static LayerKernel merged(const std::vector<LayerKernel>& ks, double flops) {
    LayerKernel m;
    double most = -1;
    for (const auto& k : ks) {
      if (k.flops > most) {
        most = k.flops;
        m.op_class = k.op_class;
      }
      m.activation_elements += k.activation_elements;
      m.weight_elements += k.weight_elements;
      m.fp32_elements += k.fp32_elements;
    }
    if (ks.empty()) m.op_class = flops > 0 ? OpClass::gemm : OpClass::memory;
    m.flops = flops;
    return m;
  }

  void derive(LayerNode& n) {
    switch (s_.op) {
      case LayerOp::input: {
        need_inputs(0, 0);
        if (s_.shape.empty()) fail("shape", "required for an input layer (the per-sample shape)");
        for (std::int64_t d : s_.shape) {
          if (d <= 0) fail("shape", shape_text(s_.shape) + " has a dimension that is not positive");
        }
        n.output_shape = s_.shape;
        n.activation_elements = elements(n.output_shape);
        return;
      }
      case LayerOp::conv2d: {
        need_inputs(1, 1);
        need_rank(3, "[channels, height, width]");
        need_positive("out_channels", s_.out_channels);
        need_positive("kernel", s_.kernel);
        const std::int64_t c = in_shape()[0];
        if (s_.in_channels && s_.in_channels != c) {
          fail("in_channels", std::to_string(s_.in_channels) + " does not match input '" + in_[0]->spec.name + "' with " +
                                  std::to_string(c) + " channels " + shape_text(in_shape()));
        }
        if (s_.groups < 1 || c % s_.groups != 0 || s_.out_channels % s_.groups != 0) {
          fail("groups", std::to_string(s_.groups) + " does not divide the input channels " + std::to_string(c) +
                             " and out_channels " + std::to_string(s_.out_channels));
        }
        const std::int64_t stride = s_.stride ? s_.stride : 1;
        if (stride < 0) fail("stride", "must be positive");
        const std::int64_t h = window_out(in_shape()[1], s_.kernel, stride, s_.padding);
        const std::int64_t w = window_out(in_shape()[2], s_.kernel, stride, s_.padding);
        n.output_shape = {s_.out_channels, h, w};
        const double k2 = static_cast<double>(s_.kernel * s_.kernel);
        const double cin = static_cast<double>(c / s_.groups);
        const double macs = elements(n.output_shape) * cin * k2;
        const double weights = static_cast<double>(s_.out_channels) * cin * k2;
        n.parameters = weights + (s_.bias.value_or(false) ? static_cast<double>(s_.out_channels) : 0);
        gemm_like(n, macs, elements(in_shape()), elements(n.output_shape), n.parameters);
        n.activation_elements = elements(n.output_shape);
        return;
      }
      case LayerOp::linear: {
        need_inputs(1, 1);
        if (in_shape().empty()) need_rank(1, "[..., features]");
        need_positive("out_features", s_.out_features);
        const std::int64_t f = in_shape().back();
        if (s_.in_features && s_.in_features != f) {
          fail("in_features", std::to_string(s_.in_features) + " does not match input '" + in_[0]->spec.name + "' " +
                                  shape_text(in_shape()) + " with " + std::to_string(f) + " features");
        }
        n.output_shape = in_shape();
        n.output_shape.back() = s_.out_features;
        const double rows = elements(in_shape()) / static_cast<double>(f);
        const double macs = rows * static_cast<double>(f) * static_cast<double>(s_.out_features);
        const double weights = static_cast<double>(f) * static_cast<double>(s_.out_features);
        n.parameters = weights + (s_.bias.value_or(true) ? static_cast<double>(s_.out_features) : 0);
        gemm_like(n, macs, elements(in_shape()), elements(n.output_shape), n.parameters);
        n.activation_elements = elements(n.output_shape);
        return;
      }
      case LayerOp::maxpool:
      case LayerOp::avgpool: {
        need_inputs(1, 1);
        need_rank(3, "[channels, height, width]");
        need_positive("kernel", s_.kernel);
        const std::int64_t stride = s_.stride ? s_.stride : s_.kernel;
        if (stride < 0) fail("stride", "must be positive");
        n.output_shape = {in_shape()[0], window_out(in_shape()[1], s_.kernel, stride, s_.padding),
                          window_out(in_shape()[2], s_.kernel, stride, s_.padding)};
        const double in = elements(in_shape()), out = elements(n.output_shape);
        n.forward = {{OpClass::memory, out * static_cast<double>(s_.kernel * s_.kernel), in + out, 0, 0}};
        n.backward = {{OpClass::memory, out * static_cast<double>(s_.kernel * s_.kernel), in + out, 0, 0}};
        n.activation_elements = out;
        return;
      }
      case LayerOp::global_avgpool: {
        need_inputs(1, 1);
        need_rank(3, "[channels, height, width]");
        n.output_shape = {in_shape()[0]};
        const double in = elements(in_shape()), out = elements(n.output_shape);
        n.forward = {{OpClass::memory, in, in + out, 0, 0}};
        n.backward = {{OpClass::memory, in, in + out, 0, 0}};
        n.activation_elements = out;
        return;
      }
      case LayerOp::batchnorm:
      case LayerOp::layernorm: {
        need_inputs(1, 1);
        if (in_shape().empty()) need_rank(1, "non-scalar");
        const std::int64_t c = s_.op == LayerOp::batchnorm ? in_shape().front() : in_shape().back();
        n.output_shape = in_shape();
        n.parameters = 2 * static_cast<double>(c);
        const double e = elements(in_shape());
        // Forward reads the input twice (statistics, normalisation) and writes once; backward
        // reads input and output gradient twice (reductions, then the gradient) and writes once.
        n.forward = {{OpClass::memory, 5 * e, 3 * e, n.parameters, 0}};
        n.backward = {{OpClass::memory, 10 * e, 5 * e, 2 * n.parameters, 0}};
        n.activation_elements = e;
        return;
      }
      case LayerOp::relu:
      case LayerOp::gelu: {
        need_inputs(1, 1);
        n.output_shape = in_shape();
        const double e = elements(in_shape());
        const double per = s_.op == LayerOp::gelu ? 8 : 1;
        n.forward = {{OpClass::memory, per * e, 2 * e, 0, 0}};
        n.backward = {{OpClass::memory, 2 * per * e, 3 * e, 0, 0}};
        // ReLU runs in place (torchvision): the tensor it keeps replaces its input's.
        n.activation_elements = s_.op == LayerOp::relu ? 0 : e;
        return;
      }
      case LayerOp::add: {
        need_inputs(2, ~std::size_t{0});
        for (std::size_t i = 1; i < in_.size(); ++i) {
          if (in_shape(i) != in_shape(0)) {
            fail("inputs", "'" + in_[i]->spec.name + "' " + shape_text(in_shape(i)) + " does not match '" +
                               in_[0]->spec.name + "' " + shape_text(in_shape(0)));
          }
        }
        n.output_shape = in_shape();
        const double e = elements(in_shape()), k = static_cast<double>(in_.size());
        n.forward = {{OpClass::memory, (k - 1) * e, (k + 1) * e, 0, 0}};
        // The gradient passes through; the branch point accumulates the two gradients.
        n.backward = {{OpClass::memory, e, 3 * e, 0, 0}};
        n.activation_elements = e;
        return;
      }
      case LayerOp::concat: {
        need_inputs(2, ~std::size_t{0});
        Shape out = in_shape(0);
        for (std::size_t i = 1; i < in_.size(); ++i) {
          const Shape& s = in_shape(i);
          if (s.size() != out.size() || s.empty() || !std::equal(s.begin() + 1, s.end(), out.begin() + 1)) {
            fail("inputs", "'" + in_[i]->spec.name + "' " + shape_text(s) + " does not match '" + in_[0]->spec.name +
                               "' " + shape_text(in_shape(0)) + " outside dim 0");
          }
          out[0] += s[0];
        }
        n.output_shape = out;
        const double e = elements(out);
        n.forward = {{OpClass::memory, 0, 2 * e, 0, 0}};
        n.backward = {{OpClass::memory, 0, 2 * e, 0, 0}};
        n.activation_elements = e;
        return;
      }
      case LayerOp::flatten: {
        need_inputs(1, 1);
        n.output_shape = {static_cast<std::int64_t>(elements(in_shape()))};
        return;
      }
      case LayerOp::attention: {
        need_inputs(1, 1);
        need_rank(2, "[sequence, hidden]");
        need_positive("heads", s_.heads);
        const double seq = static_cast<double>(in_shape()[0]);
        const std::int64_t hidden = in_shape()[1];
        if (hidden % s_.heads != 0) {
          fail("heads", std::to_string(s_.heads) + " does not divide the hidden size " + std::to_string(hidden));
        }
        const double h = static_cast<double>(hidden);
        n.output_shape = in_shape();
        const bool bias = s_.bias.value_or(true);
        n.parameters = 4 * h * h + (bias ? 4 * h : 0);
        const double sh = seq * h;
        // QKV projection, the attention core (Q K^T and P V, fused), output projection.
        n.forward = {{OpClass::gemm, 2 * sh * 3 * h, 4 * sh, 3 * h * h, 0},
                     {OpClass::attention, 4 * seq * seq * h, 4 * sh, 0, 0},
                     {OpClass::gemm, 2 * sh * h, 2 * sh, h * h, 0}};
        n.backward = {{OpClass::gemm, 4 * sh * h, 4 * sh, 2 * h * h, 0},
                      {OpClass::attention, 8 * seq * seq * h, 8 * sh, 0, 0},
                      {OpClass::gemm, 4 * sh * 3 * h, 8 * sh, 6 * h * h, 0}};
        n.activation_elements = 5 * sh;  // Q, K, V, the context and the output
        return;
      }
      case LayerOp::embedding: {
        need_inputs(1, 1);
        need_rank(1, "[sequence] of token ids");
        need_positive("vocab_size", s_.vocab_size);
        need_positive("embedding_dim", s_.embedding_dim);
        if (s_.positions < 0) fail("positions", "must not be negative");
        if (s_.positions > 0 && s_.positions < in_shape()[0]) {
          fail("positions", std::to_string(s_.positions) + " is fewer than the sequence length " +
                                std::to_string(in_shape()[0]));
        }
        n.output_shape = {in_shape()[0], s_.embedding_dim};
        n.parameters = static_cast<double>(s_.vocab_size + s_.positions) * static_cast<double>(s_.embedding_dim);
        const double e = elements(n.output_shape);
        const double tables = s_.positions > 0 ? 2 : 1;
        n.forward = {{OpClass::memory, (tables - 1) * e, (tables + 1) * e, 0, 0}};
        n.backward = {{OpClass::memory, e, (2 * tables + 1) * e, 0, 0}};  // scatter-add into the tables
        n.activation_elements = e;
        return;
      }
      case LayerOp::softmax_loss: {
        need_inputs(1, 1);
        n.output_shape = {1};
        const double e = elements(in_shape());
        n.forward = {{OpClass::memory, 5 * e, e, 0, e}};
        n.backward = {{OpClass::memory, 2 * e, e, 0, e}};
        n.activation_fp32_elements = e;
        return;
      }
      case LayerOp::custom: {
        if (s_.output_shape.empty()) fail("output_shape", "required for a custom layer");
        if (!s_.forward_flops) fail("forward_flops", "required for a custom layer");
        n.output_shape = s_.output_shape;
        double in = 0;
        for (const LayerNode* p : in_) in += p->output_elements;
        const double out = elements(n.output_shape);
        const double params = s_.parameters.value_or(0);
        const OpClass cls = *s_.forward_flops > 0 ? OpClass::gemm : OpClass::memory;
        n.forward = {{cls, *s_.forward_flops, in + out, params, 0}};
        n.backward = {{cls, s_.backward_flops.value_or(2 * *s_.forward_flops), 2 * (in + out), 2 * params, 0}};
        n.activation_elements = out;
        return;
      }
    }
  }

  const LayerSpec& s_;
  std::vector<const LayerNode*> in_;
  std::string where_;
};

std::string where_of(const LayerSpec& l, std::size_t i) {
  return "layers[" + std::to_string(i) + "] (" + l.name + ")";
}

}  // namespace

std::string_view to_string(LayerOp op) {
  switch (op) {
    case LayerOp::input: return "input";
    case LayerOp::conv2d: return "conv2d";
    case LayerOp::linear: return "linear";
    case LayerOp::maxpool: return "maxpool";
    case LayerOp::avgpool: return "avgpool";
    case LayerOp::global_avgpool: return "global_avgpool";
    case LayerOp::batchnorm: return "batchnorm";
    case LayerOp::layernorm: return "layernorm";
    case LayerOp::relu: return "relu";
    case LayerOp::gelu: return "gelu";
    case LayerOp::add: return "add";
    case LayerOp::concat: return "concat";
    case LayerOp::flatten: return "flatten";
    case LayerOp::attention: return "attention";
    case LayerOp::embedding: return "embedding";
    case LayerOp::softmax_loss: return "softmax_loss";
    case LayerOp::custom: return "custom";
  }
  return "?";
}

LayerGraph LayerGraph::build(const LayerGraphSpec& spec) {
  const std::size_t n = spec.layers.size();
  if (n == 0) throw LayerGraphError("layers", "the graph has no layers");
  if (spec.tokens_per_sample < 1) throw LayerGraphError("tokens_per_sample", "must be a positive integer");
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& l = spec.layers[i];
    if (l.name.empty()) throw LayerGraphError("layers[" + std::to_string(i) + "].name", "must not be empty");
    const auto [it, inserted] = index.emplace(l.name, i);
    if (!inserted) {
      throw LayerGraphError("layers[" + std::to_string(i) + "].name",
                            "'" + l.name + "' is already the name of layers[" + std::to_string(it->second) + "]");
    }
  }
  LayerGraph g;
  g.name_ = spec.name;
  g.tokens_per_sample_ = spec.tokens_per_sample;
  g.graph_ = Graph(n);
  std::vector<std::vector<std::size_t>> preds(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& l = spec.layers[i];
    for (std::size_t k = 0; k < l.inputs.size(); ++k) {
      const auto it = index.find(l.inputs[k]);
      if (it == index.end()) {
        throw LayerGraphError(where_of(l, i) + ".inputs[" + std::to_string(k) + "]",
                              "unknown layer '" + l.inputs[k] + "' (a dangling edge)");
      }
      if (std::find(preds[i].begin(), preds[i].end(), it->second) != preds[i].end()) {
        throw LayerGraphError(where_of(l, i) + ".inputs[" + std::to_string(k) + "]",
                              "'" + l.inputs[k] + "' is listed twice");
      }
      preds[i].push_back(it->second);
      boost::add_edge(it->second, i, g.graph_);
    }
  }

  // Kahn's algorithm, smallest index first.
  std::vector<std::size_t> indegree(n);
  for (std::size_t i = 0; i < n; ++i) indegree[i] = boost::in_degree(i, g.graph_);
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t i = 0; i < n; ++i) {
    if (indegree[i] == 0) ready.push(i);
  }
  while (!ready.empty()) {
    const std::size_t v = ready.top();
    ready.pop();
    g.order_.push_back(v);
    for (auto [e, end] = boost::out_edges(v, g.graph_); e != end; ++e) {
      const std::size_t w = boost::target(*e, g.graph_);
      if (--indegree[w] == 0) ready.push(w);
    }
  }
  if (g.order_.size() != n) {
    // Walk back along unfinished inputs from an unfinished layer until a layer repeats.
    std::size_t v = 0;
    while (indegree[v] == 0) ++v;
    std::vector<std::size_t> path;
    std::vector<int> seen(n, -1);
    while (seen[v] < 0) {
      seen[v] = static_cast<int>(path.size());
      path.push_back(v);
      for (std::size_t p : preds[v]) {
        if (indegree[p] > 0) {
          v = p;
          break;
        }
      }
    }
    // The walk went against the edges: list the cycle from v along them.
    std::string cycle = spec.layers[v].name;
    for (std::size_t k = path.size() - 1; k > static_cast<std::size_t>(seen[v]); --k) cycle += " -> " + spec.layers[path[k]].name;
    cycle += " -> " + spec.layers[v].name;
    throw LayerGraphError(where_of(spec.layers[v], v) + ".inputs", "the layers form a cycle: " + cycle);
  }

  for (std::size_t v : g.order_) {
    std::vector<const LayerNode*> ins;
    for (std::size_t p : preds[v]) ins.push_back(&g.graph_[p]);
    g.graph_[v] = LayerDeriver(spec.layers[v], std::move(ins), where_of(spec.layers[v], v)).run();
  }
  return g;
}

std::vector<LayerGraph::Vertex> LayerGraph::predecessors(Vertex v) const {
  std::vector<Vertex> out;
  for (auto [e, end] = boost::in_edges(v, graph_); e != end; ++e) out.push_back(boost::source(*e, graph_));
  return out;
}

std::vector<LayerGraph::Vertex> LayerGraph::successors(Vertex v) const {
  std::vector<Vertex> out;
  for (auto [e, end] = boost::out_edges(v, graph_); e != end; ++e) out.push_back(boost::target(*e, graph_));
  return out;
}

bool LayerGraph::is_chain() const {
  for (Vertex v = 0; v < num_layers(); ++v) {
    if (boost::in_degree(v, graph_) > 1 || boost::out_degree(v, graph_) > 1) return false;
  }
  return true;
}

double LayerGraph::total_parameters() const {
  double p = 0;
  for (Vertex v = 0; v < num_layers(); ++v) p += graph_[v].parameters;
  return p;
}

double LayerGraph::forward_flops_per_sample() const {
  double f = 0;
  for (Vertex v = 0; v < num_layers(); ++v) f += graph_[v].forward_flops;
  return f;
}

double LayerGraph::backward_flops_per_sample() const {
  double f = 0;
  for (Vertex v = 0; v < num_layers(); ++v) f += graph_[v].backward_flops;
  return f;
}

double layer_activation_bytes(const LayerNode& node, double element_bytes) {
  if (node.activation_bytes) return *node.activation_bytes;
  return node.activation_elements * element_bytes + node.activation_fp32_elements * 4;
}

}  // namespace ptsim::strategies

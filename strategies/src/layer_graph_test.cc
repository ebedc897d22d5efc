// Layer graphs: the presets' published sizes, shape derivation and the validation errors.
#include "ptsim/strategies/layer_graph.h"

#include <gtest/gtest.h>

#include <string>

namespace ptsim::strategies {
namespace {

LayerGraph preset(std::string_view name) { return LayerGraph::build(*find_layer_graph_preset(name)); }

// Multiply-accumulates of the convolutions and dense layers (what "FLOPs" means in the
// ResNet paper and torchvision's tables).
double matmul_macs(const LayerGraph& g) {
  double macs = 0;
  for (std::size_t v = 0; v < g.num_layers(); ++v) {
    const auto op = g.layer(v).spec.op;
    if (op == LayerOp::conv2d || op == LayerOp::linear) macs += g.layer(v).forward_flops / 2;
  }
  return macs;
}

TEST(LayerGraph, ResNet50HasTorchvisionParametersAndFourGigaMacs) {
  const LayerGraph g = preset("resnet50");
  EXPECT_EQ(g.total_parameters(), 25557032);  // torchvision resnet50, BN affine included
  const double macs = matmul_macs(g);
  EXPECT_GT(macs, 4.08e9);  // torchvision lists 4.09 GFLOPS (multiply-accumulates)
  EXPECT_LT(macs, 4.10e9);
  EXPECT_FALSE(g.is_chain());
  const auto& last = g.layer(g.topological_order().back());
  EXPECT_EQ(last.spec.op, LayerOp::softmax_loss);
}

TEST(LayerGraph, MnistCnnIsTheTwoConvTwoDenseNet) {
  const LayerGraph g = preset("mnist-cnn");
  // conv1 32*1*9+32, conv2 64*32*9+64, fc1 9216*128+128, fc2 128*10+10.
  EXPECT_EQ(g.total_parameters(), 320 + 18496 + 1179776 + 1290);
  EXPECT_TRUE(g.is_chain());
  for (std::size_t v = 0; v < g.num_layers(); ++v) {
    if (g.layer(v).spec.name == "flatten") {
      EXPECT_EQ(g.layer(v).output_shape, (Shape{9216}));
    }
  }
}

TEST(LayerGraph, BertLargeParametersMatchTheClosedForm) {
  const LayerGraph g = preset("bert-large");
  const double h = 1024, f = 4096, v = 30522, s = 512;
  const double embedding = (v + s) * h + 2 * h;
  const double layer = 4 * h * h + 4 * h + 2 * h + (h * f + f) + (f * h + h) + 2 * h;
  const double head = h * h + h + 2 * h + v;
  EXPECT_EQ(g.total_parameters(), embedding + 24 * layer + head);
  EXPECT_EQ(g.tokens_per_sample(), 512);
}

LayerGraphSpec small(std::vector<LayerSpec> layers) {
  LayerGraphSpec s;
  s.name = "t";
  s.layers = std::move(layers);
  return s;
}

std::string error_of(const LayerGraphSpec& spec) {
  try {
    (void)LayerGraph::build(spec);
  } catch (const LayerGraphError& e) {
    return e.what();
  }
  return "no error";
}

LayerSpec input(std::string name, Shape shape) {
  LayerSpec l = make_layer(std::move(name), LayerOp::input);
  l.shape = std::move(shape);
  return l;
}

LayerSpec layer(std::string name, LayerOp op, std::vector<std::string> inputs) {
  return make_layer(std::move(name), op, std::move(inputs));
}

TEST(LayerGraph, ConvolutionShapesFlopsAndParameters) {
  LayerSpec conv = layer("c", LayerOp::conv2d, {"x"});
  conv.out_channels = 8;
  conv.kernel = 3;
  conv.stride = 2;
  conv.padding = 1;
  const LayerGraph g = LayerGraph::build(small({input("x", {4, 9, 9}), conv}));
  const auto& c = g.layer(1);
  EXPECT_EQ(c.output_shape, (Shape{8, 5, 5}));
  EXPECT_EQ(c.parameters, 8 * 4 * 9);
  EXPECT_EQ(c.forward_flops, 2.0 * 8 * 25 * 4 * 9);
  EXPECT_EQ(c.backward_flops, c.forward_flops);  // the input is the sample: no data gradient
}

TEST(LayerGraph, ErrorsNameTheLayer) {
  EXPECT_EQ(error_of(small({input("x", {4}), layer("r", LayerOp::relu, {"y"})})),
            "layers[1] (r).inputs[0]: unknown layer 'y' (a dangling edge)");
  EXPECT_EQ(error_of(small({input("x", {4}), layer("a", LayerOp::add, {"x", "c"}), layer("b", LayerOp::relu, {"a"}),
                            layer("c", LayerOp::relu, {"b"})})),
            "layers[1] (a).inputs: the layers form a cycle: a -> b -> c -> a");
  EXPECT_EQ(error_of(small({input("x", {4}), input("y", {5}), layer("a", LayerOp::add, {"x", "y"})})),
            "layers[2] (a).inputs: 'y' [5] does not match 'x' [4]");
  EXPECT_EQ(error_of(small({input("x", {4}), input("x", {5})})), "layers[1].name: 'x' is already the name of layers[0]");
  LayerSpec fc = layer("fc", LayerOp::linear, {"x"});
  fc.out_features = 3;
  fc.in_features = 5;
  EXPECT_EQ(error_of(small({input("x", {4}), fc})),
            "layers[1] (fc).in_features: 5 does not match input 'x' [4] with 4 features");
  fc.in_features = 0;
  fc.output_shape = {4};
  EXPECT_EQ(error_of(small({input("x", {4}), fc})),
            "layers[1] (fc).output_shape: [4] does not match the shape derived from the inputs, [3]");
  LayerSpec conv = layer("c", LayerOp::conv2d, {"x"});
  conv.out_channels = 2;
  conv.kernel = 3;
  EXPECT_EQ(error_of(small({input("x", {4}), conv})),
            "layers[1] (c).inputs: conv2d needs a [channels, height, width] input, 'x' gives [4]");
  EXPECT_EQ(error_of(small({input("x", {1, 2, 2}), conv})),
            "layers[1] (c).kernel: 3 does not fit the input [1,2,2] with padding 0");
  EXPECT_EQ(error_of(small({layer("r", LayerOp::relu, {})})), "layers[0] (r).inputs: relu takes 1 input(s), got 0");
}

}  // namespace
}  // namespace ptsim::strategies

// The layer-graph file format: a whole file read, every kind of bad input named by path.
#include "layer_graph_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ptsim/io/input_error.h"

namespace ptsim::io {
namespace {

using nlohmann::json;

std::string message_of(const json& doc) {
  try {
    (void)layer_graph_from_json(doc, "layer_graph.file", "g.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

json mnist_like() {
  return json::parse(R"({
    "name": "tiny", "layers": [
      {"name": "image", "op": "input", "shape": [1, 8, 8]},
      {"name": "conv", "op": "conv2d", "inputs": ["image"], "out_channels": 4, "kernel": 3, "padding": 1, "bias": true},
      {"name": "pool", "op": "maxpool", "inputs": ["conv"], "kernel": 2},
      {"name": "flat", "op": "flatten", "inputs": ["pool"], "output_shape": [64]},
      {"name": "fc", "op": "linear", "inputs": ["flat"], "out_features": 10},
      {"name": "loss", "op": "softmax_loss", "inputs": ["fc"]}
    ]})");
}

TEST(LayerGraphFile, ReadsAGraph) {
  const auto spec = layer_graph_from_json(mnist_like(), "layer_graph.file", "g.json");
  EXPECT_EQ(spec.name, "tiny");
  ASSERT_EQ(spec.layers.size(), 6u);
  EXPECT_EQ(spec.layers[1].bias, true);
  const auto g = strategies::LayerGraph::build(spec);
  EXPECT_EQ(g.total_parameters(), 4 * 9 + 4 + 64 * 10 + 10);
}

TEST(LayerGraphFile, ErrorsNameTheFileLayerAndField) {
  auto doc = mnist_like();
  doc["layers"][1]["kernal"] = 3;
  EXPECT_EQ(message_of(doc),
            "layer_graph.file: g.json: layers[1] (conv).kernal: not an attribute of a conv2d layer; it takes: name, op, "
            "inputs, output_shape, parameters, forward_flops, backward_flops, activation_bytes, out_channels, "
            "in_channels, kernel, stride, padding, groups, bias");
  doc = mnist_like();
  doc["layers"][2]["op"] = "maxpol";
  EXPECT_THAT(message_of(doc), testing::HasSubstr("layers[2] (pool).op: must be one of input, conv2d"));
  EXPECT_THAT(message_of(doc), testing::HasSubstr("did you mean 'maxpool'?"));
  doc = mnist_like();
  doc["layers"][3]["output_shape"] = {65};
  EXPECT_EQ(message_of(doc), "layer_graph.file: g.json: layers[3] (flat).output_shape: [65] does not match the shape "
                             "derived from the inputs, [64]");
  doc = mnist_like();
  doc["layers"][4]["inputs"] = {"flatten"};
  EXPECT_EQ(message_of(doc), "layer_graph.file: g.json: layers[4] (fc).inputs[0]: unknown layer 'flatten' (a dangling edge)");
  doc = mnist_like();
  doc["layers"][1]["kernel"] = -3;
  EXPECT_EQ(message_of(doc), "layer_graph.file: g.json: layers[1] (conv).kernel: must be a positive integer, got -3");
  doc = mnist_like();
  doc["layers"][1]["inputs"] = {"loss"};
  EXPECT_THAT(message_of(doc), testing::HasSubstr("the layers form a cycle"));
  EXPECT_EQ(message_of(json::parse(R"({"layers": []})")),
            "layer_graph.file: g.json: layers: must be a non-empty array of layers, got an array");
}

}  // namespace
}  // namespace ptsim::io

namespace ptsim::io {
namespace {

std::string text_message(std::string_view text) {
  try {
    (void)layer_graph_from_text(text, "layer_graph.file", "g.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

// Found by fuzz_layer_graph: a number beyond double made nlohmann throw out_of_range, which
// escaped as an internal error; it is a one-line input error like a syntax error.
TEST(LayerGraphFile, BadJsonTextIsAnInputErrorNamingTheFile) {
  EXPECT_EQ(text_message(R"({"name": "x", "layers": [{"name": "a", "op": "input", "shape": [1e999]}]})"),
            "layer_graph.file: g.json: invalid JSON: number overflow parsing '1e999'");
  EXPECT_THAT(text_message("{\"name\": \"x\",\n \"layers\": [}"),
              ::testing::StartsWith("layer_graph.file: g.json: invalid JSON at line 2, column"));
  EXPECT_EQ(text_message(R"({"name": "x", "name": "y"})"),
            "layer_graph.file: g.json: key 'name' given more than once in one object");
}

}  // namespace
}  // namespace ptsim::io

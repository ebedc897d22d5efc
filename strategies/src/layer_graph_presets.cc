// The layer-graph presets, built in code from their published architectures:
//   resnet50    He et al. 2016 as in torchvision (stride on the 3x3 convolution, "v1.5"),
//               ImageNet 224x224: 25,557,032 parameters, 4.1 G multiply-accumulates forward
//   bert-large  Devlin et al. 2019: 24 layers, hidden 1024, 16 heads, FFN 4096, vocabulary
//               30522, sequence 512, MLM head with the decoder tied to the word embedding
//   mnist-cnn   the PyTorch examples MNIST net: two 3x3 convolutions, 2x2 max-pooling,
//               two dense layers (1,199,882 parameters)
#include <string>

#include "ptsim/strategies/layer_graph.h"

namespace ptsim::strategies {
namespace {

class Builder {
 public:
  explicit Builder(std::string name, std::int64_t tokens_per_sample = 1) {
    spec_.name = std::move(name);
    spec_.tokens_per_sample = tokens_per_sample;
  }

  std::string add(LayerSpec l, std::vector<std::string> inputs) {
    l.inputs = std::move(inputs);
    spec_.layers.push_back(l);
    return spec_.layers.back().name;
  }
  std::string input(std::string name, Shape shape) {
    LayerSpec l = make_layer(std::move(name), LayerOp::input);
    l.shape = std::move(shape);
    return add(l, {});
  }
  std::string op(std::string name, LayerOp op, std::string in) { return add(make_layer(std::move(name), op), {std::move(in)}); }
  std::string conv(std::string name, std::string in, std::int64_t out, std::int64_t k, std::int64_t stride,
                   std::int64_t pad, bool bias = false) {
    LayerSpec l = make_layer(std::move(name), LayerOp::conv2d);
    l.out_channels = out;
    l.kernel = k;
    l.stride = stride;
    l.padding = pad;
    l.bias = bias;
    return add(l, {std::move(in)});
  }
  std::string linear(std::string name, std::string in, std::int64_t out) {
    LayerSpec l = make_layer(std::move(name), LayerOp::linear);
    l.out_features = out;
    return add(l, {std::move(in)});
  }
  std::string pool(std::string name, std::string in, std::int64_t k, std::int64_t stride, std::int64_t pad) {
    LayerSpec l = make_layer(std::move(name), LayerOp::maxpool);
    l.kernel = k;
    l.stride = stride;
    l.padding = pad;
    return add(l, {std::move(in)});
  }
  LayerGraphSpec done() { return std::move(spec_); }

 private:
  LayerGraphSpec spec_;
};

LayerGraphSpec resnet50() {
  Builder b("resnet50");
  std::string x = b.input("image", {3, 224, 224});
  x = b.conv("conv1", x, 64, 7, 2, 3);
  x = b.op("bn1", LayerOp::batchnorm, x);
  x = b.op("relu1", LayerOp::relu, x);
  x = b.pool("maxpool", x, 3, 2, 1);
  const std::int64_t blocks[] = {3, 4, 6, 3};
  for (int stage = 0; stage < 4; ++stage) {
    const std::int64_t width = 64 << stage;
    for (std::int64_t i = 0; i < blocks[stage]; ++i) {
      const std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(i) + ".";
      const std::int64_t stride = (i == 0 && stage > 0) ? 2 : 1;
      std::string y = b.conv(p + "conv1", x, width, 1, 1, 0);
      y = b.op(p + "bn1", LayerOp::batchnorm, y);
      y = b.op(p + "relu1", LayerOp::relu, y);
      y = b.conv(p + "conv2", y, width, 3, stride, 1);
      y = b.op(p + "bn2", LayerOp::batchnorm, y);
      y = b.op(p + "relu2", LayerOp::relu, y);
      y = b.conv(p + "conv3", y, 4 * width, 1, 1, 0);
      y = b.op(p + "bn3", LayerOp::batchnorm, y);
      std::string shortcut = x;
      if (i == 0) {
        shortcut = b.conv(p + "downsample.conv", x, 4 * width, 1, stride, 0);
        shortcut = b.op(p + "downsample.bn", LayerOp::batchnorm, shortcut);
      }
      y = b.add(make_layer(p + "add", LayerOp::add), {y, shortcut});
      x = b.op(p + "relu3", LayerOp::relu, y);
    }
  }
  x = b.op("avgpool", LayerOp::global_avgpool, x);
  x = b.linear("fc", x, 1000);
  b.op("loss", LayerOp::softmax_loss, x);
  return b.done();
}

LayerGraphSpec bert_large() {
  constexpr std::int64_t kSeq = 512, kHidden = 1024, kLayers = 24, kHeads = 16, kFfn = 4096, kVocab = 30522;
  Builder b("bert-large", kSeq);
  std::string x = b.input("tokens", {kSeq});
  LayerSpec embedding = make_layer("embedding", LayerOp::embedding);
  embedding.vocab_size = kVocab;
  embedding.embedding_dim = kHidden;
  embedding.positions = kSeq;
  x = b.add(embedding, {x});
  x = b.op("embedding.norm", LayerOp::layernorm, x);
  for (std::int64_t l = 0; l < kLayers; ++l) {
    const std::string p = "layer" + std::to_string(l) + ".";
    LayerSpec attention = make_layer(p + "attention", LayerOp::attention);
    attention.heads = kHeads;
    std::string a = b.add(attention, {x});
    a = b.add(make_layer(p + "attention.add", LayerOp::add), {a, x});
    a = b.op(p + "attention.norm", LayerOp::layernorm, a);
    std::string f = b.linear(p + "ffn.up", a, kFfn);
    f = b.op(p + "ffn.gelu", LayerOp::gelu, f);
    f = b.linear(p + "ffn.down", f, kHidden);
    f = b.add(make_layer(p + "ffn.add", LayerOp::add), {f, a});
    x = b.op(p + "ffn.norm", LayerOp::layernorm, f);
  }
  x = b.linear("mlm.transform", x, kHidden);
  x = b.op("mlm.gelu", LayerOp::gelu, x);
  x = b.op("mlm.norm", LayerOp::layernorm, x);
  // The decoder reuses the word embedding; only its bias is a new parameter.
  LayerSpec decoder = make_layer("mlm.decoder", LayerOp::linear);
  decoder.out_features = kVocab;
  decoder.parameters = static_cast<double>(kVocab);
  x = b.add(decoder, {x});
  b.op("loss", LayerOp::softmax_loss, x);
  return b.done();
}

LayerGraphSpec mnist_cnn() {
  Builder b("mnist-cnn");
  std::string x = b.input("image", {1, 28, 28});
  x = b.conv("conv1", x, 32, 3, 1, 0, true);
  x = b.op("relu1", LayerOp::relu, x);
  x = b.conv("conv2", x, 64, 3, 1, 0, true);
  x = b.op("relu2", LayerOp::relu, x);
  x = b.pool("pool", x, 2, 2, 0);
  x = b.op("flatten", LayerOp::flatten, x);
  x = b.linear("fc1", x, 128);
  x = b.op("relu3", LayerOp::relu, x);
  x = b.linear("fc2", x, 10);
  b.op("loss", LayerOp::softmax_loss, x);
  return b.done();
}

}  // namespace

std::optional<LayerGraphSpec> find_layer_graph_preset(std::string_view name) {
  if (name == "resnet50") return resnet50();
  if (name == "bert-large") return bert_large();
  if (name == "mnist-cnn") return mnist_cnn();
  return std::nullopt;
}

std::vector<std::string> layer_graph_preset_names() { return {"resnet50", "bert-large", "mnist-cnn"}; }

}  // namespace ptsim::strategies

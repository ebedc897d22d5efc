#include "layer_graph_file.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ptsim/io/input_error.h"
#include "scenario_text.h"

namespace ptsim::io {
namespace {

using nlohmann::json;
using strategies::LayerOp;

constexpr std::int64_t kMaxDimension = std::int64_t{1} << 31;

class GraphReader {
 public:
  GraphReader(std::string error_path, std::string where) : error_path_(std::move(error_path)), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& at, const std::string& reason) const {
    throw InputError(error_path_, where_ + ": " + at + ": " + reason);
  }

  strategies::LayerGraphSpec read(const json& doc) const {
    if (!doc.is_object()) throw InputError(error_path_, where_ + ": a layer graph must be a JSON object, got " + describe_json(doc));
    const std::vector<std::string> keys = {"name", "tokens_per_sample", "layers"};
    check_keys(doc, "", keys);
    strategies::LayerGraphSpec spec;
    spec.name = "custom";
    if (doc.contains("name")) spec.name = string_of(doc["name"], "name");
    if (doc.contains("tokens_per_sample")) spec.tokens_per_sample = integer(doc["tokens_per_sample"], "tokens_per_sample", 1);
    if (!doc.contains("layers")) fail("layers", "required");
    const json& layers = doc["layers"];
    if (!layers.is_array() || layers.empty()) fail("layers", "must be a non-empty array of layers, got " + describe_json(layers));
    for (std::size_t i = 0; i < layers.size(); ++i) spec.layers.push_back(layer(layers[i], i));
    return spec;
  }

 private:
  void check_keys(const json& j, const std::string& at, const std::vector<std::string>& known) const {
    for (const auto& [key, value] : j.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        fail(at.empty() ? key : at + "." + key, unknown_key_reason(key, known));
      }
    }
  }

  std::string string_of(const json& j, const std::string& at) const {
    if (!j.is_string() || j.get_ref<const std::string&>().empty()) fail(at, "must be a non-empty string, got " + describe_json(j));
    return j.get<std::string>();
  }

  std::int64_t integer(const json& j, const std::string& at, std::int64_t minimum) const {
    if (j.is_number_integer()) {
      const bool neg = j.is_number_unsigned() ? false : j.get<std::int64_t>() < minimum;
      const bool big = j.is_number_unsigned() ? j.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxDimension)
                                              : j.get<std::int64_t>() > kMaxDimension;
      if (!neg && !big) return j.get<std::int64_t>();
      if (big) fail(at, fmt::format("must be at most {}, got {}", kMaxDimension, j.dump()));
    }
    fail(at, std::string(minimum == 0 ? "must be a non-negative integer" : "must be a positive integer") + ", got " +
                 describe_json(j));
  }

  double number(const json& j, const std::string& at) const {
    if (!j.is_number() || j.get<double>() < 0) fail(at, "must be a non-negative number, got " + describe_json(j));
    return j.get<double>();
  }

  strategies::Shape shape(const json& j, const std::string& at) const {
    if (!j.is_array() || j.empty()) fail(at, "must be a non-empty array of positive integers, got " + describe_json(j));
    strategies::Shape s;
    for (std::size_t i = 0; i < j.size(); ++i) s.push_back(integer(j[i], at + "[" + std::to_string(i) + "]", 1));
    return s;
  }

  // The attributes each op takes besides name, op and inputs and the explicit costs.
  static std::vector<std::string> attributes(LayerOp op) {
    switch (op) {
      case LayerOp::input: return {"shape"};
      case LayerOp::conv2d: return {"out_channels", "in_channels", "kernel", "stride", "padding", "groups", "bias"};
      case LayerOp::linear: return {"out_features", "in_features", "bias"};
      case LayerOp::maxpool:
      case LayerOp::avgpool: return {"kernel", "stride", "padding"};
      case LayerOp::attention: return {"heads", "bias"};
      case LayerOp::embedding: return {"vocab_size", "embedding_dim", "positions"};
      default: return {};
    }
  }

  strategies::LayerSpec layer(const json& j, std::size_t i) const {
    std::string at = "layers[" + std::to_string(i) + "]";
    if (!j.is_object()) fail(at, "must be an object, got " + describe_json(j));
    strategies::LayerSpec l;
    if (!j.contains("name")) fail(at + ".name", "required");
    l.name = string_of(j["name"], at + ".name");
    at += " (" + l.name + ")";
    if (!j.contains("op")) fail(at + ".op", "required");
    std::vector<std::string> ops;
    for (LayerOp op : strategies::kAllLayerOps) ops.emplace_back(strategies::to_string(op));
    const json& op = j["op"];
    bool found = false;
    if (op.is_string()) {
      for (LayerOp o : strategies::kAllLayerOps) {
        if (strategies::to_string(o) == op.get_ref<const std::string&>()) {
          l.op = o;
          found = true;
        }
      }
    }
    if (!found) {
      std::string reason = fmt::format("must be one of {}; got {}", fmt::join(ops, ", "), describe_json(op));
      if (op.is_string()) {
        if (auto near = closest_name(op.get_ref<const std::string&>(), ops)) reason += fmt::format("; did you mean '{}'?", *near);
      }
      fail(at + ".op", reason);
    }
    std::vector<std::string> known = {"name", "op", "inputs", "output_shape", "parameters", "forward_flops",
                                      "backward_flops", "activation_bytes"};
    const auto own = attributes(l.op);
    known.insert(known.end(), own.begin(), own.end());
    for (const auto& [key, value] : j.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::vector<std::string> all = known;
        fail(at + "." + key, fmt::format("not an attribute of a {} layer; it takes: {}", strategies::to_string(l.op),
                                         fmt::join(all, ", ")));
      }
    }
    if (j.contains("inputs")) {
      const json& in = j["inputs"];
      if (!in.is_array()) fail(at + ".inputs", "must be an array of layer names, got " + describe_json(in));
      for (std::size_t k = 0; k < in.size(); ++k) l.inputs.push_back(string_of(in[k], at + ".inputs[" + std::to_string(k) + "]"));
    }
    auto int_attr = [&](const char* key, std::int64_t& member, std::int64_t minimum) {
      if (j.contains(key)) member = integer(j[key], at + "." + key, minimum);
    };
    if (j.contains("shape")) l.shape = shape(j["shape"], at + ".shape");
    int_attr("out_channels", l.out_channels, 1);
    int_attr("out_features", l.out_features, 1);
    int_attr("in_channels", l.in_channels, 1);
    int_attr("in_features", l.in_features, 1);
    int_attr("kernel", l.kernel, 1);
    int_attr("stride", l.stride, 1);
    int_attr("padding", l.padding, 0);
    int_attr("groups", l.groups, 1);
    int_attr("heads", l.heads, 1);
    int_attr("vocab_size", l.vocab_size, 1);
    int_attr("embedding_dim", l.embedding_dim, 1);
    int_attr("positions", l.positions, 0);
    if (j.contains("bias")) {
      if (!j["bias"].is_boolean()) fail(at + ".bias", "must be true or false, got " + describe_json(j["bias"]));
      l.bias = j["bias"].get<bool>();
    }
    if (j.contains("output_shape")) l.output_shape = shape(j["output_shape"], at + ".output_shape");
    if (j.contains("parameters")) l.parameters = number(j["parameters"], at + ".parameters");
    if (j.contains("forward_flops")) l.forward_flops = number(j["forward_flops"], at + ".forward_flops");
    if (j.contains("backward_flops")) l.backward_flops = number(j["backward_flops"], at + ".backward_flops");
    if (j.contains("activation_bytes")) l.activation_bytes = number(j["activation_bytes"], at + ".activation_bytes");
    return l;
  }

  std::string error_path_;
  std::string where_;
};

// Rejects a key given twice in one object (nlohmann would keep the last one silently).
struct DuplicateKeys {
  std::vector<std::set<std::string>> frames;
  std::string duplicate;
  bool operator()(int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start: frames.emplace_back(); break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end: frames.pop_back(); break;
      case json::parse_event_t::key:
        if (!frames.back().insert(parsed.get<std::string>()).second && duplicate.empty()) duplicate = parsed.get<std::string>();
        break;
      case json::parse_event_t::value: break;
    }
    return true;
  }
};

}  // namespace

strategies::LayerGraphSpec layer_graph_from_json(const json& doc, const std::string& error_path, const std::string& where) {
  strategies::LayerGraphSpec spec = GraphReader(error_path, where).read(doc);
  try {
    (void)strategies::LayerGraph::build(spec);
  } catch (const strategies::LayerGraphError& e) {
    throw InputError(error_path, where + ": " + e.what());
  }
  return spec;
}

strategies::LayerGraphSpec layer_graph_from_text(std::string_view text, const std::string& error_path,
                                                 const std::string& where) {
  DuplicateKeys dup;
  json doc;
  try {
    doc = json::parse(text, std::ref(dup));
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number beyond double
    throw InputError(error_path, where + ": " + invalid_json_reason(text, e));
  }
  if (!dup.duplicate.empty()) throw InputError(error_path, where + ": key '" + dup.duplicate + "' given more than once in one object");
  return layer_graph_from_json(doc, error_path, where);
}

strategies::LayerGraphSpec import_layer_graph(const std::filesystem::path& file, const std::string& error_path) {
  const std::string where = file.filename().string();
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) throw InputError(error_path, file.string() + " is a directory, not a layer-graph file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(error_path, "cannot open layer-graph file " + file.string());
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return layer_graph_from_text(text, error_path, where);
}

}  // namespace ptsim::io

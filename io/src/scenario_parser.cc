#include "ptsim/io/scenario_parser.h"

#include "ptsim/io/calibration_json.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "input_file.h"
#include "ptsim/strategies/layout_rules.h"
#include "ptsim/strategies/layer_graph.h"
#include "scenario_fields.h"
#include "scenario_text.h"

namespace ptsim::io {
namespace {

using nlohmann::json;
using namespace fields;

std::string join_path(const std::string& parent, std::string_view name) {
  return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}

std::int64_t read_integer(const json& j, const std::string& path, IntRule rule) {
  const std::int64_t minimum = rule == IntRule::non_negative ? 0 : 1;
  if (j.is_number_integer()) {
    bool too_large = false;
    std::int64_t value = 0;
    if (j.is_number_unsigned()) {
      const auto u = j.get<std::uint64_t>();
      too_large = u > static_cast<std::uint64_t>(kMaxInteger);
      value = too_large ? 0 : static_cast<std::int64_t>(u);
    } else {
      value = j.get<std::int64_t>();
      too_large = value > kMaxInteger;
    }
    if (too_large) {
      throw InputError(path, fmt::format("must be at most {}, got {}", kMaxInteger, j.dump()));
    }
    if (value >= minimum) return value;
  }
  throw InputError(path, std::string(minimum == 0 ? "must be a non-negative integer" : "must be a positive integer") +
                             ", got " + describe_json(j));
}

std::string_view number_rule_text(NumberRule rule) {
  switch (rule) {
    case NumberRule::positive: return "a positive number";
    case NumberRule::non_negative: return "a non-negative number";
    case NumberRule::fraction: return "a number in (0, 1]";
  }
  return "a number";
}

bool satisfies(NumberRule rule, double x) {
  switch (rule) {
    case NumberRule::positive: return x > 0;
    case NumberRule::non_negative: return x >= 0;
    case NumberRule::fraction: return x > 0 && x <= 1;
  }
  return false;
}

// Records the names a fields function declares, without reading anything.
struct FieldNames {
  std::vector<std::string> names;

  template <class... Rest>
  void preset(const Field& f, Rest&&...) { names.emplace_back(f.name); }
  template <class... Rest>
  void integer(const Field& f, Rest&&...) { names.emplace_back(f.name); }
  template <class... Rest>
  void number(const Field& f, Rest&&...) { names.emplace_back(f.name); }
  template <class... Rest>
  void boolean(const Field& f, Rest&&...) { names.emplace_back(f.name); }
  template <class... Rest>
  void string(const Field& f, Rest&&...) { names.emplace_back(f.name); }
  template <class... Rest>
  void enumeration(const Field& f, Rest&&...) { names.emplace_back(f.name); }
  template <class... Rest>
  void object(const Field& f, Rest&&...) { names.emplace_back(f.name); }
  template <class... Rest>
  void object_or_preset(const Field& f, Rest&&...) { names.emplace_back(f.name); }
  template <class... Rest>
  void file_import(const Field& f, Rest&&...) { names.emplace_back(f.name); }
  void exactly_one_of(std::string_view, std::string_view) {}
  void at_most_one_of(std::string_view, std::string_view) {}
};

// The parsing visitor: reads one JSON object at `path` into the members its fields
// function names. `based` is true once a preset or an imported file (here or in an
// enclosing object) has filled the target, which makes required_without_preset fields
// optional. `base_dir` is where relative file paths start (the scenario file's directory;
// empty: the current directory).
class Reader {
 public:
  // Checks that j is an object without unknown keys, then reads it with `declare`.
  template <class Fn>
  static void read(const json& j, const std::string& path, const std::filesystem::path& base_dir,
                   bool based, bool shorthand, Fn&& declare) {
    if (!j.is_object()) throw InputError(path, "must be an object, got " + describe_json(j));
    FieldNames known;
    declare(known);
    for (const auto& [key, value] : j.items()) {
      if (std::find(known.names.begin(), known.names.end(), key) == known.names.end()) {
        throw InputError(join_path(path, key), unknown_key_reason(key, known.names));
      }
    }
    Reader reader(j, path, base_dir, based, shorthand);
    declare(reader);
    reader.finish();
  }

  template <class T>
  void preset(const Field& f, std::string_view kind, std::vector<std::string> (*names)(),
              std::optional<T> (*find)(std::string_view), T& target, PresetNaming naming) {
    preset_key_ = f.name;
    preset_naming_ = naming;
    name_ = &target.name;
    const json* j = lookup(f);
    if (j == nullptr) return;
    // A preset given as a bare string ("model": "gpt3-175b") is reported at the parent.
    const std::string path = shorthand_ ? path_ : path_of(f);
    if (!j->is_string()) {
      throw InputError(path,
                       fmt::format("must be a {} preset name, got {}", kind, describe_json(*j)));
    }
    const auto& name = j->get_ref<const std::string&>();
    std::optional<T> found = find(name);
    if (!found) {
      throw InputError(path, fmt::format("unknown {} preset '{}'; known: {}", kind, name,
                                         fmt::join(names(), ", ")));
    }
    target = std::move(*found);
    based_ = true;
  }

  template <class T>
  void file_import(const Field& f, ImportFn<T> read_file, T& target) {
    import_key_ = f.name;
    name_ = &target.name;
    const json* j = lookup(f);
    if (j == nullptr) return;
    if (!j->is_string() || j->get_ref<const std::string&>().empty()) {
      throw InputError(path_of(f), "must be a file path, got " + describe_json(*j));
    }
    const std::filesystem::path file = j->get<std::string>();
    target = read_file(file.is_absolute() ? file : base_dir_ / file, path_of(f));
    based_ = true;
  }

  template <class Int>
  void integer(const Field& f, Int& member, IntRule rule) {
    const json* j = lookup(f);
    if (j == nullptr) return;
    static_assert(std::numeric_limits<Int>::max() >= kMaxInteger);
    member = static_cast<Int>(read_integer(*j, path_of(f), rule));
  }

  void number(const Field& f, double& member, NumberRule rule, UnitFn to_si) {
    const json* j = lookup(f);
    if (j == nullptr) return;
    if (!j->is_number() || !satisfies(rule, j->get<double>())) {
      throw InputError(path_of(f), fmt::format("must be {}, got {}", number_rule_text(rule),
                                               describe_json(*j)));
    }
    const double value = to_si(j->get<double>());
    if (!std::isfinite(value)) {
      throw InputError(path_of(f), fmt::format("{} is too large (beyond the range of a double in SI units)", j->dump()));
    }
    member = value;
  }

  void boolean(const Field& f, bool& member) {
    const json* j = lookup(f);
    if (j == nullptr) return;
    if (!j->is_boolean()) {
      throw InputError(path_of(f), "must be true or false, got " + describe_json(*j));
    }
    member = j->get<bool>();
  }

  void string(const Field& f, std::string& member) {
    const json* j = lookup(f);
    if (j == nullptr) return;
    if (!j->is_string()) throw InputError(path_of(f), "must be a string, got " + describe_json(*j));
    member = j->get<std::string>();
  }

  template <class E, std::size_t N>
  void enumeration(const Field& f, E& member, const std::array<E, N>& values) {
    const json* j = lookup(f);
    if (j == nullptr) return;
    std::vector<std::string> names;
    for (E e : values) names.emplace_back(to_string(e));
    if (j->is_string()) {
      const auto& s = j->get_ref<const std::string&>();
      for (E e : values) {
        if (to_string(e) == s) {
          member = e;
          return;
        }
      }
    }
    std::string reason =
        fmt::format("must be one of {}; got {}", fmt::join(names, ", "), describe_json(*j));
    if (j->is_string()) {
      if (auto near = closest_name(j->get_ref<const std::string&>(), names)) {
        reason += fmt::format("; did you mean '{}'?", *near);
      }
    }
    throw InputError(path_of(f), reason);
  }

  template <class Fn>
  void object(const Field& f, Fn&& declare) {
    const json* j = lookup(f);
    if (j == nullptr) return;
    read(*j, path_of(f), base_dir_, based_, false, declare);
  }

  template <class Fn>
  void object_or_preset(const Field& f, Fn&& declare) {
    const json* j = lookup(f);
    if (j == nullptr) return;
    if (j->is_string()) {
      FieldNames names;
      declare(names);
      json as_object = json::object();
      as_object[names.names.front()] = *j;  // the preset field, declared first
      read(as_object, path_of(f), base_dir_, based_, true, declare);
      return;
    }
    if (!j->is_object()) {
      throw InputError(path_of(f),
                       "must be a preset name or an object, got " + describe_json(*j));
    }
    read(*j, path_of(f), base_dir_, based_, false, declare);
  }

  void exactly_one_of(std::string_view a, std::string_view b) {
    const bool has_a = obj_.contains(std::string(a));
    const bool has_b = obj_.contains(std::string(b));
    if (has_a && has_b) {
      throw InputError(path_, fmt::format("give either {} or {}, not both", a, b));
    }
    if (!has_a && !has_b) throw InputError(path_, fmt::format("give {} or {}", a, b));
  }

  void at_most_one_of(std::string_view a, std::string_view b) {
    if (obj_.contains(std::string(a)) && obj_.contains(std::string(b))) {
      throw InputError(path_, fmt::format("give either {} or {}, not both", a, b));
    }
  }

 private:
  Reader(const json& obj, std::string path, const std::filesystem::path& base_dir, bool based,
         bool shorthand)
      : obj_(obj), path_(std::move(path)), base_dir_(base_dir), based_(based), shorthand_(shorthand) {}

  std::string path_of(const Field& f) const { return join_path(path_, f.name); }

  // The value of f, or nullptr when absent and allowed to be.
  const json* lookup(const Field& f) const {
    auto it = obj_.find(std::string(f.name));
    if (it != obj_.end()) return &*it;
    switch (f.presence) {
      case Presence::required: throw InputError(path_of(f), "required");
      case Presence::required_without_preset:
        if (!based_) throw InputError(path_of(f), "required unless a preset is given");
        break;
      case Presence::optional:
      case Presence::derived: break;
    }
    return nullptr;
  }

  void finish() {
    if (name_ == nullptr) return;  // no preset field in this object
    if (!based_) {
      *name_ = "custom";
      return;
    }
    const bool overridden =
        std::any_of(obj_.items().begin(), obj_.items().end(), [&](const auto& kv) {
          return kv.key() != preset_key_ && kv.key() != import_key_;
        });
    if (preset_naming_ == PresetNaming::mark_overrides && overridden) *name_ += " (modified)";
  }

  const json& obj_;
  std::string path_;
  const std::filesystem::path& base_dir_;
  bool based_;
  bool shorthand_;
  std::string_view preset_key_;
  std::string_view import_key_;
  PresetNaming preset_naming_ = PresetNaming::keep;
  std::string* name_ = nullptr;
};

// Multi-head latent attention: all five widths, or none.
void check_mla(const strategies::TransformerConfig& m) {
  const std::pair<const char*, std::int64_t> widths[] = {{"q_lora_rank", m.q_lora_rank},
                                                          {"qk_nope_head_dim", m.qk_nope_head_dim},
                                                          {"qk_rope_head_dim", m.qk_rope_head_dim},
                                                          {"v_head_dim", m.v_head_dim}};
  for (const auto& [name, value] : widths) {
    if (m.kv_lora_rank == 0 && value > 0) {
      throw InputError(std::string("model.") + name,
                       "needs model.kv_lora_rank > 0 (multi-head latent attention)");
    }
    if (m.kv_lora_rank > 0 && value == 0) {
      throw InputError(std::string("model.") + name,
                       fmt::format("must be positive with multi-head latent attention (model.kv_lora_rank {}){}",
                                   m.kv_lora_rank,
                                   std::string_view(name) == "q_lora_rank"
                                       ? "; queries projected without a latent are not modelled"
                                       : ""));
    }
  }
  if (m.kv_lora_rank > 0 && m.num_query_groups != m.num_attention_heads) {
    throw InputError("model.num_query_groups",
                     fmt::format("{} differs from model.num_attention_heads {}: multi-head latent attention "
                                 "has a key and value per head",
                                 m.num_query_groups, m.num_attention_heads));
  }
}

void check_model(strategies::TransformerConfig& m) {
  for (const auto& [name, value] : {std::pair{"hidden_dropout", m.hidden_dropout},
                                    std::pair{"attention_dropout", m.attention_dropout}}) {
    if (value >= 1) throw InputError(std::string("model.") + name, fmt::format("{} is not below 1", value));
  }
  if (m.num_query_groups == 0) m.num_query_groups = m.num_attention_heads;
  if (m.ffn_hidden_size == 0) m.ffn_hidden_size = 4 * m.hidden_size;
  if (m.hidden_size % m.num_attention_heads != 0) {
    throw InputError("model.hidden_size",
                     fmt::format("{} is not divisible by model.num_attention_heads {}",
                                 m.hidden_size, m.num_attention_heads));
  }
  if (m.num_attention_heads % m.num_query_groups != 0) {
    throw InputError("model.num_attention_heads",
                     fmt::format("{} is not divisible by model.num_query_groups {}",
                                 m.num_attention_heads, m.num_query_groups));
  }
  check_mla(m);
  if (m.first_k_dense_replace > m.num_layers) {
    throw InputError("model.first_k_dense_replace",
                     fmt::format("{} is more than model.num_layers {}", m.first_k_dense_replace, m.num_layers));
  }
  if (m.moe_shared_expert_gate && m.moe_shared_expert_intermediate_size == 0) {
    throw InputError("model.moe_shared_expert_gate",
                     "needs a shared expert (model.moe_shared_expert_intermediate_size > 0)");
  }
  for (std::int64_t layer : m.mlp_only_layers) {
    if (layer < 0 || layer >= m.num_layers) {
      throw InputError("model.mlp_only_layers",
                       fmt::format("layer {} is not in [0, model.num_layers {})", layer, m.num_layers));
    }
  }
}

costmodel::ClusterSpec make_cluster(const ClusterInput& in) {
  costmodel::ClusterSpec spec = in.spec;
  const std::int64_t per_node = spec.gpus_per_node;
  if (in.num_gpus > 0) {
    if (in.num_gpus < per_node) {
      spec.num_nodes = 1;
      spec.gpus_per_node = static_cast<int>(in.num_gpus);
    } else if (in.num_gpus % per_node != 0) {
      throw InputError("cluster.num_gpus",
                       fmt::format("{} is not a multiple of cluster.gpus_per_node {}",
                                   in.num_gpus, per_node));
    } else {
      spec.num_nodes = static_cast<int>(in.num_gpus / per_node);
    }
  } else {
    if (in.num_nodes * per_node > kMaxInteger) {
      throw InputError("cluster.num_nodes",
                       fmt::format("{} nodes x {} GPUs per node is more than {} GPUs",
                                   in.num_nodes, per_node, kMaxInteger));
    }
    spec.num_nodes = static_cast<int>(in.num_nodes);
  }
  if (spec.oversubscription < 1) {
    throw InputError("cluster.oversubscription",
                     fmt::format("{} is below 1 (N means N:1 between pods)", spec.oversubscription));
  }
  if (spec.nvlink_domain_gpus > 0 && spec.nvlink_domain_gpus % spec.gpus_per_node != 0) {
    throw InputError("cluster.nvlink_domain_gpus",
                     fmt::format("{} is not a multiple of cluster.gpus_per_node {}",
                                 spec.nvlink_domain_gpus, spec.gpus_per_node));
  }
  if (spec.pod_gpus > 0 && spec.pod_gpus % spec.domain_size() != 0) {
    throw InputError("cluster.pod_gpus",
                     fmt::format("{} is not a multiple of the NVLink domain size {}", spec.pod_gpus,
                                 spec.domain_size()));
  }
  return spec;
}

void check_precision(const strategies::Training& t, const costmodel::GpuSpec& gpu) {
  if (gpu.peak(t.precision) <= 0) {
    throw InputError("training.precision",
                     fmt::format("{} is not supported by gpu {} (its peak_tflops.{} is 0)",
                                 costmodel::to_string(t.precision), gpu.name,
                                 costmodel::to_string(t.precision)));
  }
}

bool t_fraction_bad(const strategies::Training& t) { return t.allocator_overhead_fraction >= 1; }

void check_layout(strategies::Layout& l, const strategies::TransformerConfig& m,
                  const strategies::Training& t, std::int64_t num_gpus) {
  // tp, pp, cp <= kMaxInteger each: their product fits in 2^93 only with care, so check.
  std::int64_t tp_pp = 0;
  if (__builtin_mul_overflow(l.tp * l.pp, l.cp, &tp_pp)) tp_pp = 0;
  const std::string cp_term = l.cp > 1 ? fmt::format(" x cp ({})", l.cp) : "";
  if (l.dp == 0) {
    if (tp_pp == 0 || num_gpus % tp_pp != 0) {
      throw InputError("layout.dp",
                       fmt::format("not given, and cluster.num_gpus {} is not divisible by "
                                   "tp ({}){} x pp ({}) = {}",
                                   num_gpus, l.tp, cp_term, l.pp, tp_pp));
    }
    l.dp = num_gpus / tp_pp;
  }
  if (m.num_experts > 0 && m.moe_router_topk > m.num_experts) {
    throw InputError("model.moe_router_topk", fmt::format("{} is more than model.num_experts {}",
                                                          m.moe_router_topk, m.num_experts));
  }
  // The cross-field layout rules live in strategies/ (shared with the layout search).
  if (auto problem = strategies::check_layout(l, m, t, num_gpus)) throw InputError(problem->field, problem->message);
  // Every (micro-batch, layer) pair of the pipeline becomes a few dozen simulated tasks;
  // beyond kMaxLayerPasses a step would take minutes and gigabytes to simulate.
  const std::int64_t microbatches_per_pipeline = t.global_batch_size / (l.dp * l.micro_batch_size);
  if (microbatches_per_pipeline > kMaxLayerPasses / m.num_layers) {
    throw InputError("training.global_batch_size",
                     fmt::format("{} micro-batches x model.num_layers {} = {} layer passes per step, more than the "
                                 "{} ptsim simulates; raise layout.micro_batch_size or layout.dp",
                                 microbatches_per_pipeline, m.num_layers, microbatches_per_pipeline * m.num_layers,
                                 kMaxLayerPasses));
  }
  if (t.allocator_overhead_fraction >= 1) {
    throw InputError("training.allocator_overhead_fraction",
                     fmt::format("{} is not below 1", t.allocator_overhead_fraction));
  }
}

// The layout rules of a layer-graph model: data and pipeline parallelism only.
void check_graph_layout(strategies::Layout& l, const strategies::LayerGraph& g, const strategies::Training& t,
                        std::int64_t num_gpus) {
  const std::string why = "layer-graph models run with data and pipeline parallelism only";
  const std::pair<std::string_view, std::int64_t> ones[] = {
      {"tp", l.tp}, {"cp", l.cp}, {"ep", l.ep}, {"virtual_stages", l.virtual_stages}};
  for (const auto& [name, value] : ones) {
    if (value != 1) throw InputError(fmt::format("layout.{}", name), fmt::format("{} is not 1: {}", value, why));
  }
  const std::pair<std::string_view, bool> offs[] = {
      {"sequence_parallel", l.sequence_parallel}, {"tp_comm_overlap", l.tp_comm_overlap},
      {"pipeline_scatter_gather", l.pipeline_scatter_gather},
      {"overlap_grad_reduce", l.overlap_grad_reduce},
      {"num_layers_in_first_pipeline_stage", l.num_layers_in_first_pipeline_stage != 0},
      {"num_layers_in_last_pipeline_stage", l.num_layers_in_last_pipeline_stage != 0}};
  for (const auto& [name, on] : offs) {
    if (on) {
      throw InputError(fmt::format("layout.{}", name),
                       "is not supported for layer-graph models (the partitioner places the layers)");
    }
  }
  if (l.recompute != strategies::Recompute::none) {
    throw InputError("layout.recompute", fmt::format("{} is not supported for layer-graph models; use none",
                                                     strategies::to_string(l.recompute)));
  }
  if (l.zero_stage > 2) {
    throw InputError("layout.zero_stage", fmt::format("{} is not supported for layer-graph models; use 0, 1 or 2", l.zero_stage));
  }
  if (!l.reshard_after_forward) {
    throw InputError("layout.reshard_after_forward", "false needs layout.zero_stage 3, which layer-graph models do not support");
  }
  if (l.schedule == strategies::Schedule::zb_h1) {
    throw InputError("layout.schedule", "zb-h1 is not supported for layer-graph models (their backward is not split into "
                                        "input and weight gradients); use sequential, gpipe or 1f1b");
  }
  const auto layers = static_cast<std::int64_t>(g.num_layers());
  if (l.pp > layers) {
    throw InputError("layout.pp", fmt::format("{} is more than the layer graph's {} layers", l.pp, layers));
  }
  if (l.dp == 0) {
    if (num_gpus % l.pp != 0) {
      throw InputError("layout.dp", fmt::format("not given, and cluster.num_gpus {} is not divisible by pp ({})",
                                                num_gpus, l.pp));
    }
    l.dp = num_gpus / l.pp;
  }
  if (l.dp * l.pp != num_gpus) {
    throw InputError("layout", fmt::format("dp ({}) x pp ({}) = {} does not equal cluster.num_gpus {}", l.dp, l.pp,
                                           l.dp * l.pp, num_gpus));
  }
  const std::int64_t per_step = l.dp * l.micro_batch_size;
  if (t.global_batch_size % per_step != 0) {
    throw InputError("training.global_batch_size",
                     fmt::format("{} is not divisible by dp ({}) x micro_batch_size ({}) = {}",
                                 t.global_batch_size, l.dp, l.micro_batch_size, per_step));
  }
  if (t.allocator_overhead_fraction >= 1) {
    throw InputError("training.allocator_overhead_fraction",
                     fmt::format("{} is not below 1", t.allocator_overhead_fraction));
  }
}

// Rejects a key given twice in one object (nlohmann would keep the last one silently).
class DuplicateKeyCheck {
 public:
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start: frames_.emplace_back(); break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end: frames_.pop_back(); break;
      case json::parse_event_t::key: {
        Frame& frame = frames_.back();
        frame.current = parsed.get<std::string>();
        if (!frame.keys.insert(frame.current).second) {
          throw InputError(current_path(), "given more than once");
        }
        break;
      }
      case json::parse_event_t::value: break;
    }
    return true;
  }

 private:
  struct Frame {
    std::set<std::string> keys;
    std::string current;  // empty in arrays
  };

  std::string current_path() const {
    std::string path;
    for (const Frame& f : frames_) {
      if (!f.current.empty()) path = join_path(path, f.current);
    }
    return path;
  }

  std::vector<Frame> frames_;
};

// parse_scenario with relative file paths (model.hf_config) resolved against base_dir.
strategies::Scenario parse_scenario_in(const json& doc, const std::filesystem::path& base_dir,
                                       bool layout_rules = true) {
  if (!doc.is_object()) {
    throw InputError("", "a scenario must be a JSON object, got " + describe_json(doc));
  }
  ScenarioInput in;
  Reader::read(doc, "", base_dir, false, false, [&](auto& v) { scenario_fields(v, in); });

  strategies::Scenario s;
  s.name = in.name;
  s.cluster = make_cluster(in.cluster);
  if (!in.cluster.profile.empty()) {
    const std::filesystem::path file = in.cluster.profile;
    attach_profile(s.cluster, file.is_absolute() ? file : base_dir / file, "cluster.profile");
  }
  s.training = in.training;
  s.layout = in.layout;
  if (!in.graph.layers.empty()) {
    // Presets are valid and files were validated on import; build cannot fail here.
    s.graph = std::make_shared<const strategies::LayerGraph>(strategies::LayerGraph::build(in.graph));
    s.model.name = s.graph->name();
    const std::int64_t tokens = s.graph->tokens_per_sample();
    if (s.training.seq_length != 0 && s.training.seq_length != tokens) {
      throw InputError("training.seq_length",
                       fmt::format("{} differs from the layer graph's tokens_per_sample {} (its shapes are fixed); "
                                   "leave it out",
                                   s.training.seq_length, tokens));
    }
    s.training.seq_length = tokens;
    check_precision(s.training, s.cluster.gpu);
    check_graph_layout(s.layout, *s.graph, s.training, s.cluster.num_gpus());
    return s;
  }
  if (s.training.seq_length == 0) throw InputError("training.seq_length", "required");
  s.model = in.model;
  check_model(s.model);
  check_precision(s.training, s.cluster.gpu);
  if (layout_rules) {
    check_layout(s.layout, s.model, s.training, s.cluster.num_gpus());
  } else if (t_fraction_bad(s.training)) {
    throw InputError("training.allocator_overhead_fraction",
                     fmt::format("{} is not below 1", s.training.allocator_overhead_fraction));
  }
  return s;
}

}  // namespace

strategies::Scenario parse_scenario(const json& doc) { return parse_scenario_in(doc, {}); }

strategies::Scenario parse_scenario(const json& doc, const std::filesystem::path& base_dir) {
  return parse_scenario_in(doc, base_dir);
}

static json parse_scenario_json(std::string_view text, const std::string& source) {
  try {
    return json::parse(text, DuplicateKeyCheck{});
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number beyond double
    throw InputError(source, invalid_json_reason(text, e));
  }
}

strategies::Scenario parse_scenario_text(std::string_view text, const std::string& source,
                                         const std::filesystem::path& base_dir) {
  return parse_scenario_in(parse_scenario_json(text, source), base_dir);
}

json read_scenario_document(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw InputError(file.string(), "is a directory, not a scenario file");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string(), "cannot open file");
  const std::optional<std::string> text = read_at_most(in);
  if (in.bad()) throw InputError(file.string(), "cannot read file");
  if (!text) throw InputError(file.string(), too_large_reason());
  return parse_scenario_json(*text, file.string());
}

strategies::Scenario parse_scenario_file(const std::filesystem::path& file) {
  return parse_scenario_in(read_scenario_document(file), file.parent_path());
}

SearchInput parse_search_scenario_file(const std::filesystem::path& file) {
  return parse_search_scenario(read_scenario_document(file), file.parent_path());
}

SearchInput parse_search_scenario(json doc, const std::filesystem::path& base_dir) {
  if (doc.is_object() && !doc.contains("layout")) doc["layout"] = json::object();  // every knob open
  SearchInput out;
  out.scenario = parse_scenario_in(doc, base_dir, false);
  const strategies::Layout& l = out.scenario.layout;
  auto given = [&](const char* key) {
    return doc.is_object() && doc.contains("layout") && doc.at("layout").contains(key);
  };
  strategies::SearchSpace& sp = out.space;
  if (given("tp")) sp.tp = l.tp;
  if (given("pp")) sp.pp = l.pp;
  if (given("dp")) sp.dp = l.dp;
  if (given("cp")) sp.cp = l.cp;
  if (given("ep")) sp.ep = l.ep;
  if (given("micro_batch_size")) sp.micro_batch_size = l.micro_batch_size;
  if (given("virtual_stages")) sp.virtual_stages = l.virtual_stages;
  if (given("zero_stage")) sp.zero_stage = l.zero_stage;
  if (given("schedule")) sp.schedule = l.schedule;
  if (given("recompute")) sp.recompute = l.recompute;
  if (given("sequence_parallel")) sp.sequence_parallel = l.sequence_parallel;
  return out;
}

}  // namespace ptsim::io

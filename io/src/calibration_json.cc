#include "ptsim/io/calibration_json.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "input_file.h"
#include "scenario_text.h"

namespace ptsim::io {
namespace {

using costmodel::CollectiveOp;
using nlohmann::json;
using ordered = nlohmann::ordered_json;

// Reads one JSON object at `path` of `file`: every key must be one of `keys`, and each
// accessor checks type and range, naming "file: path.key" in the error.
class Obj {
 public:
  Obj(const json& j, std::string file, std::string path, std::vector<std::string> keys)
      : j_(j), file_(std::move(file)), path_(std::move(path)) {
    if (!j.is_object()) fail(path_, "must be an object, got " + describe_json(j));
    for (const auto& [key, value] : j.items()) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) fail(at(key), unknown_key_reason(key, keys));
    }
  }

  [[noreturn]] void fail(const std::string& path, const std::string& reason) const {
    throw InputError(path.empty() ? file_ : file_ + ": " + path, reason);
  }
  std::string at(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }
  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const json& raw(const char* key) const {
    if (!j_.contains(key)) fail(at(key), "missing");
    return j_.at(key);
  }
  const std::string& file() const { return file_; }

  double positive(const char* key) const {
    const json& v = raw(key);
    if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>())) {
      fail(at(key), "must be a positive number, got " + describe_json(v));
    }
    return v.get<double>();
  }
  double non_negative(const char* key) const {
    const json& v = raw(key);
    if (!v.is_number() || !(v.get<double>() >= 0) || !std::isfinite(v.get<double>())) {
      fail(at(key), "must be a non-negative number, got " + describe_json(v));
    }
    return v.get<double>();
  }
  double finite(const char* key) const {
    const json& v = raw(key);
    if (!v.is_number() || !std::isfinite(v.get<double>())) fail(at(key), "must be a number, got " + describe_json(v));
    return v.get<double>();
  }
  int count(const char* key) const {
    const json& v = raw(key);
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 1'000'000) {
      fail(at(key), "must be a positive integer, got " + describe_json(v));
    }
    return static_cast<int>(v.get<std::int64_t>());
  }
  std::string str(const char* key) const {
    const json& v = raw(key);
    if (!v.is_string()) fail(at(key), "must be a string, got " + describe_json(v));
    return v.get<std::string>();
  }
  std::vector<double> positives(const char* key, bool ascending) const {
    const json& v = raw(key);
    if (!v.is_array() || v.empty()) fail(at(key), "must be a non-empty array of positive numbers");
    std::vector<double> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const json& x = v[i];
      if (!x.is_number() || !(x.get<double>() > 0) || !std::isfinite(x.get<double>())) {
        fail(fmt::format("{}[{}]", at(key), i), "must be a positive number, got " + describe_json(x));
      }
      if (ascending && !out.empty() && !(x.get<double>() > out.back())) {
        fail(fmt::format("{}[{}]", at(key), i), fmt::format("{} is not above the previous {}", x.get<double>(), out.back()));
      }
      out.push_back(x.get<double>());
    }
    return out;
  }
  std::vector<std::string> strings(const char* key) const {
    const json& v = raw(key);
    if (!v.is_array()) fail(at(key), "must be an array of strings");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) fail(fmt::format("{}[{}]", at(key), i), "must be a string, got " + describe_json(v[i]));
      out.push_back(v[i].get<std::string>());
    }
    return out;
  }
  std::vector<std::pair<std::string, std::string>> string_map(const char* key) const {
    const json& v = raw(key);
    if (!v.is_object()) fail(at(key), "must be an object of strings");
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [k, x] : v.items()) {
      if (!x.is_string()) fail(at(key) + "." + k, "must be a string, got " + describe_json(x));
      out.emplace_back(k, x.get<std::string>());
    }
    return out;
  }
  costmodel::Dtype dtype(const char* key) const {
    const std::string s = str(key);
    const auto d = costmodel::parse_dtype(s);
    if (!d) fail(at(key), fmt::format("unknown dtype \"{}\" (fp32, tf32, fp16, bf16, fp8)", s));
    return *d;
  }
  CollectiveOp op(const char* key) const {
    const std::string s = str(key);
    CollectiveOp out{};
    if (!costmodel::parse_collective_op(s, out)) fail(at(key), fmt::format("unknown collective \"{}\"", s));
    return out;
  }
  // Each element of the array `key` as an object.
  template <class Fn>
  void each(const char* key, Fn&& fn) const {
    if (!has(key)) return;
    const json& v = raw(key);
    if (!v.is_array()) fail(at(key), "must be an array, got " + describe_json(v));
    for (std::size_t i = 0; i < v.size(); ++i) fn(v[i], fmt::format("{}[{}]", at(key), i));
  }

 private:
  const json& j_;
  std::string file_;
  std::string path_;
};

json parse_document(std::string_view text, const std::string& file) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number beyond double
    throw InputError(file, invalid_json_reason(text, e));
  }
}

std::string read_text(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) throw InputError(file.string(), "is a directory, not a file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string(), "cannot open file");
  std::optional<std::string> text = read_at_most(in);
  if (in.bad()) throw InputError(file.string(), "cannot read file");
  if (!text) throw InputError(file.string(), too_large_reason());
  return std::move(*text);
}

void check_format(const Obj& o, std::string_view expected) {
  if (o.str("format") != expected) {
    o.fail("format", fmt::format("must be \"{}\", got \"{}\"", expected, o.str("format")));
  }
}

void check_shape(const Obj& o, int ranks, int per_domain, int domains) {
  if (ranks > per_domain * domains) {
    o.fail(o.at("ranks"), fmt::format("{} ranks do not fit {} domains of {}", ranks, domains, per_domain));
  }
}

ordered device_json(const std::vector<std::pair<std::string, std::string>>& device) {
  ordered d = ordered::object();
  for (const auto& [k, v] : device) d[k] = v;
  return d;
}

}  // namespace

// ---- profiles ----

costmodel::HardwareProfile parse_profile_text(std::string_view text, const std::string& file) {
  const json doc = parse_document(text, file);
  const Obj o(doc, file, "",
              {"format", "gpu", "sources", "device", "gemm", "attention_flops_fraction", "kernel_launch_overhead_s",
               "memory", "collectives"});
  check_format(o, kProfileFormat);
  costmodel::HardwareProfile p;
  p.gpu = o.str("gpu");
  if (p.gpu.empty()) o.fail("gpu", "must name the GPU preset the profile was measured on");
  if (o.has("sources")) p.sources = o.strings("sources");
  if (o.has("device")) p.device = o.string_map("device");
  o.each("gemm", [&](const json& j, const std::string& path) {
    const Obj g(j, file, path, {"dtype", "m", "n", "k", "time_s", "fitted_efficiency"});
    costmodel::GemmTable t;
    t.dtype = g.dtype("dtype");
    if (p.gemm_table(t.dtype) != nullptr) g.fail(g.at("dtype"), "a second table for this dtype");
    t.m = g.positives("m", true);
    t.n = g.positives("n", true);
    t.k = g.positives("k", true);
    t.time_s = g.positives("time_s", false);
    if (t.time_s.size() != t.m.size() * t.n.size() * t.k.size()) {
      g.fail(g.at("time_s"), fmt::format("has {} entries, the {} x {} x {} grid needs {}", t.time_s.size(), t.m.size(),
                                         t.n.size(), t.k.size(), t.m.size() * t.n.size() * t.k.size()));
    }
    t.fitted_efficiency = g.positive("fitted_efficiency");
    if (t.fitted_efficiency > 1) g.fail(g.at("fitted_efficiency"), "must be at most 1");
    p.gemm.push_back(std::move(t));
  });
  if (o.has("attention_flops_fraction")) {
    p.attention_flops_fraction = o.positive("attention_flops_fraction");
    if (*p.attention_flops_fraction > 1) o.fail("attention_flops_fraction", "must be at most 1");
  }
  if (o.has("kernel_launch_overhead_s")) p.kernel_launch_overhead_s = o.non_negative("kernel_launch_overhead_s");
  o.each("memory", [&](const json& j, const std::string& path) {
    const Obj m(j, file, path, {"kernel", "bytes", "bytes_per_s"});
    costmodel::BandwidthCurve c{m.str("kernel"), m.positives("bytes", true), m.positives("bytes_per_s", false)};
    if (c.bytes.size() != c.bytes_per_s.size()) m.fail(m.at("bytes_per_s"), "must have one entry per bytes entry");
    p.memory.push_back(std::move(c));
  });
  o.each("collectives", [&](const json& j, const std::string& path) {
    const Obj c(j, file, path,
                {"op", "ranks", "ranks_per_domain", "domains", "bytes", "time_s", "alpha_s", "beta_s_per_byte",
                 "rms_relative_residual"});
    costmodel::CollectiveCurve curve;
    curve.op = c.op("op");
    curve.ranks = c.count("ranks");
    curve.ranks_per_domain = c.count("ranks_per_domain");
    curve.domains = c.count("domains");
    check_shape(c, curve.ranks, curve.ranks_per_domain, curve.domains);
    curve.bytes = c.positives("bytes", true);
    curve.time_s = c.positives("time_s", false);
    if (curve.bytes.size() != curve.time_s.size()) c.fail(c.at("time_s"), "must have one entry per bytes entry");
    curve.alpha_s = c.finite("alpha_s");
    curve.beta_s_per_byte = c.positive("beta_s_per_byte");
    curve.rms_relative_residual = c.non_negative("rms_relative_residual");
    const costmodel::GroupShape shape{curve.ranks, curve.ranks_per_domain, curve.domains, false};
    if (p.collective_curve(curve.op, shape) != nullptr) c.fail(c.at("op"), "a second curve for this op and group shape");
    p.collectives.push_back(std::move(curve));
  });
  return p;
}

costmodel::HardwareProfile parse_profile_file(const std::filesystem::path& file) {
  return parse_profile_text(read_text(file), file.string());
}

std::string profile_to_json(const costmodel::HardwareProfile& p) {
  ordered j;
  j["format"] = kProfileFormat;
  j["gpu"] = p.gpu;
  j["sources"] = p.sources;
  j["device"] = device_json(p.device);
  ordered gemm = ordered::array();
  for (const auto& t : p.gemm) {
    gemm.push_back({{"dtype", costmodel::to_string(t.dtype)}, {"m", t.m}, {"n", t.n}, {"k", t.k},
                    {"time_s", t.time_s}, {"fitted_efficiency", t.fitted_efficiency}});
  }
  j["gemm"] = gemm;
  if (p.attention_flops_fraction) j["attention_flops_fraction"] = *p.attention_flops_fraction;
  if (p.kernel_launch_overhead_s) j["kernel_launch_overhead_s"] = *p.kernel_launch_overhead_s;
  ordered memory = ordered::array();
  for (const auto& c : p.memory) memory.push_back({{"kernel", c.kernel}, {"bytes", c.bytes}, {"bytes_per_s", c.bytes_per_s}});
  j["memory"] = memory;
  ordered coll = ordered::array();
  for (const auto& c : p.collectives) {
    coll.push_back({{"op", costmodel::to_string(c.op)}, {"ranks", c.ranks}, {"ranks_per_domain", c.ranks_per_domain},
                    {"domains", c.domains}, {"bytes", c.bytes}, {"time_s", c.time_s}, {"alpha_s", c.alpha_s},
                    {"beta_s_per_byte", c.beta_s_per_byte}, {"rms_relative_residual", c.rms_relative_residual}});
  }
  j["collectives"] = coll;
  return j.dump(1) + "\n";
}

void attach_profile(costmodel::ClusterSpec& cluster, const std::filesystem::path& file, const std::string& error_path) {
  costmodel::HardwareProfile profile;
  try {
    profile = parse_profile_file(file);
  } catch (const InputError& e) {
    throw InputError(error_path, e.what());
  }
  std::string gpu = cluster.gpu.name;
  if (const auto mod = gpu.find(" (modified)"); mod != std::string::npos) gpu.resize(mod);
  if (profile.gpu != gpu) {
    throw InputError(error_path, fmt::format("{} was measured on GPU \"{}\", but cluster.gpu is \"{}\"", file.string(),
                                             profile.gpu, cluster.gpu.name));
  }
  cluster.gpu.profile = std::make_shared<const costmodel::HardwareProfile>(std::move(profile));
}

// ---- raw measurements ----

costmodel::Measurements parse_measurements_text(std::string_view text, const std::string& file) {
  const json doc = parse_document(text, file);
  const Obj o(doc, file, "",
              {"format", "device", "sources", "gemm", "attention", "bandwidth", "kernel_launch_overhead_s", "collectives"});
  check_format(o, kMeasurementsFormat);
  costmodel::Measurements m;
  if (o.has("device")) m.device = o.string_map("device");
  if (o.has("sources")) m.sources = o.strings("sources");
  o.each("gemm", [&](const json& j, const std::string& path) {
    const Obj g(j, file, path, {"dtype", "m", "n", "k", "time_s", "spread"});
    m.gemm.push_back({g.dtype("dtype"), g.positive("m"), g.positive("n"), g.positive("k"), g.positive("time_s"),
                      g.non_negative("spread")});
  });
  o.each("attention", [&](const json& j, const std::string& path) {
    const Obj a(j, file, path, {"dtype", "backward", "batch", "heads", "seq", "head_dim", "flops", "time_s", "spread"});
    if (!a.raw("backward").is_boolean()) a.fail(a.at("backward"), "must be true or false");
    m.attention.push_back({a.dtype("dtype"), a.raw("backward").get<bool>(), a.count("batch"), a.count("heads"),
                           a.count("seq"), a.count("head_dim"), a.positive("flops"), a.positive("time_s"),
                           a.non_negative("spread")});
  });
  o.each("bandwidth", [&](const json& j, const std::string& path) {
    const Obj b(j, file, path, {"kernel", "bytes", "time_s", "spread"});
    m.bandwidth.push_back({b.str("kernel"), b.positive("bytes"), b.positive("time_s"), b.non_negative("spread")});
  });
  if (o.has("kernel_launch_overhead_s")) m.kernel_launch_overhead_s = o.non_negative("kernel_launch_overhead_s");
  o.each("collectives", [&](const json& j, const std::string& path) {
    const Obj c(j, file, path, {"op", "ranks", "ranks_per_domain", "domains", "bytes", "time_s"});
    costmodel::CollectiveSample s{c.op("op"), c.count("ranks"), c.count("ranks_per_domain"), c.count("domains"),
                                  c.positive("bytes"), c.positive("time_s")};
    check_shape(c, s.ranks, s.ranks_per_domain, s.domains);
    m.collectives.push_back(s);
  });
  return m;
}

costmodel::Measurements parse_measurements_file(const std::filesystem::path& file) {
  return parse_measurements_text(read_text(file), file.string());
}

std::string measurements_to_json(const costmodel::Measurements& m) {
  ordered j;
  j["format"] = kMeasurementsFormat;
  j["device"] = device_json(m.device);
  j["sources"] = m.sources;
  ordered gemm = ordered::array();
  for (const auto& g : m.gemm) {
    gemm.push_back({{"dtype", costmodel::to_string(g.dtype)}, {"m", g.m}, {"n", g.n}, {"k", g.k}, {"time_s", g.time_s},
                    {"spread", g.spread}});
  }
  j["gemm"] = gemm;
  ordered att = ordered::array();
  for (const auto& a : m.attention) {
    att.push_back({{"dtype", costmodel::to_string(a.dtype)}, {"backward", a.backward}, {"batch", a.batch},
                   {"heads", a.heads}, {"seq", a.seq}, {"head_dim", a.head_dim}, {"flops", a.flops},
                   {"time_s", a.time_s}, {"spread", a.spread}});
  }
  j["attention"] = att;
  ordered bw = ordered::array();
  for (const auto& b : m.bandwidth) {
    bw.push_back({{"kernel", b.kernel}, {"bytes", b.bytes}, {"time_s", b.time_s}, {"spread", b.spread}});
  }
  j["bandwidth"] = bw;
  if (m.kernel_launch_overhead_s) j["kernel_launch_overhead_s"] = *m.kernel_launch_overhead_s;
  ordered coll = ordered::array();
  for (const auto& c : m.collectives) {
    coll.push_back({{"op", costmodel::to_string(c.op)}, {"ranks", c.ranks}, {"ranks_per_domain", c.ranks_per_domain},
                    {"domains", c.domains}, {"bytes", c.bytes}, {"time_s", c.time_s}});
  }
  j["collectives"] = coll;
  return j.dump(1) + "\n";
}

// ---- nccl-tests -J ----

bool nccl_tests_op(std::string_view name, CollectiveOp& out) {
  if (const auto slash = name.rfind('/'); slash != std::string_view::npos) name = name.substr(slash + 1);
  if (name.ends_with("_mpi")) name.remove_suffix(4);
  if (name.ends_with("_perf")) name.remove_suffix(5);
  struct Name {
    std::string_view program, experiment;
    CollectiveOp op;
  };
  static constexpr Name kNames[] = {
      {"all_reduce", "AllReduce", CollectiveOp::all_reduce},
      {"all_gather", "AllGather", CollectiveOp::all_gather},
      {"reduce_scatter", "ReduceScatter", CollectiveOp::reduce_scatter},
      {"alltoall", "AlltoAll", CollectiveOp::all_to_all},
      {"broadcast", "Broadcast", CollectiveOp::broadcast},
      {"sendrecv", "SendRecv", CollectiveOp::send_recv},
  };
  for (const auto& n : kNames) {
    if (name == n.program || name == n.experiment) {
      out = n.op;
      return true;
    }
  }
  return false;
}

costmodel::Measurements parse_nccl_tests_json(std::string_view text, const std::string& file) {
  const json doc = parse_document(text, file);
  if (!doc.is_object()) throw InputError(file, "an nccl-tests -J file must be a JSON object");
  // nccl-tests adds keys between versions; only the ones read here are checked.
  if (!doc.contains("config") || !doc["config"].is_object()) throw InputError(file + ": config", "missing");
  const json& config = doc["config"];
  auto int_of = [&](const char* key) {
    if (!config.contains(key) || !config[key].is_number_integer() || config[key].get<int>() < 1) {
      throw InputError(file + ": config." + key, "must be a positive integer");
    }
    return config[key].get<int>();
  };
  const int per_process = int_of("nthreads") * int_of("ngpus");
  if (!config.contains("devices") || !config["devices"].is_array() || config["devices"].empty()) {
    throw InputError(file + ": config.devices", "missing or empty: the ranks cannot be counted");
  }
  std::set<std::string> hosts;
  costmodel::Measurements m;
  for (std::size_t i = 0; i < config["devices"].size(); ++i) {
    const json& d = config["devices"][i];
    if (!d.is_object() || !d.contains("hostname") || !d["hostname"].is_string()) {
      throw InputError(fmt::format("{}: config.devices[{}].hostname", file, i), "missing");
    }
    hosts.insert(d["hostname"].get<std::string>());
    if (i == 0 && d.contains("device_info") && d["device_info"].is_string()) {
      m.device.emplace_back("name", d["device_info"].get<std::string>());
    }
  }
  const int ranks = static_cast<int>(config["devices"].size()) * per_process;
  const int domains = static_cast<int>(hosts.size());
  if (ranks % domains != 0) {
    throw InputError(file + ": config.devices", fmt::format("{} ranks are not spread evenly over {} hosts", ranks, domains));
  }
  std::string program;
  if (doc.contains("args") && doc["args"].is_array() && !doc["args"].empty() && doc["args"][0].is_string()) {
    program = doc["args"][0].get<std::string>();
  }
  if (doc.contains("nccl_version") && doc["nccl_version"].is_number_integer()) {
    m.device.emplace_back("nccl_version", std::to_string(doc["nccl_version"].get<int>()));
  }
  m.sources.push_back(fmt::format("nccl-tests -J {} ({} ranks on {} hosts)", file, ranks, domains));
  if (!doc.contains("results") || !doc["results"].is_array()) throw InputError(file + ": results", "missing");
  for (std::size_t i = 0; i < doc["results"].size(); ++i) {
    const std::string path = fmt::format("{}: results[{}]", file, i);
    const json& r = doc["results"][i];
    if (!r.is_object() || !r.contains("size") || !r["size"].is_number_unsigned()) {
      throw InputError(path + ".size", "missing or not a byte count");
    }
    const double bytes = r["size"].get<double>();
    std::string name = program;
    if (r.contains("experiment_name") && r["experiment_name"].is_string()) name = r["experiment_name"].get<std::string>();
    CollectiveOp op{};
    if (!nccl_tests_op(name, op)) {
      throw InputError(path, fmt::format("collective \"{}\" is not one ptsim models (all_reduce, all_gather, "
                                         "reduce_scatter, alltoall, broadcast, sendrecv)", name));
    }
    const char* place = r.contains("in_place") && r["in_place"].is_object() ? "in_place" : "out_of_place";
    if (!r.contains(place) || !r[place].is_object() || !r[place].contains("time") || !r[place]["time"].is_number()) {
      throw InputError(path + "." + place + ".time", "missing");
    }
    const double time_us = r[place]["time"].get<double>();
    if (!(time_us > 0)) throw InputError(path + "." + place + ".time", "must be positive");
    if (bytes == 0) continue;  // nccl-tests' zero-byte rows time the launch only
    m.collectives.push_back({op, ranks, ranks / domains, domains, bytes, time_us * 1e-6});
  }
  return m;
}

}  // namespace ptsim::io

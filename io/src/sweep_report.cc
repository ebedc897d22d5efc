#include "ptsim/io/sweep_report.h"

#include <fmt/format.h>

#include <algorithm>

#include "ptsim/io/search_report.h"
#include "ptsim/io/step_report.h"

namespace ptsim::io {
namespace {

using nlohmann::json;
using strategies::SweepPoint;

using strategies::SweepStatus;

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// A CSV cell: quoted when it holds a comma, quote or newline (RFC 4180).
std::string cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string num(double v) { return fmt::format("{}", v); }
std::string opt_num(const std::optional<double>& v) { return v ? num(*v) : ""; }

}  // namespace

const std::vector<std::string>& sweep_csv_columns() {
  static const std::vector<std::string> columns = {
      "value", "status", "reason", "num_gpus", "tp", "pp", "dp", "cp", "ep", "micro_batch_size",
      "global_batch_size", "seq_length", "num_microbatches", "schedule", "virtual_stages", "recompute",
      "sequence_parallel", "zero_stage",
      "step_time_s", "tokens_per_s", "tokens_per_s_per_gpu", "speedup", "scaling_efficiency", "mfu", "hfu",
      "peak_memory_bytes", "capacity_bytes", "fits", "compute_s", "recompute_s", "bubble_s", "exposed_tp_s",
      "exposed_dp_s", "exposed_pp_s", "exposed_cp_s", "exposed_ep_s", "optimizer_s"};
  return columns;
}

json sweep_json(const SweepInfo& info, const std::vector<SweepPoint>& points) {
  json rows = json::array();
  for (const SweepPoint& p : points) {
    json values = json::object();
    for (const auto& [key, value] : p.assignment) values[key] = value;
    json row = {{"value", p.value},
                {"values", std::move(values)},
                {"status", strategies::to_string(p.status)},
                {"reason", p.reason.empty() ? json(nullptr) : json(p.reason)},
                {"speedup", optional_json(p.speedup)},
                {"scaling_efficiency", optional_json(p.scaling_efficiency)}};
    if (p.scenario && p.result) {
      json report = step_report_json(*p.scenario, *p.result);
      report["global_batch_size"] = p.scenario->training.global_batch_size;
      report["seq_length"] = p.scenario->training.seq_length;
      report["layout"] = layout_json(p.scenario->layout);
      row.update(report);
    }
    if (p.search) row["search"] = search_counts_json(*p.search);
    rows.push_back(std::move(row));
  }
  const auto base = strategies::sweep_baseline(points);
  return json{{"scenario", info.scenario},
              {"vary", info.keys},
              {"fields", info.paths},
              {"baseline_index", base ? json(*base) : json(nullptr)},
              {"points", std::move(rows)}};
}

std::string sweep_csv(const std::vector<SweepPoint>& points) {
  std::string out;
  const auto& columns = sweep_csv_columns();
  for (std::size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + columns[i];
  out += "\n";
  for (const SweepPoint& p : points) {
    std::vector<std::string> c = {cell(p.value), strategies::to_string(p.status), cell(p.reason)};
    if (p.scenario && p.result) {
      const auto& s = *p.scenario;
      const auto& r = *p.result;
      const auto& b = r.breakdown;
      const auto& l = s.layout;
      for (std::int64_t v : {r.num_gpus, l.tp, l.pp, l.dp, l.cp, l.ep, l.micro_batch_size, s.training.global_batch_size,
                             s.training.seq_length, r.num_microbatches}) {
        c.push_back(std::to_string(v));
      }
      c.push_back(std::string(strategies::to_string(l.schedule)));
      c.push_back(std::to_string(l.virtual_stages));
      c.push_back(std::string(strategies::to_string(l.recompute)));
      c.push_back(l.sequence_parallel ? "true" : "false");
      c.push_back(std::to_string(l.zero_stage));
      for (double v : {r.step_time.seconds(), r.tokens_per_s, r.tokens_per_s_per_gpu}) c.push_back(num(v));
      c.push_back(opt_num(p.speedup));
      c.push_back(opt_num(p.scaling_efficiency));
      for (double v : {r.mfu, r.hfu, r.memory.peak_bytes, r.memory.capacity_bytes}) c.push_back(num(v));
      c.push_back(r.memory.fits ? "true" : "false");
      for (double v : {b.compute_s, b.recompute_s, b.bubble_s, b.exposed_tp_s, b.exposed_dp_s, b.exposed_pp_s,
                       b.exposed_cp_s, b.exposed_ep_s, b.optimizer_s}) {
        c.push_back(num(v));
      }
    }
    c.resize(columns.size());
    for (std::size_t i = 0; i < c.size(); ++i) out += (i ? "," : "") + c[i];
    out += "\n";
  }
  return out;
}

std::string sweep_table(const SweepInfo& info, const std::vector<SweepPoint>& points) {
  std::string varying;
  for (std::size_t i = 0; i < info.keys.size(); ++i) {
    varying += fmt::format("{}{} ({})", i ? ", " : "", info.keys[i], info.paths[i]);
  }
  const bool searched = std::any_of(points.begin(), points.end(), [](const SweepPoint& p) { return p.search.has_value(); });
  const bool unproven = std::any_of(points.begin(), points.end(), [](const SweepPoint& p) { return !p.proven_best; });
  std::string out = fmt::format("ptsim sweep: {}, varying {}{}{}\n\n", info.scenario, varying,
                                searched ? ", best layout searched per point" : "",
                                unproven ? " (? = layouts too large to simulate rank by rank could be better: ptsim search "
                                           "on the point says which)"
                                         : "");
  const std::string key = info.keys.size() == 1 ? info.keys[0] : "point";
  // With --search the chosen layout is the point's answer: the whole of it, not tp/pp/dp.
  std::size_t lw = searched ? 40 : 18;
  if (searched) {
    for (const SweepPoint& p : points) {
      if (p.scenario) lw = std::max(lw, layout_text(p.scenario->layout).size() + 2);
    }
  }
  out += fmt::format("  {:>12} {:>6} {:>{}} {:>10} {:>12} {:>8} {:>7} {:>6} {:>10}  {}\n", key, "GPUs",
                     searched ? "best layout" : "layout tp/pp/dp", lw, "step (s)", "tokens/s", "speedup", "effic.", "MFU",
                     "mem GiB", "status");
  for (const SweepPoint& p : points) {
    if (!p.scenario || !p.result) {
      out += fmt::format("  {:>12} {:>6} {:>{}} {:>10} {:>12} {:>8} {:>7} {:>6} {:>10}  {}{}\n", p.value, "-", "-", lw,
                         "-", "-", "-", "-", "-", "-", p.status == SweepStatus::no_layout ? "" : "invalid: ", p.reason);
      continue;
    }
    const auto& l = p.scenario->layout;
    const auto& r = *p.result;
    out += fmt::format("  {:>12} {:>6} {:>{}} {:>10.3f} {:>12.0f} {:>8} {:>7} {:>5.1f}% {:>10.1f}  {}\n", p.value,
                       r.num_gpus,
                       searched ? layout_text(l) + (p.proven_best ? "" : " ?") : fmt::format("{}/{}/{}", l.tp, l.pp, l.dp), lw,
                       r.step_time.seconds(), r.tokens_per_s, p.speedup ? fmt::format("{:.2f}", *p.speedup) : "-",
                       p.scaling_efficiency ? fmt::format("{:.1f}%", 100 * *p.scaling_efficiency) : "-", 100 * r.mfu,
                       r.memory.peak_bytes / (1024.0 * 1024 * 1024),
                       p.status == SweepStatus::ok ? "ok" : "does not fit");
  }
  return out;
}

}  // namespace ptsim::io

#include "ptsim/io/validation_set.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <string_view>
#include <system_error>
#include <set>
#include <sstream>

#include "ptsim/io/input_error.h"
#include "ptsim/io/scenario_parser.h"
#include "ptsim/costmodel/profile.h"
#include "ptsim/strategies/step_metrics.h"
#include "input_file.h"
#include "scenario_text.h"

namespace ptsim::io {
namespace {

using nlohmann::json;

void only_keys(const json& j, const std::set<std::string>& allowed, const std::string& path) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!allowed.count(it.key())) throw InputError(path.empty() ? it.key() : path + "." + it.key(), "unknown field");
  }
}

const json& member(const json& j, const std::string& key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end()) throw InputError(path.empty() ? key : path + "." + key, "required");
  return *it;
}

std::string text(const json& j, const std::string& key, const std::string& path) {
  const json& v = member(j, key, path);
  if (!v.is_string()) throw InputError(path.empty() ? key : path + "." + key, "must be a string");
  return v.get<std::string>();
}

strategies::ValidationQuantity quantity_of(const json& j, const std::string& key, const std::string& path) {
  const std::string name = text(j, key, path);
  const auto q = strategies::parse_validation_quantity(name);
  if (!q) {
    throw InputError(path.empty() ? key : path + "." + key,
                     "unknown quantity '" + name +
                         "'; known: tflops_per_gpu_eq3, iteration_time_s, model_tflops_per_gpu, layer_forward_ms, "
                         "layer_backward_ms");
  }
  return *q;
}

double fraction(const json& j, const std::string& key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (!it->is_number() || !(it->get<double>() > 0) || !(it->get<double>() < 10)) {
    throw InputError(path + "." + key, "must be a positive fraction (0.08 = 8%)");
  }
  return it->get<double>();
}

strategies::ValidationBounds bounds(const json& j, const std::string& path) {
  if (!j.is_object()) throw InputError(path, "must be an object");
  only_keys(j, {"mean_absolute_error", "max_absolute_error", "speedup_error"}, path);
  return {fraction(j, "mean_absolute_error", path), fraction(j, "max_absolute_error", path),
          fraction(j, "speedup_error", path)};
}

}  // namespace

ValidationSetInput parse_validation_set_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) throw InputError(file.string(), "is a directory, not a validation set");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string(), "cannot open file");
  const std::optional<std::string> text = read_at_most(in);
  if (in.bad()) throw InputError(file.string(), "cannot read file");
  if (!text) throw InputError(file.string(), too_large_reason());
  return parse_validation_set_text(*text, file.string());
}

ValidationSetInput parse_validation_set_text(std::string_view document, const std::string& source) {
  json doc;
  try {
    doc = json::parse(document);
  } catch (const json::exception& e) {
    throw InputError(source, invalid_json_reason(document, e));
  }
  try {
    if (!doc.is_object()) throw InputError("", "a validation set must be a JSON object");
    only_keys(doc, {"set", "title", "quantity", "quantity_text", "targets", "rows"}, "");
    ValidationSetInput set;
    set.set = text(doc, "set", "");
    set.title = text(doc, "title", "");
    set.quantity_text = text(doc, "quantity_text", "");
    set.quantity = quantity_of(doc, "quantity", "");
    if (auto t = doc.find("targets"); t != doc.end()) {
      if (!t->is_object()) throw InputError("targets", "must be an object");
      only_keys(*t, {"target", "guard", "note"}, "targets");
      if (auto b = t->find("target"); b != t->end()) set.targets.target = bounds(*b, "targets.target");
      if (auto b = t->find("guard"); b != t->end()) set.targets.guard = bounds(*b, "targets.guard");
    }
    const json& rows = member(doc, "rows", "");
    if (!rows.is_array() || rows.empty()) throw InputError("rows", "must be a non-empty array");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const std::string path = fmt::format("rows[{}]", i);
      const json& r = rows[i];
      if (!r.is_object()) throw InputError(path, "must be an object");
      only_keys(r, {"name", "source", "measured", "quantity", "speedup_over", "assumptions", "scenario"}, path);
      ValidationRowInput row;
      row.name = text(r, "name", path);
      row.quantity = r.contains("quantity") ? quantity_of(r, "quantity", path) : set.quantity;
      if (r.contains("speedup_over")) {
        row.speedup_over = text(r, "speedup_over", path);
        const bool known = std::any_of(set.rows.begin(), set.rows.end(),
                                       [&](const ValidationRowInput& o) { return o.name == row.speedup_over; });
        if (!known) throw InputError(path + ".speedup_over", "no earlier row named '" + row.speedup_over + "'");
      }
      row.source = text(r, "source", path);
      const json& measured = member(r, "measured", path);
      if (!measured.is_number() || !(measured.get<double>() > 0) || !std::isfinite(measured.get<double>())) {
        throw InputError(path + ".measured", "must be a positive number");
      }
      row.measured = measured.get<double>();
      if (auto a = r.find("assumptions"); a != r.end()) {
        if (!a->is_array()) throw InputError(path + ".assumptions", "must be an array of strings");
        for (const auto& s : *a) {
          if (!s.is_string()) throw InputError(path + ".assumptions", "must be an array of strings");
          row.assumptions.push_back(s.get<std::string>());
        }
      }
      try {
        row.scenario = parse_scenario(member(r, "scenario", path));
      } catch (const InputError& e) {
        throw InputError(path + ".scenario" + (e.path().empty() ? "" : "." + e.path()), e.reason());
      }
      set.rows.push_back(std::move(row));
    }
    return set;
  } catch (const InputError& e) {
    throw InputError(source, e.what());
  }
}

ValidationSetResult run_validation_set(
    const ValidationSetInput& input, const std::vector<std::shared_ptr<const costmodel::HardwareProfile>>& profiles) {
  ValidationSetResult result;
  result.input = &input;
  for (const auto& row : input.rows) {
    strategies::Scenario scenario = row.scenario;
    const std::string gpu = scenario.cluster.gpu.name.substr(0, scenario.cluster.gpu.name.find(" (modified)"));
    for (const auto& p : profiles) {
      if (p->gpu == gpu) scenario.cluster.gpu.profile = p;
    }
    const auto step = strategies::simulate_step(scenario);
    const double predicted = strategies::predicted_quantity(row.quantity, scenario, step.result);
    result.rows.push_back({row.name, predicted, row.measured, (predicted - row.measured) / row.measured});
  }
  result.summary = strategies::summarize(result.rows);
  for (const auto& row : input.rows) {
    if (!row.speedup_over.empty()) strategies::add_speedup(result.summary, result.rows, row.name, row.speedup_over);
  }
  return result;
}

namespace {

std::string pct(double fraction) { return fmt::format("{:+.1f}%", 100 * fraction); }

std::string bounds_text(const strategies::ValidationBounds& b) {
  std::string out;
  auto add = [&](const char* what, double v, const char* unit) {
    if (v > 0) out += fmt::format("{}{} {:.1f}{}", out.empty() ? "" : ", ", what, 100 * v, unit);
  };
  add("mean <=", b.mean_absolute_error, "%");
  add("every row <=", b.max_absolute_error, "%");
  add("speed-ups within", b.speedup_error, " points");
  return out;
}

// "target (mean <= 8.0%, every row <= 15.0%): not met (mean absolute error 13.3% > 8.0%)"
std::string target_status(const ValidationSetResult& set) {
  const auto& t = set.input->targets.target;
  const std::string b = bounds_text(t);
  if (b.empty()) return "";
  const auto missed = strategies::exceeded_bounds(set.summary, t);
  std::string out = "target (" + b + "): ";
  if (missed.empty()) return out + "met";
  out += "not met (";
  for (std::size_t i = 0; i < missed.size(); ++i) out += (i ? "; " : "") + missed[i];
  return out + ")";
}

}  // namespace

std::string validation_table(const std::vector<ValidationSetResult>& sets) {
  std::string out;
  for (const auto& set : sets) {
    out += fmt::format("{} ({})\n", set.input->title, set.input->quantity_text);
    std::size_t width = 22;
    for (const auto& row : set.rows) width = std::max(width, row.name.size() + 2);
    out += fmt::format("  {:<{}}{:>12}{:>12}{:>10}\n", "row", width, "predicted", "measured", "error");
    for (const auto& row : set.rows) {
      out += fmt::format("  {:<{}}{:>12.2f}{:>12.2f}{:>10}\n", row.name, width, row.predicted, row.measured,
                         pct(row.error));
    }
    for (const auto& sp : set.summary.speedups) {
      out += fmt::format("  speed-up of {} over {}: predicted {:.1f}%, measured {:.1f}%\n", sp.row, sp.baseline,
                         100 * sp.predicted, 100 * sp.measured);
    }
    out += fmt::format("  mean absolute error {:.1f}%, worst {} ({})\n", 100 * set.summary.mean_absolute_error,
                       set.summary.worst_row, pct(set.summary.worst_error));
    if (const std::string t = target_status(set); !t.empty()) out += "  " + t + "\n";
    out += "\n";
  }
  return out;
}

nlohmann::json validation_json(const std::vector<ValidationSetResult>& sets) {
  json out = json::array();
  for (const auto& set : sets) {
    json rows = json::array();
    for (std::size_t i = 0; i < set.rows.size(); ++i) {
      const auto& row = set.rows[i];
      rows.push_back({{"name", row.name},
                      {"predicted", row.predicted},
                      {"measured", row.measured},
                      {"error", row.error},
                      {"source", set.input->rows[i].source}});
    }
    out.push_back({{"set", set.input->set},
                   {"title", set.input->title},
                   {"quantity", std::string(strategies::to_string(set.input->quantity))},
                   {"mean_absolute_error", set.summary.mean_absolute_error},
                   {"worst_row", set.summary.worst_row},
                   {"worst_error", set.summary.worst_error},
                   {"rows", rows}});
    if (!set.summary.speedups.empty()) {
      json speedups = json::array();
      for (const auto& sp : set.summary.speedups) {
        speedups.push_back({{"row", sp.row}, {"baseline", sp.baseline}, {"predicted", sp.predicted},
                            {"measured", sp.measured}});
      }
      out.back()["speedups"] = speedups;
      out.back()["worst_speedup_error"] = set.summary.worst_speedup_error;
    }
    if (const std::string t = target_status(set); !t.empty()) out.back()["target"] = t;
  }
  return out;
}

std::string validation_markdown(const std::vector<ValidationSetResult>& sets, const std::string& command) {
  std::string out = "# Accuracy against published measurements\n\n";
  out += "Generated by `" + command + "` from `scenarios/validation/` (made from `../shared/validation/` by\n"
         "`scripts/make_validation_scenarios.py`). Error = (predicted - measured) / measured. Nothing is tuned per\n"
         "row: every parameter is global per GPU and fabric (docs/cost-model.md, docs/network.md).\n\n";
  for (const auto& set : sets) {
    out += fmt::format("## {}\n\nQuantity: {}. Mean absolute error **{:.1f}%**, worst row {} ({}).\n\n", set.input->title,
                       set.input->quantity_text, 100 * set.summary.mean_absolute_error, set.summary.worst_row,
                       pct(set.summary.worst_error));
    if (const std::string t = target_status(set); !t.empty()) out += "Issue 7 " + t + ".\n\n";
    out += "| row | predicted | measured | error |\n|---|---|---|---|\n";
    for (const auto& row : set.rows) {
      out += fmt::format("| {} | {:.2f} | {:.2f} | {} |\n", row.name, row.predicted, row.measured, pct(row.error));
    }
    if (!set.summary.speedups.empty()) {
      out += "\n| speed-up | predicted | measured | difference |\n|---|---|---|---|\n";
      for (const auto& sp : set.summary.speedups) {
        out += fmt::format("| {} over {} | {:.1f}% | {:.1f}% | {:+.1f} points |\n", sp.row, sp.baseline,
                           100 * sp.predicted, 100 * sp.measured, 100 * (sp.predicted - sp.measured));
      }
    }
    std::set<std::string> assumptions;
    for (const auto& row : set.input->rows) assumptions.insert(row.assumptions.begin(), row.assumptions.end());
    out += "\nAssumed where the source is silent:\n\n";
    for (const auto& a : assumptions) out += "- " + a + "\n";
    out += "\nSource: " + set.input->rows.front().source + "\n\n";
  }
  return out;
}

}  // namespace ptsim::io

#include "ptsim/io/validation_set.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <optional>
#include <string_view>
#include <system_error>
#include <set>
#include <sstream>

#include "ptsim/io/input_error.h"
#include "ptsim/io/scenario_parser.h"
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
    only_keys(doc, {"set", "title", "quantity", "quantity_text", "rows"}, "");
    ValidationSetInput set;
    set.set = text(doc, "set", "");
    set.title = text(doc, "title", "");
    set.quantity_text = text(doc, "quantity_text", "");
    const std::string quantity = text(doc, "quantity", "");
    const auto q = strategies::parse_validation_quantity(quantity);
    if (!q) {
      throw InputError("quantity", "unknown quantity '" + quantity +
                                       "'; known: tflops_per_gpu_eq3, iteration_time_s, model_tflops_per_gpu");
    }
    set.quantity = *q;
    const json& rows = member(doc, "rows", "");
    if (!rows.is_array() || rows.empty()) throw InputError("rows", "must be a non-empty array");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const std::string path = fmt::format("rows[{}]", i);
      const json& r = rows[i];
      if (!r.is_object()) throw InputError(path, "must be an object");
      only_keys(r, {"name", "source", "measured", "assumptions", "scenario"}, path);
      ValidationRowInput row;
      row.name = text(r, "name", path);
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

namespace {

std::string pct(double fraction) { return fmt::format("{:+.1f}%", 100 * fraction); }

}  // namespace

std::string validation_table(const std::vector<ValidationSetResult>& sets) {
  std::string out;
  for (const auto& set : sets) {
    out += fmt::format("{} ({})\n", set.input->title, set.input->quantity_text);
    out += fmt::format("  {:<22}{:>12}{:>12}{:>10}\n", "row", "predicted", "measured", "error");
    for (const auto& row : set.rows) {
      out += fmt::format("  {:<22}{:>12.2f}{:>12.2f}{:>10}\n", row.name, row.predicted, row.measured, pct(row.error));
    }
    out += fmt::format("  mean absolute error {:.1f}%, worst {} ({})\n\n", 100 * set.summary.mean_absolute_error,
                       set.summary.worst_row, pct(set.summary.worst_error));
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
    out += "| row | predicted | measured | error |\n|---|---|---|---|\n";
    for (const auto& row : set.rows) {
      out += fmt::format("| {} | {:.2f} | {:.2f} | {} |\n", row.name, row.predicted, row.measured, pct(row.error));
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

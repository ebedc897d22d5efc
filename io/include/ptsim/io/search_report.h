// The layout search as users read it: the ranking table, the JSON object of `ptsim search
// --json`, and the JSON lines a shard writes (`--shard i/N`) that `ptsim merge` reads back.
// Pure functions of their inputs: the same result gives byte-identical output.
#pragma once

#include <istream>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "ptsim/strategies/layout_search.h"
#include "ptsim/strategies/scenario.h"

namespace ptsim::io {

// What the report needs besides the result: the objective, its price, the top N asked.
struct SearchSettings {
  strategies::Objective objective = strategies::Objective::step_time;
  double price_per_gpu_hour = 0;
  std::size_t top = 10;
};

nlohmann::json search_report_json(const strategies::Scenario& base, const SearchSettings& settings,
                                   const strategies::SearchResult& result);
std::string search_report_table(const strategies::Scenario& base, const SearchSettings& settings,
                                const strategies::SearchResult& result);

// A layout as the scenario's "layout" object (every field, scenario names).
nlohmann::json layout_json(const strategies::Layout& layout);

// The counts as `ptsim search --json` writes them under "counts".
nlohmann::json search_counts_json(const strategies::SearchCounts& counts);

// A layout in one short line: "tp2 pp2 dp2 mbs1 1f1b sp z1".
std::string layout_text(const strategies::Layout& layout);

// JSON lines: one {"counts": ...} line, then one {"row": ...} line per row.
void write_search_lines(std::ostream& out, const strategies::SearchResult& result);
// Reads what write_search_lines wrote; errors name `source` and the line.
strategies::SearchResult read_search_lines(std::istream& in, const std::string& source);

}  // namespace ptsim::io

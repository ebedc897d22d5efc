#include "scenario_text.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ptsim::io {
namespace {

constexpr std::size_t kMaxShownString = 60;
constexpr std::size_t kMaxSuggestionDistance = 2;

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string describe_json(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::string: {
      std::string shown = j.dump();
      if (shown.size() > kMaxShownString) shown = shown.substr(0, kMaxShownString) + "...\"";
      return "string " + shown;
    }
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    default: return j.dump();  // numbers, booleans, null
  }
}

std::optional<std::string> closest_name(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = kMaxSuggestionDistance + 1;
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string unknown_key_reason(std::string_view key, const std::vector<std::string>& known) {
  if (auto near = closest_name(key, known)) {
    return fmt::format("unknown field; did you mean '{}'?", *near);
  }
  return fmt::format("unknown field; expected one of: {}", fmt::join(known, ", "));
}

LineColumn line_column(std::string_view text, std::size_t byte_position) {
  LineColumn at;
  // Bytes before the one at byte_position; past the end, the position after the last byte.
  const std::size_t before = std::min(byte_position > 0 ? byte_position - 1 : 0, text.size());
  for (std::size_t i = 0; i < before; ++i) {
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else {
      ++at.column;
    }
  }
  return at;
}

std::string invalid_json_reason(std::string_view text, const nlohmann::json::exception& e, std::string_view where) {
  const std::string in = where.empty() ? "" : " in " + std::string(where);
  if (const auto* parse = dynamic_cast<const nlohmann::json::parse_error*>(&e)) {
    const LineColumn at = line_column(text, parse->byte);
    return fmt::format("invalid JSON{} at line {}, column {}: {}", in, at.line, at.column, parse_error_detail(*parse));
  }
  return fmt::format("invalid JSON{}: {}", in, parse_error_detail(e));
}

std::string parse_error_detail(const nlohmann::json::exception& e) {
  std::string_view what = e.what();
  if (auto bracket = what.find("] "); bracket != std::string_view::npos) {
    what.remove_prefix(bracket + 2);
  }
  if (what.starts_with("parse error")) {
    if (auto colon = what.find(": "); colon != std::string_view::npos) {
      what.remove_prefix(colon + 2);
    }
  }
  return std::string(what);
}

}  // namespace ptsim::io

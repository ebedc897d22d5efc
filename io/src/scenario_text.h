// Text helpers for scenario errors: how a bad JSON value is shown, "did you mean"
// suggestions for misspelt names, byte offsets turned into line:column, and JSON parse
// errors without nlohmann's prefix.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ptsim::io {

// A value as an error shows it after "got": -3, 2.5, true, null, string "96", an object.
std::string describe_json(const nlohmann::json& j);

// The candidate closest to `word` by edit distance, when that distance is at most 2.
std::optional<std::string> closest_name(std::string_view word,
                                        const std::vector<std::string>& candidates);

// "unknown field; did you mean 'hidden_size'?" or "unknown field; expected one of: ...".
std::string unknown_key_reason(std::string_view key, const std::vector<std::string>& known);

struct LineColumn {
  std::size_t line = 1;    // 1-based
  std::size_t column = 1;  // 1-based, in bytes
};

// Where the byte_position-th byte (1-based, as nlohmann::json::parse_error::byte counts)
// of text lies; a position past the end gives the place just after the last byte.
LineColumn line_column(std::string_view text, std::size_t byte_position);

// nlohmann's parse error message without its "[json.exception.parse_error.101] parse error
// at line 1, column 2: " prefix (callers give the line and column themselves).
std::string parse_error_detail(const nlohmann::json::exception& e);

// Why json::parse refused `text`: "invalid JSON[ in WHERE] at line L, column C: ..." for a
// syntax error, "invalid JSON[ in WHERE]: number overflow parsing '1e999'" for a number
// beyond double (nlohmann throws out_of_range for those, not parse_error). Every reader
// catches nlohmann::json::exception around json::parse and throws this as an InputError.
std::string invalid_json_reason(std::string_view text, const nlohmann::json::exception& e, std::string_view where = {});

}  // namespace ptsim::io

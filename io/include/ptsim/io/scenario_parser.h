// Reads a scenario (model, cluster, training, layout) from JSON into strategies::Scenario,
// checking every field and every cross-field rule; the returned Scenario is valid. Each
// field is declared once (io/src/scenario_fields.h) for both the parser and the schema.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ptsim/io/input_error.h"
#include "ptsim/strategies/layout_search.h"
#include "ptsim/strategies/scenario.h"

namespace ptsim::io {

// Throws InputError naming the dotted path of the first bad field (docs/scenario.md).
// A relative model.hf_config path is resolved against the current directory.
strategies::Scenario parse_scenario(const nlohmann::json& doc);

// As parse_scenario, from a file. A file that cannot be read or is not valid JSON gives an
// InputError whose path is the file name and whose reason has the line and column. A
// relative model.hf_config path is resolved against the file's directory.
strategies::Scenario parse_scenario_file(const std::filesystem::path& file);

// The two halves of parse_scenario_file, for callers that edit the document in between
// (`ptsim sweep`): the file's JSON (errors as above), and parse_scenario with relative file
// paths resolved against base_dir (the file's directory).
nlohmann::json read_scenario_document(const std::filesystem::path& file);
strategies::Scenario parse_scenario(const nlohmann::json& doc, const std::filesystem::path& base_dir);

// As parse_scenario_file, from the text of a file: `source` names it in errors (the
// InputError path of invalid JSON), relative model.hf_config paths start at base_dir.
// Every input is either a valid Scenario or an InputError (fuzz/fuzz_scenario.cc checks).
strategies::Scenario parse_scenario_text(std::string_view text, const std::string& source,
                                         const std::filesystem::path& base_dir);

// A scenario for `ptsim search`: the same checks except the layout's cross-field rules;
// the layout fields the file gives are fixed in the search space, the others open.
struct SearchInput {
  strategies::Scenario scenario;
  strategies::SearchSpace space;
};
SearchInput parse_search_scenario_file(const std::filesystem::path& file);
// The same from a document (`ptsim sweep --search` edits it per point); relative file
// paths resolve against base_dir.
SearchInput parse_search_scenario(nlohmann::json doc, const std::filesystem::path& base_dir);

// JSON Schema (draft 2020-12) of the scenario format, generated from the same field
// declarations as the parser. Cross-field rules (divisibility, products) are not in it.
nlohmann::json scenario_schema();

}  // namespace ptsim::io

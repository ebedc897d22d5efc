// Reads a layer-graph model file (docs/layer-graph.md) into a strategies::LayerGraphSpec and
// validates it with strategies::LayerGraph::build. Every error is an InputError at the
// scenario path of the import ("layer_graph.file") whose reason names the file and the
// place inside it ("cnn.json: layers[3] (conv2).kernel: ...").
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ptsim/strategies/layer_graph.h"

namespace ptsim::io {

// One parsed document; `where` prefixes every reason (the file name).
strategies::LayerGraphSpec layer_graph_from_json(const nlohmann::json& doc, const std::string& error_path,
                                                 const std::string& where);

// The text of one file named `where` (JSON syntax, duplicate keys, then layer_graph_from_json).
strategies::LayerGraphSpec layer_graph_from_text(std::string_view text, const std::string& error_path,
                                                 const std::string& where);

// The reader scenario_fields.h declares for layer_graph.file.
strategies::LayerGraphSpec import_layer_graph(const std::filesystem::path& file, const std::string& error_path);

}  // namespace ptsim::io

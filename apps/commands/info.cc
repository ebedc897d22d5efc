// `ptsim schema` (the JSON Schema of scenario files) and `ptsim presets` (known names).
#include <iostream>

#include "../cli_common.h"
#include "ptsim/costmodel/hardware.h"
#include "ptsim/io/scenario_parser.h"
#include "ptsim/strategies/layer_graph.h"
#include "ptsim/strategies/model.h"

namespace ptsim::apps {

void add_info_commands(CLI::App& app, CommandList& commands) {
  auto* schema = app.add_subcommand("schema", "print the JSON Schema of scenario files");
  commands.push_back({schema, [] {
                        std::cout << io::scenario_schema().dump(2) << "\n";
                        return kExitOk;
                      }});
  auto* presets = app.add_subcommand("presets", "list the model, GPU and node presets");
  commands.push_back({presets, [] {
                        std::cout << "models:";
                        for (const auto& n : strategies::model_preset_names()) std::cout << " " << n;
                        std::cout << "\nlayer graphs:";
                        for (const auto& n : strategies::layer_graph_preset_names()) std::cout << " " << n;
                        std::cout << "\ngpus:";
                        for (const auto& n : costmodel::gpu_preset_names()) std::cout << " " << n;
                        std::cout << "\nnodes:";
                        for (const auto& n : costmodel::node_preset_names()) std::cout << " " << n;
                        std::cout << "\n";
                        return kExitOk;
                      }});
}

}  // namespace ptsim::apps

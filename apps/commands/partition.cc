// `ptsim partition SCENARIO.json [--pp N] [--json]`: where to cut a layer-graph model into
// pipeline stages (docs/partitioning.md), with each stage's layers, time, memory and cut.
#include <iostream>
#include <memory>
#include <string>

#include "../cli_common.h"
#include "ptsim/io/input_error.h"
#include "ptsim/io/partition_report.h"
#include "ptsim/strategies/graph_step.h"
#include "ptsim/strategies/layer_graph.h"

namespace ptsim::apps {
namespace {

struct PartitionOptions {
  std::string scenario;
  int pp = 0;  // 0: the scenario's layout.pp
  bool json = false;
};

int run_partition(const PartitionOptions& opt) {
  strategies::Scenario s = load_scenario(opt.scenario);
  if (!s.graph) {
    throw io::InputError(opt.scenario, "ptsim partition needs a layer-graph model (layer_graph); transformer layers "
                                       "(model) are split evenly by layout.pp");
  }
  if (opt.pp > 0) {
    const auto layers = static_cast<int>(s.graph->num_layers());
    if (opt.pp > layers) {
      throw io::InputError("--pp", std::to_string(opt.pp) + " is more than the layer graph's " + std::to_string(layers) + " layers");
    }
    const std::int64_t gpus = s.cluster.num_gpus();
    if (gpus % opt.pp != 0) {
      throw io::InputError("--pp", std::to_string(opt.pp) + " does not divide cluster.num_gpus " + std::to_string(gpus));
    }
    s.layout.pp = opt.pp;
    s.layout.dp = gpus / opt.pp;
    const std::int64_t per_step = s.layout.dp * s.layout.micro_batch_size;
    if (s.training.global_batch_size % per_step != 0) {
      throw io::InputError("--pp", std::to_string(opt.pp) + " makes dp " + std::to_string(s.layout.dp) +
                                       ", and training.global_batch_size " + std::to_string(s.training.global_batch_size) +
                                       " is not divisible by dp x micro_batch_size = " + std::to_string(per_step));
    }
  }
  const strategies::PartitionSummary summary = strategies::summarize_partition(s, strategies::partition_scenario(s));
  if (opt.json) {
    std::cout << io::partition_report_json(s, summary).dump(2) << "\n";
  } else {
    std::cout << io::partition_report_table(s, summary);
  }
  return kExitOk;
}

}  // namespace

void add_partition_command(CLI::App& app, CommandList& commands) {
  auto opt = std::make_shared<PartitionOptions>();
  auto* sub = app.add_subcommand("partition", "split a layer-graph model into pipeline stages");
  sub->add_option("scenario", opt->scenario, "scenario JSON file with a layer_graph model")->required();
  sub->add_option("--pp", opt->pp, "pipeline stages (default: the scenario's layout.pp); dp becomes GPUs / pp")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--json", opt->json, "print the partition as one JSON object");
  commands.push_back({sub, [opt] { return run_partition(*opt); }});
}

}  // namespace ptsim::apps

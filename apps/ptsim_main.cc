// ptsim: the command-line front end. Parses arguments (CLI11), reads the scenario through
// io/, runs strategies/, prints through io/. Exit codes: 0 success, 1 internal error,
// 2 bad input (scenario, arguments, unwritable output), 3 the layout does not fit in memory
// (the step is still simulated and reported, flagged as not fitting).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <vector>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "ptsim/costmodel/hardware.h"
#include "ptsim/io/chrome_trace.h"
#include "ptsim/io/collective_report.h"
#include "ptsim/io/input_error.h"
#include "ptsim/io/scenario_parser.h"
#include "ptsim/io/step_report.h"
#include "ptsim/io/validation_set.h"
#include "ptsim/strategies/model.h"
#include "ptsim/strategies/step_metrics.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitDoesNotFit = 3;

struct SimulateOptions {
  std::string scenario;
  bool json = false;
  std::string trace;
};

// Field errors name the file too, so "ptsim: error: x.json: layout.tp: ..." points at both.
ptsim::strategies::Scenario load_scenario(const std::string& file) {
  try {
    return ptsim::io::parse_scenario_file(file);
  } catch (const ptsim::io::InputError& e) {
    if (e.path() == file) throw;
    throw ptsim::io::InputError(file, e.what());
  }
}

int run_simulate(const SimulateOptions& opt) {
  const ptsim::strategies::Scenario scenario = load_scenario(opt.scenario);
  const ptsim::strategies::SimulatedStep step = ptsim::strategies::simulate_step(scenario);
  if (!opt.trace.empty()) {
    std::ofstream out(opt.trace, std::ios::binary);
    if (!out) throw ptsim::io::InputError("--trace", "cannot open '" + opt.trace + "' for writing");
    ptsim::io::write_chrome_trace(out, step);
    out.close();
    if (!out) throw ptsim::io::InputError("--trace", "failed writing '" + opt.trace + "'");
  }
  if (opt.json) {
    std::cout << ptsim::io::step_report_json(scenario, step.result).dump(2) << "\n";
  } else {
    std::cout << ptsim::io::step_report_table(scenario, step.result);
    if (!opt.trace.empty()) std::cout << fmt::format("  {:<22}{}\n", "trace", opt.trace);
  }
  if (!step.result.memory.fits) {
    std::cerr << fmt::format("ptsim: error: layout does not fit: stage {} needs {:.1f} GiB per GPU, the GPU has {:.1f} GiB\n",
                             step.result.memory.peak_stage, step.result.memory.peak_bytes / (1024.0 * 1024 * 1024),
                             step.result.memory.capacity_bytes / (1024.0 * 1024 * 1024));
    return kExitDoesNotFit;
  }
  return kExitOk;
}

struct CollectiveOptions {
  std::string cluster = "dgx-a100";
  int nodes = 1;
  int gpus = 0;  // 0: every GPU of the nodes
  std::string op = "all_reduce";
  std::string bytes = "1K:8G";
  bool json = false;
};

int run_collective(const CollectiveOptions& opt) {
  auto cluster = ptsim::costmodel::find_node_preset(opt.cluster);
  if (!cluster) {
    std::string known;
    for (const auto& n : ptsim::costmodel::node_preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw ptsim::io::InputError("--cluster", "unknown node preset '" + opt.cluster + "'; known: " + known);
  }
  if (opt.nodes < 1) throw ptsim::io::InputError("--nodes", "must be at least 1");
  cluster->num_nodes = opt.nodes;
  const int gpus = opt.gpus == 0 ? cluster->num_gpus() : opt.gpus;
  if (gpus < 1 || gpus > cluster->num_gpus()) {
    throw ptsim::io::InputError("--gpus", "must be between 1 and the " + std::to_string(cluster->num_gpus()) +
                                              " GPUs of the nodes");
  }
  ptsim::costmodel::CollectiveOp op;
  if (!ptsim::costmodel::parse_collective_op(opt.op, op)) {
    throw ptsim::io::InputError("--op", "unknown collective '" + opt.op +
                                            "'; known: all_reduce, all_gather, reduce_scatter, all_to_all, "
                                            "broadcast, send_recv");
  }
  // Consecutive ranks fill NVLink domains first, as NCCL's ranks do on a job's nodes.
  const int per_domain = std::min(gpus, cluster->domain_size());
  if (gpus % per_domain != 0) {
    throw ptsim::io::InputError("--gpus", std::to_string(gpus) + " does not fill whole NVLink domains of " +
                                              std::to_string(cluster->domain_size()));
  }
  ptsim::costmodel::GroupShape shape{gpus, per_domain, gpus / per_domain,
                                     cluster->pod_gpus > 0 && gpus > cluster->pod_gpus};
  if (op == ptsim::costmodel::CollectiveOp::send_recv) shape = {2, gpus > per_domain ? 1 : 2, gpus > per_domain ? 2 : 1, false};
  const auto rows = ptsim::io::collective_sweep(op, shape, ptsim::io::parse_size_range(opt.bytes), *cluster);
  if (opt.json) {
    std::cout << ptsim::io::collective_json(op, shape, *cluster, rows).dump(2) << "\n";
  } else {
    std::cout << ptsim::io::collective_table(op, shape, *cluster, rows);
  }
  return kExitOk;
}

struct ValidateOptions {
  std::string dir = "scenarios/validation";
  std::string set;
  bool json = false;
  bool markdown = false;
  std::string markdown_file = "docs/accuracy.md";
};

int run_validate(const ValidateOptions& opt) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(opt.dir)) throw ptsim::io::InputError("--dir", "'" + opt.dir + "' is not a directory");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(opt.dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<ptsim::io::ValidationSetInput> inputs;
  for (const auto& f : files) {
    auto input = ptsim::io::parse_validation_set_file(f);
    if (opt.set.empty() || input.set == opt.set) inputs.push_back(std::move(input));
  }
  if (inputs.empty()) throw ptsim::io::InputError("--set", "no validation set '" + opt.set + "' in " + opt.dir);
  std::vector<ptsim::io::ValidationSetResult> results;
  for (const auto& input : inputs) {
    ptsim::io::ValidationSetResult result;
    result.input = &input;
    for (const auto& row : input.rows) {
      const auto step = ptsim::strategies::simulate_step(row.scenario);
      const double predicted = ptsim::strategies::predicted_quantity(input.quantity, row.scenario, step.result);
      result.rows.push_back({row.name, predicted, row.measured, (predicted - row.measured) / row.measured});
    }
    result.summary = ptsim::strategies::summarize(result.rows);
    results.push_back(std::move(result));
  }
  if (opt.markdown) {
    std::ofstream out(opt.markdown_file);
    if (!out) throw ptsim::io::InputError("--markdown-file", "cannot open '" + opt.markdown_file + "' for writing");
    out << ptsim::io::validation_markdown(results, "ptsim validate --markdown");
  }
  if (opt.json) {
    std::cout << ptsim::io::validation_json(results).dump(2) << "\n";
  } else {
    std::cout << ptsim::io::validation_table(results);
    if (opt.markdown) std::cout << "wrote " << opt.markdown_file << "\n";
  }
  return kExitOk;
}

void print_presets() {
  std::cout << "models:";
  for (const auto& n : ptsim::strategies::model_preset_names()) std::cout << " " << n;
  std::cout << "\ngpus:";
  for (const auto& n : ptsim::costmodel::gpu_preset_names()) std::cout << " " << n;
  std::cout << "\nnodes:";
  for (const auto& n : ptsim::costmodel::node_preset_names()) std::cout << " " << n;
  std::cout << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ptsim: simulate parallel training of large neural networks before renting the cluster"};
  app.set_version_flag("--version", std::string("ptsim ") + PTSIM_VERSION);
  app.require_subcommand(1);

  SimulateOptions sim_opt;
  auto* simulate = app.add_subcommand("simulate", "simulate one training step of one layout");
  simulate->add_option("scenario", sim_opt.scenario, "scenario JSON file")->required();
  simulate->add_flag("--json", sim_opt.json, "print the result as one JSON object");
  simulate->add_option("--trace", sim_opt.trace, "write a Chrome/Perfetto trace JSON to this file");

  CollectiveOptions coll_opt;
  auto* collective = app.add_subcommand("collective", "modelled collective times in nccl-tests' columns");
  collective->add_option("--cluster", coll_opt.cluster, "node preset")->capture_default_str();
  collective->add_option("--nodes", coll_opt.nodes, "number of nodes")->capture_default_str();
  collective->add_option("--gpus", coll_opt.gpus, "GPUs in the group (default: all of the nodes)");
  collective->add_option("--op", coll_opt.op, "all_reduce, all_gather, reduce_scatter, all_to_all, broadcast, send_recv")
      ->capture_default_str();
  collective->add_option("--bytes", coll_opt.bytes, "size or range MIN:MAX (K, M, G binary), doubling")
      ->capture_default_str();
  collective->add_flag("--json", coll_opt.json, "print JSON instead of the table");

  ValidateOptions val_opt;
  auto* validate = app.add_subcommand("validate", "predicted vs measured on published training runs");
  validate->add_option("--dir", val_opt.dir, "folder of validation sets")->capture_default_str();
  validate->add_option("--set", val_opt.set, "only this set (sc21_table1, korthikanti_table5, megatron_core_h100)");
  validate->add_flag("--json", val_opt.json, "print JSON");
  validate->add_flag("--markdown", val_opt.markdown, "also write the markdown report");
  validate->add_option("--markdown-file", val_opt.markdown_file, "where --markdown writes")->capture_default_str();

  auto* schema = app.add_subcommand("schema", "print the JSON Schema of scenario files");
  auto* presets = app.add_subcommand("presets", "list the model, GPU and node presets");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }

  try {
    if (*simulate) return run_simulate(sim_opt);
    if (*collective) return run_collective(coll_opt);
    if (*validate) return run_validate(val_opt);
    if (*schema) {
      std::cout << ptsim::io::scenario_schema().dump(2) << "\n";
      return kExitOk;
    }
    if (*presets) {
      print_presets();
      return kExitOk;
    }
  } catch (const ptsim::io::InputError& e) {
    std::cerr << "ptsim: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "ptsim: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
  return kExitInternal;
}

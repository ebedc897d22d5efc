// ptsim: the command-line front end. Parses arguments (CLI11), reads the scenario through
// io/, runs strategies/, prints through io/. Exit codes: 0 success, 1 internal error,
// 2 bad input (scenario, arguments, unwritable output).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "ptsim/costmodel/hardware.h"
#include "ptsim/io/chrome_trace.h"
#include "ptsim/io/input_error.h"
#include "ptsim/io/scenario_parser.h"
#include "ptsim/io/step_report.h"
#include "ptsim/strategies/model.h"
#include "ptsim/strategies/step_metrics.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitBadInput = 2;

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

// `ptsim simulate SCENARIO.json [--json] [--trace FILE] [--full]`: one step of one layout,
// with one representative rank per pipeline stage, or every rank (--full, or where the
// ranks of a stage are not equivalent).
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "../cli_common.h"
#include "ptsim/io/chrome_trace.h"
#include "ptsim/io/input_error.h"
#include "ptsim/io/step_report.h"
#include "ptsim/strategies/step_metrics.h"

namespace ptsim::apps {
namespace {

struct SimulateOptions {
  std::string scenario;
  bool json = false;
  std::string trace;
  bool full = false;
};

int run_simulate(const SimulateOptions& opt) {
  const strategies::Scenario scenario = load_scenario(opt.scenario);
  const strategies::SimulatedStep step = strategies::simulate_step(
      scenario, opt.full ? strategies::LoweringMode::full : strategies::LoweringMode::automatic);
  if (!step.result.fallback_reason.empty()) {
    std::cerr << "ptsim: note: simulating every rank (as --full): " << step.result.fallback_reason << "\n";
  }
  if (!opt.trace.empty()) {
    std::ofstream out(opt.trace, std::ios::binary);
    if (!out) throw io::InputError("--trace", "cannot open '" + opt.trace + "' for writing");
    io::write_chrome_trace(out, step);
    out.close();
    if (!out) throw io::InputError("--trace", "failed writing '" + opt.trace + "'");
  }
  if (opt.json) {
    std::cout << io::step_report_json(scenario, step.result).dump(2) << "\n";
  } else {
    std::cout << io::step_report_table(scenario, step.result);
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

}  // namespace

void add_simulate_command(CLI::App& app, CommandList& commands) {
  auto opt = std::make_shared<SimulateOptions>();
  auto* sub = app.add_subcommand("simulate", "simulate one training step of one layout");
  sub->add_option("scenario", opt->scenario, "scenario JSON file")->required();
  sub->add_flag("--json", opt->json, "print the result as one JSON object");
  sub->add_option("--trace", opt->trace, "write a Chrome/Perfetto trace JSON to this file");
  sub->add_flag("--full", opt->full,
                "simulate every rank, not one representative per pipeline stage (same answer where ranks are "
                "equivalent; slower)");
  commands.push_back({sub, [opt] { return run_simulate(*opt); }});
}

}  // namespace ptsim::apps

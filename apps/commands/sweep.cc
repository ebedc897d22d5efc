// `ptsim sweep SCENARIO.json --vary KEY=SPEC [--vary ...] [--csv FILE] [--json [FILE]] [--jobs N]`:
// scenario knobs over ranges of values (several --vary: every combination), one simulated
// step per point, as a table, CSV or
// JSON with speedup and scaling efficiency against the first point that fits. A point that
// is not a valid scenario or does not fit is a row with its reason, not an error. With
// `--search` each point runs the layout search (the scenario's layout fields and the varied
// knob fixed, the rest open) and its row is the best layout's step.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../cli_common.h"
#include "ptsim/io/input_error.h"
#include "ptsim/io/scenario_parser.h"
#include "ptsim/io/sweep_document.h"
#include "ptsim/io/sweep_report.h"
#include "ptsim/strategies/layout_search.h"
#include "ptsim/strategies/step_metrics.h"
#include "ptsim/strategies/sweep.h"

namespace ptsim::apps {
namespace {

struct SweepOptions {
  std::string scenario;
  std::vector<std::string> vary;
  std::string csv;
  std::string json;  // with json_given: the file; empty or "-": standard output
  bool json_given = false;
  int jobs = 1;
  bool search = false;
};

std::string memory_reason(const strategies::StepResult& r) {
  const auto& mem = r.memory;
  return fmt::format("stage {} needs {:.1f} GiB per GPU, the GPU has {:.1f} GiB", mem.peak_stage,
                     mem.peak_bytes / (1024.0 * 1024 * 1024), mem.capacity_bytes / (1024.0 * 1024 * 1024));
}

strategies::SweepPoint run_point(const nlohmann::json& doc, const std::filesystem::path& base_dir,
                                 const strategies::SweepAssignment& assignment) {
  strategies::SweepPoint p;
  p.assignment = assignment;
  p.value = strategies::sweep_point_label(assignment);
  try {
    nlohmann::json edited = doc;
    for (const auto& [key, value] : assignment) edited = io::apply_sweep_value(std::move(edited), key, value);
    p.scenario = io::parse_scenario(edited, base_dir);
  } catch (const io::InputError& e) {
    p.status = strategies::SweepStatus::invalid;
    p.reason = e.what();
    return p;
  }
  p.result = strategies::simulate_step(*p.scenario).result;
  if (p.result->memory.fits) {
    p.status = strategies::SweepStatus::ok;
  } else {
    p.status = strategies::SweepStatus::does_not_fit;
    p.reason = memory_reason(*p.result);
  }
  return p;
}

// `--search`: the point's document read as a search space (the layout fields it gives fixed,
// among them a varied layout knob; dp left open where the key re-derives it), the best
// layout by step time, then that layout simulated exactly as `ptsim simulate` would.
strategies::SweepPoint search_point(const nlohmann::json& doc, const std::filesystem::path& base_dir,
                                    const strategies::SweepAssignment& assignment, unsigned threads) {
  strategies::SweepPoint p;
  p.assignment = assignment;
  p.value = strategies::sweep_point_label(assignment);
  io::SearchInput in;
  try {
    nlohmann::json edited = doc;
    for (const auto& [key, value] : assignment) edited = io::apply_sweep_value(std::move(edited), key, value);
    in = io::parse_search_scenario(std::move(edited), base_dir);
  } catch (const io::InputError& e) {
    p.status = strategies::SweepStatus::invalid;
    p.reason = e.what();
    return p;
  }
  strategies::SearchOptions so;
  so.top = 1;  // exact: the same best layout as `ptsim search` ranks first
  so.threads = threads;
  const strategies::SearchResult found = strategies::search_layouts(in.scenario, in.space, so);
  p.search = found.counts;
  p.proven_best = !strategies::ranking_unproven(found, 1);
  if (found.rows.empty()) {
    const auto& c = found.counts;
    p.status = strategies::SweepStatus::no_layout;
    p.reason = fmt::format("no valid layout fits in memory ({} enumerated, {} valid, {} do not fit)",
                           c.enumerated, c.valid, c.does_not_fit);
    return p;
  }
  const strategies::SearchRow& best = found.rows.front();
  p.scenario = strategies::with_layout(in.scenario, best.num_gpus, best.layout);
  p.result = strategies::simulate_step(*p.scenario).result;
  p.status = p.result->memory.fits ? strategies::SweepStatus::ok : strategies::SweepStatus::does_not_fit;
  if (!p.result->memory.fits) p.reason = memory_reason(*p.result);
  return p;
}

void write_file(const std::string& option, const std::string& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  if (!out) throw io::InputError(option, "cannot open '" + file + "' for writing");
  out << text;
  out.close();
  if (!out) throw io::InputError(option, "failed writing '" + file + "'");
}

int run_sweep(const SweepOptions& opt) {
  std::vector<strategies::SweepAxis> axes;
  io::SweepInfo info;
  for (const std::string& vary : opt.vary) {
    const std::size_t eq = vary.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw io::InputError("--vary", "'" + vary + "' is not KEY=SPEC (e.g. num_gpus=64:4096:x2, tp=1,2,4,8)");
    }
    const std::string key = vary.substr(0, eq);
    const strategies::SweepValues values = strategies::parse_sweep_spec(vary.substr(eq + 1));
    if (!values.error.empty()) throw io::InputError("--vary", key + ": " + values.error);
    const std::string path = io::sweep_key_path(key);
    if (std::find(info.paths.begin(), info.paths.end(), path) != info.paths.end()) {
      throw io::InputError("--vary", "'" + key + "' (" + path + ") is varied twice");
    }
    info.keys.push_back(key);
    info.paths.push_back(path);
    axes.push_back({key, values.values});
  }
  const std::vector<strategies::SweepAssignment> grid = strategies::sweep_grid(axes);
  if (grid.empty()) {
    throw io::InputError("--vary", fmt::format("more than {} points in all", strategies::kMaxSweepPoints));
  }

  // The base scenario must be valid on its own: its errors are the user's, not a point's.
  // With --search its layout may be partial or absent (the open knobs are searched).
  const strategies::Scenario base =
      opt.search ? io::parse_search_scenario_file(opt.scenario).scenario : load_scenario(opt.scenario);
  const nlohmann::json doc = io::read_scenario_document(opt.scenario);
  const std::filesystem::path base_dir = std::filesystem::path(opt.scenario).parent_path();

  std::vector<strategies::SweepPoint> points(grid.size());
  if (opt.search) {
    // One point at a time, each search on `jobs` threads (its result does not depend on them).
    for (std::size_t i = 0; i < points.size(); ++i) {
      points[i] = search_point(doc, base_dir, grid[i], static_cast<unsigned>(opt.jobs));
    }
  } else {
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      for (std::size_t i = next++; i < points.size(); i = next++) points[i] = run_point(doc, base_dir, grid[i]);
    };
    const int jobs = std::clamp<int>(opt.jobs, 1, static_cast<int>(points.size()));
    std::vector<std::thread> threads;
    for (int t = 1; t < jobs; ++t) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
  }
  strategies::compute_scaling(points);

  info.scenario = base.name;
  const io::SweepInfo& named = info;
  if (!opt.csv.empty()) write_file("--csv", opt.csv, io::sweep_csv(points));
  const bool json_stdout = opt.json_given && (opt.json.empty() || opt.json == "-");
  if (opt.json_given && !json_stdout) write_file("--json", opt.json, io::sweep_json(named, points).dump(2) + "\n");
  if (json_stdout) {
    std::cout << io::sweep_json(named, points).dump(2) << "\n";
  } else {
    std::cout << io::sweep_table(named, points);
  }
  if (!strategies::sweep_baseline(points)) {
    std::cerr << "ptsim: error: no point of the sweep " << (opt.search ? "has a valid layout that fits" : "is valid and fits")
              << " in memory\n";
    return kExitDoesNotFit;
  }
  return kExitOk;
}

}  // namespace

void add_sweep_command(CLI::App& app, CommandList& commands) {
  auto opt = std::make_shared<SweepOptions>();
  auto* sub = app.add_subcommand("sweep", "simulate one scenario over ranges of knobs (scaling curves, layout grids)");
  sub->add_option("scenario", opt->scenario, "scenario JSON file")->required();
  sub->add_option("--vary", opt->vary,
                  "KEY=SPEC: a scenario field (num_gpus, global_batch_size, tp, pp, micro_batch_size, any layout "
                  "knob or a dotted path) and its values: START:STOP:xK (geometric), START:STOP:+K (arithmetic) "
                  "or a,b,c; repeat --vary for every combination of several knobs")
      ->required()
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);
  sub->add_option("--csv", opt->csv, "write one CSV row per point to this file");
  sub->add_option("--json", opt->json, "write the points as JSON to this file (no file or '-': standard output)")
      ->expected(0, 1);
  sub->add_option("-j,--jobs", opt->jobs, "points simulated at once (threads); with --search, each search's threads")
      ->check(CLI::Range(1, 256));
  sub->add_flag("--search", opt->search,
                "re-search the best layout per point (the scenario's layout fields and the varied knob stay fixed, "
                "the rest are searched as by `ptsim search`)");
  commands.push_back({sub, [opt, sub] {
                        opt->json_given = sub->count("--json") > 0;
                        return run_sweep(*opt);
                      }});
}

}  // namespace ptsim::apps

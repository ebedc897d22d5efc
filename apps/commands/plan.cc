// `ptsim plan SCENARIO.json --tokens 2T`: for each GPU type and GPU count, the fastest
// layout (the layout search) and the days, GPU-hours, cost and energy to train that many
// tokens; sorted by cost, the options meeting --deadline-days / --gpu-budget marked.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../cli_common.h"
#include "ptsim/costmodel/gpu_prices.h"
#include "ptsim/costmodel/hardware.h"
#include "ptsim/io/input_error.h"
#include "ptsim/io/plan_report.h"
#include "ptsim/io/scenario_parser.h"
#include "ptsim/strategies/capacity_plan.h"

namespace ptsim::apps {
namespace {

struct PlanOptions {
  std::string scenario;
  std::string tokens;
  std::vector<std::string> gpu_types{"h100-sxm-80gb", "a100-sxm-80gb"};
  std::vector<std::int64_t> gpus;
  std::vector<std::string> prices;
  double deadline_days = 0;
  std::int64_t gpu_budget = 0;
  unsigned threads = 0;
  bool json = false;
};

// "2T", "300B", "5e9", "1.5M": a positive token count.
double parse_tokens(const std::string& text) {
  double scale = 1;
  std::string number = text;
  if (!number.empty()) {
    const char last = number.back();
    const std::string suffixes = "KMBTkmbt";
    const auto at = suffixes.find(last);
    if (at != std::string::npos) {
      scale = std::pow(1000.0, static_cast<double>(at % 4 + 1));
      number.pop_back();
    }
  }
  try {
    std::size_t used = 0;
    const double v = std::stod(number, &used);
    if (used != number.size() || !std::isfinite(v) || v <= 0) throw std::invalid_argument("");
    return v * scale;
  } catch (const std::exception&) {
    throw io::InputError("--tokens", "'" + text + "' is not a positive count (suffixes K, M, B, T)");
  }
}

int run_plan(const PlanOptions& opt) {
  if (opt.tokens.empty()) throw io::InputError("--tokens", "required: how many tokens to train on");
  strategies::PlanRequest req;
  req.tokens = parse_tokens(opt.tokens);
  if (opt.gpu_types.empty()) throw io::InputError("--gpu", "needs at least one GPU type");
  for (const std::string& type : opt.gpu_types) {
    if (!costmodel::find_gpu_preset(type)) throw io::InputError("--gpu", "unknown GPU type '" + type + "'");
    req.gpu_types.push_back(type);
    req.price_per_gpu_hour.push_back(costmodel::default_price_per_gpu_hour_usd(type).value_or(0));
  }
  for (const std::string& p : opt.prices) {
    const auto eq = p.find('=');
    bool found = false;
    try {
      if (eq == std::string::npos) throw std::invalid_argument("");
      std::size_t used = 0;
      const double v = std::stod(p.substr(eq + 1), &used);
      if (used != p.size() - eq - 1 || !(v > 0) || !std::isfinite(v)) throw std::invalid_argument("");
      for (std::size_t t = 0; t < req.gpu_types.size(); ++t) {
        if (req.gpu_types[t] == p.substr(0, eq)) req.price_per_gpu_hour[t] = v, found = true;
      }
    } catch (const std::exception&) {
      throw io::InputError("--price-per-gpu-hour", "'" + p + "' is not TYPE=DOLLARS with DOLLARS > 0");
    }
    if (!found) throw io::InputError("--price-per-gpu-hour", "'" + p.substr(0, eq) + "' is not one of the --gpu types");
  }
  for (std::size_t t = 0; t < req.gpu_types.size(); ++t) {
    if (req.price_per_gpu_hour[t] <= 0) {
      throw io::InputError("--price-per-gpu-hour", "needed: no default price for gpu " + req.gpu_types[t]);
    }
  }
  if (opt.deadline_days < 0 || !std::isfinite(opt.deadline_days)) throw io::InputError("--deadline-days", "must be positive");
  if (opt.gpu_budget < 0) throw io::InputError("--gpu-budget", "must be positive");
  if (opt.deadline_days > 0) req.deadline_days = opt.deadline_days;
  if (opt.gpu_budget > 0) req.gpu_budget = opt.gpu_budget;
  const io::SearchInput in = io::parse_search_scenario_file(opt.scenario);
  for (std::int64_t g : opt.gpus) {
    if (g < 1) throw io::InputError("--gpus", fmt::format("{} is not a positive GPU count", g));
  }
  const bool default_counts = opt.gpus.empty();
  if (default_counts) {
    const std::int64_t top = req.gpu_budget ? *req.gpu_budget : in.scenario.cluster.num_gpus();
    for (std::int64_t g = 1; g <= top; g *= 2) req.gpu_counts.push_back(g);
  } else {
    req.gpu_counts = opt.gpus;
  }
  req.threads = opt.threads > 0 ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<strategies::PlanOption> options = strategies::plan_capacity(in.scenario, in.space, req);
  // Default counts start at the smallest that fits: leave out the ones where nothing fits.
  if (default_counts) std::erase_if(options, [](const strategies::PlanOption& o) { return !o.fits_memory; });
  if (opt.json) std::cout << io::plan_report_json(req, options).dump(2) << "\n";
  else std::cout << io::plan_report_table(req, options);
  for (const auto& o : options) {
    if (o.meets_constraints) return kExitOk;
  }
  std::cerr << "ptsim: error: no option fits in memory within the deadline and GPU budget\n";
  return kExitDoesNotFit;
}

}  // namespace

void add_plan_command(CLI::App& app, CommandList& commands) {
  auto opt = std::make_shared<PlanOptions>();
  auto* sub = app.add_subcommand("plan", "GPU type and count to train N tokens: days, GPU-hours, cost, energy");
  sub->add_option("scenario", opt->scenario, "scenario JSON file (model, training; layout fields fix knobs)")->required();
  sub->add_option("--tokens", opt->tokens, "tokens to train on, e.g. 2T, 300B, 5e9")->required();
  sub->add_option("--gpu", opt->gpu_types, "GPU types (default h100-sxm-80gb,a100-sxm-80gb)")->delimiter(',');
  sub->add_option("--gpus", opt->gpus, "GPU counts to consider (default: powers of two up to --gpu-budget or the scenario's cluster)")->delimiter(',');
  sub->add_option("--price-per-gpu-hour", opt->prices, "TYPE=DOLLARS, overrides the default price (docs/search.md)");
  sub->add_option("--deadline-days", opt->deadline_days, "mark options that finish within this many days");
  sub->add_option("--gpu-budget", opt->gpu_budget, "mark options with at most this many GPUs");
  sub->add_option("--threads", opt->threads, "worker threads (default: all cores)");
  sub->add_flag("--json", opt->json, "print the options as one JSON object");
  commands.push_back({sub, [opt] { return run_plan(*opt); }});
}

}  // namespace ptsim::apps

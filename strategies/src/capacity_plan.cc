#include "ptsim/strategies/capacity_plan.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>

#include "ptsim/costmodel/hardware.h"

namespace ptsim::strategies {

Scenario with_gpu_type(const Scenario& base, const std::string& gpu_type) {
  // The scenario's own GPU keeps its cluster: pods, oversubscription, NICs, a measured
  // profile and efficiency overrides describe the machine the user has.
  if (base.cluster.gpu.name == gpu_type) return base;
  Scenario s = base;
  for (const std::string& name : costmodel::node_preset_names()) {
    const auto node = costmodel::find_node_preset(name);
    if (node && node->gpu.name == gpu_type) {
      s.cluster = *node;
      return s;
    }
  }
  const auto gpu = costmodel::find_gpu_preset(gpu_type);
  if (!gpu) throw std::invalid_argument("unknown gpu type '" + gpu_type + "'");
  s.cluster.gpu = *gpu;
  return s;
}

double plan_steps(const Scenario& s, double tokens) {
  const double per_step = static_cast<double>(s.training.global_batch_size) * static_cast<double>(s.training.seq_length);
  return std::ceil(tokens / per_step);
}

std::vector<PlanOption> plan_capacity(const Scenario& base, const SearchSpace& space, const PlanRequest& request) {
  std::vector<PlanOption> options;
  for (std::size_t t = 0; t < request.gpu_types.size(); ++t) {
    const Scenario typed = with_gpu_type(base, request.gpu_types[t]);
    const double steps = plan_steps(typed, request.tokens);
    for (const std::int64_t count : request.gpu_counts) {
      PlanOption o;
      o.gpu_type = request.gpu_types[t];
      o.num_gpus = count;
      o.price_per_gpu_hour = request.price_per_gpu_hour[t];
      const int per_node = typed.cluster.gpus_per_node;
      if (count >= 1 && (count < per_node || count % per_node == 0)) {
        SearchSpace sp = space;
        sp.gpu_counts = {count};
        SearchOptions so;
        so.top = 1;
        so.threads = request.threads;
        const SearchResult r = search_layouts(typed, sp, so);
        if (!r.rows.empty()) {
          const SearchRow& best = r.rows.front();
          o.fits_memory = true;
          o.layout = best.layout;
          o.proven_best = !ranking_unproven(r, 1);
          o.step_time_s = best.step_time_s;
          o.steps = steps;
          const double seconds = steps * best.step_time_s;
          o.days = seconds / 86400;
          o.gpu_hours = static_cast<double>(count) * seconds / 3600;
          o.cost_usd = o.gpu_hours * o.price_per_gpu_hour;
          o.energy_mwh = o.gpu_hours * typed.cluster.gpu.tdp_watts / 1e6;
          o.meets_constraints = (!request.deadline_days || o.days <= *request.deadline_days) &&
                                (!request.gpu_budget || count <= *request.gpu_budget);
        }
      }
      options.push_back(o);
    }
  }
  std::stable_sort(options.begin(), options.end(), [](const PlanOption& a, const PlanOption& b) {
    if (a.fits_memory != b.fits_memory) return a.fits_memory;
    return std::tie(a.cost_usd, a.days, a.gpu_type, a.num_gpus) < std::tie(b.cost_usd, b.days, b.gpu_type, b.num_gpus);
  });
  return options;
}

}  // namespace ptsim::strategies

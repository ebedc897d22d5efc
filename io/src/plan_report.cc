#include "ptsim/io/plan_report.h"

#include <fmt/format.h>

#include "ptsim/io/search_report.h"

namespace ptsim::io {

using nlohmann::json;

json plan_report_json(const strategies::PlanRequest& request, const std::vector<strategies::PlanOption>& options) {
  json j;
  j["tokens"] = request.tokens;
  j["deadline_days"] = request.deadline_days ? json(*request.deadline_days) : json(nullptr);
  j["gpu_budget"] = request.gpu_budget ? json(*request.gpu_budget) : json(nullptr);
  json rows = json::array();
  for (const auto& o : options) {
    json r{{"gpu_type", o.gpu_type}, {"num_gpus", o.num_gpus}, {"fits_memory", o.fits_memory},
           {"meets_constraints", o.meets_constraints}, {"price_per_gpu_hour", o.price_per_gpu_hour}};
    if (o.fits_memory) {
      r["layout"] = layout_json(o.layout);
      r["proven_best"] = o.proven_best;
      r["step_time_s"] = o.step_time_s;
      r["steps"] = o.steps;
      r["days"] = o.days;
      r["gpu_hours"] = o.gpu_hours;
      r["cost_usd"] = o.cost_usd;
      r["energy_mwh"] = o.energy_mwh;
    }
    rows.push_back(std::move(r));
  }
  j["options"] = std::move(rows);
  return j;
}

std::string plan_report_table(const strategies::PlanRequest& request, const std::vector<strategies::PlanOption>& options) {
  std::string s = fmt::format("ptsim plan: {:.4g} tokens", request.tokens);
  if (request.deadline_days) s += fmt::format(", deadline {:g} days", *request.deadline_days);
  if (request.gpu_budget) s += fmt::format(", at most {} GPUs", *request.gpu_budget);
  s += "\n  * = meets the deadline and GPU budget; energy = GPU board TDP only\n\n";
  s += fmt::format("  {:1} {:<16} {:>6} {:>10} {:>10} {:>12} {:>14} {:>10}  {}\n", "", "gpu", "gpus", "step (s)", "days",
                   "GPU-hours", "cost (USD)", "MWh", "layout");
  for (const auto& o : options) {
    if (!o.fits_memory) {
      s += fmt::format("  {:1} {:<16} {:>6}  no valid layout fits\n", "", o.gpu_type, o.num_gpus);
      continue;
    }
    s += fmt::format("  {:1} {:<16} {:>6} {:>10.3f} {:>10.2f} {:>12.1f} {:>14.0f} {:>10.4f}  {}\n",
                     o.meets_constraints ? "*" : "", o.gpu_type, o.num_gpus, o.step_time_s, o.days, o.gpu_hours,
                     o.cost_usd, o.energy_mwh,
                     layout_text(o.layout) + (o.proven_best ? "" : " (not proven best: ptsim search says why)"));
  }
  return s;
}

}  // namespace ptsim::io

#include "ptsim/strategies/sweep.h"

#include <charconv>
#include <limits>

namespace ptsim::strategies {
namespace {

std::optional<std::int64_t> parse_positive(const std::string& text) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || v < 1) return std::nullopt;
  return v;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

SweepValues fail(std::string why) { return {{}, std::move(why)}; }

SweepValues parse_range(const std::string& spec, const std::vector<std::string>& parts) {
  const auto start = parse_positive(parts[0]);
  const auto stop = parse_positive(parts[1]);
  if (!start || !stop) return fail("range '" + spec + "': start and stop must be positive integers");
  if (*start > *stop) return fail("range '" + spec + "': start is larger than stop");
  const std::string& step = parts[2];
  const bool geometric = !step.empty() && step[0] == 'x';
  const bool arithmetic = !step.empty() && step[0] == '+';
  if (!geometric && !arithmetic) {
    return fail("range '" + spec + "': the step must be xK (geometric) or +K (arithmetic)");
  }
  const auto k = parse_positive(step.substr(1));
  if (!k || (geometric && *k < 2)) {
    return fail("range '" + spec + "': " + (geometric ? "the factor must be an integer >= 2" : "the step must be an integer >= 1"));
  }
  SweepValues out;
  for (std::int64_t v = *start; v <= *stop;) {
    if (out.values.size() == kMaxSweepPoints) {
      return fail("range '" + spec + "': more than " + std::to_string(kMaxSweepPoints) + " points");
    }
    out.values.push_back(std::to_string(v));
    const std::int64_t limit = std::numeric_limits<std::int64_t>::max();
    if (geometric ? v > limit / *k : v > limit - *k) break;
    v = geometric ? v * *k : v + *k;
  }
  return out;
}

}  // namespace

SweepValues parse_sweep_spec(const std::string& spec) {
  if (spec.empty()) return fail("no values");
  const auto range = split(spec, ':');
  if (range.size() == 3) return parse_range(spec, range);
  if (range.size() != 1) return fail("'" + spec + "' is neither START:STOP:xK, START:STOP:+K nor a list a,b,c");
  SweepValues out;
  for (auto& v : split(spec, ',')) {
    if (v.empty()) return fail("list '" + spec + "' has an empty value");
    if (out.values.size() == kMaxSweepPoints) {
      return fail("list '" + spec + "': more than " + std::to_string(kMaxSweepPoints) + " points");
    }
    out.values.push_back(std::move(v));
  }
  return out;
}

std::vector<SweepAssignment> sweep_grid(const std::vector<SweepAxis>& axes) {
  std::size_t total = axes.empty() ? 0 : 1;
  for (const auto& a : axes) {
    if (a.values.empty()) return {};
    if (total > kMaxSweepPoints / a.values.size()) return {};
    total *= a.values.size();
  }
  std::vector<SweepAssignment> grid;
  grid.reserve(total);
  for (std::size_t n = 0; n < total; ++n) {
    SweepAssignment point(axes.size());
    std::size_t rest = n;
    for (std::size_t i = axes.size(); i-- > 0;) {
      point[i] = {axes[i].key, axes[i].values[rest % axes[i].values.size()]};
      rest /= axes[i].values.size();
    }
    grid.push_back(std::move(point));
  }
  return grid;
}

std::string sweep_point_label(const SweepAssignment& assignment) {
  if (assignment.size() == 1) return assignment[0].second;
  std::string label;
  for (const auto& [key, value] : assignment) label += (label.empty() ? "" : " ") + key + "=" + value;
  return label;
}

const char* to_string(SweepStatus s) {
  switch (s) {
    case SweepStatus::ok: return "ok";
    case SweepStatus::does_not_fit: return "does_not_fit";
    case SweepStatus::invalid: return "invalid";
    case SweepStatus::no_layout: return "no_layout";
  }
  return "invalid";
}

std::optional<std::size_t> sweep_baseline(const std::vector<SweepPoint>& points) {
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (points[i].status == SweepStatus::ok) return i;
  }
  return std::nullopt;
}

void compute_scaling(std::vector<SweepPoint>& points) {
  const auto base = sweep_baseline(points);
  for (auto& p : points) {
    p.speedup.reset();
    p.scaling_efficiency.reset();
  }
  if (!base) return;
  const StepResult& b = *points[*base].result;
  for (auto& p : points) {
    if (!p.result || b.tokens_per_s <= 0) continue;
    const double speedup = p.result->tokens_per_s / b.tokens_per_s;
    const double gpu_ratio = static_cast<double>(p.result->num_gpus) / static_cast<double>(b.num_gpus);
    p.speedup = speedup;
    p.scaling_efficiency = speedup / gpu_ratio;
  }
}

}  // namespace ptsim::strategies

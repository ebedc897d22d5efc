#include "ptsim/costmodel/profile.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace ptsim::costmodel {
namespace {

// Index i with xs[i] <= x <= xs[i+1] and the fraction of the way in log space; a
// one-point axis gives (0, 0). x must lie inside [front, back].
std::pair<std::size_t, double> bracket_log(const std::vector<double>& xs, double x) {
  if (xs.size() == 1) return {0, 0.0};
  const auto it = std::upper_bound(xs.begin(), xs.end(), x);
  std::size_t i = it == xs.begin() ? 0 : static_cast<std::size_t>(it - xs.begin()) - 1;
  i = std::min(i, xs.size() - 2);
  const double f = (std::log(x) - std::log(xs[i])) / (std::log(xs[i + 1]) - std::log(xs[i]));
  return {i, std::clamp(f, 0.0, 1.0)};
}

bool inside(const std::vector<double>& xs, double x) {
  return !xs.empty() && x >= xs.front() && x <= xs.back();
}

}  // namespace

const GemmTable* HardwareProfile::gemm_table(Dtype d) const {
  for (const auto& t : gemm) {
    if (t.dtype == d) return &t;
  }
  return nullptr;
}

const BandwidthCurve* HardwareProfile::memory_curve(const std::string& kernel) const {
  for (const auto& c : memory) {
    if (c.kernel == kernel) return &c;
  }
  return nullptr;
}

const CollectiveCurve* HardwareProfile::collective_curve(CollectiveOp op, const GroupShape& shape) const {
  for (const auto& c : collectives) {
    if (c.op == op && c.ranks == shape.ranks && c.ranks_per_domain == shape.ranks_per_domain &&
        c.domains == shape.domains) {
      return &c;
    }
  }
  return nullptr;
}

double interpolate_log(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
  assert(!xs.empty() && xs.size() == ys.size());
  if (x <= xs.front()) return ys.front();
  if (x >= xs.back()) return ys.back();
  const auto [i, f] = bracket_log(xs, x);
  return std::exp(std::log(ys[i]) + f * (std::log(ys[i + 1]) - std::log(ys[i])));
}

std::optional<double> gemm_table_time_s(const GemmTable& t, double m, double n, double k) {
  if (!inside(t.m, m) || !inside(t.n, n) || !inside(t.k, k)) return std::nullopt;
  const auto [i, fm] = bracket_log(t.m, m);
  const auto [j, fn] = bracket_log(t.n, n);
  const auto [l, fk] = bracket_log(t.k, k);
  const std::size_t nn = t.n.size(), nk = t.k.size();
  double log_t = 0;
  for (std::size_t di = 0; di < (t.m.size() > 1 ? 2u : 1u); ++di) {
    for (std::size_t dj = 0; dj < (nn > 1 ? 2u : 1u); ++dj) {
      for (std::size_t dl = 0; dl < (nk > 1 ? 2u : 1u); ++dl) {
        const double w = (di ? fm : 1 - fm) * (dj ? fn : 1 - fn) * (dl ? fk : 1 - fk);
        if (w == 0) continue;
        log_t += w * std::log(t.time_s[((i + di) * nn + (j + dj)) * nk + (l + dl)]);
      }
    }
  }
  return std::exp(log_t);
}

double collective_curve_time_s(const CollectiveCurve& c, double bytes) {
  if (inside(c.bytes, bytes)) return interpolate_log(c.bytes, c.time_s, bytes);
  return std::max(0.0, c.alpha_s + c.beta_s_per_byte * bytes);
}

double profiled_kernel_time_s(const KernelWork& work, const GpuSpec& gpu, const HardwareProfile& profile) {
  GpuSpec base = gpu;
  base.profile = nullptr;
  if (profile.kernel_launch_overhead_s) base.efficiency.kernel_launch_overhead_s = *profile.kernel_launch_overhead_s;
  if (profile.attention_flops_fraction) base.efficiency.attention_flops_fraction = *profile.attention_flops_fraction;

  if (work.op_class == OpClass::gemm) {
    if (const GemmTable* t = profile.gemm_table(work.dtype)) {
      base.efficiency.gemm_flops_fraction = t->fitted_efficiency;
      // The fitted fraction is measured over real shapes, quantization included: the
      // roofline fallback must not apply the wave model on top of it.
      base.num_sms = 0;
      if (work.shape.m > 0 && work.shape.n > 0 && work.shape.k > 0) {
        // Pass 1: forward m x n x k; pass 2: data gradient m x k x n; pass 3: weight
        // gradient k x n x m (a backward of passes = 2 runs passes 2 and 3).
        const double m = work.shape.m, n = work.shape.n, k = work.shape.k;
        const double shapes[3][3] = {{m, n, k}, {m, k, n}, {k, n, m}};
        const int first = work.launches >= 2 ? 1 : 0;
        const int last = work.launches >= 2 ? 2 : 0;
        double total = 0;
        bool all = true;
        for (int p = first; p <= last && all; ++p) {
          const auto t_s = gemm_table_time_s(*t, shapes[p][0], shapes[p][1], shapes[p][2]);
          if (t_s) total += *t_s;
          all = t_s.has_value();
        }
        if (all) return total;
      }
    }
  }
  if (work.op_class == OpClass::memory && work.bytes > 0) {
    if (const BandwidthCurve* c = profile.memory_curve("elementwise")) {
      const int launches = std::max(1, work.launches);
      const double per_launch = work.bytes / launches;
      const double memory_s = launches * per_launch / interpolate_log(c->bytes, c->bytes_per_s, per_launch);
      const double compute_s = work.flops > 0 ? work.flops / (base.peak(work.dtype) * base.efficiency.gemm_flops_fraction) : 0.0;
      return std::max(memory_s, compute_s);
    }
  }
  return kernel_time_s(work, base);
}

CollectivePlan rescaled_plan(CollectivePlan plan, double time_s) {
  if (plan.time_s <= 0 || plan.phases.empty()) return plan;
  const double f = time_s / plan.time_s;
  for (auto& ph : plan.phases) {
    ph.latency_s *= f;
    ph.nvlink_rate_bytes_per_s /= f;
    ph.network_rate_bytes_per_s /= f;
  }
  plan.time_s = time_s;
  return plan;
}

}  // namespace ptsim::costmodel

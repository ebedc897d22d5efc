#include "ptsim/calibrate/fit.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "ptsim/io/input_error.h"

namespace ptsim::calibrate {
namespace {

double median(std::vector<double> v) {
  assert(!v.empty());
  std::sort(v.begin(), v.end());
  const std::size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

std::vector<double> axis(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::size_t index_of(const std::vector<double>& ax, double x) {
  return static_cast<std::size_t>(std::lower_bound(ax.begin(), ax.end(), x) - ax.begin());
}

}  // namespace

AlphaBeta fit_alpha_beta(std::span<const double> x, std::span<const double> t) {
  assert(x.size() == t.size());
  // Weighted least squares with weights w = 1/t^2: normal equations of a 2x2 system.
  double sw = 0, swx = 0, swxx = 0, swt = 0, swxt = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double w = 1 / (t[i] * t[i]);
    sw += w;
    swx += w * x[i];
    swxx += w * x[i] * x[i];
    swt += w * t[i];
    swxt += w * x[i] * t[i];
  }
  const double det = sw * swxx - swx * swx;
  if (!(std::abs(det) > 0)) throw io::InputError("", "an alpha-beta fit needs at least two distinct sizes");
  AlphaBeta f;
  f.alpha_s = (swxx * swt - swx * swxt) / det;
  f.beta_s_per_byte = (sw * swxt - swx * swt) / det;
  double sq = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double r = (f.alpha_s + f.beta_s_per_byte * x[i] - t[i]) / t[i];
    sq += r * r;
  }
  f.rms_relative_residual = std::sqrt(sq / static_cast<double>(x.size()));
  return f;
}

costmodel::Measurements merge(std::span<const costmodel::Measurements> parts) {
  costmodel::Measurements out;
  for (const auto& p : parts) {
    for (const auto& d : p.device) {
      if (std::find(out.device.begin(), out.device.end(), d) == out.device.end()) out.device.push_back(d);
    }
    out.sources.insert(out.sources.end(), p.sources.begin(), p.sources.end());
    out.gemm.insert(out.gemm.end(), p.gemm.begin(), p.gemm.end());
    out.attention.insert(out.attention.end(), p.attention.begin(), p.attention.end());
    out.bandwidth.insert(out.bandwidth.end(), p.bandwidth.begin(), p.bandwidth.end());
    out.collectives.insert(out.collectives.end(), p.collectives.begin(), p.collectives.end());
    if (p.kernel_launch_overhead_s) out.kernel_launch_overhead_s = p.kernel_launch_overhead_s;
  }
  return out;
}

costmodel::HardwareProfile fit_profile(const costmodel::Measurements& m, const costmodel::GpuSpec& gpu) {
  costmodel::HardwareProfile p;
  p.gpu = gpu.name;
  p.sources = m.sources;
  p.device = m.device;

  // GEMMs: one table per dtype on the grid of the measured m, n, k values.
  for (const costmodel::Dtype d : costmodel::kAllDtypes) {
    std::vector<double> ms, ns, ks;
    for (const auto& g : m.gemm) {
      if (g.dtype != d) continue;
      ms.push_back(g.m);
      ns.push_back(g.n);
      ks.push_back(g.k);
    }
    if (ms.empty()) continue;
    const std::string where = fmt::format("gemm {}", costmodel::to_string(d));
    if (gpu.peak(d) <= 0) throw io::InputError(where, fmt::format("GPU {} has no {} peak", gpu.name, costmodel::to_string(d)));
    costmodel::GemmTable t;
    t.dtype = d;
    t.m = axis(ms);
    t.n = axis(ns);
    t.k = axis(ks);
    std::vector<std::vector<double>> cells(t.m.size() * t.n.size() * t.k.size());
    for (const auto& g : m.gemm) {
      if (g.dtype != d) continue;
      cells[(index_of(t.m, g.m) * t.n.size() + index_of(t.n, g.n)) * t.k.size() + index_of(t.k, g.k)].push_back(g.time_s);
    }
    std::vector<double> efficiency;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const std::size_t l = i % t.k.size(), j = (i / t.k.size()) % t.n.size(), mi = i / (t.k.size() * t.n.size());
      if (cells[i].empty()) {
        throw io::InputError(where, fmt::format("the grid is incomplete: no measurement of m={} n={} k={}", t.m[mi],
                                                t.n[j], t.k[l]));
      }
      const double time = median(cells[i]);
      t.time_s.push_back(time);
      efficiency.push_back(2 * t.m[mi] * t.n[j] * t.k[l] / time / gpu.peak(d));
    }
    t.fitted_efficiency = std::min(1.0, median(efficiency));
    p.gemm.push_back(std::move(t));
  }

  if (!m.attention.empty()) {
    std::vector<double> eff;
    for (const auto& a : m.attention) {
      if (gpu.peak(a.dtype) <= 0) throw io::InputError("attention", fmt::format("GPU {} has no {} peak", gpu.name, costmodel::to_string(a.dtype)));
      eff.push_back(a.flops / a.time_s / gpu.peak(a.dtype));
    }
    p.attention_flops_fraction = std::min(1.0, median(eff));
  }

  std::map<std::string, std::map<double, std::vector<double>>> curves;
  for (const auto& b : m.bandwidth) curves[b.kernel][b.bytes].push_back(b.bytes / b.time_s);
  for (const auto& [kernel, points] : curves) {
    costmodel::BandwidthCurve c;
    c.kernel = kernel;
    for (const auto& [bytes, bw] : points) {
      c.bytes.push_back(bytes);
      c.bytes_per_s.push_back(median(bw));
    }
    p.memory.push_back(std::move(c));
  }
  p.kernel_launch_overhead_s = m.kernel_launch_overhead_s;

  using Key = std::tuple<int, int, int, int>;
  std::map<Key, std::map<double, std::vector<double>>> groups;
  for (const auto& c : m.collectives) {
    groups[{static_cast<int>(c.op), c.ranks, c.ranks_per_domain, c.domains}][c.bytes].push_back(c.time_s);
  }
  for (const auto& [key, points] : groups) {
    costmodel::CollectiveCurve c;
    c.op = static_cast<costmodel::CollectiveOp>(std::get<0>(key));
    c.ranks = std::get<1>(key);
    c.ranks_per_domain = std::get<2>(key);
    c.domains = std::get<3>(key);
    for (const auto& [bytes, times] : points) {
      c.bytes.push_back(bytes);
      c.time_s.push_back(median(times));
    }
    if (c.bytes.size() < 2) {
      throw io::InputError(fmt::format("collectives {} on {} ranks", costmodel::to_string(c.op), c.ranks),
                           "one message size only: the alpha-beta fit needs two");
    }
    const AlphaBeta f = fit_alpha_beta(c.bytes, c.time_s);
    c.alpha_s = f.alpha_s;
    c.beta_s_per_byte = f.beta_s_per_byte;
    c.rms_relative_residual = f.rms_relative_residual;
    if (!(c.beta_s_per_byte > 0)) {
      throw io::InputError(fmt::format("collectives {} on {} ranks", costmodel::to_string(c.op), c.ranks),
                           "time does not grow with size: the fit has no positive beta");
    }
    p.collectives.push_back(std::move(c));
  }
  return p;
}

}  // namespace ptsim::calibrate

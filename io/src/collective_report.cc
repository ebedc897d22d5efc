#include "ptsim/io/collective_report.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdint>

#include "ptsim/io/input_error.h"

namespace ptsim::io {
namespace {

double parse_size(std::string_view text, std::string_view whole) {
  std::size_t i = 0;
  std::uint64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
    if (value > (std::uint64_t{1} << 40)) throw InputError("--bytes", "size '" + std::string(whole) + "' is over 1T");
    ++i;
  }
  if (i == 0) throw InputError("--bytes", "expected a size like 1K, 64M or 8G, got '" + std::string(whole) + "'");
  double scale = 1;
  if (i < text.size()) {
    switch (std::toupper(static_cast<unsigned char>(text[i]))) {
      case 'K': scale = 1024.0; break;
      case 'M': scale = 1024.0 * 1024; break;
      case 'G': scale = 1024.0 * 1024 * 1024; break;
      default: throw InputError("--bytes", "unknown size suffix in '" + std::string(whole) + "' (use K, M or G)");
    }
    ++i;
  }
  if (i != text.size()) throw InputError("--bytes", "trailing characters in '" + std::string(whole) + "'");
  const double bytes = static_cast<double>(value) * scale;
  if (bytes <= 0) throw InputError("--bytes", "sizes must be positive, got '" + std::string(whole) + "'");
  return bytes;
}

std::string human_type(costmodel::CollectiveOp op) {
  return op == costmodel::CollectiveOp::all_reduce || op == costmodel::CollectiveOp::reduce_scatter ? "sum" : "none";
}

}  // namespace

std::vector<double> parse_size_range(std::string_view text) {
  const auto colon = text.find(':');
  const double lo = parse_size(text.substr(0, colon), text);
  const double hi = colon == std::string_view::npos ? lo : parse_size(text.substr(colon + 1), text);
  if (hi < lo) throw InputError("--bytes", "range '" + std::string(text) + "' ends below its start");
  std::vector<double> sizes;
  for (double s = lo; s <= hi; s *= 2) sizes.push_back(s);
  return sizes;
}

std::vector<CollectiveRow> collective_sweep(costmodel::CollectiveOp op, const costmodel::GroupShape& shape,
                                            const std::vector<double>& sizes, const costmodel::ClusterSpec& cluster) {
  std::vector<CollectiveRow> rows;
  for (double bytes : sizes) {
    CollectiveRow row;
    row.bytes = bytes;
    row.plan = costmodel::plan_collective(op, shape, bytes, cluster);
    row.algbw_gb_per_s = row.plan.time_s > 0 ? bytes / row.plan.time_s / 1e9 : 0;
    row.busbw_gb_per_s = row.algbw_gb_per_s * costmodel::bus_bandwidth_factor(op, shape.ranks);
    rows.push_back(row);
  }
  return rows;
}

std::string collective_table(costmodel::CollectiveOp op, const costmodel::GroupShape& shape,
                             const costmodel::ClusterSpec& cluster, const std::vector<CollectiveRow>& rows) {
  std::string out = fmt::format("# ptsim collective: {} on {} x {} ({} per NVLink domain, {} domains)\n",
                                costmodel::to_string(op), shape.ranks, cluster.gpu.name, shape.ranks_per_domain,
                                shape.domains);
  out += fmt::format("# {:>12} {:>12} {:>6} {:>6} {:>10} {:>8} {:>8}  {}\n", "size", "count", "type", "redop",
                     "time", "algbw", "busbw", "algorithm");
  out += fmt::format("# {:>12} {:>12} {:>6} {:>6} {:>10} {:>8} {:>8}\n", "(B)", "(elements)", "", "", "(us)",
                     "(GB/s)", "(GB/s)");
  for (const auto& r : rows) {
    out += fmt::format("  {:>12.0f} {:>12.0f} {:>6} {:>6} {:>10.2f} {:>8.2f} {:>8.2f}  {}/{}\n", r.bytes, r.bytes / 4,
                       "float", human_type(op), r.plan.time_s * 1e6, r.algbw_gb_per_s, r.busbw_gb_per_s,
                       costmodel::to_string(r.plan.algorithm), r.plan.protocol);
  }
  return out;
}

nlohmann::json collective_json(costmodel::CollectiveOp op, const costmodel::GroupShape& shape,
                               const costmodel::ClusterSpec& cluster, const std::vector<CollectiveRow>& rows) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : rows) {
    arr.push_back({{"size_bytes", r.bytes},
                   {"time_us", r.plan.time_s * 1e6},
                   {"algbw_gb_per_s", r.algbw_gb_per_s},
                   {"busbw_gb_per_s", r.busbw_gb_per_s},
                   {"algorithm", std::string(costmodel::to_string(r.plan.algorithm))},
                   {"protocol", std::string(r.plan.protocol)}});
  }
  return {{"op", std::string(costmodel::to_string(op))},
          {"gpu", cluster.gpu.name},
          {"ranks", shape.ranks},
          {"ranks_per_domain", shape.ranks_per_domain},
          {"domains", shape.domains},
          {"rows", arr}};
}

}  // namespace ptsim::io

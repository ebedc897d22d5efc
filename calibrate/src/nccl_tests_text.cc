#include "ptsim/calibrate/nccl_tests_text.h"

#include <charconv>
#include <cmath>
#include <set>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "ptsim/io/calibration_json.h"
#include "ptsim/io/input_error.h"

namespace ptsim::calibrate {
namespace {

std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::optional<double> number(const std::string& s) {
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Where the columns sit in a data row, from the column header's words.
struct Layout {
  std::size_t columns = 0;
  std::size_t size = 0;
  std::size_t oop_time = 0, oop_algbw = 0, oop_busbw = 0;
  std::optional<std::size_t> ip_time;
};

std::optional<Layout> column_layout(const std::vector<std::string>& w) {
  // w excludes the leading '#'.
  if (w.size() < 5 || w[0] != "size" || w[1] != "count") return std::nullopt;
  Layout l;
  l.columns = w.size();
  std::vector<std::size_t> times;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (w[i] == "time" || w[i] == "cputime") times.push_back(i);
  }
  if (times.empty() || times[0] + 2 >= w.size() || w[times[0] + 1] != "algbw" || w[times[0] + 2] != "busbw") {
    return std::nullopt;
  }
  l.oop_time = times[0];
  l.oop_algbw = times[0] + 1;
  l.oop_busbw = times[0] + 2;
  if (times.size() > 1) l.ip_time = times[1];
  return l;
}

}  // namespace

costmodel::Measurements parse_nccl_tests_text(std::string_view text, const std::string& file,
                                              std::optional<costmodel::CollectiveOp> op) {
  costmodel::Measurements m;
  std::set<int> ranks;
  std::set<std::string> hosts;
  std::string device_name;
  std::optional<Layout> layout;
  std::size_t line_no = 0;
  std::size_t rows = 0;
  auto fail = [&](const std::string& reason) -> void { throw io::InputError(fmt::format("{}:{}", file, line_no), reason); };

  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    if (line[first] == '#') {
      std::vector<std::string> w = words(std::string_view(line).substr(first + 1));
      if (w.empty()) continue;
      if (w[0] == "nThread") {  // a new run: its own devices and table follow
        ranks.clear();
        hosts.clear();
        layout.reset();
      } else if (w.size() >= 4 && w[0] == "Collective" && w[1] == "test" && w[2] == "starting:") {
        costmodel::CollectiveOp named{};
        if (!io::nccl_tests_op(w[3], named)) fail(fmt::format("collective \"{}\" is not one ptsim models", w[3]));
        op = named;
      } else if (w[0] == "Rank" && w.size() >= 2) {
        // "Rank 0 Group 0 Pid 1887 on HOST device 0 [0x8d] NAME..." (Group since 2.x).
        const auto r = number(w[1]);
        std::size_t on = 0;
        for (std::size_t i = 2; i + 1 < w.size(); ++i) {
          if (w[i] == "on") {
            on = i;
            break;
          }
        }
        if (!r || on == 0) fail("a 'Rank' line without a rank number and 'on HOST'");
        if (!(*r >= 0 && *r < 1e9) || *r != std::floor(*r)) {
          fail(fmt::format("rank '{}' is not a whole number between 0 and 10^9", w[1]));
        }
        ranks.insert(static_cast<int>(*r));
        hosts.insert(w[on + 1]);
        if (device_name.empty()) {
          for (std::size_t i = on + 2; i < w.size(); ++i) {
            if (w[i].front() == '[') {
              for (std::size_t j = i + 1; j < w.size(); ++j) device_name += (j > i + 1 ? " " : "") + w[j];
              break;
            }
          }
        }
      } else if (auto l = column_layout(w)) {
        layout = l;
      }
      continue;
    }
    if (!layout) continue;                                   // text before the table
    if (line.find(" NCCL INFO ") != std::string::npos || line.find(" NCCL WARN ") != std::string::npos) continue;
    const std::vector<std::string> w = words(line);
    if (w.size() != layout->columns) {
      fail(fmt::format("expected {} columns as the header announces (size count type redop root time algbw busbw "
                       "#wrong, out-of-place then in-place), got {}",
                       layout->columns, w.size()));
    }
    const auto bytes = number(w[layout->size]);
    const auto oop_time = number(w[layout->oop_time]);
    const auto algbw = number(w[layout->oop_algbw]);
    const auto busbw = number(w[layout->oop_busbw]);
    const auto ip_time = layout->ip_time ? number(w[*layout->ip_time]) : oop_time;
    if (!bytes || *bytes < 0 || std::floor(*bytes) != *bytes) fail(fmt::format("size '{}' is not a byte count", w[layout->size]));
    if (!oop_time || !algbw || !busbw || !ip_time) fail("time, algbw and busbw must be numbers");
    if (ranks.empty()) fail("a result row before any '#  Rank N ... on HOST' line: the group is unknown");
    if (!op) {
      fail("cannot tell which collective this log measures (no '# Collective test starting:' line); name it "
           "with --op");
    }
    const int n = static_cast<int>(ranks.size());
    const int nodes = static_cast<int>(hosts.size());
    if (n % nodes != 0) fail(fmt::format("{} ranks are not spread evenly over {} hosts", n, nodes));
    if (*algbw >= 1.0) {  // two printed decimals: the ratio is good to about 1%
      const double factor = costmodel::bus_bandwidth_factor(*op, n);
      if (std::abs(*busbw / *algbw - factor) > 0.03 * factor) {
        fail(fmt::format("busbw/algbw = {:.3f}, but {} on {} ranks has the factor {:.3f}: wrong collective or "
                         "rank lines",
                         *busbw / *algbw, costmodel::to_string(*op), n, factor));
      }
    }
    ++rows;
    if (*bytes == 0) continue;  // zero-byte rows time the launch only
    m.collectives.push_back({*op, n, n / nodes, nodes, *bytes, *ip_time * 1e-6});
  }
  if (rows == 0) throw io::InputError(file, "no nccl-tests result rows (a '#  size  count ...' header and rows below it)");
  if (!device_name.empty()) m.device.emplace_back("name", device_name);
  m.sources.push_back(fmt::format("nccl-tests text log {}", file));
  return m;
}

}  // namespace ptsim::calibrate

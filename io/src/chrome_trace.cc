#include "ptsim/io/chrome_trace.h"

#include <fmt/format.h>

#include <string>

#include <nlohmann/json.hpp>

namespace ptsim::io {
namespace {

// Integer nanoseconds as exact decimal microseconds: 1234567 -> "1234.567".
std::string micros(std::int64_t ns) { return fmt::format("{}.{:03}", ns / 1000, ns % 1000); }

std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }

}  // namespace

void write_chrome_trace(std::ostream& out, const strategies::SimulatedStep& step) {
  const sim::TaskGraph& g = step.lowered.graph;
  const sim::Timeline& tl = step.timeline;
  // pid: the rank the process stands for; tid: the stream's index within its process.
  std::vector<int> pid_of_process(g.num_processes(), 0);
  for (const auto& stage : step.lowered.stages) pid_of_process[stage.process] = stage.rank;
  std::vector<int> tid_of_stream(g.num_streams(), 0);
  std::vector<int> next_tid(g.num_processes(), 1);

  out << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  bool first = true;
  auto sep = [&] {
    if (!first) out << ",\n";
    first = false;
  };
  for (sim::ProcessId p = 0; p < g.num_processes(); ++p) {
    sep();
    out << fmt::format(R"({{"name":"process_name","ph":"M","pid":{},"args":{{"name":{}}}}})", pid_of_process[p],
                       quoted(g.process(p).name));
    sep();
    out << fmt::format(R"({{"name":"process_sort_index","ph":"M","pid":{},"args":{{"sort_index":{}}}}})",
                       pid_of_process[p], p);
  }
  for (sim::StreamId s = 0; s < g.num_streams(); ++s) {
    const auto p = g.stream(s).process;
    tid_of_stream[s] = next_tid[p]++;
    sep();
    out << fmt::format(R"({{"name":"thread_name","ph":"M","pid":{},"tid":{},"args":{{"name":{}}}}})",
                       pid_of_process[p], tid_of_stream[s], quoted(g.stream(s).name));
    sep();
    out << fmt::format(R"({{"name":"thread_sort_index","ph":"M","pid":{},"tid":{},"args":{{"sort_index":{}}}}})",
                       pid_of_process[p], tid_of_stream[s], tid_of_stream[s]);
  }
  for (sim::TaskId t = 0; t < g.num_tasks(); ++t) {
    const auto& label = step.lowered.labels[t];
    const sim::StreamId s = g.streams_of(t)[0];
    sep();
    out << fmt::format(R"({{"name":{},"cat":"{}","ph":"X","pid":{},"tid":{},"ts":{},"dur":{},"args":{{)",
                       quoted(strategies::task_display_name(label)), strategies::to_string(label.kind),
                       pid_of_process[g.stream(s).process], tid_of_stream[s], micros(tl.start[t].count_ns()),
                       micros((tl.end[t] - tl.start[t]).count_ns()));
    bool first_arg = true;
    auto arg = [&](std::string_view key, std::int32_t value) {
      if (value < 0) return;
      out << (first_arg ? "" : ",") << '"' << key << "\":" << value;
      first_arg = false;
    };
    arg("layer", label.layer);
    arg("microbatch", label.microbatch);
    arg("to_stage", label.peer_stage);
    out << "}}";
  }
  out << "\n]}\n";
}

}  // namespace ptsim::io

#include "ptsim/sim/task_graph.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace ptsim::sim {

ProcessId TaskGraph::add_process(std::string name) {
  processes_.push_back(Process{std::move(name)});
  return static_cast<ProcessId>(processes_.size() - 1);
}

StreamId TaskGraph::add_stream(ProcessId process, std::string name) {
  if (process >= processes_.size()) throw std::out_of_range("add_stream: unknown process");
  streams_.push_back(Stream{process, std::move(name)});
  return static_cast<StreamId>(streams_.size() - 1);
}

LinkId TaskGraph::add_link(ProcessId owner, std::string name, double capacity_bytes_per_s) {
  if (owner >= processes_.size()) throw std::out_of_range("add_link: unknown process");
  if (!std::isfinite(capacity_bytes_per_s) || capacity_bytes_per_s < 0) {
    throw std::invalid_argument("add_link: link '" + name + "': capacity_bytes_per_s must be finite and >= 0");
  }
  links_.push_back(Link{owner, std::move(name)});
  link_capacity_.push_back(capacity_bytes_per_s);
  return static_cast<LinkId>(links_.size() - 1);
}

TaskId TaskGraph::add_task(std::span<const StreamId> streams, std::span<const LinkId> links,
                           Time duration, std::uint32_t tag, Time host_issue) {
  if (streams.empty()) throw std::invalid_argument("add_task: a task needs at least one stream");
  if (duration < Time::zero()) throw std::invalid_argument("add_task: negative duration");
  if (host_issue < Time::zero()) throw std::invalid_argument("add_task: negative host issue cost");
  for (StreamId s : streams) {
    if (s >= streams_.size()) throw std::out_of_range("add_task: unknown stream");
  }
  for (LinkId l : links) {
    if (l >= links_.size()) throw std::out_of_range("add_task: unknown link");
  }
  task_streams_.insert(task_streams_.end(), streams.begin(), streams.end());
  stream_offsets_.push_back(static_cast<std::uint32_t>(task_streams_.size()));
  if (!links.empty() && link_offsets_.empty()) link_offsets_.assign(num_tasks() + 1, 0);  // first holder
  if (!link_offsets_.empty()) {
    task_links_.insert(task_links_.end(), links.begin(), links.end());
    link_offsets_.push_back(static_cast<std::uint32_t>(task_links_.size()));
  }
  flow_offsets_.push_back(flow_offsets_.back());
  task_record_.push_back(intern(TaskRecord{duration, host_issue, tag, false}));
  if (host_issue > Time::zero()) has_host_issue_ = true;
  return static_cast<TaskId>(num_tasks() - 1);
}

TaskId TaskGraph::add_transfer(std::span<const StreamId> streams, std::span<const FlowSpec> flows,
                               Time latency, std::uint32_t tag) {
  if (streams.empty()) throw std::invalid_argument("add_transfer: a task needs at least one stream");
  if (latency < Time::zero()) throw std::invalid_argument("add_transfer: negative latency");
  for (StreamId s : streams) {
    if (s >= streams_.size()) throw std::out_of_range("add_transfer: unknown stream");
  }
  // Validate everything before changing anything, so a throw leaves the graph as it was.
  for (std::size_t i = 0; i < flows.size(); ++i) {
    const FlowSpec& f = flows[i];
    // Built only on error: lowering a full-mode step checks tens of millions of flows.
    const auto where = [i] { return "add_transfer: flow " + std::to_string(i) + ": "; };
    if (!std::isfinite(f.bytes) || f.bytes < 0) {
      throw std::invalid_argument(where() + "bytes must be finite and >= 0");
    }
    if (!std::isfinite(f.max_rate_bytes_per_s) || f.max_rate_bytes_per_s < 0) {
      throw std::invalid_argument(where() + "max_rate_bytes_per_s must be finite and >= 0 (0 = no cap)");
    }
    if (f.path.empty() && f.bytes > 0 && f.max_rate_bytes_per_s == 0) {
      throw std::invalid_argument(where() + "a flow with bytes needs a path or a max rate");
    }
    for (std::size_t k = 0; k < f.path.size(); ++k) {
      const LinkId l = f.path[k];
      if (l >= links_.size()) throw std::out_of_range(where() + "unknown link " + std::to_string(l));
      if (!(link_capacity_[l] > 0)) {
        throw std::invalid_argument(where() + "link '" + links_[l].name +
                                    "' has no capacity: it can only be held exclusively");
      }
      for (std::size_t j = 0; j < k; ++j) {
        if (f.path[j] == l) throw std::invalid_argument(where() + "link '" + links_[l].name + "' appears twice in the path");
      }
    }
  }
  if (num_flows() + flows.size() > std::numeric_limits<FlowId>::max()) {
    throw std::length_error("add_transfer: too many flows");
  }
  for (const FlowSpec& f : flows) {
    flow_spec_.push_back(intern_spec(f.bytes, f.max_rate_bytes_per_s));
    path_links_.insert(path_links_.end(), f.path.begin(), f.path.end());
    path_offsets_.push_back(static_cast<std::uint32_t>(path_links_.size()));
  }
  flow_offsets_.push_back(static_cast<FlowId>(flow_spec_.size()));
  task_streams_.insert(task_streams_.end(), streams.begin(), streams.end());
  stream_offsets_.push_back(static_cast<std::uint32_t>(task_streams_.size()));
  if (!link_offsets_.empty()) link_offsets_.push_back(static_cast<std::uint32_t>(task_links_.size()));
  task_record_.push_back(intern(TaskRecord{latency, Time::zero(), tag, true}));
  return static_cast<TaskId>(num_tasks() - 1);
}

void TaskGraph::add_dependency(TaskId before, TaskId after) {
  if (before >= num_tasks() || after >= num_tasks()) {
    throw std::out_of_range("add_dependency: unknown task");
  }
  if (before == after) throw std::invalid_argument("add_dependency: a task cannot wait for itself");
  dep_before_.push_back(before);
  dep_after_.push_back(after);
}

std::uint32_t TaskGraph::add_record(const TaskRecord& record) {
  // Bytes per task and per flow bound a full-mode step's memory (docs/performance.md): a
  // task stores a 4-byte record index, a flow a 4-byte (bytes, cap) index.
  static_assert(sizeof(TaskRecord) <= 24, "a task record grew: every distinct task pays it");
  static_assert(sizeof(task_record_[0]) == 4 && sizeof(flow_spec_[0]) == 4, "per-task and per-flow indexes are 4 bytes");
  records_.push_back(record);
  return static_cast<std::uint32_t>(records_.size() - 1);
}

std::uint32_t TaskGraph::add_spec(double bytes, double max_rate) {
  spec_bytes_.push_back(bytes);
  spec_max_rate_.push_back(max_rate);
  return static_cast<std::uint32_t>(spec_bytes_.size() - 1);
}

TaskId TaskGraph::task_of(FlowId flow) const {
  if (flow >= num_flows()) throw std::out_of_range("task_of: unknown flow");
  const auto after = std::upper_bound(flow_offsets_.begin(), flow_offsets_.end(), flow);
  return static_cast<TaskId>(after - flow_offsets_.begin() - 1);
}

std::span<const StreamId> TaskGraph::streams_of(TaskId task) const {
  const auto begin = stream_offsets_[task];
  return {task_streams_.data() + begin, stream_offsets_[task + 1] - begin};
}

std::span<const LinkId> TaskGraph::links_of(TaskId task) const {
  if (link_offsets_.empty()) return {};
  const auto begin = link_offsets_[task];
  return {task_links_.data() + begin, link_offsets_[task + 1] - begin};
}

}  // namespace ptsim::sim

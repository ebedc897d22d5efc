#include "ptsim/sim/task_graph.h"

#include <stdexcept>
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

LinkId TaskGraph::add_link(ProcessId owner, std::string name) {
  if (owner >= processes_.size()) throw std::out_of_range("add_link: unknown process");
  links_.push_back(Link{owner, std::move(name)});
  return static_cast<LinkId>(links_.size() - 1);
}

TaskId TaskGraph::add_task(std::span<const StreamId> streams, std::span<const LinkId> links,
                           Time duration, std::uint32_t tag) {
  if (streams.empty()) throw std::invalid_argument("add_task: a task needs at least one stream");
  if (duration < Time::zero()) throw std::invalid_argument("add_task: negative duration");
  for (StreamId s : streams) {
    if (s >= streams_.size()) throw std::out_of_range("add_task: unknown stream");
  }
  for (LinkId l : links) {
    if (l >= links_.size()) throw std::out_of_range("add_task: unknown link");
  }
  task_streams_.insert(task_streams_.end(), streams.begin(), streams.end());
  stream_offsets_.push_back(static_cast<std::uint32_t>(task_streams_.size()));
  task_links_.insert(task_links_.end(), links.begin(), links.end());
  link_offsets_.push_back(static_cast<std::uint32_t>(task_links_.size()));
  durations_.push_back(duration);
  tags_.push_back(tag);
  return static_cast<TaskId>(durations_.size() - 1);
}

void TaskGraph::add_dependency(TaskId before, TaskId after) {
  if (before >= num_tasks() || after >= num_tasks()) {
    throw std::out_of_range("add_dependency: unknown task");
  }
  if (before == after) throw std::invalid_argument("add_dependency: a task cannot wait for itself");
  dep_before_.push_back(before);
  dep_after_.push_back(after);
}

std::span<const StreamId> TaskGraph::streams_of(TaskId task) const {
  const auto begin = stream_offsets_[task];
  return {task_streams_.data() + begin, stream_offsets_[task + 1] - begin};
}

std::span<const LinkId> TaskGraph::links_of(TaskId task) const {
  const auto begin = link_offsets_[task];
  return {task_links_.data() + begin, link_offsets_[task + 1] - begin};
}

}  // namespace ptsim::sim

// A static graph of timed tasks to simulate: tasks run on streams (a stream runs one task
// at a time, in the order tasks were added to it), may hold links exclusively while they
// run (communication), and wait for their dependencies. Streams and links belong to a
// process (a rank, in ptsim's use). The graph knows nothing of what a task means: callers
// tag tasks with an opaque integer and keep their own side tables for names.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ptsim/sim/time.h"

namespace ptsim::sim {

using ProcessId = std::uint32_t;
using StreamId = std::uint32_t;
using LinkId = std::uint32_t;
using TaskId = std::uint32_t;

struct Process {
  std::string name;
};

struct Stream {
  ProcessId process = 0;
  std::string name;
};

struct Link {
  ProcessId process = 0;
  std::string name;
};

class TaskGraph {
 public:
  ProcessId add_process(std::string name);
  StreamId add_stream(ProcessId process, std::string name);
  LinkId add_link(ProcessId owner, std::string name);

  // A task occupies every stream in `streams` (at least one) and every link in `links`
  // for `duration`. It may start once all its dependencies have finished, it is the
  // oldest unfinished task on each of its streams, and all its links are free.
  TaskId add_task(std::span<const StreamId> streams, std::span<const LinkId> links,
                  Time duration, std::uint32_t tag);
  TaskId add_task(StreamId stream, Time duration, std::uint32_t tag) {
    return add_task(std::span<const StreamId>(&stream, 1), {}, duration, tag);
  }
  void add_dependency(TaskId before, TaskId after);

  std::size_t num_processes() const { return processes_.size(); }
  std::size_t num_streams() const { return streams_.size(); }
  std::size_t num_links() const { return links_.size(); }
  std::size_t num_tasks() const { return durations_.size(); }
  std::size_t num_dependencies() const { return dep_before_.size(); }

  const Process& process(ProcessId id) const { return processes_.at(id); }
  const Stream& stream(StreamId id) const { return streams_.at(id); }
  const Link& link(LinkId id) const { return links_.at(id); }
  Time duration(TaskId task) const { return durations_[task]; }
  std::uint32_t tag(TaskId task) const { return tags_[task]; }
  std::span<const StreamId> streams_of(TaskId task) const;
  std::span<const LinkId> links_of(TaskId task) const;
  // Dependencies in insertion order, as parallel arrays.
  std::span<const TaskId> dependency_sources() const { return dep_before_; }
  std::span<const TaskId> dependency_targets() const { return dep_after_; }

 private:
  std::vector<Process> processes_;
  std::vector<Stream> streams_;
  std::vector<Link> links_;
  std::vector<Time> durations_;
  std::vector<std::uint32_t> tags_;
  // Per task, its streams and links as ranges in flat arrays (offsets_[t]..offsets_[t+1]).
  std::vector<std::uint32_t> stream_offsets_{0};
  std::vector<StreamId> task_streams_;
  std::vector<std::uint32_t> link_offsets_{0};
  std::vector<LinkId> task_links_;
  std::vector<TaskId> dep_before_;
  std::vector<TaskId> dep_after_;
};

}  // namespace ptsim::sim

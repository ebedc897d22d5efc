// A static graph of timed tasks to simulate: tasks run on streams (a stream runs one task
// at a time, in the order tasks were added to it), may hold links exclusively while they
// run (communication), and wait for their dependencies. Streams and links belong to a
// process (a rank, in ptsim's use). The graph knows nothing of what a task means: callers
// tag tasks with an opaque integer and keep their own side tables for names.
// A transfer task instead moves flows of bytes over paths of links with a capacity; how
// long it takes depends on the flows sharing those links (see bandwidth_sharing.h). Flows
// and paths live in flat arrays: flow ids are dense, a task's flows are consecutive.
// Layout, for graphs of tens of millions of tasks (a full-mode step): per task a 4-byte
// index into shared (duration, host issue, tag, kind) records, its stream and flow offsets; per flow
// a 4-byte index into shared (bytes, cap) records and its path offset; 8 bytes per
// dependency. Equal tasks and flows added one after another share a record.
#pragma once

#include <bit>
#include <cstddef>
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
using FlowId = std::uint32_t;

// Consecutive ids [first, last) for a range-for: std::ranges::iota_view's job, written out
// because clang 14 cannot compile libstdc++ 12's <ranges> (the fuzz build uses clang 14).
template <class Id>
struct IdRange {
  struct iterator {
    Id id;
    Id operator*() const { return id; }
    iterator& operator++() {
      ++id;
      return *this;
    }
    bool operator==(const iterator&) const = default;
  };
  Id first;
  Id last;
  iterator begin() const { return {first}; }
  iterator end() const { return {last}; }
  std::size_t size() const { return last - first; }
  bool empty() const { return first == last; }
};

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

// One flow of a transfer: `bytes` sent along `path` (each link once, each with capacity
// > 0), never faster than `max_rate_bytes_per_s` (0 = no cap). An empty path is allowed
// only with a cap or with 0 bytes (a local copy at a fixed rate, or a no-op).
struct FlowSpec {
  std::vector<LinkId> path;
  double bytes = 0;
  double max_rate_bytes_per_s = 0;
};

class TaskGraph {
 public:
  ProcessId add_process(std::string name);
  StreamId add_stream(ProcessId process, std::string name);
  // A link with `capacity_bytes_per_s` (finite, >= 0). A link of capacity 0 can only be
  // held exclusively (add_task); flows need capacity > 0.
  LinkId add_link(ProcessId owner, std::string name, double capacity_bytes_per_s = 0);

  // A task occupies every stream in `streams` (at least one) and every link in `links`
  // for `duration`. It may start once all its dependencies have finished, it is the
  // oldest unfinished task on each of its streams, and all its links are free.
  // `host_issue` (>= 0): a host must first issue the task, and it issues each stream's
  // tasks in order, one after the other, never waiting for them to run: the task may not
  // start before the sum of the host_issue of its stream's tasks up to and including it
  // (the latest such sum over its streams). The exact equivalent of a host stream whose
  // k-th task (lasting host_issue) precedes the k-th task of the stream, without the tasks.
  TaskId add_task(std::span<const StreamId> streams, std::span<const LinkId> links,
                  Time duration, std::uint32_t tag, Time host_issue = Time::zero());
  TaskId add_task(StreamId stream, Time duration, std::uint32_t tag, Time host_issue = Time::zero()) {
    return add_task(std::span<const StreamId>(&stream, 1), {}, duration, tag, host_issue);
  }
  // A transfer occupies every stream in `streams` (at least one) and starts under the same
  // rules as any task (it holds no exclusive link). On start all its flows begin at once;
  // it ends `latency` after its last flow has delivered its last byte, so with no flows
  // or only 0-byte flows it takes exactly `latency`. Throws std::invalid_argument for a
  // bad FlowSpec (a link without capacity, a repeated link, bytes or cap negative or not
  // finite) and std::out_of_range for unknown ids; the graph is unchanged on throw.
  TaskId add_transfer(std::span<const StreamId> streams, std::span<const FlowSpec> flows,
                      Time latency, std::uint32_t tag);
  TaskId add_transfer(StreamId stream, std::span<const FlowSpec> flows, Time latency,
                      std::uint32_t tag) {
    return add_transfer(std::span<const StreamId>(&stream, 1), flows, latency, tag);
  }
  void add_dependency(TaskId before, TaskId after);

  std::size_t num_processes() const { return processes_.size(); }
  std::size_t num_streams() const { return streams_.size(); }
  std::size_t num_links() const { return links_.size(); }
  std::size_t num_tasks() const { return task_record_.size(); }
  std::size_t num_dependencies() const { return dep_before_.size(); }
  std::size_t num_flows() const { return flow_spec_.size(); }

  const Process& process(ProcessId id) const { return processes_.at(id); }
  const Stream& stream(StreamId id) const { return streams_.at(id); }
  const Link& link(LinkId id) const { return links_.at(id); }
  double capacity_bytes_per_s(LinkId id) const { return link_capacity_.at(id); }
  // A task's fixed duration; for a transfer, its latency (the time its flows take is
  // known only once simulated: Timeline::end - Timeline::start).
  Time duration(TaskId task) const { return records_[task_record_[task]].duration; }
  // The host issue cost of a task (add_task); zero for transfers.
  Time host_issue(TaskId task) const { return records_[task_record_[task]].host_issue; }
  bool has_host_issue() const { return has_host_issue_; }  // some task has a host issue cost
  bool is_transfer(TaskId task) const { return records_[task_record_[task]].transfer; }
  std::uint32_t tag(TaskId task) const { return records_[task_record_[task]].tag; }
  // Distinct (duration, tag, kind) records the tasks share (see TaskRecord below).
  std::size_t num_task_records() const { return records_.size(); }
  std::span<const StreamId> streams_of(TaskId task) const;
  std::span<const LinkId> links_of(TaskId task) const;
  bool task_links_empty() const { return task_links_.empty(); }  // no task holds a link
  // A transfer's flows, as a range of consecutive ids (empty for other tasks).
  IdRange<FlowId> flows_of(TaskId task) const { return {flow_offsets_[task], flow_offsets_[task + 1]}; }
  // The transfer carrying `flow` (a binary search over the tasks' flow offsets).
  TaskId task_of(FlowId flow) const;
  double flow_bytes(FlowId flow) const { return spec_bytes_[flow_spec_[flow]]; }
  double flow_max_rate_bytes_per_s(FlowId flow) const { return spec_max_rate_[flow_spec_[flow]]; }
  std::span<const LinkId> path_of(FlowId flow) const {
    const auto begin = path_offsets_[flow];
    return {path_links_.data() + begin, path_offsets_[flow + 1] - begin};
  }
  // Whole arrays, for simulators: per link capacity; per flow the index of its (bytes, cap)
  // record and per record the cap (flow f's cap is flow_spec_max_rates()[flow_spec_ids()[f]]);
  // every path as path_links()[path_offsets()[f] .. path_offsets()[f + 1]).
  std::span<const double> link_capacities() const { return link_capacity_; }
  std::span<const std::uint32_t> flow_spec_ids() const { return flow_spec_; }
  std::span<const double> flow_spec_max_rates() const { return spec_max_rate_; }
  std::size_t num_flow_specs() const { return spec_bytes_.size(); }
  std::span<const std::uint32_t> path_offsets() const { return path_offsets_; }
  std::span<const LinkId> path_links() const { return path_links_; }
  // Dependencies in insertion order, as parallel arrays.
  std::span<const TaskId> dependency_sources() const { return dep_before_; }
  std::span<const TaskId> dependency_targets() const { return dep_after_; }

 private:
  std::vector<Process> processes_;
  std::vector<Stream> streams_;
  std::vector<Link> links_;
  std::vector<double> link_capacity_;
  // What a task does apart from where: its duration, tag and whether it is a transfer.
  // Every rank of a stage runs the same kernels, so a full-mode step's tens of millions of
  // tasks share a few thousand records: each task stores a 4-byte index into records_.
  struct TaskRecord {
    Time duration;
    Time host_issue;
    std::uint32_t tag = 0;
    bool transfer = false;
    bool operator==(const TaskRecord&) const = default;
  };
  bool has_host_issue_ = false;
  // Interning looks in a small direct-mapped cache (hash -> record) only: the ranks of a
  // stage add the same task one after the other, so it finds nearly every repeat, and a
  // graph of all-different tasks pays 4 bytes per task, never a hash-table node.
  static constexpr std::size_t kCacheSize = 1024;  // entries of each interning cache
  static constexpr std::uint32_t kEmpty = ~std::uint32_t{0};
  static std::size_t cache_slot(std::uint64_t a, std::uint64_t b) {
    return static_cast<std::size_t>(((a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full)) >> 54) % kCacheSize;
  }
  std::uint32_t intern(const TaskRecord& record) {
    if (record_cache_.empty()) record_cache_.assign(kCacheSize, kEmpty);
    auto& cached = record_cache_[cache_slot(static_cast<std::uint64_t>(record.duration.count_ns()) ^
                                                (static_cast<std::uint64_t>(record.host_issue.count_ns()) << 17),
                                            (std::uint64_t{record.tag} << 1) | std::uint64_t{record.transfer})];
    if (cached == kEmpty || !(records_[cached] == record)) cached = add_record(record);
    return cached;
  }
  std::uint32_t add_record(const TaskRecord& record);
  std::vector<TaskRecord> records_;
  std::vector<std::uint32_t> record_cache_;
  std::vector<std::uint32_t> task_record_;  // per task
  // Per task, its streams and links as ranges in flat arrays (offsets_[t]..offsets_[t+1]).
  std::vector<std::uint32_t> stream_offsets_{0};
  std::vector<StreamId> task_streams_;
  // Empty until some task holds a link (then one entry per task + 1): a lowered step has
  // tens of millions of tasks and none holds a link.
  std::vector<std::uint32_t> link_offsets_;
  std::vector<LinkId> task_links_;
  // Per task, its flows (flow_offsets_[t]..flow_offsets_[t+1]); per flow, its path.
  std::vector<FlowId> flow_offsets_{0};
  // Per flow an index into the distinct (bytes, cap) pairs: a collective's flows (one per
  // member and direction) all carry the same bytes at the same cap.
  std::vector<std::uint32_t> flow_spec_;
  std::vector<double> spec_bytes_;
  std::vector<double> spec_max_rate_;
  std::vector<std::uint32_t> spec_cache_;  // direct-mapped, as record_cache_
  // Two specs are the same when their doubles have the same bit patterns (so 0.0 and -0.0
  // stay apart and each flow reads back exactly what it was given).
  std::uint32_t intern_spec(double bytes, double max_rate) {
    const auto b = std::bit_cast<std::uint64_t>(bytes);
    const auto r = std::bit_cast<std::uint64_t>(max_rate);
    if (spec_cache_.empty()) spec_cache_.assign(kCacheSize, kEmpty);
    auto& cached = spec_cache_[cache_slot(b, r)];
    if (cached == kEmpty || std::bit_cast<std::uint64_t>(spec_bytes_[cached]) != b ||
        std::bit_cast<std::uint64_t>(spec_max_rate_[cached]) != r) {
      cached = add_spec(bytes, max_rate);
    }
    return cached;
  }
  std::uint32_t add_spec(double bytes, double max_rate);
  std::vector<std::uint32_t> path_offsets_{0};
  std::vector<LinkId> path_links_;
  std::vector<TaskId> dep_before_;
  std::vector<TaskId> dep_after_;
};

}  // namespace ptsim::sim

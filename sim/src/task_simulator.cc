#include "ptsim/sim/task_simulator.h"

#include <algorithm>
#include <limits>
#include <string>

#include "ptsim/sim/engine.h"

namespace ptsim::sim {
namespace {

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
constexpr std::int32_t kCompletionPriority = 0;

enum class TaskState : std::uint8_t { pending, running, done };

// All run-time state of one simulation, in contiguous arrays indexed by id.
class Runner {
 public:
  explicit Runner(const TaskGraph& graph) : g_(graph) {
    const std::size_t n = g_.num_tasks();
    remaining_deps_.assign(n, 0);
    state_.assign(n, TaskState::pending);
    waiting_on_.assign(n, kNone);
    timeline_.start.assign(n, Time::zero());
    timeline_.end.assign(n, Time::zero());
    timeline_.stream_busy.assign(g_.num_streams(), Time::zero());

    // Successor lists in CSR form, in dependency insertion order.
    const auto sources = g_.dependency_sources();
    const auto targets = g_.dependency_targets();
    succ_offsets_.assign(n + 1, 0);
    for (TaskId s : sources) ++succ_offsets_[s + 1];
    for (std::size_t i = 0; i < n; ++i) succ_offsets_[i + 1] += succ_offsets_[i];
    successors_.resize(sources.size());
    std::vector<std::uint32_t> fill(succ_offsets_.begin(), succ_offsets_.end() - 1);
    for (std::size_t e = 0; e < sources.size(); ++e) {
      successors_[fill[sources[e]]++] = targets[e];
      ++remaining_deps_[targets[e]];
    }

    // Per-stream queues in issue order.
    stream_offsets_.assign(g_.num_streams() + 1, 0);
    for (TaskId t = 0; t < n; ++t) {
      for (StreamId s : g_.streams_of(t)) ++stream_offsets_[s + 1];
    }
    for (std::size_t i = 0; i < g_.num_streams(); ++i) stream_offsets_[i + 1] += stream_offsets_[i];
    stream_tasks_.resize(stream_offsets_.back());
    stream_cursor_.assign(stream_offsets_.begin(), stream_offsets_.end() - 1);
    std::vector<std::uint32_t> sfill = stream_cursor_;
    for (TaskId t = 0; t < n; ++t) {
      for (StreamId s : g_.streams_of(t)) stream_tasks_[sfill[s]++] = t;
    }

    link_holder_.assign(g_.num_links(), kNone);
    link_waiters_.resize(g_.num_links());
  }

  Timeline run() {
    for (TaskId t = 0; t < g_.num_tasks(); ++t) try_start(t);
    engine_.run();
    timeline_.events = engine_.events_processed();
    if (finished_ != g_.num_tasks()) report_deadlock();
    return std::move(timeline_);
  }

 private:
  bool is_stream_head(StreamId s, TaskId t) const {
    const auto cursor = stream_cursor_[s];
    return cursor < stream_offsets_[s + 1] && stream_tasks_[cursor] == t;
  }

  void try_start(TaskId t) {
    if (state_[t] != TaskState::pending || remaining_deps_[t] != 0) return;
    for (StreamId s : g_.streams_of(t)) {
      if (!is_stream_head(s, t)) return;
    }
    for (LinkId l : g_.links_of(t)) {
      if (link_holder_[l] != kNone) {
        if (waiting_on_[t] != l) {
          waiting_on_[t] = l;
          link_waiters_[l].push_back(t);
        }
        return;
      }
    }
    waiting_on_[t] = kNone;
    for (LinkId l : g_.links_of(t)) link_holder_[l] = t;
    state_[t] = TaskState::running;
    const Time now = engine_.now();
    timeline_.start[t] = now;
    engine_.schedule_at(now + g_.duration(t), kCompletionPriority, [this, t] { complete(t); });
  }

  void complete(TaskId t) {
    const Time now = engine_.now();
    state_[t] = TaskState::done;
    timeline_.end[t] = now;
    timeline_.makespan = std::max(timeline_.makespan, now);
    ++finished_;

    for (StreamId s : g_.streams_of(t)) {
      timeline_.stream_busy[s] += g_.duration(t);
      ++stream_cursor_[s];
    }
    for (auto e = succ_offsets_[t]; e < succ_offsets_[t + 1]; ++e) --remaining_deps_[successors_[e]];

    // Tasks that waited for a freed link go first, in the order they began waiting.
    for (LinkId l : g_.links_of(t)) {
      link_holder_[l] = kNone;
      std::vector<TaskId> waiters;
      waiters.swap(link_waiters_[l]);
      for (TaskId w : waiters) {
        if (waiting_on_[w] == l) waiting_on_[w] = kNone;
        try_start(w);
      }
    }
    for (StreamId s : g_.streams_of(t)) {
      const auto cursor = stream_cursor_[s];
      if (cursor < stream_offsets_[s + 1]) try_start(stream_tasks_[cursor]);
    }
    for (auto e = succ_offsets_[t]; e < succ_offsets_[t + 1]; ++e) try_start(successors_[e]);
  }

  [[noreturn]] void report_deadlock() const {
    // Name the first unfinished task that is not waiting only for another unfinished
    // dependency: the head of a stream, which is where the wait cycle shows.
    TaskId stuck = kNone;
    for (TaskId t = 0; t < g_.num_tasks() && stuck == kNone; ++t) {
      if (state_[t] != TaskState::done) stuck = t;
    }
    std::string why;
    if (remaining_deps_[stuck] != 0) {
      why = std::to_string(remaining_deps_[stuck]) + " dependencies never finished";
    } else {
      for (StreamId s : g_.streams_of(stuck)) {
        if (!is_stream_head(s, stuck)) {
          why = "stream '" + g_.stream(s).name + "' of process '" +
                g_.process(g_.stream(s).process).name + "' is blocked by an earlier task";
          break;
        }
      }
    }
    throw DeadlockError(stuck, g_.num_tasks() - finished_,
                        "task graph deadlocked: " + std::to_string(g_.num_tasks() - finished_) +
                            " of " + std::to_string(g_.num_tasks()) + " tasks never ran; task " +
                            std::to_string(stuck) + " is stuck: " + why);
  }

  const TaskGraph& g_;
  Engine engine_;
  Timeline timeline_;
  std::vector<std::uint32_t> remaining_deps_;
  std::vector<TaskState> state_;
  std::vector<LinkId> waiting_on_;
  std::vector<std::uint32_t> succ_offsets_;
  std::vector<TaskId> successors_;
  std::vector<std::uint32_t> stream_offsets_;
  std::vector<TaskId> stream_tasks_;
  std::vector<std::uint32_t> stream_cursor_;
  std::vector<TaskId> link_holder_;
  std::vector<std::vector<TaskId>> link_waiters_;
  std::size_t finished_ = 0;
};

}  // namespace

Timeline simulate(const TaskGraph& graph) { return Runner(graph).run(); }

}  // namespace ptsim::sim

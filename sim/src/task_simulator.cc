#include "ptsim/sim/task_simulator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "completion_heap.h"
#include "flow_slots.h"
#include "ptsim/sim/engine.h"

namespace ptsim::sim {
namespace {

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
constexpr std::int32_t kCompletionPriority = 0;
// Rates are recomputed after every completion and start at the same instant, so flows
// that start or end together are handled in one batch.
constexpr std::int32_t kRecomputePriority = 1;

enum class TaskState : std::uint8_t { pending, running, done };

// All run-time state of one simulation, in contiguous arrays indexed by id.
class Runner {
 public:
  Runner(const TaskGraph& graph, SharingPolicy policy)
      : g_(graph) {
    const std::size_t n = g_.num_tasks();
    remaining_deps_.assign(n, 0);
    state_.assign(n, TaskState::pending);
    // Only tasks that hold links can wait for one (none do in a lowered step).
    if (!g_.task_links_empty()) waiting_on_.assign(n, kNone);
    timeline_.start.assign(n, Time::zero());
    timeline_.end.assign(n, Time::zero());
    timeline_.stream_busy.assign(g_.num_streams(), Time::zero());
    timeline_.flow_end.assign(g_.num_flows(), Time::zero());
    timeline_.link_bytes.assign(g_.num_links(), 0.0);
    if (g_.num_flows() > 0) {
      sharing_ = make_bandwidth_sharing(policy, FlowNetwork::of(g_));
    }

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
    if (g_.has_host_issue()) {
      host_clock_.assign(g_.num_streams(), Time::zero());
      host_wait_armed_.assign(g_.num_streams(), 0);
    }
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
    if (!host_clock_.empty() && !issued(t)) return;
    const auto links = g_.links_of(t);
    for (LinkId l : links) {
      if (link_holder_[l] != kNone) {
        if (waiting_on_[t] != l) {
          waiting_on_[t] = l;
          link_waiters_[l].push_back(t);
        }
        return;
      }
    }
    if (!links.empty()) waiting_on_[t] = kNone;
    for (LinkId l : links) link_holder_[l] = t;
    state_[t] = TaskState::running;
    const Time now = engine_.now();
    timeline_.start[t] = now;
    if (!host_clock_.empty()) {
      for (StreamId s : g_.streams_of(t)) host_clock_[s] += g_.host_issue(t);
    }
    if (g_.is_transfer(t) && start_flows(t)) return;
    schedule_completion(t);
  }

  // Whether the host has issued stream head `t` by now (task_graph.h, add_task): its issue
  // time is its streams' host clocks (the issue costs of the tasks before it) plus its own
  // cost. If not, one wake-up per stream retries it at the issue time.
  bool issued(TaskId t) {
    const Time cost = g_.host_issue(t);
    if (cost == Time::zero()) return true;
    Time at;
    for (StreamId s : g_.streams_of(t)) at = std::max(at, host_clock_[s] + cost);
    if (at <= engine_.now()) return true;
    const StreamId first = g_.streams_of(t).front();
    if (!host_wait_armed_[first]) {
      host_wait_armed_[first] = 1;
      engine_.schedule_at(at, kCompletionPriority, [this, t, first] {
        host_wait_armed_[first] = 0;
        try_start(t);
      });
    }
    return false;
  }

  void schedule_completion(TaskId t) {
    engine_.schedule_at(engine_.now() + g_.duration(t), kCompletionPriority, [this, t] { complete(t); });
  }

  // Activates the transfer's flows that have bytes to send; false when there are none.
  bool start_flows(TaskId t) {
    const Time now = engine_.now();
    std::uint32_t left = 0;
    for (FlowId f : g_.flows_of(t)) {
      if (g_.flow_bytes(f) > 0) {
        const std::uint32_t slot = slots_.insert(f);
        if (slot == remaining_bytes_.size()) {
          remaining_bytes_.push_back(0);
          rate_.push_back(0);
          rate_since_.push_back(Time::zero());
          slot_task_.push_back(0);
        }
        slot_task_[slot] = t;
        remaining_bytes_[slot] = g_.flow_bytes(f);
        rate_[slot] = 0;
        rate_since_[slot] = now;
        sharing_->add_flow(f);
        ++left;
      } else {
        timeline_.flow_end[f] = now;
      }
    }
    if (left == 0) return false;
    remaining_deps_[t] = left;  // a running task has no dependencies left: its flows still sending
    request_recompute();
    return true;
  }

  void request_recompute() {
    if (recompute_pending_) return;
    recompute_pending_ = true;
    engine_.schedule_at(engine_.now(), kRecomputePriority, [this] { recompute_rates(); });
  }

  // Applies the sharing model's new rates: bytes sent at the old rate are accounted up to
  // now, and each flow's completion moves to now + remaining / rate (rounded up to 1 ns).
  void recompute_rates() {
    recompute_pending_ = false;
    sharing_->recompute(changed_);
    const Time now = engine_.now();
    const auto rates = sharing_->changed_rates();
    for (std::size_t i = 0; i < changed_.size(); ++i) {
      const FlowId id = changed_[i];
      const std::uint32_t f = slots_.find(id);
      if (rate_[f] > 0) {
        const double elapsed_s = static_cast<double>((now - rate_since_[f]).count_ns()) / 1e9;
        remaining_bytes_[f] = std::max(0.0, remaining_bytes_[f] - rate_[f] * elapsed_s);
      }
      rate_since_[f] = now;
      rate_[f] = rates[i];
      if (rate_[f] > 0) {
        completions_.set(f, id, now + time_to_send(remaining_bytes_[f], rate_[f], now));
      } else {
        completions_.erase(f);
      }
    }
    arm_wakeup();
  }

  static Time time_to_send(double bytes, double rate, Time now) {
    const double ns = std::ceil(bytes * 1e9 / rate);
    // 2^63 as a double; anything at or past it does not fit a Time.
    constexpr double kLimit = 9223372036854775808.0;
    if (!(ns < kLimit - static_cast<double>(now.count_ns()))) {
      throw std::out_of_range("simulate: a flow would end beyond the largest representable time");
    }
    return Time::ns(static_cast<std::int64_t>(ns));
  }

  // One engine event stands for the earliest flow completion. Moving it earlier schedules
  // a new event and leaves the old one stale (its version no longer matches); moving it
  // later lets the early event fire, find nothing due, and re-arm.
  void arm_wakeup() {
    if (completions_.empty()) return;
    const Time at = completions_.top_time();
    if (wakeup_armed_ && wakeup_at_ <= at) return;
    wakeup_armed_ = true;
    wakeup_at_ = at;
    const std::uint64_t version = ++wakeup_version_;
    engine_.schedule_at(at, kCompletionPriority, [this, version] { wake_up(version); });
  }

  void wake_up(std::uint64_t version) {
    if (version != wakeup_version_) return;
    wakeup_armed_ = false;
    const Time now = engine_.now();
    bool finished_any = false;
    while (!completions_.empty() && completions_.top_time() <= now) {
      const std::uint32_t slot = completions_.top();
      completions_.pop();
      finish_flow(slot);
      finished_any = true;
    }
    if (finished_any) request_recompute();
    arm_wakeup();
  }

  void finish_flow(std::uint32_t slot) {
    const FlowId f = slots_.flow(slot);
    slots_.erase(f);  // done by definition: rounding may have left a crumb of bytes
    timeline_.flow_end[f] = engine_.now();
    for (LinkId l : g_.path_of(f)) timeline_.link_bytes[l] += g_.flow_bytes(f);
    sharing_->remove_flow(f);
    if (--remaining_deps_[slot_task_[slot]] == 0) schedule_completion(slot_task_[slot]);
  }

  void complete(TaskId t) {
    const Time now = engine_.now();
    state_[t] = TaskState::done;
    timeline_.end[t] = now;
    timeline_.makespan = std::max(timeline_.makespan, now);
    ++finished_;

    for (StreamId s : g_.streams_of(t)) {
      timeline_.stream_busy[s] += now - timeline_.start[t];
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
  // Per task: dependencies not yet finished while pending; a running transfer's flows still
  // sending (one array for both keeps 4 bytes per task).
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
  // Host issue (only when some task has a cost): per stream, the issue costs of the tasks
  // that have started, and whether a wake-up for its head's issue time is pending.
  std::vector<Time> host_clock_;
  std::vector<std::uint8_t> host_wait_armed_;

  // Transfers: allocated only when the graph has flows.
  std::unique_ptr<BandwidthSharing> sharing_;
  // Per slot (flows that are sending, flow_slots.h):
  detail::FlowSlots slots_;
  std::vector<double> remaining_bytes_;    // as of rate_since_
  std::vector<double> rate_;               // bytes/s
  std::vector<Time> rate_since_;           // when rate_ took effect
  std::vector<TaskId> slot_task_;          // the transfer it belongs to
  std::vector<FlowId> changed_;
  detail::CompletionHeap completions_;
  bool recompute_pending_ = false;
  bool wakeup_armed_ = false;
  Time wakeup_at_;
  std::uint64_t wakeup_version_ = 0;
};

}  // namespace

Timeline simulate(const TaskGraph& graph, SharingPolicy sharing) {
  return Runner(graph, sharing).run();
}

}  // namespace ptsim::sim

// Runs a TaskGraph on an Engine and records the Timeline: when every task started and
// ended, how long each stream was busy, and the makespan. Links are held exclusively by
// one task at a time; tasks waiting for a link get it in the order they started waiting.
// Transfer flows share link capacity under the chosen SharingPolicy (bandwidth_sharing.h);
// exclusive holding and flows are independent (a held link still carries flows).
// A graph whose tasks cannot all finish (a dependency cycle, or streams that wait on each
// other) is reported as a DeadlockError naming a stuck task, never as a hang.
// Memory: per task its timeline (start, end) and ~14 bytes of run-time state, 4 bytes per
// dependency; per flow only flow_end, plus run-time state (remaining bytes, rate, sharing
// model entries) in slots held while it sends and reused after (flow_slots.h).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "ptsim/sim/bandwidth_sharing.h"
#include "ptsim/sim/task_graph.h"
#include "ptsim/sim/time.h"

namespace ptsim::sim {

struct Timeline {
  std::vector<Time> start;         // per task
  std::vector<Time> end;           // per task
  std::vector<Time> stream_busy;   // per stream: total time a task ran on it
  std::vector<Time> flow_end;      // per flow: when its last byte arrived
  std::vector<double> link_bytes;  // per link: bytes carried by finished flows
  Time makespan;                   // latest task end (0 for an empty graph)
  std::uint64_t events = 0;        // engine events processed
};

class DeadlockError : public std::runtime_error {
 public:
  DeadlockError(TaskId stuck_task, std::size_t unfinished, const std::string& what)
      : std::runtime_error(what), stuck_task_(stuck_task), unfinished_(unfinished) {}
  TaskId stuck_task() const { return stuck_task_; }
  std::size_t unfinished() const { return unfinished_; }

 private:
  TaskId stuck_task_;
  std::size_t unfinished_;
};

// Throws DeadlockError, or std::out_of_range when a flow would end beyond Time::max().
Timeline simulate(const TaskGraph& graph, SharingPolicy sharing = SharingPolicy::max_min);

}  // namespace ptsim::sim

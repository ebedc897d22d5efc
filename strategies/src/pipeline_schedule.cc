#include "ptsim/strategies/pipeline_schedule.h"

#include <algorithm>
#include <cassert>

namespace ptsim::strategies {

std::vector<PipelineStep> stage_order(Schedule schedule, int stage, int num_stages,
                                      std::int64_t num_microbatches) {
  assert(stage >= 0 && stage < num_stages && num_microbatches >= 1);
  const std::int64_t m = num_microbatches;
  std::vector<PipelineStep> order;
  order.reserve(static_cast<std::size_t>(2 * m));
  switch (schedule) {
    case Schedule::sequential:
      for (std::int64_t j = 0; j < m; ++j) {
        order.push_back({j, Phase::forward});
        order.push_back({j, Phase::backward});
      }
      break;
    case Schedule::gpipe:
      for (std::int64_t j = 0; j < m; ++j) order.push_back({j, Phase::forward});
      for (std::int64_t j = 0; j < m; ++j) order.push_back({j, Phase::backward});
      break;
    case Schedule::one_f_one_b: {
      const std::int64_t warmup = std::min<std::int64_t>(num_stages - 1 - stage, m);
      for (std::int64_t j = 0; j < warmup; ++j) order.push_back({j, Phase::forward});
      for (std::int64_t j = 0; j < m - warmup; ++j) {
        order.push_back({warmup + j, Phase::forward});
        order.push_back({j, Phase::backward});
      }
      for (std::int64_t j = m - warmup; j < m; ++j) order.push_back({j, Phase::backward});
      break;
    }
  }
  return order;
}

void lower_pipeline(Schedule schedule, int num_stages, std::int64_t num_microbatches,
                    const PipelineHooks& hooks, sim::TaskGraph& graph) {
  const int p = num_stages;
  const std::int64_t m = num_microbatches;
  std::vector<std::vector<PipelineStep>> orders;
  for (int s = 0; s < p; ++s) orders.push_back(stage_order(schedule, s, p, m));

  // transfer[(s * m + j) * 2 + phase]: what stage s sends after its block (j, phase).
  constexpr sim::TaskId kNoTask = ~sim::TaskId{0};
  std::vector<sim::TaskId> transfer(static_cast<std::size_t>(p * m * 2), kNoTask);
  auto slot = [m](int s, std::int64_t j, Phase ph) {
    return static_cast<std::size_t>((s * m + j) * 2 + (ph == Phase::backward ? 1 : 0));
  };

  for (int s = 0; s < p; ++s) {
    for (const PipelineStep& step : orders[s]) {
      if (step.phase == Phase::forward && s + 1 < p) {
        transfer[slot(s, step.microbatch, step.phase)] =
            hooks.emit_transfer(s, s + 1, step.microbatch, step.phase);
      } else if (step.phase == Phase::backward && s > 0) {
        transfer[slot(s, step.microbatch, step.phase)] =
            hooks.emit_transfer(s, s - 1, step.microbatch, step.phase);
      }
    }
  }

  for (int s = 0; s < p; ++s) {
    sim::TaskId last_backward = kNoTask;
    sim::TaskId previous_block = kNoTask;
    for (const PipelineStep& step : orders[s]) {
      const BlockTasks block = hooks.emit_block(s, step.microbatch, step.phase);
      const bool fwd = step.phase == Phase::forward;
      // A stage runs its blocks in schedule order, including work on its other streams
      // (a block may end with a collective).
      if (previous_block != kNoTask) graph.add_dependency(previous_block, block.first);
      previous_block = block.last;
      // Input from the neighbouring stage.
      if (fwd && s > 0) graph.add_dependency(transfer[slot(s - 1, step.microbatch, step.phase)], block.first);
      if (!fwd && s + 1 < p) graph.add_dependency(transfer[slot(s + 1, step.microbatch, step.phase)], block.first);
      // Output to the neighbouring stage.
      const sim::TaskId out = transfer[slot(s, step.microbatch, step.phase)];
      if (out != kNoTask) graph.add_dependency(block.last, out);
      if (!fwd) last_backward = block.last;
    }
    assert(last_backward != kNoTask);
    hooks.emit_tail(s, last_backward);
  }
}

}  // namespace ptsim::strategies

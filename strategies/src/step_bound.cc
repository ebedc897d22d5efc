#include "ptsim/strategies/step_bound.h"

#include <algorithm>
#include <cstddef>

namespace ptsim::strategies {

sim::Time step_time_lower_bound(const Scenario& s, const std::vector<StagePlan>& stages) {
  using sim::Time;
  const auto p = static_cast<std::int64_t>(stages.size());
  const std::int64_t v = s.layout.virtual_stages;
  const std::int64_t m = s.num_microbatches();
  // Chunk 0 of stage j is virtual stage j: its layers, the embedding on stage 0 and, when
  // not interleaved, the LM head on the last stage.
  auto chunk_layers = [&](const StagePlan& st) { return v > 1 ? s.model.num_layers / (p * v) : st.num_layers; };
  auto chunk0_forward = [&](const StagePlan& st) {
    return st.layer_forward * chunk_layers(st) + st.embedding_forward + (v == 1 ? st.head_forward : Time::zero());
  };
  auto chunk0_backward = [&](const StagePlan& st) {
    return st.layer_backward * chunk_layers(st) + st.embedding_backward + (v == 1 ? st.head_backward : Time::zero());
  };
  // A block's lower bound: all of a stage's work for one micro-batch (every chunk).
  auto forward = [&](const StagePlan& st) { return st.layer_forward * st.num_layers + st.embedding_forward + st.head_forward; };
  auto backward = [&](const StagePlan& st) {
    return st.layer_backward * st.num_layers + st.embedding_backward + st.head_backward;
  };
  Time best;
  Time head;  // micro-batch 0's forward through stages 0..s-1 and their sends
  for (std::int64_t st = 0; st < p; ++st) {
    const StagePlan& plan = stages[static_cast<std::size_t>(st)];
    // Every stage's first block is micro-batch 0's forward of chunk 0, its last block the
    // last micro-batch's backward of chunk 0 (pipeline_schedule.h; step_bound_test checks).
    Time below;  // that backward through stages s-1..0 and the sends between them
    for (std::int64_t j = 0; j < st; ++j) {
      below += chunk0_backward(stages[static_cast<std::size_t>(j)]) + stages[static_cast<std::size_t>(j + 1)].send_backward;
    }
    const Time own_tail = plan.dp_all_reduce + plan.optimizer;
    // Under zb-h1 a stage's last block is a W pass, not the backward the chain below
    // continues from: only the stage's own tail follows its work.
    if (s.layout.schedule == Schedule::zb_h1) below = Time::zero();
    const Time bound = head + (forward(plan) + backward(plan)) * m + std::max(below, own_tail);
    best = std::max(best, bound);
    head += chunk0_forward(plan) + plan.send_forward;
  }
  if (s.layout.schedule == Schedule::sequential) {
    // One micro-batch in the pipeline at a time: stage 0 starts the next forward after
    // the previous backward came back through every stage.
    Time round_trip;
    for (const StagePlan& st : stages) round_trip += forward(st) + backward(st) + st.send_forward + st.send_backward;
    best = std::max(best, round_trip * m + stages.front().dp_all_reduce + stages.front().optimizer);
  }
  return best;
}

sim::Time step_time_lower_bound(const Scenario& scenario) {
  return step_time_lower_bound(scenario, plan_stages(scenario));
}

}  // namespace ptsim::strategies

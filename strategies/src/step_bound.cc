#include "ptsim/strategies/step_bound.h"

#include <algorithm>
#include <cstddef>

namespace ptsim::strategies {

sim::Time step_time_lower_bound(const Scenario& s, const std::vector<StagePlan>& stages) {
  using sim::Time;
  const auto p = static_cast<std::int64_t>(stages.size());
  const std::int64_t v = s.layout.virtual_stages;
  const std::int64_t m = s.num_microbatches();
  // ZeRO 3 (sharded over dp x cp > 1) gathers each layer's parameters on the FIFO dp-comm
  // stream, at most one layer ahead: in a block of n layers, each of the n - 1 layer
  // boundaries is at least the gather apart; in backward the previous layer's gradient
  // reduce-scatter sits before the gather on that stream, after the layer's backward.
  const bool zero3 = s.layout.zero_stage >= 3 && s.layout.dp * s.layout.cp > 1;
  auto layers_forward = [&](const StagePlan& st, std::int64_t n) {
    Time t = st.layer_forward_bound * n;
    if (zero3 && n > 1) t += std::max(Time::zero(), st.dp_layer_gather - st.layer_forward_bound) * (n - 1);
    return t;
  };
  auto layers_backward = [&](const StagePlan& st, std::int64_t n) {
    Time t = st.layer_backward_bound * n;
    if (zero3 && n > 1) t += (st.dp_layer_reduce + st.dp_layer_gather) * (n - 1);
    return t;
  };
  // Chunk 0 of stage j is virtual stage j: its layers, the embedding on stage 0 and, when
  // not interleaved, the LM head on the last stage.
  auto chunk_layers = [&](const StagePlan& st) { return v > 1 ? s.model.num_layers / (p * v) : st.num_layers; };
  auto chunk0_forward = [&](const StagePlan& st) {
    return layers_forward(st, chunk_layers(st)) + st.embedding_forward + (v == 1 ? st.head_forward : Time::zero());
  };
  auto chunk0_backward = [&](const StagePlan& st) {
    return layers_backward(st, chunk_layers(st)) + st.embedding_backward + (v == 1 ? st.head_backward : Time::zero());
  };
  // A stage's work for one micro-batch: v blocks (chunks) per phase.
  auto forward = [&](const StagePlan& st) {
    return layers_forward(st, chunk_layers(st)) * v + st.embedding_forward + st.head_forward;
  };
  auto backward = [&](const StagePlan& st) {
    return layers_backward(st, chunk_layers(st)) * v + st.embedding_backward + st.head_backward;
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
    // The stage's dp-comm stream runs its collectives one at a time: ZeRO 3 gathers every
    // layer before its forward and again before its backward and reduces its gradients
    // after each backward; overlap_grad_reduce reduces each layer once; then the tail.
    const std::int64_t layer_reductions = zero3 ? m * plan.num_layers
                                          : (s.layout.overlap_grad_reduce && s.layout.dp * s.layout.cp > 1 ? plan.num_layers : 0);
    const Time dp_stream = plan.dp_layer_gather * (zero3 ? 2 * m * plan.num_layers : 0) +
                           plan.dp_layer_reduce * layer_reductions + plan.dp_all_reduce;
    best = std::max(best, dp_stream);
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

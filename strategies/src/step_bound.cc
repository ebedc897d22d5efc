#include "ptsim/strategies/step_bound.h"

#include <algorithm>
#include <cstddef>

#include "ptsim/strategies/pipeline_schedule.h"

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
  // Without reshard_after_forward the backward keeps the forward's gathered parameters.
  const bool regather = zero3 && s.layout.reshard_after_forward;
  auto layers_forward = [&](const StagePlan& st, std::int64_t n) {
    Time t = st.layer_forward_bound * n;
    if (zero3 && n > 1) t += std::max(Time::zero(), st.dp_layer_gather - st.layer_forward_bound) * (n - 1);
    return t;
  };
  auto layers_backward = [&](const StagePlan& st, std::int64_t n) {
    Time t = st.layer_backward_bound * n;
    // (Without that gather nothing makes the backward wait for the reductions.)
    if (regather && n > 1) t += (st.dp_layer_reduce + st.dp_layer_gather) * (n - 1);
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
    // After s's last block that backward runs on through stages s-1..0 (with the sends
    // between them); stage j's last block is that backward, and j's tail (gradient
    // reduction, optimizer) follows it. The longest of those chains, or s's own tail.
    Time after = plan.dp_all_reduce + plan.optimizer;
    // Under zb-h1 a stage's last block is a W pass, not the backward the chain below
    // continues from: only the stage's own tail follows its work.
    if (s.layout.schedule != Schedule::zb_h1) {
      Time below;  // from the end of s's last block to the end of stage j's
      for (std::int64_t j = st - 1; j >= 0; --j) {
        const StagePlan& sj = stages[static_cast<std::size_t>(j)];
        below += stages[static_cast<std::size_t>(j + 1)].send_backward + chunk0_backward(sj);
        after = std::max(after, below + sj.dp_all_reduce + sj.optimizer);
      }
    }
    const Time bound = head + (forward(plan) + backward(plan)) * m + after;
    best = std::max(best, bound);
    // The stage's dp-comm stream runs its collectives one at a time: ZeRO 3 gathers every
    // layer before its forward (and again before its backward when it resharded after
    // the forward) and reduces its gradients after each backward; overlap_grad_reduce
    // reduces every layer once, in its chunk's last backward; then the tail.
    const std::int64_t gathers = zero3 ? (regather ? 2 : 1) * m : 0;
    std::int64_t reduced_layers = 0;  // per-layer reductions, in layers
    if (zero3) {
      reduced_layers = m * plan.num_layers;
    } else if (s.layout.overlap_grad_reduce && s.layout.dp * s.layout.cp > 1) {
      reduced_layers = plan.num_layers;
    }
    const Time dp_stream = plan.dp_layer_gather * (gathers * plan.num_layers) + plan.dp_layer_reduce * reduced_layers +
                           plan.dp_all_reduce;
    best = std::max(best, dp_stream);
    // Every port of the stage's representative carries at most its capacity: the bytes it
    // sends over the step, at that capacity, bound the step.
    StagePlan::PortLoad sent;
    sent.add(plan.microbatch_load, static_cast<double>(m));
    sent.add(plan.layers_gather_load, static_cast<double>(gathers));
    if (zero3) {
      sent.add(plan.layers_reduce_load, static_cast<double>(m));
    } else if (s.layout.overlap_grad_reduce) {
      sent.add(plan.layers_reduce_load);  // every layer of the stage, once
    }
    sent.add(plan.tail_load);
    // Every chunk-forward sends on but the last virtual stage's; every chunk-backward but
    // the first's.
    sent.add(plan.send_forward_load, static_cast<double>(m * v - (st == p - 1 ? m : 0)));
    sent.add(plan.send_backward_load, static_cast<double>(m * v - (st == 0 ? m : 0)));
    const double port_s = std::max({sent.nvlink_s, sent.network_s, sent.spine_s});
    // Less one part per million: the simulator's rates and byte counts are doubles.
    best = std::max(best, sim::Time::ns(static_cast<std::int64_t>(port_s * 1e9 * (1 - 1e-6))));
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

sim::Time pipeline_lower_bound(const Scenario& s, const std::vector<StagePlan>& stages) {
  using sim::Time;
  const bool zb = s.layout.schedule == Schedule::zb_h1;
  const int p = static_cast<int>(stages.size());
  const int v = static_cast<int>(s.layout.virtual_stages);
  const std::int64_t m = s.num_microbatches();
  const bool zero3 = s.layout.zero_stage >= 3 && s.layout.dp * s.layout.cp > 1;
  const bool regather = zero3 && s.layout.reshard_after_forward;
  // Blocks of stage st, chunk c (the same chains as step_time_lower_bound's).
  auto block = [&](int st, int c, Phase ph) {
    const StagePlan& plan = stages[static_cast<std::size_t>(st)];
    const std::int64_t n = v > 1 ? s.model.num_layers / (static_cast<std::int64_t>(p) * v) : plan.num_layers;
    const bool first = st == 0 && c == 0;
    const bool last = st == p - 1 && c == v - 1;
    Time t;
    if (ph == Phase::forward) {
      t = plan.layer_forward_bound * n;
      if (zero3 && n > 1) t += std::max(Time::zero(), plan.dp_layer_gather - plan.layer_forward_bound) * (n - 1);
      if (first) t += plan.embedding_forward;
      if (last) t += plan.head_forward;
    } else if (ph == Phase::weight) {  // zb-h1's W pass: the layers' weight-gradient GEMMs
      t = plan.layer_weight_grad_bound * n;
    } else {
      t = (zb ? plan.layer_input_grad_bound : plan.layer_backward_bound) * n;
      if (regather && !zb && n > 1) t += (plan.dp_layer_reduce + plan.dp_layer_gather) * (n - 1);
      if (first) t += plan.embedding_backward;
      if (last) t += plan.head_backward;
    }
    return t;
  };
  // With per-layer gradient reductions (ZeRO 3 after every micro-batch, overlap_grad_reduce
  // in each chunk's last one) the walk goes layer by layer and follows the stage's FIFO
  // dp-comm stream too (emit_block's order): each ZeRO 3 gather after the stream's previous
  // task and after the previous layer of its block started, the layer after its gather; each
  // reduction after its layer and the stream's previous task; the tail after both.
  const bool layered = zero3 || (s.layout.overlap_grad_reduce && s.layout.dp * s.layout.cp > 1);
  std::vector<Time> dp_free(static_cast<std::size_t>(p));  // end of the stage's last dp-comm task
  auto layered_block = [&](int st, int c, Phase ph, std::int64_t mb, Time start) {
    const StagePlan& plan = stages[static_cast<std::size_t>(st)];
    const std::int64_t n = v > 1 ? s.model.num_layers / (static_cast<std::int64_t>(p) * v) : plan.num_layers;
    const bool first = st == 0 && c == 0;
    const bool last = st == p - 1 && c == v - 1;
    const bool reduce = zero3 || mb == m - 1;
    Time& dp = dp_free[static_cast<std::size_t>(st)];
    Time t = start;
    Time gate;  // when the block's previous layer started (nothing before its first)
    auto gathered = [&](bool gathers) {  // when the layer may start
      if (!gathers) return t;
      dp = std::max(dp, gate) + plan.dp_layer_gather;
      return std::max(t, dp);
    };
    if (ph == Phase::forward) {
      if (first) t += plan.embedding_forward;
      for (std::int64_t i = 0; i < n; ++i) {
        gate = gathered(zero3);
        t = gate + plan.layer_forward_bound;
      }
      if (last) t += plan.head_forward;
    } else if (ph == Phase::weight) {
      for (std::int64_t i = 0; i < n; ++i) {
        t += plan.layer_weight_grad_bound;
        if (reduce) dp = std::max(dp, t) + plan.dp_layer_reduce;
      }
    } else {
      if (last) t += plan.head_backward;
      for (std::int64_t i = 0; i < n; ++i) {
        gate = gathered(regather);
        t = gate + (zb ? plan.layer_input_grad_bound : plan.layer_backward_bound);
        if (!zb && reduce) dp = std::max(dp, t) + plan.dp_layer_reduce;
      }
      if (first) t += plan.embedding_backward;
    }
    return t;
  };
  const int last_virtual = p * v - 1;
  // arrive[(k * m + j) * 2 + phase]: when virtual stage k's send after block (j, phase) has
  // arrived; -1 until known.
  std::vector<Time> arrive(static_cast<std::size_t>(static_cast<std::int64_t>(p) * v * m * 2), Time::ns(-1));
  auto slot = [&](int k, std::int64_t j, Phase ph) -> Time& {
    return arrive[static_cast<std::size_t>((k * m + j) * 2 + (ph == Phase::backward ? 1 : 0))];
  };
  std::vector<std::vector<PipelineStep>> orders;
  for (int st = 0; st < p; ++st) orders.push_back(stage_order(s.layout.schedule, st, p, m, v));
  std::vector<std::size_t> next(static_cast<std::size_t>(p), 0);
  std::vector<Time> stage_free(static_cast<std::size_t>(p));  // end of the stage's last block
  std::vector<Time> send_free(static_cast<std::size_t>(p));   // end of the stage's last send
  Time best;
  std::size_t remaining = 0;
  for (const auto& o : orders) remaining += o.size();
  while (remaining > 0) {
    bool progressed = false;
    for (int st = 0; st < p; ++st) {
      const auto& order = orders[static_cast<std::size_t>(st)];
      std::size_t& i = next[static_cast<std::size_t>(st)];
      for (; i < order.size(); ++i) {
        const PipelineStep& step = order[i];
        const int k = step.chunk * p + st;
        const bool fwd = step.phase == Phase::forward;
        if (step.phase == Phase::weight) {  // after the stage's previous block only; sends nothing
          Time& free = stage_free[static_cast<std::size_t>(st)];
          free = layered ? layered_block(st, step.chunk, step.phase, step.microbatch, free)
                         : free + block(st, step.chunk, step.phase);
          --remaining;
          progressed = true;
          continue;
        }
        Time start = stage_free[static_cast<std::size_t>(st)];
        if (fwd && k > 0) {
          const Time in = slot(k - 1, step.microbatch, step.phase);
          if (in < Time::zero()) break;  // not known yet: another stage first
          start = std::max(start, in);
        }
        if (!fwd && k < last_virtual) {
          const Time in = slot(k + 1, step.microbatch, step.phase);
          if (in < Time::zero()) break;
          start = std::max(start, in);
        }
        const Time end = layered ? layered_block(st, step.chunk, step.phase, step.microbatch, start)
                                 : start + block(st, step.chunk, step.phase);
        stage_free[static_cast<std::size_t>(st)] = end;
        const StagePlan& plan = stages[static_cast<std::size_t>(st)];
        if ((fwd && k < last_virtual) || (!fwd && k > 0)) {
          Time& pp = send_free[static_cast<std::size_t>(st)];
          pp = std::max(pp, end) + (fwd ? plan.send_forward : plan.send_backward);
          slot(k, step.microbatch, step.phase) = pp;
        }
        --remaining;
        progressed = true;
      }
    }
    if (!progressed) return Time::zero();  // cannot happen for a valid schedule; no bound then
  }
  for (int st = 0; st < p; ++st) {
    const StagePlan& plan = stages[static_cast<std::size_t>(st)];
    const Time tail = std::max(stage_free[static_cast<std::size_t>(st)], dp_free[static_cast<std::size_t>(st)]);
    best = std::max(best, tail + plan.dp_all_reduce + plan.optimizer);
  }
  return best;
}

Layout bound_plan_layout(const TransformerConfig& model, const Layout& layout) {
  Layout k = layout;
  if (k.schedule != Schedule::zb_h1) k.schedule = Schedule::one_f_one_b;
  if (k.zero_stage == 2) k.zero_stage = 1;
  // A stage's layers of each kind are counted from its first chunk's first layer, which
  // moves with v: only a model of one layer kind may stand v > 1 for all.
  const LayerKindCounts kinds = count_layer_kinds(model, 0, model.num_layers);
  if (kinds.dense == model.num_layers || kinds.moe == model.num_layers) {
    k.virtual_stages = std::min<std::int64_t>(k.virtual_stages, 2);
  }
  return k;
}

sim::Time step_time_lower_bound(const Scenario& scenario) {
  return step_time_lower_bound(scenario, plan_stages(scenario));
}

}  // namespace ptsim::strategies

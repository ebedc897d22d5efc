#include "ptsim/strategies/pipeline_schedule.h"

#include <algorithm>
#include <cassert>

namespace ptsim::strategies {

namespace {

// Megatron-LM's interleaved 1F1B (schedules.py): the k-th forward of a GPU runs chunk
// (k mod p v) / p of micro-batch (k / p v) p + k mod p; backwards visit chunks in reverse.
PipelineStep interleaved_step(std::int64_t k, Phase phase, int p, int v) {
  const std::int64_t group = static_cast<std::int64_t>(p) * v;
  int chunk = static_cast<int>((k % group) / p);
  if (phase == Phase::backward) chunk = v - 1 - chunk;
  return PipelineStep{(k / group) * p + k % p, phase, chunk};
}

std::int64_t interleaved_warmup(int stage, int p, std::int64_t m, int v) {
  return std::min<std::int64_t>(2 * (p - 1 - stage) + static_cast<std::int64_t>(v - 1) * p, m * v);
}

}  // namespace

std::int64_t chunks_in_flight(Schedule schedule, int stage, int num_stages, std::int64_t m, int v) {
  switch (schedule) {
    case Schedule::sequential: return 1;
    case Schedule::gpipe: return m;
    case Schedule::zb_h1: return std::min<std::int64_t>(num_stages, m);
    case Schedule::one_f_one_b:
      if (v == 1) return std::min<std::int64_t>(num_stages - stage, m);
      return std::min<std::int64_t>(interleaved_warmup(stage, num_stages, m, v) + 1, m * v);
  }
  return m;
}

std::vector<PipelineStep> stage_order(Schedule schedule, int stage, int num_stages,
                                      std::int64_t num_microbatches, int virtual_stages) {
  assert(stage >= 0 && stage < num_stages && num_microbatches >= 1 && virtual_stages >= 1);
  assert(virtual_stages == 1 || schedule == Schedule::one_f_one_b);
  if (schedule == Schedule::one_f_one_b && virtual_stages > 1) {
    const int p = num_stages, v = virtual_stages;
    const std::int64_t total = num_microbatches * v;
    const std::int64_t warmup = interleaved_warmup(stage, p, num_microbatches, v);
    std::vector<PipelineStep> order;
    order.reserve(static_cast<std::size_t>(2 * total));
    for (std::int64_t k = 0; k < warmup; ++k) order.push_back(interleaved_step(k, Phase::forward, p, v));
    for (std::int64_t i = 0; i < total - warmup; ++i) {
      order.push_back(interleaved_step(warmup + i, Phase::forward, p, v));
      order.push_back(interleaved_step(i, Phase::backward, p, v));
    }
    for (std::int64_t k = total - warmup; k < total; ++k) order.push_back(interleaved_step(k, Phase::backward, p, v));
    return order;
  }
  const std::int64_t m = num_microbatches;
  std::vector<PipelineStep> order;
  order.reserve(static_cast<std::size_t>(3 * m));
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
    case Schedule::zb_h1: {
      // 1F1B's F/B order; W of micro-batch j - stage follows B of micro-batch j.
      const std::int64_t warmup = std::min<std::int64_t>(num_stages - 1 - stage, m);
      std::int64_t next_w = 0;
      auto after_b = [&](std::int64_t j) {
        for (; next_w <= j - stage; ++next_w) order.push_back({next_w, Phase::weight});
      };
      for (std::int64_t j = 0; j < warmup; ++j) order.push_back({j, Phase::forward});
      for (std::int64_t j = 0; j < m - warmup; ++j) {
        order.push_back({warmup + j, Phase::forward});
        order.push_back({j, Phase::backward});
        after_b(j);
      }
      for (std::int64_t j = m - warmup; j < m; ++j) {
        order.push_back({j, Phase::backward});
        after_b(j);
      }
      for (; next_w < m; ++next_w) order.push_back({next_w, Phase::weight});
      break;
    }
  }
  return order;
}

double peak_activation_bytes(const std::vector<PipelineStep>& order, double held_after_forward,
                             double held_after_backward) {
  const bool has_w = std::any_of(order.begin(), order.end(), [](const PipelineStep& s) { return s.phase == Phase::weight; });
  std::int64_t until_b = 0, until_w = 0;
  double peak = 0;
  for (const PipelineStep& step : order) {
    switch (step.phase) {
      case Phase::forward: ++until_b; break;
      case Phase::backward:
        --until_b;
        if (has_w) ++until_w;
        break;
      case Phase::weight: --until_w; break;
    }
    peak = std::max(peak, static_cast<double>(until_b) * held_after_forward + static_cast<double>(until_w) * held_after_backward);
  }
  return peak;
}

void lower_pipeline(Schedule schedule, int num_stages, std::int64_t num_microbatches,
                    const PipelineHooks& hooks, sim::TaskGraph& graph, int virtual_stages) {
  const int p = num_stages;
  const int v = virtual_stages;
  const std::int64_t m = num_microbatches;
  const auto lanes = static_cast<std::size_t>(hooks.lanes);
  const int last_virtual = p * v - 1;
  std::vector<std::vector<PipelineStep>> orders;
  for (int s = 0; s < p; ++s) orders.push_back(stage_order(schedule, s, p, m, v));
  const Phase last_phase = schedule == Schedule::zb_h1 ? Phase::weight : Phase::backward;

  // transfer[((k * m + j) * 2 + phase) * lanes + lane]: what virtual stage k = chunk * p +
  // stage sends after its block (j, phase): forward to k + 1, backward to k - 1.
  constexpr sim::TaskId kNoTask = ~sim::TaskId{0};
  std::vector<sim::TaskId> transfer(static_cast<std::size_t>(static_cast<std::int64_t>(p) * v * m * 2) * lanes, kNoTask);
  auto slot = [m, lanes, &transfer](int k, std::int64_t j, Phase ph) {
    const auto at = static_cast<std::size_t>((k * m + j) * 2 + (ph == Phase::backward ? 1 : 0)) * lanes;
    return std::span<sim::TaskId>(transfer.data() + at, lanes);
  };
  auto virtual_of = [p](int stage, int chunk) { return chunk * p + stage; };
  // Lane-wise dependencies; a task shared by several lanes (a collective) gets one edge
  // per distinct pair.
  auto depend = [&graph, lanes](std::span<const sim::TaskId> before, std::span<const sim::TaskId> after) {
    for (std::size_t r = 0; r < lanes; ++r) {
      if (r > 0 && before[r] == before[r - 1] && after[r] == after[r - 1]) continue;
      graph.add_dependency(before[r], after[r]);
    }
  };

  for (int s = 0; s < p; ++s) {
    for (const PipelineStep& step : orders[s]) {
      const int k = virtual_of(s, step.chunk);
      if (step.phase == Phase::forward && k < last_virtual) {
        hooks.emit_transfer(s, (k + 1) % p, step.microbatch, step.phase, slot(k, step.microbatch, step.phase));
      } else if (step.phase == Phase::backward && k > 0) {
        hooks.emit_transfer(s, (k - 1) % p, step.microbatch, step.phase, slot(k, step.microbatch, step.phase));
      }
    }
  }

  // Transfers are synchronous, as Megatron's p2p exchange is (p2p_communication.py: the
  // batched isend/irecv is waited on, and NCCL's send and receive kernels run only when
  // both ends have reached the exchange). A stage exchanges after every block (interleaved:
  // after each warm-up forward, each steady-state forward-backward pair and each cool-down
  // backward, as schedules.py calls send_forward_backward_recv_forward_backward once per
  // pair). A transfer starts once the sender has reached the exchange after the block it
  // sends from and the receiver the exchange at which it posts the receive, the latest
  // before the consuming block; the block after an exchange waits for its transfers.
  // GPipe, sequential and ZB-H1 transfers are asynchronous (copy streams, or receives
  // posted ahead as ZB-H1's W passes need to fill the drain): a transfer starts when its
  // block ends and only the consuming block waits for it.
  const bool synchronous = schedule == Schedule::one_f_one_b;
  for (int s = 0; s < p; ++s) {
    const std::int64_t total = m * v;
    const std::int64_t warmup = v > 1 ? interleaved_warmup(s, p, m, v) : 0;
    std::vector<sim::TaskId> last_backward;
    // The stage's last two blocks. A block that is not followed by an exchange (a
    // steady-state interleaved forward) always follows one that is, so the last exchange
    // came after `previous` or, failing that, after `before_previous`.
    BlockTasks previous, before_previous;
    bool exchange_after_previous = false;
    std::vector<std::span<const sim::TaskId>> outgoing;   // sends waiting for the next exchange
    std::vector<std::span<const sim::TaskId>> exchanged;  // the last exchange's sends (synchronous)
    const auto& order = orders[s];
    for (std::size_t idx = 0; idx < order.size(); ++idx) {
      const PipelineStep& step = order[idx];
      BlockTasks block = hooks.emit_block(s, step.chunk, step.microbatch, step.phase);
      assert(block.first.size() == lanes && block.last.size() == lanes);
      const bool fwd = step.phase == Phase::forward;
      const bool bwd = step.phase == Phase::backward;
      const int k = virtual_of(s, step.chunk);
      // A stage runs its blocks in schedule order, including work on its other streams
      // (a block may end with a collective), each after the exchange before it.
      if (!previous.last.empty()) depend(previous.last, block.first);
      for (const auto sent : exchanged) depend(sent, block.first);
      exchanged.clear();
      // Input from the neighbouring virtual stage, received at the last exchange; the
      // block after that exchange waits for it too (the exchange completes as a whole).
      std::span<const sim::TaskId> input;
      if (fwd && k > 0) input = slot(k - 1, step.microbatch, step.phase);
      if (bwd && k < last_virtual) input = slot(k + 1, step.microbatch, step.phase);
      if (!input.empty()) {
        depend(input, block.first);
        if (synchronous && !previous.last.empty()) {
          if (exchange_after_previous) {
            depend(previous.last, input);
          } else {
            assert(!before_previous.last.empty());
            depend(before_previous.last, input);
            depend(input, previous.first);
          }
        }
      }
      // Output to the neighbouring virtual stage (a W pass sends nothing).
      if (step.phase != Phase::weight) {
        const auto out = slot(k, step.microbatch, step.phase);
        if (out[0] != kNoTask) outgoing.push_back(out);
      }
      const auto i = static_cast<std::int64_t>(idx);
      const bool steady_forward = v > 1 && fwd && i >= warmup && i < 2 * total - warmup && (i - warmup) % 2 == 0;
      const bool exchange_here = !synchronous || !steady_forward;
      if (exchange_here) {
        for (const auto out : outgoing) depend(block.last, out);
        if (synchronous) exchanged.swap(outgoing);
        outgoing.clear();
      }
      if (step.phase == last_phase) last_backward = block.last;
      before_previous = std::move(previous);
      previous = std::move(block);
      exchange_after_previous = exchange_here;
    }
    assert(!last_backward.empty());
    hooks.emit_tail(s, last_backward);
  }
}

}  // namespace ptsim::strategies

#include "ptsim/strategies/step_lowering.h"

#include <array>
#include <optional>
#include <string>

#include "ptsim/costmodel/collective_cost.h"
#include "ptsim/costmodel/op_cost.h"
#include "ptsim/strategies/pipeline_schedule.h"
#include "ptsim/strategies/rank_grid.h"
#include "ptsim/strategies/transformer_ops.h"

namespace ptsim::strategies {
namespace {

using costmodel::Collective;
using sim::Time;

// An op with its duration resolved for this scenario.
struct TimedOp {
  OpId op;
  bool is_tp_collective;
  Time duration;
};

struct Ports {
  std::array<sim::LinkId, 2> nvlink;   // tx, rx
  std::array<sim::LinkId, 2> network;  // tx, rx
};

// The ops of one micro-batch on a stage, with durations resolved for its TP group.
struct StageOps {
  std::vector<TimedOp> layer_fwd, layer_bwd, emb_fwd, emb_bwd, head_fwd, head_bwd;
};

struct StageRuntime {
  StagePlan plan;
  StageOps ops;
  bool tp_spans_nodes = false;
  sim::StreamId tp_stream = 0;
  sim::StreamId pp_stream = 0;
  sim::StreamId dp_stream = 0;
  Ports ports{};
};

class StepLowering {
 public:
  explicit StepLowering(const Scenario& s)
      : s_(s), shape_(shape_context(s)), grid_(s.layout.tp, s.layout.dp, s.layout.pp) {}

  LoweredStep run() {
    const int p = static_cast<int>(s_.layout.pp);
    for (int st = 0; st < p; ++st) make_stage(st);

    PipelineHooks hooks;
    hooks.emit_block = [this](int st, std::int64_t mb, Phase ph) { return emit_block(st, mb, ph); };
    hooks.emit_transfer = [this](int from, int to, std::int64_t mb, Phase ph) {
      return emit_transfer(from, to, mb, ph);
    };
    hooks.emit_tail = [this](int st, sim::TaskId last) { emit_tail(st, last); };
    lower_pipeline(s_.layout.schedule, p, s_.num_microbatches(), hooks, out_.graph);

    for (auto& rt : stages_) out_.stages.push_back(rt.plan);
    return std::move(out_);
  }

 private:
  // TP collectives of stage `stage`'s representative (tp index 0, dp index 0).
  costmodel::LinkParams tp_link(int stage) const {
    return costmodel::group_link(s_.cluster, grid_.tp_group(0, stage));
  }

  StageOps stage_ops(int stage) const {
    const auto& m = s_.model;
    StageOps ops;
    ops.layer_fwd = timed(layer_forward_ops(m, shape_), stage);
    ops.layer_bwd = timed(layer_backward_ops(m, shape_), stage);
    if (is_first(stage)) {
      ops.emb_fwd = timed(embedding_forward_ops(m, shape_), stage);
      ops.emb_bwd = timed(embedding_backward_ops(m, shape_), stage);
    }
    if (is_last(stage)) {
      ops.head_fwd = timed(head_forward_ops(m, shape_), stage);
      ops.head_bwd = timed(head_backward_ops(m, shape_), stage);
    }
    return ops;
  }

  std::vector<TimedOp> timed(const std::vector<OpStep>& ops, int stage) const {
    std::vector<TimedOp> out;
    for (const OpStep& op : ops) {
      double seconds;
      if (op.is_tp_collective) {
        seconds = costmodel::collective_time_s(Collective::all_reduce, static_cast<int>(s_.layout.tp),
                                               op.collective_bytes, tp_link(stage));
      } else {
        seconds = costmodel::kernel_time_s(op.work, s_.cluster.gpu);
      }
      out.push_back({op.op, op.is_tp_collective, Time::from_seconds(seconds)});
    }
    return out;
  }

  static Time sum(const std::vector<TimedOp>& ops) {
    Time t;
    for (const auto& op : ops) t += op.duration;
    return t;
  }

  bool is_first(int st) const { return st == 0; }
  bool is_last(int st) const { return st == s_.layout.pp - 1; }

  void make_stage(int st) {
    StageRuntime rt;
    StagePlan& plan = rt.plan;
    auto& g = out_.graph;
    plan.stage = st;
    plan.rank = grid_.rank(0, 0, st);
    plan.process = g.add_process("rank " + std::to_string(plan.rank) + " (stage " + std::to_string(st) + ")");
    plan.compute_stream = g.add_stream(plan.process, "compute");
    rt.tp_stream = g.add_stream(plan.process, "tp-comm");
    rt.pp_stream = g.add_stream(plan.process, "pp-send");
    rt.dp_stream = g.add_stream(plan.process, "dp-comm");
    rt.ports.nvlink = {g.add_link(plan.process, "nvlink-tx"), g.add_link(plan.process, "nvlink-rx")};
    rt.ports.network = {g.add_link(plan.process, "net-tx"), g.add_link(plan.process, "net-rx")};

    const std::int64_t per_stage = s_.model.num_layers / s_.layout.pp;
    plan.first_layer = st * per_stage;
    plan.num_layers = per_stage;

    rt.ops = stage_ops(st);
    rt.tp_spans_nodes = costmodel::group_spans_nodes(s_.cluster, grid_.tp_group(0, st));
    const bool recompute = s_.layout.recompute == Recompute::full;
    plan.forward = sum(rt.ops.layer_fwd) * per_stage + sum(rt.ops.emb_fwd) + sum(rt.ops.head_fwd);
    plan.backward = (sum(rt.ops.layer_bwd) + (recompute ? sum(rt.ops.layer_fwd) : Time::zero())) * per_stage +
                    sum(rt.ops.emb_bwd) + sum(rt.ops.head_bwd);

    // Parameters held by one GPU of this stage.
    const auto& m = s_.model;
    const std::int64_t tp = s_.layout.tp;
    plan.parameters = static_cast<double>(per_stage) * layer_parameters(m, tp);
    if (is_first(st)) plan.parameters += embedding_parameters(m, s_.training.seq_length, tp);
    if (is_last(st)) {
      plan.parameters += final_norm_parameters(m);
      // An untied head, or the tied embedding's copy when the embedding is on another stage.
      if (m.untie_embeddings_and_output_weights || !is_first(st)) plan.parameters += lm_head_parameters(m, tp);
    }

    // Pipeline transfers: one micro-batch's hidden activations (or their gradients).
    const double act_bytes = static_cast<double>(shape_.micro_batch * shape_.seq_length * m.hidden_size) *
                             costmodel::bytes_per_element(s_.training.precision == costmodel::Dtype::fp8
                                                              ? costmodel::Dtype::bf16
                                                              : s_.training.precision);
    auto p2p = [&](int to) {
      const std::array<int, 2> pair{plan.rank, grid_.rank(0, 0, to)};
      return Time::from_seconds(costmodel::collective_time_s(
          Collective::send_recv, 2, act_bytes, costmodel::group_link(s_.cluster, pair)));
    };
    if (!is_last(st)) plan.send_forward = p2p(st + 1);
    if (!is_first(st)) plan.send_backward = p2p(st - 1);

    const double grad_bytes = plan.parameters * (s_.training.grad_reduce_in_fp32
                                                      ? 4.0
                                                      : costmodel::bytes_per_element(s_.training.precision));
    if (s_.layout.dp > 1) {
      const auto group = grid_.dp_group(0, st);
      plan.dp_all_reduce = Time::from_seconds(costmodel::collective_time_s(
          Collective::all_reduce, static_cast<int>(s_.layout.dp), grad_bytes,
          costmodel::group_link(s_.cluster, group)));
    }
    costmodel::KernelWork adam{costmodel::OpClass::memory, s_.training.precision, 0,
                               plan.parameters * optimizer_bytes_per_parameter(s_.training.precision), 1};
    plan.optimizer = Time::from_seconds(costmodel::kernel_time_s(adam, s_.cluster.gpu));
    stages_.push_back(rt);
  }

  const std::array<sim::LinkId, 2>& ports_for(const StageRuntime& rt, bool spans_nodes) const {
    return spans_nodes ? rt.ports.network : rt.ports.nvlink;
  }

  sim::TaskId add(const StageRuntime& rt, const TimedOp& op, TaskKind kind, std::int32_t layer,
                  std::int64_t mb, bool tp_spans_nodes) {
    auto& g = out_.graph;
    sim::TaskId id;
    if (op.is_tp_collective) {
      const auto& ports = ports_for(rt, tp_spans_nodes);
      id = g.add_task(std::span<const sim::StreamId>(&rt.tp_stream, 1), ports, op.duration,
                      static_cast<std::uint32_t>(TaskKind::comm_tp));
      out_.labels.push_back({op.op, TaskKind::comm_tp, layer, static_cast<std::int32_t>(mb), -1});
    } else {
      id = g.add_task(rt.plan.compute_stream, op.duration, static_cast<std::uint32_t>(kind));
      out_.labels.push_back({op.op, kind, layer, static_cast<std::int32_t>(mb), -1});
    }
    return id;
  }

  // Appends `ops` as a chain, each task after the previous one.
  void chain(const StageRuntime& rt, const std::vector<TimedOp>& ops, TaskKind kind, std::int32_t layer,
             std::int64_t mb, bool tp_spans_nodes, std::optional<sim::TaskId>& prev, BlockTasks& block) {
    for (const TimedOp& op : ops) {
      const sim::TaskId id = add(rt, op, kind, layer, mb, tp_spans_nodes);
      if (prev) {
        out_.graph.add_dependency(*prev, id);
      } else {
        block.first = id;
      }
      prev = id;
      block.last = id;
    }
  }

  BlockTasks emit_block(int st, std::int64_t mb, Phase phase) {
    const StageRuntime& rt = stages_[static_cast<std::size_t>(st)];
    const StageOps& ops = rt.ops;
    const bool tp_spans = rt.tp_spans_nodes;
    std::optional<sim::TaskId> prev;
    BlockTasks block;
    const auto first = static_cast<std::int32_t>(rt.plan.first_layer);
    const auto count = static_cast<std::int32_t>(rt.plan.num_layers);
    if (phase == Phase::forward) {
      chain(rt, ops.emb_fwd, TaskKind::forward, -1, mb, tp_spans, prev, block);
      for (std::int32_t l = first; l < first + count; ++l) {
        chain(rt, ops.layer_fwd, TaskKind::forward, l, mb, tp_spans, prev, block);
      }
      chain(rt, ops.head_fwd, TaskKind::forward, -1, mb, tp_spans, prev, block);
    } else {
      chain(rt, ops.head_bwd, TaskKind::backward, -1, mb, tp_spans, prev, block);
      for (std::int32_t l = first + count - 1; l >= first; --l) {
        if (s_.layout.recompute == Recompute::full) {
          chain(rt, ops.layer_fwd, TaskKind::recompute, l, mb, tp_spans, prev, block);
        }
        chain(rt, ops.layer_bwd, TaskKind::backward, l, mb, tp_spans, prev, block);
      }
      chain(rt, ops.emb_bwd, TaskKind::backward, -1, mb, tp_spans, prev, block);
    }
    return block;
  }

  sim::TaskId emit_transfer(int from, int to, std::int64_t mb, Phase phase) {
    const StageRuntime& src = stages_[static_cast<std::size_t>(from)];
    const StageRuntime& dst = stages_[static_cast<std::size_t>(to)];
    const std::array<int, 2> pair{src.plan.rank, dst.plan.rank};
    const bool spans = costmodel::group_spans_nodes(s_.cluster, pair);
    const std::array<sim::LinkId, 2> links{ports_for(src, spans)[0], ports_for(dst, spans)[1]};
    const Time duration = phase == Phase::forward ? src.plan.send_forward : src.plan.send_backward;
    const sim::TaskId id = out_.graph.add_task(std::span<const sim::StreamId>(&src.pp_stream, 1), links,
                                               duration, static_cast<std::uint32_t>(TaskKind::comm_pp));
    out_.labels.push_back({OpId::pp_send, TaskKind::comm_pp, -1, static_cast<std::int32_t>(mb), to});
    return id;
  }

  void emit_tail(int st, sim::TaskId last_backward) {
    StageRuntime& rt = stages_[static_cast<std::size_t>(st)];
    auto& g = out_.graph;
    sim::TaskId before_optimizer = last_backward;
    if (s_.layout.dp > 1) {
      const bool spans = costmodel::group_spans_nodes(s_.cluster, grid_.dp_group(0, st));
      const sim::TaskId dp = g.add_task(std::span<const sim::StreamId>(&rt.dp_stream, 1), ports_for(rt, spans),
                                        rt.plan.dp_all_reduce, static_cast<std::uint32_t>(TaskKind::comm_dp));
      out_.labels.push_back({OpId::dp_all_reduce, TaskKind::comm_dp, -1, -1, -1});
      g.add_dependency(last_backward, dp);
      before_optimizer = dp;
    }
    const sim::TaskId opt = g.add_task(rt.plan.compute_stream, rt.plan.optimizer,
                                       static_cast<std::uint32_t>(TaskKind::optimizer));
    out_.labels.push_back({OpId::optimizer_step, TaskKind::optimizer, -1, -1, -1});
    g.add_dependency(before_optimizer, opt);
  }

  const Scenario& s_;
  ShapeContext shape_;
  RankGrid grid_;
  std::vector<StageRuntime> stages_;
  LoweredStep out_;
};

}  // namespace

LoweredStep lower_step(const Scenario& scenario) { return StepLowering(scenario).run(); }

}  // namespace ptsim::strategies

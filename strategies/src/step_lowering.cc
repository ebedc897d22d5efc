#include "ptsim/strategies/step_lowering.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <optional>
#include <string>

#include "ptsim/costmodel/collective_algorithms.h"
#include "ptsim/costmodel/op_cost.h"
#include "ptsim/strategies/graph_step.h"
#include "ptsim/strategies/pipeline_schedule.h"
#include "ptsim/strategies/rank_grid.h"
#include "ptsim/strategies/transformer_ops.h"

namespace ptsim::strategies {
namespace {

using costmodel::CollectiveOp;
using costmodel::CollectivePlan;
using sim::Time;

// An op with its cost resolved for this scenario: a kernel's duration, or a collective's
// plan (whose duration depends on what else is on the links; `duration` is its time alone).
struct TimedOp {
  OpId op;
  bool is_tp_collective;
  Time duration;
  CollectivePlan plan;
  bool is_cp_comm = false;
  bool overlaps_next = false;
  bool crosses_pods = false;
  bool is_ep_comm = false;
};

// A representative rank's ports. Capacities are the achievable bandwidth of the port
// (line rate x the large-message fraction); concurrent flows share them max-min fairly.
struct Ports {
  sim::LinkId nvlink_tx, nvlink_rx, net_tx, net_rx, spine_tx, spine_rx;
};

// A layer's ops, for one layer kind (dense or MoE MLP).
struct LayerOps {
  std::vector<TimedOp> fwd, bwd;
  std::vector<TimedOp> recompute;    // rerun before the layer's backward (may be empty)
  std::vector<TimedOp> weight_grad;  // zb-h1: the W pass (bwd is then the B pass)
  CollectivePlan gather_plan;        // ZeRO 3: the layer's parameters
  CollectivePlan reduce_plan;        // ZeRO 3 or overlap_grad_reduce: the layer's gradients
};

struct StageOps {
  std::array<LayerOps, kNumLayerKinds> layer;  // by LayerKind; only the stage's kinds are filled
  std::vector<TimedOp> emb_fwd, emb_bwd, head_fwd, head_bwd;
  const LayerOps& of(LayerKind kind) const { return layer[static_cast<std::size_t>(kind)]; }
};

struct StageRuntime {
  StagePlan plan;
  StageOps ops;
  sim::StreamId tp_stream = 0;
  sim::StreamId pp_stream = 0;
  sim::StreamId dp_stream = 0;
  sim::StreamId cp_stream = 0;
  sim::StreamId ep_stream = 0;
  Ports ports{};
  CollectivePlan dp_plan;          // ZeRO 0: all-reduce; ZeRO >= 1: reduce-scatter
  CollectivePlan dp_gather_plan;   // ZeRO >= 1: all-gather of the updated parameters
  bool dp_crosses_pods = false;
  std::array<CollectivePlan, 2> send_plan;  // forward (to stage + 1), backward (to stage - 1)
  std::array<bool, 2> send_crosses_pods{};
};

class StepLowering {
 public:
  explicit StepLowering(const Scenario& s)
      : s_(s), shape_(shape_context(s)), grid_(s.layout.tp, s.layout.dp, s.layout.pp, s.layout.rank_order, s.layout.cp) {
    const auto& gpu = s.cluster.gpu;
    nvlink_capacity_ = gpu.nvlink_bandwidth_bytes_per_s * gpu.efficiency.nvlink_bandwidth_fraction;
    net_capacity_ = s.cluster.network_bandwidth_bytes_per_s * gpu.efficiency.network_bandwidth_fraction;
    spine_capacity_ = net_capacity_ / s.cluster.oversubscription;
  }

  LoweredStep run() {
    const int p = static_cast<int>(s_.layout.pp);
    for (int st = 0; st < p; ++st) make_stage(st);

    PipelineHooks hooks;
    hooks.emit_block = [this](int st, int chunk, std::int64_t mb, Phase ph) { return emit_block(st, chunk, mb, ph); };
    hooks.emit_transfer = [this](int from, int to, std::int64_t mb, Phase ph) {
      return emit_send(from, to, mb, ph);
    };
    hooks.emit_tail = [this](int st, sim::TaskId last) { emit_tail(st, last); };
    lower_pipeline(s_.layout.schedule, p, s_.num_microbatches(), hooks, out_.graph,
                   static_cast<int>(s_.layout.virtual_stages));

    for (auto& rt : stages_) out_.stages.push_back(rt.plan);
    return std::move(out_);
  }

  std::vector<StagePlan> plan_only() {
    const int p = static_cast<int>(s_.layout.pp);
    std::vector<StagePlan> plans;
    for (int st = 0; st < p; ++st) {
      make_stage(st);
      plans.push_back(stages_.back().plan);
    }
    return plans;
  }

 private:
  bool is_first(int st) const { return st == 0; }
  bool is_last(int st) const { return st == s_.layout.pp - 1; }

  // The time a plan takes with its links to itself, rounded as the simulator rounds: each
  // phase's latency plus its slowest flow, ceil(bytes / rate) nanoseconds.
  Time alone(const CollectivePlan& plan, bool crosses_pods) const {
    Time total;
    for (const auto& ph : plan.phases) {
      double slowest_ns = 0;
      if (ph.nvlink_bytes > 0) {
        slowest_ns = std::max(slowest_ns, std::ceil(ph.nvlink_bytes * 1e9 / std::min(ph.nvlink_rate_bytes_per_s, nvlink_capacity_)));
      }
      if (ph.network_bytes > 0) {
        const double cap = crosses_pods ? std::min(net_capacity_, spine_capacity_) : net_capacity_;
        slowest_ns = std::max(slowest_ns, std::ceil(ph.network_bytes * 1e9 / std::min(ph.network_rate_bytes_per_s, cap)));
      }
      total += Time::from_seconds(ph.latency_s) + Time::ns(static_cast<std::int64_t>(slowest_ns));
    }
    return total;
  }

  costmodel::GroupShape shape_of(std::span<const int> ranks) const {
    return costmodel::group_shape(s_.cluster, ranks);
  }

  std::vector<TimedOp> timed(const std::vector<OpStep>& ops, const costmodel::GroupShape& tp_shape, int stage) const {
    std::vector<TimedOp> out;
    for (const OpStep& op : ops) {
      TimedOp t{op.op, op.is_tp_collective, Time::zero(), {}};
      if (op.is_tp_collective) {
        t.plan = costmodel::plan_collective(op.collective, tp_shape, op.collective_bytes, s_.cluster);
        t.crosses_pods = tp_shape.crosses_pods;
        t.overlaps_next = op.overlaps_next;
        t.duration = alone(t.plan, tp_shape.crosses_pods);
      } else if (op.is_ep_comm) {
        // Experts live on ep consecutive data-parallel ranks (Megatron's tp-cp-ep-dp order).
        std::vector<int> group;
        for (std::int64_t e = 0; e < s_.layout.ep; ++e) group.push_back(grid_.rank(0, e, stage));
        const auto shape = shape_of(group);
        t.plan = costmodel::plan_collective(op.collective, shape, op.collective_bytes, s_.cluster);
        t.is_ep_comm = true;
        t.crosses_pods = shape.crosses_pods;
        t.duration = alone(t.plan, shape.crosses_pods);
      } else if (op.is_cp_comm) {
        // Ring steps go to the next CP rank; the all-gather variant spans the CP group.
        const auto group = grid_.cp_group(0, 0, stage);
        const std::array<int, 2> pair{group[0], group[1]};
        const auto shape = op.collective == CollectiveOp::send_recv ? shape_of(pair) : shape_of(group);
        t.plan = costmodel::plan_collective(op.collective, shape, op.collective_bytes, s_.cluster);
        t.is_cp_comm = true;
        t.overlaps_next = op.overlaps_next;
        t.crosses_pods = shape.crosses_pods;
        t.duration = alone(t.plan, shape.crosses_pods);
      } else {
        t.duration = Time::from_seconds(costmodel::kernel_time_s(op.work, s_.cluster.gpu));
      }
      out.push_back(std::move(t));
    }
    return out;
  }

  // The ops' time alone: a chain, except that an overlapped exchange runs beside the kernel
  // after it.
  static Time sum(const std::vector<TimedOp>& ops) {
    Time t;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].overlaps_next && i + 1 < ops.size()) {
        t += std::max(ops[i].duration, ops[i + 1].duration);
        ++i;
      } else {
        t += ops[i].duration;
      }
    }
    return t;
  }

  // A lower bound on the ops' time: each kernel and each collective that does not run
  // beside a kernel; an overlapped exchange counts as nothing (the kernel beside it does).
  static Time lower_sum(const std::vector<TimedOp>& ops) {
    Time t;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].overlaps_next) continue;
      t += ops[i].duration;
    }
    return t;
  }

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
    rt.cp_stream = g.add_stream(plan.process, "cp-comm");
    rt.ep_stream = g.add_stream(plan.process, "ep-comm");
    rt.ports.nvlink_tx = g.add_link(plan.process, "nvlink-tx", nvlink_capacity_);
    rt.ports.nvlink_rx = g.add_link(plan.process, "nvlink-rx", nvlink_capacity_);
    rt.ports.net_tx = g.add_link(plan.process, "net-tx", net_capacity_);
    rt.ports.net_rx = g.add_link(plan.process, "net-rx", net_capacity_);
    rt.ports.spine_tx = g.add_link(plan.process, "spine-tx", spine_capacity_);
    rt.ports.spine_rx = g.add_link(plan.process, "spine-rx", spine_capacity_);

    const StageLayers layers = s_.stage_layers(st);
    const std::int64_t per_stage = layers.count;
    plan.first_layer = layers.first;
    plan.num_layers = per_stage;

    const auto& m = s_.model;
    const auto tp_shape = shape_of(grid_.tp_group(0, st));
    // The kinds of layer this stage holds (a DeepSeek-V3 stage may hold dense and MoE layers).
    const LayerKindCounts kinds = count_layer_kinds(m, layers.first, layers.count);
    Time layers_fwd, layers_bwd;
    for (const LayerKind kind : {LayerKind::dense, LayerKind::moe}) {
      if (kinds.of(kind) == 0) continue;
      LayerOps& lo = rt.ops.layer[static_cast<std::size_t>(kind)];
      lo.fwd = timed(layer_forward_ops(m, kind, shape_), tp_shape, st);
      if (s_.layout.schedule == Schedule::zb_h1) {
        const SplitBackward split = split_weight_gradients(layer_backward_ops(m, kind, shape_));
        lo.bwd = timed(split.input_grad, tp_shape, st);
        lo.weight_grad = timed(split.weight_grad, tp_shape, st);
      } else {
        lo.bwd = timed(layer_backward_ops(m, kind, shape_), tp_shape, st);
      }
      if (s_.layout.recompute == Recompute::full) lo.recompute = lo.fwd;
      if (s_.layout.recompute == Recompute::selective) {
        lo.recompute = timed(attention_core_forward_ops(m, shape_), tp_shape, st);
      }
      layers_fwd += sum(lo.fwd) * kinds.of(kind);
      layers_bwd += (sum(lo.bwd) + sum(lo.weight_grad) + sum(lo.recompute)) * kinds.of(kind);
      // The bound's per-layer costs: the cheaper kind when a stage holds both.
      const Time lower_fwd = lower_sum(lo.fwd);
      const Time lower_bwd = lower_sum(lo.bwd) + lower_sum(lo.weight_grad) + lower_sum(lo.recompute);
      const bool first_kind = plan.layer_forward_bound == Time::zero() && plan.layer_backward_bound == Time::zero();
      plan.layer_forward_bound = first_kind ? lower_fwd : std::min(plan.layer_forward_bound, lower_fwd);
      plan.layer_backward_bound = first_kind ? lower_bwd : std::min(plan.layer_backward_bound, lower_bwd);
    }
    if (is_first(st)) {
      rt.ops.emb_fwd = timed(embedding_forward_ops(m, shape_), tp_shape, st);
      rt.ops.emb_bwd = timed(embedding_backward_ops(m, shape_), tp_shape, st);
    }
    if (is_last(st)) {
      rt.ops.head_fwd = timed(head_forward_ops(m, shape_), tp_shape, st);
      rt.ops.head_bwd = timed(head_backward_ops(m, shape_), tp_shape, st);
    }
    plan.forward = layers_fwd + sum(rt.ops.emb_fwd) + sum(rt.ops.head_fwd);
    plan.backward = layers_bwd + sum(rt.ops.emb_bwd) + sum(rt.ops.head_bwd);
    // One layer of this stage: the mean over its layers (of one kind unless the model mixes them).
    if (per_stage > 0) {
      plan.layer_forward = Time::from_seconds(layers_fwd.seconds() / static_cast<double>(per_stage));
      plan.layer_backward = Time::from_seconds(layers_bwd.seconds() / static_cast<double>(per_stage));
    }
    plan.embedding_forward = lower_sum(rt.ops.emb_fwd);
    plan.embedding_backward = lower_sum(rt.ops.emb_bwd);
    plan.head_forward = lower_sum(rt.ops.head_fwd);
    plan.head_backward = lower_sum(rt.ops.head_bwd);
    plan.parameters = stage_parameters(s_, st);

    // Pipeline transfers: one micro-batch's hidden activations (or their gradients).
    const auto act_dtype = s_.training.precision == costmodel::Dtype::fp8 ? costmodel::Dtype::bf16 : s_.training.precision;
    const double act_bytes = static_cast<double>(shape_.micro_batch * shape_.seq_length * m.hidden_size) *
                             costmodel::bytes_per_element(act_dtype);
    const int p = static_cast<int>(s_.layout.pp);
    const bool wraps = s_.layout.virtual_stages > 1;  // interleaved: the last stage feeds the first
    for (int dir = 0; dir < 2; ++dir) {
      int to = dir == 0 ? st + 1 : st - 1;
      if (wraps) to = (to + p) % p;
      if (to < 0 || to >= p || to == st) continue;
      const std::array<int, 2> pair{plan.rank, grid_.rank(0, 0, to)};
      const auto shape = shape_of(pair);
      rt.send_plan[static_cast<std::size_t>(dir)] =
          costmodel::plan_collective(CollectiveOp::send_recv, shape, act_bytes, s_.cluster);
      rt.send_crosses_pods[static_cast<std::size_t>(dir)] = shape.crosses_pods;
      (dir == 0 ? plan.send_forward : plan.send_backward) = alone(rt.send_plan[static_cast<std::size_t>(dir)], shape.crosses_pods);
    }

    const bool mixed = s_.training.precision != costmodel::Dtype::fp32 && s_.training.precision != costmodel::Dtype::tf32;
    const double grad_element = s_.training.grad_reduce_in_fp32 ? 4.0 : costmodel::bytes_per_element(act_dtype);
    const double weight_element = mixed ? 2.0 : 4.0;
    const auto zero = s_.layout.zero_stage;
    // ZeRO 3 and overlapped gradient reduction move each layer's gradients (and for ZeRO 3
    // its parameters) inside the blocks; the tail then handles the embedding and output layer.
    const bool per_layer = zero >= 3 || s_.layout.overlap_grad_reduce;
    const double tail_params =
        per_layer ? plan.parameters - layers_parameters(m, layers.first, per_stage, s_.layout.tp, s_.layout.ep)
                  : plan.parameters;
    if (s_.layout.dp * s_.layout.cp > 1) {
      // Gradients are reduced over data and context parallel ranks together.
      const auto shape = shape_of(grid_.dp_cp_group(0, st));
      rt.dp_crosses_pods = shape.crosses_pods;
      if (zero == 0) {
        rt.dp_plan = costmodel::plan_collective(CollectiveOp::all_reduce, shape, tail_params * grad_element, s_.cluster);
        plan.dp_all_reduce = alone(rt.dp_plan, shape.crosses_pods);
      } else {
        rt.dp_plan = costmodel::plan_collective(CollectiveOp::reduce_scatter, shape, tail_params * grad_element, s_.cluster);
        rt.dp_gather_plan = costmodel::plan_collective(CollectiveOp::all_gather, shape, tail_params * weight_element, s_.cluster);
        plan.dp_all_reduce = alone(rt.dp_plan, shape.crosses_pods) + alone(rt.dp_gather_plan, shape.crosses_pods);
      }
      for (const LayerKind kind : {LayerKind::dense, LayerKind::moe}) {
        if (kinds.of(kind) == 0) continue;
        LayerOps& lo = rt.ops.layer[static_cast<std::size_t>(kind)];
        const double layer_params = layer_parameters(m, kind, s_.layout.tp, s_.layout.ep);
        // The bound's per-layer collectives: the cheaper kind when a stage holds both.
        auto keep_min = [](Time& kept, Time t) { kept = kept == Time::zero() ? t : std::min(kept, t); };
        if (zero >= 3) {
          lo.gather_plan = costmodel::plan_collective(CollectiveOp::all_gather, shape, layer_params * weight_element, s_.cluster);
          keep_min(plan.dp_layer_gather, alone(lo.gather_plan, shape.crosses_pods));
        }
        if (per_layer) {
          lo.reduce_plan = costmodel::plan_collective(zero >= 1 ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce,
                                                      shape, layer_params * grad_element, s_.cluster);
          keep_min(plan.dp_layer_reduce, alone(lo.reduce_plan, shape.crosses_pods));
        }
      }
    }
    // The optimizer updates this GPU's shard: all its parameters, or 1/dp with ZeRO.
    const double updated = zero >= 1 ? plan.parameters / static_cast<double>(s_.layout.dp * s_.layout.cp) : plan.parameters;
    costmodel::KernelWork adam{costmodel::OpClass::memory, s_.training.precision, 0,
                               updated * optimizer_bytes_per_parameter(s_.training.precision), 1};
    plan.optimizer = Time::from_seconds(costmodel::kernel_time_s(adam, s_.cluster.gpu));
    stages_.push_back(std::move(rt));
  }

  // A collective of the representative rank as one transfer task per phase, chained: its
  // share of the traffic leaves on its tx ports and arrives on its rx ports (its peers,
  // identical by symmetry, do the same on their own ports).
  std::pair<sim::TaskId, sim::TaskId> emit_collective(const StageRuntime& rt, const CollectivePlan& plan,
                                                      sim::StreamId stream, TaskKind kind, const TaskLabel& label,
                                                      bool crosses_pods) {
    auto& g = out_.graph;
    std::optional<sim::TaskId> first;
    sim::TaskId last = 0;
    std::vector<sim::FlowSpec> flows;
    for (const auto& ph : plan.phases) {
      flows.clear();
      if (ph.nvlink_bytes > 0) {
        flows.push_back({{rt.ports.nvlink_tx}, ph.nvlink_bytes, ph.nvlink_rate_bytes_per_s});
        flows.push_back({{rt.ports.nvlink_rx}, ph.nvlink_bytes, ph.nvlink_rate_bytes_per_s});
      }
      if (ph.network_bytes > 0) {
        std::vector<sim::LinkId> tx{rt.ports.net_tx}, rx{rt.ports.net_rx};
        if (crosses_pods) {
          tx.push_back(rt.ports.spine_tx);
          rx.push_back(rt.ports.spine_rx);
        }
        flows.push_back({tx, ph.network_bytes, ph.network_rate_bytes_per_s});
        flows.push_back({rx, ph.network_bytes, ph.network_rate_bytes_per_s});
      }
      const sim::TaskId id = g.add_transfer(stream, flows, Time::from_seconds(ph.latency_s), static_cast<std::uint32_t>(kind));
      out_.labels.push_back(label);
      if (first) g.add_dependency(last, id);
      if (!first) first = id;
      last = id;
    }
    if (!first) {  // a group of one: nothing to move
      const sim::TaskId id = g.add_task(stream, Time::zero(), static_cast<std::uint32_t>(kind));
      out_.labels.push_back(label);
      first = last = id;
    }
    return {*first, last};
  }

  // Appends `ops` as a chain, each task after the previous one; returns the first task.
  std::optional<sim::TaskId> chain(const StageRuntime& rt, const std::vector<TimedOp>& ops, TaskKind kind,
                                   std::int32_t layer, std::int64_t mb, std::optional<sim::TaskId>& prev,
                                   BlockTasks& block) {
    std::optional<sim::TaskId> first;
    constexpr sim::TaskId kNone = ~sim::TaskId{0};
    sim::TaskId beside = kNone;      // an exchange running beside the current kernel
    sim::TaskId wait_after = kNone;  // ...which the op after that kernel waits for
    for (const TimedOp& op : ops) {
      sim::TaskId head, tail;
      const auto label_mb = static_cast<std::int32_t>(mb);
      if (op.is_tp_collective) {
        std::tie(head, tail) = emit_collective(rt, op.plan, rt.tp_stream, TaskKind::comm_tp,
                                               {op.op, TaskKind::comm_tp, layer, label_mb, -1}, op.crosses_pods);
      } else if (op.is_ep_comm) {
        std::tie(head, tail) = emit_collective(rt, op.plan, rt.ep_stream, TaskKind::comm_ep,
                                               {op.op, TaskKind::comm_ep, layer, label_mb, -1}, op.crosses_pods);
      } else if (op.is_cp_comm) {
        std::tie(head, tail) = emit_collective(rt, op.plan, rt.cp_stream, TaskKind::comm_cp,
                                               {op.op, TaskKind::comm_cp, layer, label_mb, -1}, op.crosses_pods);
      } else {
        head = tail = out_.graph.add_task(rt.plan.compute_stream, op.duration, static_cast<std::uint32_t>(kind));
        out_.labels.push_back({op.op, kind, layer, label_mb, -1});
      }
      if (prev) {
        out_.graph.add_dependency(*prev, head);
      } else {
        block.first = head;
      }
      if (!first) first = head;
      if (wait_after != kNone) {
        // The next exchange forwards what the previous one brought; the next kernel uses it.
        out_.graph.add_dependency(wait_after, head);
        if (!op.overlaps_next) wait_after = kNone;
      }
      if (beside != kNone) {
        wait_after = beside;  // this op runs beside the exchange; the next one waits for it
        beside = kNone;
      }
      if (op.overlaps_next) {
        beside = tail;  // the chain goes on from the op before the exchange
        continue;
      }
      prev = tail;
      block.last = tail;
    }
    if (wait_after != kNone) {
      // Nothing followed inside this chain: the block ends when the exchange has.
      const sim::TaskId join = out_.graph.add_task(rt.plan.compute_stream, Time::zero(), static_cast<std::uint32_t>(kind));
      out_.labels.push_back({OpId::cp_kv_exchange, kind, layer, static_cast<std::int32_t>(mb), -1});
      out_.graph.add_dependency(wait_after, join);
      if (prev) out_.graph.add_dependency(*prev, join);
      prev = join;
      block.last = join;
    }
    return first;
  }

  bool reduces_gradients() const { return s_.layout.dp * s_.layout.cp > 1; }
  bool zero3() const { return s_.layout.zero_stage >= 3 && reduces_gradients(); }

  // Whether the backward block (mb, chunk) reduces each layer's gradients as it goes:
  // ZeRO 3 after every micro-batch; overlap_grad_reduce (Megatron's bucketed reduction,
  // one layer per bucket) in the step's last backward, when the gradients are complete.
  bool reduce_layer_now(std::int64_t mb, int chunk) const {
    if (!reduces_gradients()) return false;
    if (zero3()) return true;
    return s_.layout.overlap_grad_reduce && mb == s_.num_microbatches() - 1 && chunk == 0;
  }

  // ZeRO 3: gather layer `l`'s parameters before its first kernel, at most one layer ahead
  // of the compute (`gate`: the previous layer's first kernel).
  std::optional<sim::TaskId> gather_layer(const StageRuntime& rt, std::int32_t l, std::int64_t mb,
                                          std::optional<sim::TaskId> gate) {
    if (!zero3()) return std::nullopt;
    const CollectivePlan& plan = rt.ops.of(s_.model.layer_kind(l)).gather_plan;
    const auto [head, tail] = emit_collective(rt, plan, rt.dp_stream, TaskKind::comm_dp,
                                              {OpId::dp_all_gather, TaskKind::comm_dp, l, static_cast<std::int32_t>(mb), -1},
                                              rt.dp_crosses_pods);
    if (gate) out_.graph.add_dependency(*gate, head);
    return tail;
  }

  // One layer's kernels, after its gathered parameters when ZeRO 3 shards them.
  std::optional<sim::TaskId> layer_chain(const StageRuntime& rt, const std::vector<TimedOp>& ops, TaskKind kind,
                                         std::int32_t l, std::int64_t mb, std::optional<sim::TaskId>& prev,
                                         BlockTasks& block, std::optional<sim::TaskId> gathered) {
    const std::optional<sim::TaskId> first = chain(rt, ops, kind, l, mb, prev, block);
    if (gathered && first) out_.graph.add_dependency(*gathered, *first);
    return first;
  }

  // Reduces layer `l`'s gradients once its backward (or W pass) is done, beside the compute.
  void reduce_layer_gradients(const StageRuntime& rt, std::int32_t l, std::int64_t mb, int chunk,
                              const std::optional<sim::TaskId>& prev) {
    if (!reduce_layer_now(mb, chunk) || !prev) return;
    const bool scatter = s_.layout.zero_stage >= 1;
    const auto [head, tail] = emit_collective(
        rt, rt.ops.of(s_.model.layer_kind(l)).reduce_plan, rt.dp_stream, TaskKind::comm_dp,
        {scatter ? OpId::dp_reduce_scatter : OpId::dp_all_reduce, TaskKind::comm_dp, l, static_cast<std::int32_t>(mb), -1},
        rt.dp_crosses_pods);
    out_.graph.add_dependency(*prev, head);
    (void)tail;
  }

  BlockTasks emit_block(int st, int chunk, std::int64_t mb, Phase phase) {
    const StageRuntime& rt = stages_[static_cast<std::size_t>(st)];
    const StageOps& ops = rt.ops;
    std::optional<sim::TaskId> prev;
    std::optional<sim::TaskId> gate;  // the previous layer's first kernel
    BlockTasks block;
    // Model chunk `chunk` of this stage is virtual stage chunk * p + st.
    const std::int64_t v = s_.layout.virtual_stages;
    const StageLayers layers = s_.chunk_layers(st, chunk);
    const auto first = static_cast<std::int32_t>(layers.first);
    const auto count = static_cast<std::int32_t>(layers.count);
    const bool first_virtual = st == 0 && chunk == 0;
    const bool last_virtual = st == s_.layout.pp - 1 && chunk == v - 1;
    static const std::vector<TimedOp> kNone;
    const auto& emb_fwd = first_virtual ? ops.emb_fwd : kNone;
    const auto& emb_bwd = first_virtual ? ops.emb_bwd : kNone;
    const auto& head_fwd = last_virtual ? ops.head_fwd : kNone;
    const auto& head_bwd = last_virtual ? ops.head_bwd : kNone;
    if (phase == Phase::weight) {
      // zb-h1's W pass: the layers' weight-gradient GEMMs, then (in the step's last one)
      // each layer's gradient reduction, now that its gradients are complete.
      for (std::int32_t l = first + count - 1; l >= first; --l) {
        chain(rt, ops.of(s_.model.layer_kind(l)).weight_grad, TaskKind::weight_grad, l, mb, prev, block);
        reduce_layer_gradients(rt, l, mb, chunk, prev);
      }
      assert(prev);  // every chunk has at least one layer, every layer weight GEMMs
      return block;
    }
    if (phase == Phase::forward) {
      chain(rt, emb_fwd, TaskKind::forward, -1, mb, prev, block);
      for (std::int32_t l = first; l < first + count; ++l) {
        const auto gathered = gather_layer(rt, l, mb, gate);
        gate = layer_chain(rt, ops.of(s_.model.layer_kind(l)).fwd, TaskKind::forward, l, mb, prev, block, gathered);
      }
      chain(rt, head_fwd, TaskKind::forward, -1, mb, prev, block);
    } else {
      chain(rt, head_bwd, TaskKind::backward, -1, mb, prev, block);
      for (std::int32_t l = first + count - 1; l >= first; --l) {
        // Parameters were freed after the forward (reshard-after-forward): gather again.
        const auto gathered = s_.layout.reshard_after_forward ? gather_layer(rt, l, mb, gate) : std::nullopt;
        const LayerOps& lo = ops.of(s_.model.layer_kind(l));
        auto layer_first = layer_chain(rt, lo.recompute, TaskKind::recompute, l, mb, prev, block, gathered);
        const auto bwd_first = layer_chain(rt, lo.bwd, TaskKind::backward, l, mb, prev, block,
                                           layer_first ? std::nullopt : gathered);
        gate = layer_first ? layer_first : bwd_first;
        // Under zb-h1 the gradients are complete only after the W pass.
        if (s_.layout.schedule != Schedule::zb_h1) reduce_layer_gradients(rt, l, mb, chunk, prev);
      }
      chain(rt, emb_bwd, TaskKind::backward, -1, mb, prev, block);
    }
    return block;
  }

  // A point-to-point transfer is one flow from the sender's tx port to the receiver's rx port.
  sim::TaskId emit_send(int from, int to, std::int64_t mb, Phase phase) {
    const StageRuntime& src = stages_[static_cast<std::size_t>(from)];
    const StageRuntime& dst = stages_[static_cast<std::size_t>(to)];
    const std::size_t dir = phase == Phase::forward ? 0 : 1;
    const CollectivePlan& plan = src.send_plan[dir];
    const auto& ph = plan.phases.front();
    sim::FlowSpec flow;
    if (ph.network_bytes > 0) {
      flow.path = {src.ports.net_tx, dst.ports.net_rx};
      if (src.send_crosses_pods[dir]) flow.path = {src.ports.net_tx, src.ports.spine_tx, dst.ports.spine_rx, dst.ports.net_rx};
      flow.bytes = ph.network_bytes;
      flow.max_rate_bytes_per_s = ph.network_rate_bytes_per_s;
    } else {
      flow.path = {src.ports.nvlink_tx, dst.ports.nvlink_rx};
      flow.bytes = ph.nvlink_bytes;
      flow.max_rate_bytes_per_s = ph.nvlink_rate_bytes_per_s;
    }
    const sim::TaskId id = out_.graph.add_transfer(src.pp_stream, std::span<const sim::FlowSpec>(&flow, 1),
                                                   Time::from_seconds(ph.latency_s),
                                                   static_cast<std::uint32_t>(TaskKind::comm_pp));
    out_.labels.push_back({OpId::pp_send, TaskKind::comm_pp, -1, static_cast<std::int32_t>(mb), to});
    return id;
  }

  void emit_tail(int st, sim::TaskId last_backward) {
    StageRuntime& rt = stages_[static_cast<std::size_t>(st)];
    auto& g = out_.graph;
    sim::TaskId before_optimizer = last_backward;
    const bool zero = s_.layout.zero_stage >= 1;
    if (reduces_gradients()) {
      // The gradient reduction waits for the last backward and, on the FIFO dp stream,
      // for every per-layer reduce-scatter before it.
      const auto [head, tail] = emit_collective(rt, rt.dp_plan, rt.dp_stream, TaskKind::comm_dp,
                                                {zero ? OpId::dp_reduce_scatter : OpId::dp_all_reduce,
                                                 TaskKind::comm_dp, -1, -1, -1},
                                                rt.dp_crosses_pods);
      g.add_dependency(last_backward, head);
      before_optimizer = tail;
    }
    const sim::TaskId opt = g.add_task(rt.plan.compute_stream, rt.plan.optimizer,
                                       static_cast<std::uint32_t>(TaskKind::optimizer));
    out_.labels.push_back({OpId::optimizer_step, TaskKind::optimizer, -1, -1, -1});
    g.add_dependency(before_optimizer, opt);
    if (zero && reduces_gradients()) {
      // Distributed optimizer: each rank updated its shard; gather the new parameters.
      const auto [head, tail] = emit_collective(rt, rt.dp_gather_plan, rt.dp_stream, TaskKind::comm_dp,
                                                {OpId::dp_all_gather, TaskKind::comm_dp, -1, -1, -1}, rt.dp_crosses_pods);
      g.add_dependency(opt, head);
      (void)tail;
    }
  }

  const Scenario& s_;
  ShapeContext shape_;
  RankGrid grid_;
  double nvlink_capacity_ = 0;
  double net_capacity_ = 0;
  double spine_capacity_ = 0;
  std::vector<StageRuntime> stages_;
  LoweredStep out_;
};

}  // namespace

LoweredStep lower_step(const Scenario& scenario) {
  if (scenario.graph) return lower_graph_step(scenario, partition_scenario(scenario));
  return StepLowering(scenario).run();
}

std::vector<StagePlan> plan_stages(const Scenario& scenario) { return StepLowering(scenario).plan_only(); }

}  // namespace ptsim::strategies

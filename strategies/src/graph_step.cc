#include "ptsim/strategies/graph_step.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <optional>
#include <string>

#include "ptsim/costmodel/collective_algorithms.h"
#include "ptsim/costmodel/op_cost.h"
#include "ptsim/strategies/layer_graph.h"
#include "ptsim/strategies/pipeline_schedule.h"
#include "ptsim/strategies/rank_grid.h"
#include "ptsim/strategies/step_metrics.h"
#include "ptsim/strategies/task_labels.h"
#include "ptsim/strategies/transformer_ops.h"

namespace ptsim::strategies {
namespace {

using costmodel::CollectiveOp;
using costmodel::CollectivePlan;
using costmodel::Dtype;
using sim::Time;

bool mixed_precision(Dtype d) { return d != Dtype::fp32 && d != Dtype::tf32; }
// Activations are kept in the training format; fp8 GEMMs take bf16 activations.
double activation_bytes_per_element(Dtype d) { return d == Dtype::fp8 ? 2.0 : costmodel::bytes_per_element(d); }

// Link capacities of a representative rank (as step_lowering.cc: achievable line rates).
struct Capacities {
  double nvlink = 0, net = 0, spine = 0;
  explicit Capacities(const costmodel::ClusterSpec& c) {
    nvlink = c.gpu.nvlink_bandwidth_bytes_per_s * c.gpu.efficiency.nvlink_bandwidth_fraction;
    net = c.network_bandwidth_bytes_per_s * c.gpu.efficiency.network_bandwidth_fraction;
    spine = net / c.oversubscription;
  }
  // A plan's time with its links to itself, rounded as the simulator rounds.
  Time alone(const CollectivePlan& plan, bool crosses_pods) const {
    Time total;
    for (const auto& ph : plan.phases) {
      double slowest_ns = 0;
      if (ph.nvlink_bytes > 0) slowest_ns = std::max(slowest_ns, std::ceil(ph.nvlink_bytes * 1e9 / std::min(ph.nvlink_rate_bytes_per_s, nvlink)));
      if (ph.network_bytes > 0) {
        const double cap = crosses_pods ? std::min(net, spine) : net;
        slowest_ns = std::max(slowest_ns, std::ceil(ph.network_bytes * 1e9 / std::min(ph.network_rate_bytes_per_s, cap)));
      }
      total += Time::from_seconds(ph.latency_s) + Time::ns(static_cast<std::int64_t>(slowest_ns));
    }
    return total;
  }
};

RankGrid grid_of(const Scenario& s) { return RankGrid(1, s.layout.dp, s.layout.pp, s.layout.rank_order, 1); }

struct CutPlan {
  CollectivePlan plan;
  bool crosses_pods = false;
  Time time;
};

CutPlan plan_cut(const Scenario& s, const RankGrid& grid, const Capacities& caps, int cut, double bytes) {
  CutPlan c;
  if (bytes <= 0) return c;
  const std::array<int, 2> pair{grid.rank(0, 0, cut), grid.rank(0, 0, cut + 1)};
  const auto shape = costmodel::group_shape(s.cluster, pair);
  c.plan = costmodel::plan_collective(CollectiveOp::send_recv, shape, bytes, s.cluster);
  c.crosses_pods = shape.crosses_pods;
  c.time = caps.alone(c.plan, c.crosses_pods);
  return c;
}

// Layers of each stage in topological order.
std::vector<std::vector<std::size_t>> stage_layer_lists(const LayerGraph& g, const Partition& part) {
  std::vector<std::vector<std::size_t>> out(static_cast<std::size_t>(part.num_stages));
  for (std::size_t v : g.topological_order()) out[static_cast<std::size_t>(part.stage_of[v])].push_back(v);
  return out;
}

double stage_parameters_of(const LayerGraph& g, const std::vector<std::size_t>& layers) {
  double p = 0;
  for (std::size_t v : layers) p += g.layer(v).parameters;
  return p;
}

struct Ports {
  sim::LinkId nvlink_tx, nvlink_rx, net_tx, net_rx, spine_tx, spine_rx;
};

struct StageRuntime {
  StagePlan plan;
  std::vector<std::size_t> layers;
  sim::StreamId pp_stream = 0, dp_stream = 0;
  Ports ports{};
  CollectivePlan dp_plan, dp_gather_plan;
  bool dp_crosses_pods = false;
};

class GraphLowering {
 public:
  GraphLowering(const Scenario& s, const Partition& part)
      : s_(s), g_(*s.graph), part_(part), grid_(grid_of(s)), caps_(s.cluster), times_(graph_layer_times(s)) {}

  LoweredStep run() {
    const int p = part_.num_stages;
    const PartitionProblem problem = graph_partition_problem(s_, times_);
    const PartitionCost cost = evaluate_partition(problem, part_.stage_of);
    for (int c = 0; c + 1 < p; ++c) cuts_.push_back(plan_cut(s_, grid_, caps_, c, cost.cut_bytes[static_cast<std::size_t>(c)]));
    const auto lists = stage_layer_lists(g_, part_);
    for (int st = 0; st < p; ++st) make_stage(st, lists[static_cast<std::size_t>(st)]);

    PipelineHooks hooks;
    hooks.emit_block = [this](int st, int, std::int64_t mb, Phase ph) { return emit_block(st, mb, ph); };
    hooks.emit_transfer = [this](int from, int to, std::int64_t mb, Phase ph, std::span<sim::TaskId> out) {
      out[0] = emit_send(from, to, mb, ph);
    };
    hooks.emit_tail = [this](int st, std::span<const sim::TaskId> last) { emit_tail(st, last[0]); };
    lower_pipeline(s_.layout.schedule, p, s_.num_microbatches(), hooks, out_.graph, 1);
    for (auto& rt : stages_) out_.stages.push_back(rt.plan);
    return std::move(out_);
  }

 private:
  void make_stage(int st, std::vector<std::size_t> layers) {
    StageRuntime rt;
    rt.layers = std::move(layers);
    auto& g = out_.graph;
    StagePlan& plan = rt.plan;
    plan.stage = st;
    plan.rank = grid_.rank(0, 0, st);
    plan.process = g.add_process("rank " + std::to_string(plan.rank) + " (stage " + std::to_string(st) + ")");
    plan.compute_stream = g.add_stream(plan.process, "compute");
    rt.pp_stream = g.add_stream(plan.process, "pp-send");
    rt.dp_stream = g.add_stream(plan.process, "dp-comm");
    rt.ports.nvlink_tx = g.add_link(plan.process, "nvlink-tx", caps_.nvlink);
    rt.ports.nvlink_rx = g.add_link(plan.process, "nvlink-rx", caps_.nvlink);
    rt.ports.net_tx = g.add_link(plan.process, "net-tx", caps_.net);
    rt.ports.net_rx = g.add_link(plan.process, "net-rx", caps_.net);
    rt.ports.spine_tx = g.add_link(plan.process, "spine-tx", caps_.spine);
    rt.ports.spine_rx = g.add_link(plan.process, "spine-rx", caps_.spine);
    const auto& order = g_.topological_order();
    plan.first_layer = std::find(order.begin(), order.end(), rt.layers.front()) - order.begin();
    plan.num_layers = static_cast<std::int64_t>(rt.layers.size());
    for (std::size_t v : rt.layers) {
      plan.forward += times_.forward[v];
      plan.backward += times_.backward[v];
    }
    plan.parameters = stage_parameters_of(g_, rt.layers);
    const int p = part_.num_stages;
    if (st + 1 < p) plan.send_forward = cuts_[static_cast<std::size_t>(st)].time;
    if (st > 0) plan.send_backward = cuts_[static_cast<std::size_t>(st - 1)].time;

    const Dtype prec = s_.training.precision;
    const double grad_element = s_.training.grad_reduce_in_fp32 ? 4.0 : activation_bytes_per_element(prec);
    const double weight_element = mixed_precision(prec) ? 2.0 : 4.0;
    const bool zero = s_.layout.zero_stage >= 1;
    if (s_.layout.dp > 1) {
      const auto group = grid_.dp_group(0, st);
      const auto shape = costmodel::group_shape(s_.cluster, group);
      rt.dp_crosses_pods = shape.crosses_pods;
      rt.dp_plan = costmodel::plan_collective(zero ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce, shape,
                                              plan.parameters * grad_element, s_.cluster);
      plan.dp_all_reduce = caps_.alone(rt.dp_plan, shape.crosses_pods);
      if (zero) {
        rt.dp_gather_plan = costmodel::plan_collective(CollectiveOp::all_gather, shape, plan.parameters * weight_element, s_.cluster);
        plan.dp_all_reduce += caps_.alone(rt.dp_gather_plan, shape.crosses_pods);
      }
    }
    const double updated = zero ? plan.parameters / static_cast<double>(s_.layout.dp) : plan.parameters;
    const costmodel::KernelWork adam{costmodel::OpClass::memory, prec, 0, updated * optimizer_bytes_per_parameter(prec), 1};
    plan.optimizer = Time::from_seconds(costmodel::kernel_time_s(adam, s_.cluster.gpu));
    stages_.push_back(std::move(rt));
  }

  std::pair<sim::TaskId, sim::TaskId> emit_collective(const StageRuntime& rt, const CollectivePlan& plan, sim::StreamId stream,
                                                      TaskKind kind, const TaskLabel& label, bool crosses_pods) {
    auto& g = out_.graph;
    std::optional<sim::TaskId> first;
    sim::TaskId last = 0;
    for (const auto& ph : plan.phases) {
      std::vector<sim::FlowSpec> flows;
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
    if (!first) {
      const sim::TaskId id = g.add_task(stream, Time::zero(), static_cast<std::uint32_t>(kind));
      out_.labels.push_back(label);
      first = last = id;
    }
    return {*first, last};
  }

  // One task per layer with work, in topological order (forward) or its reverse (backward).
  BlockTasks emit_block(int st, std::int64_t mb, Phase phase) {
    const StageRuntime& rt = stages_[static_cast<std::size_t>(st)];
    const bool fwd = phase == Phase::forward;
    const TaskKind kind = fwd ? TaskKind::forward : TaskKind::backward;
    auto& g = out_.graph;
    std::optional<sim::TaskId> prev;
    BlockTasks block{{0}, {0}};  // one lane: the stage's one simulated rank
    auto add = [&](Time d, Time host, std::int32_t layer) {
      const sim::TaskId id = g.add_task(rt.plan.compute_stream, d, static_cast<std::uint32_t>(kind), host);
      out_.labels.push_back({OpId::graph_layer, kind, layer, static_cast<std::int32_t>(mb), -1});
      if (prev) g.add_dependency(*prev, id);
      else block.first[0] = id;
      prev = id;
      block.last[0] = id;
    };
    const std::size_t n = rt.layers.size();
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t v = fwd ? rt.layers[i] : rt.layers[n - 1 - i];
      const Time d = fwd ? times_.forward[v] : times_.backward[v];
      if (d > Time::zero()) add(d, fwd ? times_.forward_host_issue[v] : times_.backward_host_issue[v], static_cast<std::int32_t>(v));
    }
    if (!prev) add(Time::zero(), Time::zero(), static_cast<std::int32_t>(rt.layers.front()));
    return block;
  }

  sim::TaskId emit_send(int from, int to, std::int64_t mb, Phase phase) {
    const StageRuntime& src = stages_[static_cast<std::size_t>(from)];
    const StageRuntime& dst = stages_[static_cast<std::size_t>(to)];
    const CutPlan& cut = cuts_[static_cast<std::size_t>(std::min(from, to))];
    const TaskLabel label{OpId::pp_send, TaskKind::comm_pp, -1, static_cast<std::int32_t>(mb), to};
    (void)phase;
    if (cut.plan.phases.empty()) {
      const sim::TaskId id = out_.graph.add_task(src.pp_stream, Time::zero(), static_cast<std::uint32_t>(TaskKind::comm_pp));
      out_.labels.push_back(label);
      return id;
    }
    const auto& ph = cut.plan.phases.front();
    sim::FlowSpec flow;
    if (ph.network_bytes > 0) {
      flow.path = {src.ports.net_tx, dst.ports.net_rx};
      if (cut.crosses_pods) flow.path = {src.ports.net_tx, src.ports.spine_tx, dst.ports.spine_rx, dst.ports.net_rx};
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
    out_.labels.push_back(label);
    return id;
  }

  void emit_tail(int st, sim::TaskId last_backward) {
    StageRuntime& rt = stages_[static_cast<std::size_t>(st)];
    auto& g = out_.graph;
    sim::TaskId before_optimizer = last_backward;
    const bool zero = s_.layout.zero_stage >= 1;
    if (s_.layout.dp > 1) {
      const auto [head, tail] = emit_collective(rt, rt.dp_plan, rt.dp_stream, TaskKind::comm_dp,
                                                {zero ? OpId::dp_reduce_scatter : OpId::dp_all_reduce, TaskKind::comm_dp, -1, -1, -1},
                                                rt.dp_crosses_pods);
      g.add_dependency(last_backward, head);
      before_optimizer = tail;
    }
    const sim::TaskId opt = g.add_task(rt.plan.compute_stream, rt.plan.optimizer, static_cast<std::uint32_t>(TaskKind::optimizer),
                                       Time::from_seconds(s_.cluster.gpu.efficiency.host_issue_s));
    out_.labels.push_back({OpId::optimizer_step, TaskKind::optimizer, -1, -1, -1});
    g.add_dependency(before_optimizer, opt);
    if (zero && s_.layout.dp > 1) {
      const auto [head, tail] = emit_collective(rt, rt.dp_gather_plan, rt.dp_stream, TaskKind::comm_dp,
                                                {OpId::dp_all_gather, TaskKind::comm_dp, -1, -1, -1}, rt.dp_crosses_pods);
      g.add_dependency(opt, head);
      (void)tail;
    }
  }

  const Scenario& s_;
  const LayerGraph& g_;
  const Partition& part_;
  RankGrid grid_;
  Capacities caps_;
  GraphLayerTimes times_;
  std::vector<CutPlan> cuts_;
  std::vector<StageRuntime> stages_;
  LoweredStep out_;
};

}  // namespace

GraphLayerTimes graph_layer_times(const Scenario& s) {
  const LayerGraph& g = *s.graph;
  const Dtype prec = s.training.precision;
  const double e = activation_bytes_per_element(prec);
  const double w = mixed_precision(prec) ? 2.0 : 4.0;
  const double mb = static_cast<double>(s.layout.micro_batch_size);
  auto time_of = [&](const std::vector<LayerKernel>& ks) {
    Time t;
    for (const LayerKernel& k : ks) {
      const costmodel::KernelWork work{k.op_class, prec, k.flops * mb,
                                       (k.activation_elements * e + k.fp32_elements * 4) * mb + k.weight_elements * w, 1};
      t += Time::from_seconds(costmodel::kernel_time_s(work, s.cluster.gpu));
    }
    return t;
  };
  // One layer is one task: the host issues its kernels before it may start (docs/cost-model.md).
  auto host_issue = [&](std::size_t kernels) {
    return Time::from_seconds(static_cast<double>(kernels) * s.cluster.gpu.efficiency.host_issue_s);
  };
  GraphLayerTimes out;
  for (std::size_t v = 0; v < g.num_layers(); ++v) {
    out.forward.push_back(time_of(g.layer(v).forward));
    out.backward.push_back(time_of(g.layer(v).backward));
    out.forward_host_issue.push_back(host_issue(g.layer(v).forward.size()));
    out.backward_host_issue.push_back(host_issue(g.layer(v).backward.size()));
    out.output_bytes.push_back(g.layer(v).output_elements * e * mb);
  }
  return out;
}

PartitionProblem graph_partition_problem(const Scenario& s, const GraphLayerTimes& times) {
  PartitionProblem pr;
  pr.graph = s.graph.get();
  pr.num_stages = static_cast<int>(s.layout.pp);
  for (std::size_t v = 0; v < times.forward.size(); ++v) {
    pr.layer_time_s.push_back((times.forward[v] + times.backward[v]).seconds());
  }
  pr.output_bytes = times.output_bytes;
  pr.transfer_s = [&s, grid = grid_of(s), caps = Capacities(s.cluster)](int cut, double bytes) {
    return plan_cut(s, grid, caps, cut, bytes).time.seconds();
  };
  return pr;
}

Partition partition_scenario(const Scenario& s) {
  return partition_layer_graph(graph_partition_problem(s, graph_layer_times(s)));
}

PartitionSummary summarize_partition(const Scenario& s, const Partition& part) {
  const LayerGraph& g = *s.graph;
  const PartitionCost cost = evaluate_partition(graph_partition_problem(s, graph_layer_times(s)), part.stage_of);
  const MemoryReport memory = estimate_graph_memory(s, part);
  const auto lists = stage_layer_lists(g, part);
  PartitionSummary out;
  out.method = part.method;
  out.bottleneck_s = cost.bottleneck_s;
  out.balanced_s = cost.balanced_s;
  out.gap_fraction = cost.balanced_s > 0 ? cost.bottleneck_s / cost.balanced_s - 1 : 0;
  for (int st = 0; st < part.num_stages; ++st) {
    const auto i = static_cast<std::size_t>(st);
    StagePartition sp;
    sp.stage = st;
    for (std::size_t v : lists[i]) sp.layers.push_back(g.layer(v).spec.name);
    sp.compute_s = cost.compute_s[i];
    sp.comm_s = cost.comm_s[i];
    sp.cost_s = cost.cost(st);
    sp.parameters = stage_parameters_of(g, lists[i]);
    sp.memory_bytes = memory.stages[i].bytes.total();
    sp.cut_bytes_out = st + 1 < part.num_stages ? cost.cut_bytes[i] : 0;
    out.stages.push_back(std::move(sp));
  }
  return out;
}

LoweredStep lower_graph_step(const Scenario& s, const Partition& partition) {
  // io/ rejects zb-h1 for graph models: their backward is one pass per layer, not B and W.
  assert(s.layout.schedule != Schedule::zb_h1);
  return GraphLowering(s, partition).run();
}

MemoryReport estimate_graph_memory(const Scenario& sc, const Partition& part) {
  const LayerGraph& g = *sc.graph;
  const int p = part.num_stages;
  const double dp = static_cast<double>(sc.layout.dp);
  const Dtype prec = sc.training.precision;
  const double e = activation_bytes_per_element(prec);
  const bool mixed = mixed_precision(prec);
  const double weight_bytes = mixed ? 2 : 4;
  const double grad_bytes = (sc.training.grad_reduce_in_fp32 || !mixed) ? 4 : 2;
  const double optimizer_bytes = (mixed ? 4 : 0) + 4 + 4;  // Adam: fp32 master, two moments
  const auto zero = sc.layout.zero_stage;
  const double mb = static_cast<double>(sc.layout.micro_batch_size);
  const auto times = graph_layer_times(sc);
  const PartitionCost cost = evaluate_partition(graph_partition_problem(sc, times), part.stage_of);
  const auto lists = stage_layer_lists(g, part);

  MemoryReport report;
  report.capacity_bytes = sc.cluster.gpu.hbm_capacity_bytes;
  for (int st = 0; st < p; ++st) {
    StageMemory sm;
    sm.stage = st;
    sm.microbatches_in_flight = microbatches_in_flight(sc.layout.schedule, st, p, sc.num_microbatches());
    const auto& layers = lists[static_cast<std::size_t>(st)];
    const double params = stage_parameters_of(g, layers);
    MemoryByKind& k = sm.bytes;
    k.parameters = params * weight_bytes;
    k.gradients = params * grad_bytes / (zero >= 2 ? dp : 1);
    k.optimizer_states = params * optimizer_bytes / (zero >= 1 ? dp : 1);
    double per_microbatch = 0;
    for (std::size_t v : layers) per_microbatch += layer_activation_bytes(g.layer(v), e) * mb;
    if (st > 0) per_microbatch += cost.cut_bytes[static_cast<std::size_t>(st - 1)];  // the received input
    sm.activation_bytes_per_microbatch = per_microbatch;
    k.activations = per_microbatch * static_cast<double>(sm.microbatches_in_flight);
    const double tensors = k.parameters + k.gradients + k.optimizer_states + k.activations;
    k.allocator_overhead = tensors * sc.training.allocator_overhead_fraction;
    k.runtime_reserved = sc.training.runtime_reserved_bytes;
    if (k.total() > report.peak_bytes) {
      report.peak_bytes = k.total();
      report.peak_stage = st;
    }
    report.stages.push_back(sm);
  }
  report.fits = report.peak_bytes <= report.capacity_bytes;
  return report;
}

StepResult compute_graph_step_result(const Scenario& s, const LoweredStep& lowered, const sim::Timeline& timeline) {
  const LayerGraph& g = *s.graph;
  StepResult r;
  r.step_time = timeline.makespan;
  r.num_gpus = s.layout.num_gpus();
  r.num_microbatches = s.num_microbatches();
  const double samples = static_cast<double>(s.training.global_batch_size);
  r.tokens_per_step = samples * static_cast<double>(g.tokens_per_sample());
  const double step_s = r.step_time.seconds();
  r.tokens_per_s = step_s > 0 ? r.tokens_per_step / step_s : 0;
  r.tokens_per_s_per_gpu = r.tokens_per_s / static_cast<double>(r.num_gpus);
  r.parameters_total = g.total_parameters();
  // Every layer's forward and backward FLOPs as derived from its shapes (no recompute).
  r.model_flops_per_step = (g.forward_flops_per_sample() + g.backward_flops_per_sample()) * samples;
  r.hardware_flops_per_step = r.model_flops_per_step;
  const double gpu_seconds = step_s * static_cast<double>(r.num_gpus);
  const double peak = s.cluster.gpu.peak(s.training.precision);
  if (gpu_seconds > 0) {
    r.model_tflops_per_gpu = r.model_flops_per_step / gpu_seconds / 1e12;
    r.hardware_tflops_per_gpu = r.model_tflops_per_gpu;
    r.mfu = r.model_flops_per_step / gpu_seconds / peak;
    r.hfu = r.mfu;
  }
  fill_stage_results(lowered, timeline, r);
  r.memory = estimate_memory(s);
  r.events = timeline.events;
  r.tasks = lowered.graph.num_tasks();
  r.simulated_ranks = static_cast<int>(lowered.stages.size());
  return r;
}

}  // namespace ptsim::strategies

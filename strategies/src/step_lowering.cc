#include "ptsim/strategies/step_lowering.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "ptsim/costmodel/collective_algorithms.h"
#include "ptsim/costmodel/op_cost.h"
#include "ptsim/strategies/graph_step.h"
#include "ptsim/strategies/pipeline_schedule.h"
#include "ptsim/strategies/rank_grid.h"
#include "ptsim/strategies/transformer_ops.h"
#include "stage_groups.h"

namespace ptsim::strategies {

// One layer kind's costs in a stage's plan (make_stage), remembered by StagePlanCache.
struct LayerSummary {
  sim::Time fwd, bwd;              // kernels and collectives (StagePlan::forward's share)
  sim::Time lower_fwd, lower_bwd;  // the bound's chains
  sim::Time lower_wgrad;           // of lower_bwd, zb-h1's W pass
  StagePlan::PortLoad load;        // sent per micro-batch, forward and backward
};
using LayerKey = std::array<std::int64_t, 31>;

// A stage's groups (lane 0's) depend on the layout only through its grid, whether it is
// interleaved (the last stage then sends to the first) and the GPU count.
using GroupsKey = std::array<std::int64_t, 10>;

struct StagePlanCache::Impl {
  std::mutex mutex;
  std::map<LayerKey, LayerSummary> layers;
  std::map<GroupsKey, detail::StageGroups> groups;
};
StagePlanCache::StagePlanCache() : impl_(std::make_unique<Impl>()) {}
StagePlanCache::~StagePlanCache() = default;

namespace {

using costmodel::CollectiveOp;
using costmodel::CollectivePlan;
using detail::GroupSet;
using sim::Time;

constexpr sim::TaskId kNoTask = ~sim::TaskId{0};
// Per lane (simulated rank) of a stage: a task id, or kNoTask.
using Lanes = std::vector<sim::TaskId>;

// A collective's plan for one shape class of its groups.
struct GroupPlan {
  CollectivePlan plan;
  bool crosses_pods = false;
};

// Which groups of the stage a communication op runs on.
enum class OpGroup : std::uint8_t { none, tp, cp, cp_ring, ep };

// An op with its cost resolved for this scenario: a kernel's duration, or a collective's
// plans per shape class of its groups (whose duration depends on what else is on the
// links; `duration` is the representative's time alone).
struct TimedOp {
  OpId op;
  OpGroup group = OpGroup::none;
  Time duration;
  // The least time its task takes in the automatic lowering: `duration`, but for a CP ring
  // step the slowest step of the representative's ring alone (in full mode one task moves
  // every step of the ring; collapsed, the ring's steps are all alike).
  Time bound;
  std::vector<GroupPlan> plans;
  bool overlaps_next = false;
  Time host_issue;  // the host's time to issue its kernels (launches x host_issue_s); 0 for collectives
};

// A rank's ports. Capacities are the achievable bandwidth of the port (line rate x the
// large-message fraction); concurrent flows share them max-min fairly. Collapsed: the
// spine ports are the rank's own share of its pod's uplink; full: the pod's uplink and
// downlink themselves, shared by every rank of the pod.
struct Ports {
  sim::LinkId nvlink_tx, nvlink_rx, net_tx, net_rx, spine_tx, spine_rx;
};

// One simulated rank.
struct RankRuntime {
  int rank = 0;
  sim::ProcessId process = 0;
  sim::StreamId compute = 0, tp = 0, pp = 0, dp = 0, cp = 0, ep = 0;
  Ports ports{};
};

// A layer's ops, for one layer kind (dense or MoE MLP). Plans per shape class of the
// stage's DP groups.
struct LayerOps {
  std::vector<TimedOp> fwd, bwd;
  std::vector<TimedOp> recompute;    // rerun before the layer's backward (may be empty)
  std::vector<TimedOp> weight_grad;  // zb-h1: the W pass (bwd is then the B pass)
  std::vector<GroupPlan> gather_plan;  // ZeRO 3: the layer's parameters
  std::vector<GroupPlan> reduce_plan;  // ZeRO 3 or overlap_grad_reduce: the layer's gradients
};

struct StageOps {
  std::array<LayerOps, kNumLayerKinds> layer;  // by LayerKind; only the stage's kinds are filled
  std::vector<TimedOp> emb_fwd, emb_bwd, head_fwd, head_bwd;
  const LayerOps& of(LayerKind kind) const { return layer[static_cast<std::size_t>(kind)]; }
};

struct StageRuntime {
  StagePlan plan;
  StageOps ops;
  std::vector<RankRuntime> ranks;  // per lane
  detail::StageGroups groups;
  // Per shape class of the DP groups:
  std::vector<GroupPlan> dp_plan;            // ZeRO 0: all-reduce; ZeRO >= 1: reduce-scatter
  std::vector<GroupPlan> dp_gather_plan;     // ZeRO >= 1: all-gather of the updated parameters
  std::array<std::vector<GroupPlan>, 2> send_plan;  // forward (to stage + 1), backward (to stage - 1)
  // Tied embeddings, pp > 1, first and last stage: per lane, the word-embedding gradient
  // all-reduce with the same lane of the other end of the pipeline.
  std::vector<GroupPlan> embedding_plan;
  // pipeline_scatter_gather without sequence parallelism: the receiving TP group's
  // all-gather of a pipeline transfer, added to the transfer's time.
  Time send_gather;
};

class StepLowering {
 public:
  StepLowering(const Scenario& s, bool full, StagePlanCache* cache = nullptr)
      : s_(s),
        full_(full),
        cache_(cache),
        shape_(shape_context(s)),
        grid_(s.layout.tp, s.layout.dp, s.layout.pp, s.layout.rank_order, s.layout.cp),
        lanes_(full ? static_cast<std::size_t>(detail::lanes_per_stage(s)) : 1) {
    const auto& gpu = s.cluster.gpu;
    nvlink_capacity_ = gpu.nvlink_bandwidth_bytes_per_s * gpu.efficiency.nvlink_bandwidth_fraction;
    net_capacity_ = s.cluster.network_bandwidth_bytes_per_s * gpu.efficiency.network_bandwidth_fraction;
    spine_capacity_ = net_capacity_ / s.cluster.oversubscription;
  }

  LoweredStep run() {
    const int p = static_cast<int>(s_.layout.pp);
    for (int st = 0; st < p; ++st) make_stage(st);

    PipelineHooks hooks;
    hooks.lanes = static_cast<int>(lanes_);
    hooks.emit_block = [this](int st, int chunk, std::int64_t mb, Phase ph) { return emit_block(st, chunk, mb, ph); };
    hooks.emit_transfer = [this](int from, int to, std::int64_t mb, Phase ph, std::span<sim::TaskId> out) {
      emit_send(from, to, mb, ph, out);
    };
    hooks.emit_tail = [this](int st, std::span<const sim::TaskId> last) { emit_tail(st, last); };
    lower_pipeline(s_.layout.schedule, p, s_.num_microbatches(), hooks, out_.graph,
                   static_cast<int>(s_.layout.virtual_stages));

    for (auto& rt : stages_) out_.stages.push_back(rt.plan);
    out_.mode = full_ ? LoweringMode::full : LoweringMode::collapsed;
    out_.simulated_ranks = static_cast<std::int64_t>(lanes_) * p;
    return std::move(out_);
  }

  // The stages' plans. A stage's plan depends on its stage only through whether it is the
  // first or last, how many layers of each kind it holds, and the shapes of its groups and
  // sends: stages alike in those share one plan (with their own stage, rank and layers).
  std::vector<StagePlan> plan_only() {
    const int p = static_cast<int>(s_.layout.pp);
    std::vector<StagePlan> plans;
    std::vector<std::pair<StageKey, std::size_t>> planned;  // key, index in plans
    for (int st = 0; st < p; ++st) {
      detail::StageGroups groups = stage_groups(st);
      StageKey key = stage_key(st, groups);
      const auto same = std::find_if(planned.begin(), planned.end(), [&](const auto& k) { return k.first == key; });
      if (same != planned.end()) {
        StagePlan plan = plans[same->second];
        const StageLayers layers = s_.stage_layers(st);
        plan.stage = st;
        plan.rank = detail::lane_rank(s_, grid_, st, 0);
        plan.first_layer = layers.first;
        plans.push_back(plan);
        continue;
      }
      make_stage(st, &groups, true);
      planned.emplace_back(std::move(key), plans.size());
      plans.push_back(stages_.back().plan);
    }
    return plans;
  }

 private:
  // build_stage_groups, remembered in the cache (plan only: lane 0's groups).
  detail::StageGroups stage_groups(int st) const {
    if (!cache_ || full_) return detail::build_stage_groups(s_, grid_, st, full_);
    const auto& l = s_.layout;
    const GroupsKey key{l.tp, l.cp, l.pp, l.dp, l.ep, static_cast<std::int64_t>(l.rank_order),
                        l.virtual_stages > 1 ? 1 : 0, s_.cluster.num_nodes, s_.cluster.gpus_per_node, st};
    {
      const std::lock_guard<std::mutex> lock(cache_->impl().mutex);
      const auto it = cache_->impl().groups.find(key);
      if (it != cache_->impl().groups.end()) return it->second;
    }
    detail::StageGroups g = detail::build_stage_groups(s_, grid_, st, full_);
    const std::lock_guard<std::mutex> lock(cache_->impl().mutex);
    cache_->impl().groups.emplace(key, g);
    return g;
  }

  // What a stage's plan depends on besides the scenario (see plan_only).
  struct StageKey {
    bool first = false, last = false;
    std::int64_t layers = 0;
    LayerKindCounts kinds;
    std::vector<costmodel::GroupShape> shapes;  // tp, cp, cp ring, ep, dp, sends; a zero-rank marker between sets
    bool operator==(const StageKey& o) const {
      if (first != o.first || last != o.last || layers != o.layers || shapes.size() != o.shapes.size()) return false;
      for (const LayerKind k : {LayerKind::dense, LayerKind::moe}) {
        if (kinds.of(k) != o.kinds.of(k)) return false;
      }
      for (std::size_t i = 0; i < shapes.size(); ++i) {
        if (!detail::same_shape(shapes[i], o.shapes[i])) return false;
      }
      return true;
    }
  };
  StageKey stage_key(int st, const detail::StageGroups& g) const {
    StageKey k;
    k.first = is_first(st);
    k.last = is_last(st);
    const StageLayers layers = s_.stage_layers(st);
    k.layers = layers.count;
    k.kinds = count_layer_kinds(s_.model, layers.first, layers.count);
    for (const GroupSet* set : {&g.tp, &g.cp, &g.cp_ring, &g.ep, &g.dp, &g.send[0], &g.send[1]}) {
      k.shapes.insert(k.shapes.end(), set->shapes.begin(), set->shapes.end());
      k.shapes.push_back(costmodel::GroupShape{0, 0, 0, false});
    }
    k.shapes.insert(k.shapes.end(), g.cp_ring.rep_ring_shapes.begin(), g.cp_ring.rep_ring_shapes.end());
    return k;
  }

  // Times layer kind `kind`'s ops for this stage (into rt.ops) and sums them up.
  LayerSummary layer_summary(LayerKind kind, StageRuntime& rt) const {
    const auto& m = s_.model;
    LayerOps& lo = rt.ops.layer[static_cast<std::size_t>(kind)];
    lo.fwd = timed(layer_forward_ops(m, kind, shape_), rt);
    if (s_.layout.schedule == Schedule::zb_h1) {
      const SplitBackward split = split_weight_gradients(layer_backward_ops(m, kind, shape_));
      lo.bwd = timed(split.input_grad, rt);
      lo.weight_grad = timed(split.weight_grad, rt);
    } else {
      lo.bwd = timed(layer_backward_ops(m, kind, shape_), rt);
    }
    if (s_.layout.recompute == Recompute::full) lo.recompute = lo.fwd;
    if (s_.layout.recompute == Recompute::selective) {
      lo.recompute = timed(attention_core_forward_ops(m, shape_), rt);
    }
    LayerSummary out;
    out.load = load(lo.fwd);
    out.load.add(load(lo.bwd)).add(load(lo.weight_grad)).add(load(lo.recompute));
    out.fwd = sum(lo.fwd);
    out.bwd = sum(lo.bwd) + sum(lo.weight_grad) + sum(lo.recompute);
    out.lower_fwd = lower_sum(lo.fwd);
    out.lower_wgrad = lower_sum(lo.weight_grad);
    out.lower_bwd = lower_sum(lo.bwd) + out.lower_wgrad + lower_sum(lo.recompute);
    return out;
  }

  // Looks kind's summary up in the cache; fills `key` either way.
  bool find_layer(LayerKind kind, const detail::StageGroups& g, LayerKey& key, LayerSummary& out) const {
    const auto& l = s_.layout;
    std::size_t i = 0;
    for (const std::int64_t x :
         {static_cast<std::int64_t>(kind), static_cast<std::int64_t>(l.recompute), l.schedule == Schedule::zb_h1 ? 1L : 0L,
          shape_.micro_batch, shape_.seq_length, shape_.tp, static_cast<std::int64_t>(shape_.dtype),
          static_cast<std::int64_t>(shape_.attention), shape_.sequence_parallel ? 1L : 0L, shape_.cp,
          static_cast<std::int64_t>(shape_.cp_comm), shape_.ep, shape_.tp_comm_overlap ? 1L : 0L,
          static_cast<std::int64_t>(s_.cluster.num_gpus())}) {
      key[i++] = x;
    }
    for (const GroupSet* set : {&g.tp, &g.cp, &g.cp_ring, &g.ep}) {
      const costmodel::GroupShape sh = set->shapes.empty() ? costmodel::GroupShape{0, 0, 0, false} : set->shapes.front();
      key[i++] = sh.ranks;
      key[i++] = sh.ranks_per_domain;
      key[i++] = sh.domains;
      key[i++] = sh.crosses_pods ? 1 : 0;
    }
    // The representative's ring steps (pairs): within an NVLink domain, across domains,
    // across pods.
    std::int64_t ring = 0;
    for (const costmodel::GroupShape& sh : g.cp_ring.rep_ring_shapes) {
      assert(sh.ranks == 2);
      ring |= sh.crosses_pods ? 4 : (sh.domains > 1 ? 2 : 1);
    }
    key[i++] = ring;
    assert(i <= key.size());
    const std::lock_guard<std::mutex> lock(cache_->impl().mutex);
    const auto it = cache_->impl().layers.find(key);
    if (it == cache_->impl().layers.end()) return false;
    out = it->second;
    return true;
  }

  bool ties_embedding_across_stages() const {
    return s_.layout.pp > 1 && !s_.model.untie_embeddings_and_output_weights;
  }
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
  Time alone(const GroupPlan& p) const { return alone(p.plan, p.crosses_pods); }

  // What a collective's representative sends on its ports (emit_group's tx flows), as
  // seconds at each port's capacity.
  StagePlan::PortLoad load(const GroupPlan& p) const {
    StagePlan::PortLoad l;
    for (const auto& ph : p.plan.phases) {
      l.nvlink_s += ph.nvlink_bytes / nvlink_capacity_;
      l.network_s += ph.network_bytes / net_capacity_;
      if (p.crosses_pods) l.spine_s += ph.network_bytes / spine_capacity_;
    }
    return l;
  }
  StagePlan::PortLoad load(const std::vector<GroupPlan>& plans) const {
    return plans.empty() ? StagePlan::PortLoad{} : load(plans.front());
  }
  StagePlan::PortLoad load(const std::vector<TimedOp>& ops) const {
    StagePlan::PortLoad l;
    for (const TimedOp& op : ops) l.add(load(op.plans));
    return l;
  }
  // A pipeline send is one flow (emit_send): over the network when the plan moves any
  // bytes there, else over NVLink.
  StagePlan::PortLoad send_load(const GroupPlan& p) const {
    StagePlan::PortLoad l;
    const auto& ph = p.plan.phases.front();
    if (ph.network_bytes > 0) {
      l.network_s = ph.network_bytes / net_capacity_;
      if (p.crosses_pods) l.spine_s = ph.network_bytes / spine_capacity_;
    } else {
      l.nvlink_s = ph.nvlink_bytes / nvlink_capacity_;
    }
    return l;
  }

  // A collective's plan for each shape class of `set`.
  std::vector<GroupPlan> plans_for(const GroupSet& set, CollectiveOp op, double bytes) const {
    std::vector<GroupPlan> plans;
    for (const auto& shape : set.shapes) {
      plans.push_back({costmodel::plan_collective(op, shape, bytes, s_.cluster), shape.crosses_pods});
    }
    return plans;
  }

  static const GroupSet& set_of(const StageRuntime& rt, OpGroup g) {
    switch (g) {
      case OpGroup::tp: return rt.groups.tp;
      case OpGroup::cp: return rt.groups.cp;
      case OpGroup::cp_ring: return rt.groups.cp_ring;
      case OpGroup::ep: return rt.groups.ep;
      case OpGroup::none: break;
    }
    assert(false);
    return rt.groups.tp;
  }

  // Host (CPU) time to issue `launches` kernels (docs/cost-model.md, "Host issue").
  Time host_issue(double launches) const {
    return Time::from_seconds(launches * s_.cluster.gpu.efficiency.host_issue_s);
  }

  std::vector<TimedOp> timed(const std::vector<OpStep>& ops, const StageRuntime& rt) const {
    std::vector<TimedOp> out;
    double ring_bytes = -1;  // the last CP ring step's size, and its bound
    Time ring_bound;
    for (const OpStep& op : ops) {
      TimedOp t;
      t.op = op.op;
      if (op.is_tp_collective) {
        t.group = OpGroup::tp;
        t.overlaps_next = op.overlaps_next;
      } else if (op.is_ep_comm) {
        t.group = OpGroup::ep;  // experts live on ep consecutive (cp, dp) ranks
      } else if (op.is_cp_comm) {
        // Ring steps go to the next CP rank; the all-gather variant spans the CP group.
        t.group = op.collective == CollectiveOp::send_recv ? OpGroup::cp_ring : OpGroup::cp;
        t.overlaps_next = op.overlaps_next;
      } else if (!out.empty() && out.back().overlaps_next && out.back().group != OpGroup::none) {
        // Beside a collective, which holds some of the SMs while it runs.
        t.duration = Time::from_seconds(
            costmodel::kernel_time_beside_collective_s(op.work, s_.cluster.gpu, out.back().duration.seconds()));
      } else {
        t.duration = Time::from_seconds(costmodel::kernel_time_s(op.work, s_.cluster.gpu));
      }
      if (t.group != OpGroup::none) {
        t.plans = plans_for(set_of(rt, t.group), op.collective, op.collective_bytes);
        t.duration = alone(t.plans.front());
      } else {
        t.host_issue = host_issue(op.work.launches);
      }
      t.bound = t.duration;
      if (t.group == OpGroup::cp_ring) {
        // The ring's steps all move the same bytes: time the other shapes once per size.
        if (op.collective_bytes != ring_bytes) {
          ring_bytes = op.collective_bytes;
          ring_bound = t.duration;
          const GroupSet& ring = rt.groups.cp_ring;
          for (const costmodel::GroupShape& shape : ring.rep_ring_shapes) {
            if (detail::same_shape(shape, ring.shapes.front())) continue;
            const GroupPlan step{costmodel::plan_collective(op.collective, shape, op.collective_bytes, s_.cluster),
                                 shape.crosses_pods};
            ring_bound = std::max(ring_bound, alone(step));
          }
        }
        t.bound = ring_bound;
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

  // Full mode: a pod's uplink and downlink, created on first use, owned by a process of
  // their own (so that a rank's breakdown sees only traffic on its own ports). Capacity:
  // the job's GPUs in the pod x the per-GPU share, what the collapsed mode gives each rank.
  std::pair<sim::LinkId, sim::LinkId> pod_links(int pod) {
    if (pod_links_.size() <= static_cast<std::size_t>(pod)) pod_links_.resize(static_cast<std::size_t>(pod) + 1, {kNoTask, kNoTask});
    auto& links = pod_links_[static_cast<std::size_t>(pod)];
    if (links.first == kNoTask) {
      const int n = s_.cluster.num_gpus();
      const int size = s_.cluster.pod_gpus > 0 ? s_.cluster.pod_gpus : n;
      const int gpus = std::min(size, n - pod * size);
      auto& g = out_.graph;
      const sim::ProcessId owner = g.add_process("pod " + std::to_string(pod) + " fabric");
      links.first = g.add_link(owner, "pod-uplink", spine_capacity_ * gpus);
      links.second = g.add_link(owner, "pod-downlink", spine_capacity_ * gpus);
    }
    return links;
  }

  RankRuntime make_rank(int rank, int st) {
    RankRuntime r;
    auto& g = out_.graph;
    r.rank = rank;
    r.process = g.add_process("rank " + std::to_string(rank) + " (stage " + std::to_string(st) + ")");
    r.compute = g.add_stream(r.process, "compute");
    r.tp = g.add_stream(r.process, "tp-comm");
    r.pp = g.add_stream(r.process, "pp-send");
    r.dp = g.add_stream(r.process, "dp-comm");
    r.cp = g.add_stream(r.process, "cp-comm");
    r.ep = g.add_stream(r.process, "ep-comm");
    r.ports.nvlink_tx = g.add_link(r.process, "nvlink-tx", nvlink_capacity_);
    r.ports.nvlink_rx = g.add_link(r.process, "nvlink-rx", nvlink_capacity_);
    r.ports.net_tx = g.add_link(r.process, "net-tx", net_capacity_);
    r.ports.net_rx = g.add_link(r.process, "net-rx", net_capacity_);
    if (full_) {
      std::tie(r.ports.spine_tx, r.ports.spine_rx) = pod_links(s_.cluster.pod_of(rank));
    } else {
      r.ports.spine_tx = g.add_link(r.process, "spine-tx", spine_capacity_);
      r.ports.spine_rx = g.add_link(r.process, "spine-rx", spine_capacity_);
    }
    return r;
  }

  // A lower bound on the ops' time, as chain() wires them: each op after the previous
  // one, except that an exchange and the kernel beside it both start after the op before
  // them, and the op after the kernel waits for both: the pair takes at least the longer
  // of the two (each at its least, `bound`). An exchange that opens the list counts as
  // nothing (at the start of a block it has no op before it to wait for).
  static Time lower_sum(const std::vector<TimedOp>& ops) {
    Time t;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (!ops[i].overlaps_next) {
        t += ops[i].bound;
      } else if (i > 0 && i + 1 < ops.size() && !ops[i + 1].overlaps_next) {
        t += std::max(ops[i].bound, ops[i + 1].bound);
        ++i;
      }
    }
    return t;
  }

  // `groups`: the stage's groups when the caller built them already. Plan only: no ranks
  // (processes, streams, ports) are created.
  void make_stage(int st, detail::StageGroups* groups = nullptr, bool plan_only = false) {
    StageRuntime rt;
    StagePlan& plan = rt.plan;
    plan.stage = st;
    rt.groups = groups ? std::move(*groups) : detail::build_stage_groups(s_, grid_, st, full_);
    if (plan_only) {
      plan.rank = detail::lane_rank(s_, grid_, st, 0);
    } else {
      rt.ranks.reserve(lanes_);
      for (std::size_t lane = 0; lane < lanes_; ++lane) {
        rt.ranks.push_back(make_rank(detail::lane_rank(s_, grid_, st, static_cast<std::uint32_t>(lane)), st));
      }
      plan.rank = rt.ranks.front().rank;
      plan.process = rt.ranks.front().process;
      plan.compute_stream = rt.ranks.front().compute;
    }

    const StageLayers layers = s_.stage_layers(st);
    const std::int64_t per_stage = layers.count;
    plan.first_layer = layers.first;
    plan.num_layers = per_stage;

    const auto& m = s_.model;
    // The kinds of layer this stage holds (a DeepSeek-V3 stage may hold dense and MoE layers).
    const LayerKindCounts kinds = count_layer_kinds(m, layers.first, layers.count);
    Time layers_fwd, layers_bwd;
    for (const LayerKind kind : {LayerKind::dense, LayerKind::moe}) {
      if (kinds.of(kind) == 0) continue;
      LayerKey key{};
      LayerSummary summary;
      const bool cached = plan_only && cache_ && find_layer(kind, rt.groups, key, summary);
      if (!cached) summary = layer_summary(kind, rt);
      if (plan_only && cache_ && !cached) {
        const std::lock_guard<std::mutex> lock(cache_->impl().mutex);
        cache_->impl().layers.emplace(key, summary);
      }
      plan.microbatch_load.add(summary.load, static_cast<double>(kinds.of(kind)));
      layers_fwd += summary.fwd * kinds.of(kind);
      layers_bwd += summary.bwd * kinds.of(kind);
      // The bound's per-layer costs: the cheaper kind when a stage holds both.
      const bool first_kind = plan.layer_forward_bound == Time::zero() && plan.layer_backward_bound == Time::zero();
      plan.layer_forward_bound = first_kind ? summary.lower_fwd : std::min(plan.layer_forward_bound, summary.lower_fwd);
      plan.layer_backward_bound = first_kind ? summary.lower_bwd : std::min(plan.layer_backward_bound, summary.lower_bwd);
      const Time input_grad = summary.lower_bwd - summary.lower_wgrad;
      plan.layer_input_grad_bound = first_kind ? input_grad : std::min(plan.layer_input_grad_bound, input_grad);
      plan.layer_weight_grad_bound = first_kind ? summary.lower_wgrad : std::min(plan.layer_weight_grad_bound, summary.lower_wgrad);
    }
    if (is_first(st)) {
      rt.ops.emb_fwd = timed(embedding_forward_ops(m, shape_), rt);
      rt.ops.emb_bwd = timed(embedding_backward_ops(m, shape_), rt);
    }
    if (is_last(st)) {
      rt.ops.head_fwd = timed(head_forward_ops(m, shape_), rt);
      rt.ops.head_bwd = timed(head_backward_ops(m, shape_), rt);
    }
    for (const auto* ops : {&rt.ops.emb_fwd, &rt.ops.emb_bwd, &rt.ops.head_fwd, &rt.ops.head_bwd}) {
      plan.microbatch_load.add(load(*ops));
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
    // One layer of this stage: the mean over its layers (of one kind unless the model mixes them).
    if (per_stage > 0) {
      plan.layer_forward = Time::from_seconds(layers_fwd.seconds() / static_cast<double>(per_stage));
      plan.layer_backward = Time::from_seconds(layers_bwd.seconds() / static_cast<double>(per_stage));
    }
    plan.parameters = stage_parameters(s_, st);

    // Pipeline transfers: one micro-batch's hidden activations (or their gradients), its
    // context-parallel share of the sequence. With sequence parallelism each TP rank sends
    // the [s/(cp*tp), b, h] shard it holds (Megatron-Core's p2p); without it every TP rank
    // holds the whole tensor and sends it whole (Megatron-Core), or with
    // `pipeline_scatter_gather` sends its 1/tp and the receiving TP group all-gathers it over
    // NVLink (Megatron-LM's scatter/gather, SC21 Sec. 4.1, `gather_split_1d_tensor` in
    // p2p_communication.py), the all-gather part of the transfer's time.
    const auto act_dtype = s_.training.precision == costmodel::Dtype::fp8 ? costmodel::Dtype::bf16 : s_.training.precision;
    const double boundary_bytes = static_cast<double>(shape_.micro_batch * shape_.seq_length * m.hidden_size) *
                                  costmodel::bytes_per_element(act_dtype) / static_cast<double>(shape_.cp);
    const bool gathered = !shape_.sequence_parallel && s_.layout.pipeline_scatter_gather && shape_.tp > 1 && s_.layout.pp > 1;
    const double act_bytes =
        shape_.sequence_parallel || gathered ? boundary_bytes / static_cast<double>(shape_.tp) : boundary_bytes;
    rt.send_gather = gathered ? alone(plans_for(rt.groups.tp, CollectiveOp::all_gather, boundary_bytes).front()) : Time{};
    for (std::size_t dir = 0; dir < 2; ++dir) {
      if (rt.groups.send_to[dir] < 0) continue;
      rt.send_plan[dir] = plans_for(rt.groups.send[dir], CollectiveOp::send_recv, act_bytes);
      (dir == 0 ? plan.send_forward : plan.send_backward) = alone(rt.send_plan[dir].front()) + rt.send_gather;
      (dir == 0 ? plan.send_forward_load : plan.send_backward_load) = send_load(rt.send_plan[dir].front());
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
      const GroupSet& dp = rt.groups.dp;
      if (zero == 0) {
        rt.dp_plan = plans_for(dp, CollectiveOp::all_reduce, tail_params * grad_element);
        plan.dp_all_reduce = alone(rt.dp_plan.front());
      } else {
        rt.dp_plan = plans_for(dp, CollectiveOp::reduce_scatter, tail_params * grad_element);
        rt.dp_gather_plan = plans_for(dp, CollectiveOp::all_gather, tail_params * weight_element);
        plan.dp_all_reduce = alone(rt.dp_plan.front()) + alone(rt.dp_gather_plan.front());
      }
      plan.tail_load = load(rt.dp_plan);
      plan.tail_load.add(load(rt.dp_gather_plan));
      for (const LayerKind kind : {LayerKind::dense, LayerKind::moe}) {
        if (kinds.of(kind) == 0) continue;
        LayerOps& lo = rt.ops.layer[static_cast<std::size_t>(kind)];
        const double layer_params = layer_parameters(m, kind, s_.layout.tp, s_.layout.ep);
        // The bound's per-layer collectives: the cheaper kind when a stage holds both.
        auto keep_min = [](Time& kept, Time t) { kept = kept == Time::zero() ? t : std::min(kept, t); };
        if (zero >= 3) {
          lo.gather_plan = plans_for(dp, CollectiveOp::all_gather, layer_params * weight_element);
          keep_min(plan.dp_layer_gather, alone(lo.gather_plan.front()));
          plan.layers_gather_load.add(load(lo.gather_plan), static_cast<double>(kinds.of(kind)));
        }
        if (per_layer) {
          lo.reduce_plan = plans_for(dp, zero >= 1 ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce,
                                     layer_params * grad_element);
          keep_min(plan.dp_layer_reduce, alone(lo.reduce_plan.front()));
          plan.layers_reduce_load.add(load(lo.reduce_plan), static_cast<double>(kinds.of(kind)));
        }
      }
    }
    if (ties_embedding_across_stages() && (is_first(st) || is_last(st))) {
      // Megatron's _allreduce_word_embedding_grads (after the data-parallel reduction): the
      // two copies of the word embedding, on the first and the last stage, sum their
      // gradients, in the gradient buffer's precision.
      const double bytes = lm_head_parameters(m, s_.layout.tp) * grad_element;
      const std::size_t lanes = plan_only ? 1 : lanes_;
      for (std::size_t lane = 0; lane < lanes; ++lane) {
        const auto l = static_cast<std::uint32_t>(lane);
        const std::array<int, 2> pair{detail::lane_rank(s_, grid_, 0, l),
                                      detail::lane_rank(s_, grid_, static_cast<int>(s_.layout.pp) - 1, l)};
        const auto shape = costmodel::group_shape(s_.cluster, pair);
        rt.embedding_plan.push_back(
            {costmodel::plan_collective(CollectiveOp::all_reduce, shape, bytes, s_.cluster), shape.crosses_pods});
      }
      plan.embedding_all_reduce = alone(rt.embedding_plan.front());
    }
    // The optimizer updates this GPU's shard: all its parameters, or 1/dp with ZeRO.
    const double updated = zero >= 1 ? plan.parameters / static_cast<double>(s_.layout.dp * s_.layout.cp) : plan.parameters;
    costmodel::KernelWork adam{costmodel::OpClass::memory, s_.training.precision, 0,
                               updated * optimizer_bytes_per_parameter(s_.training.precision), 1};
    plan.optimizer = Time::from_seconds(costmodel::kernel_time_s(adam, s_.cluster.gpu));
    stages_.push_back(std::move(rt));
  }

  // A dependency, skipping an exact repeat of the previous one (a collective's members
  // share its task, so consecutive members would add the same edge).
  void depend(sim::TaskId before, sim::TaskId after) {
    if (before == last_dep_.first && after == last_dep_.second) return;
    out_.graph.add_dependency(before, after);
    last_dep_ = {before, after};
  }

  sim::FlowSpec& next_flow(std::size_t& n) {
    if (n == flow_buf_.size()) flow_buf_.emplace_back();
    return flow_buf_[n++];
  }
  void add_flow(std::size_t& n, std::initializer_list<sim::LinkId> path, std::optional<sim::LinkId> spine, double bytes,
                double rate) {
    sim::FlowSpec& f = next_flow(n);
    f.path.assign(path);
    if (spine) f.path.push_back(*spine);
    f.bytes = bytes;
    f.max_rate_bytes_per_s = rate;
  }

  // Group g of `set` runs a collective: one transfer task per phase, chained, on every
  // member's `stream`, carrying every member's flows: its share of the traffic leaves on its
  // tx ports and arrives on its rx ports, so the phase ends when the slowest member's
  // traffic does. Collapsed: the group is the representative alone (its peers, equivalent,
  // do the same on their own ports).
  std::pair<sim::TaskId, sim::TaskId> emit_group(const StageRuntime& rt, const GroupSet& set, std::size_t g,
                                                 const std::vector<GroupPlan>& plans, sim::StreamId RankRuntime::*stream,
                                                 const TaskLabel& label) {
    auto& graph = out_.graph;
    const auto members = set.group(g);
    const std::size_t base = set.offsets[g];
    streams_buf_.clear();
    for (std::uint32_t m : members) streams_buf_.push_back(rt.ranks[m].*stream);
    const std::size_t phases = plans[set.tx_class[base]].plan.phases.size();
    const auto kind = static_cast<std::uint32_t>(label.kind);
    sim::TaskId first = kNoTask, last = kNoTask;
    for (std::size_t p = 0; p < phases; ++p) {
      std::size_t n = 0;
      Time latency;
      for (std::size_t i = 0; i < members.size(); ++i) {
        const Ports& ports = rt.ranks[members[i]].ports;
        const GroupPlan& tx = plans[set.tx_class[base + i]];
        const GroupPlan& rx = plans[set.rx_class[base + i]];
        assert(tx.plan.phases.size() == phases && rx.plan.phases.size() == phases);
        const auto& pt = tx.plan.phases[p];
        const auto& pr = rx.plan.phases[p];
        latency = std::max({latency, Time::from_seconds(pt.latency_s), Time::from_seconds(pr.latency_s)});
        if (pt.nvlink_bytes > 0) add_flow(n, {ports.nvlink_tx}, std::nullopt, pt.nvlink_bytes, pt.nvlink_rate_bytes_per_s);
        if (pr.nvlink_bytes > 0) add_flow(n, {ports.nvlink_rx}, std::nullopt, pr.nvlink_bytes, pr.nvlink_rate_bytes_per_s);
        if (pt.network_bytes > 0) {
          add_flow(n, {ports.net_tx}, tx.crosses_pods ? std::optional(ports.spine_tx) : std::nullopt, pt.network_bytes,
                   pt.network_rate_bytes_per_s);
        }
        if (pr.network_bytes > 0) {
          add_flow(n, {ports.net_rx}, rx.crosses_pods ? std::optional(ports.spine_rx) : std::nullopt, pr.network_bytes,
                   pr.network_rate_bytes_per_s);
        }
      }
      const sim::TaskId id = graph.add_transfer(streams_buf_, std::span<const sim::FlowSpec>(flow_buf_.data(), n), latency, kind);
      out_.labels.push_back(label);
      if (first != kNoTask) depend(last, id);
      if (first == kNoTask) first = id;
      last = id;
    }
    if (first == kNoTask) {  // a group of one: nothing to move
      first = last = graph.add_task(streams_buf_, {}, Time::zero(), kind);
      out_.labels.push_back(label);
    }
    return {first, last};
  }

  // Emits op `op` on every lane: a kernel per lane, or the collective on every group.
  // Fills head_ and tail_ per lane; returns the lanes in the order to wire them (a
  // collective's members together).
  std::span<const std::uint32_t> emit_op(const StageRuntime& rt, const TimedOp& op, TaskKind kind, std::int32_t layer,
                                         std::int64_t mb) {
    const auto label_mb = static_cast<std::int32_t>(mb);
    head_.resize(lanes_);
    tail_.resize(lanes_);
    if (op.group == OpGroup::none) {
      for (std::size_t r = 0; r < lanes_; ++r) {
        head_[r] = tail_[r] =
            out_.graph.add_task(rt.ranks[r].compute, op.duration, static_cast<std::uint32_t>(kind), op.host_issue);
        out_.labels.push_back({op.op, kind, layer, label_mb, -1});
      }
      if (identity_.size() != lanes_) {
        identity_.resize(lanes_);
        for (std::size_t r = 0; r < lanes_; ++r) identity_[r] = static_cast<std::uint32_t>(r);
      }
      return identity_;
    }
    const GroupSet& set = set_of(rt, op.group);
    sim::StreamId RankRuntime::*stream = &RankRuntime::tp;
    TaskKind comm = TaskKind::comm_tp;
    if (op.group == OpGroup::ep) {
      stream = &RankRuntime::ep;
      comm = TaskKind::comm_ep;
    } else if (op.group == OpGroup::cp || op.group == OpGroup::cp_ring) {
      stream = &RankRuntime::cp;
      comm = TaskKind::comm_cp;
    }
    for (std::size_t g = 0; g < set.num_groups(); ++g) {
      const auto [h, t] = emit_group(rt, set, g, op.plans, stream, {op.op, comm, layer, label_mb, -1});
      for (std::uint32_t m : set.group(g)) {
        head_[m] = h;
        tail_[m] = t;
      }
    }
    return set.members;
  }

  // Appends `ops` to every lane's chain, each task after the previous one; `first` (when
  // given) gets each lane's first task, kNoTask when `ops` is empty.
  void chain(const StageRuntime& rt, const std::vector<TimedOp>& ops, TaskKind kind, std::int32_t layer, std::int64_t mb,
             Lanes& prev, BlockTasks& block, Lanes* first = nullptr) {
    if (first) first->assign(lanes_, kNoTask);
    if (ops.empty()) return;
    Lanes beside(lanes_, kNoTask);      // an exchange running beside the current kernel
    Lanes wait_after(lanes_, kNoTask);  // ...which the op after that kernel waits for
    for (const TimedOp& op : ops) {
      const auto order = emit_op(rt, op, kind, layer, mb);
      for (const std::uint32_t r : order) {
        const sim::TaskId head = head_[r], tail = tail_[r];
        if (prev[r] != kNoTask) {
          depend(prev[r], head);
        } else {
          block.first[r] = head;
        }
        if (first && (*first)[r] == kNoTask) (*first)[r] = head;
        if (wait_after[r] != kNoTask) {
          // The next exchange forwards what the previous one brought; the next kernel uses it.
          depend(wait_after[r], head);
          if (!op.overlaps_next) wait_after[r] = kNoTask;
        }
        if (beside[r] != kNoTask) {
          wait_after[r] = beside[r];  // this op runs beside the exchange; the next one waits for it
          beside[r] = kNoTask;
        }
        if (op.overlaps_next) {
          beside[r] = tail;  // the chain goes on from the op before the exchange
          continue;
        }
        prev[r] = tail;
        block.last[r] = tail;
      }
    }
    if (wait_after[0] != kNoTask) {
      // Nothing followed inside this chain: the block ends when the exchange has.
      for (std::size_t r = 0; r < lanes_; ++r) {
        const sim::TaskId join = out_.graph.add_task(rt.ranks[r].compute, Time::zero(), static_cast<std::uint32_t>(kind));
        out_.labels.push_back({OpId::cp_kv_exchange, kind, layer, static_cast<std::int32_t>(mb), -1});
        depend(wait_after[r], join);
        if (prev[r] != kNoTask) depend(prev[r], join);
        prev[r] = join;
        block.last[r] = join;
      }
    }
  }

  bool reduces_gradients() const { return s_.layout.dp * s_.layout.cp > 1; }
  bool zero3() const { return s_.layout.zero_stage >= 3 && reduces_gradients(); }

  // Whether the backward block (mb, chunk) reduces each layer's gradients as it goes:
  // ZeRO 3 after every micro-batch; overlap_grad_reduce (Megatron's bucketed reduction,
  // one layer per bucket) in each chunk's last backward, when that chunk's gradients are
  // complete (an interleaved stage holds several chunks, each reduced after its own last
  // micro-batch; the tail reduces only the embedding and output layer).
  bool reduce_layer_now(std::int64_t mb, int /*chunk*/) const {
    if (!reduces_gradients()) return false;
    if (zero3()) return true;
    return s_.layout.overlap_grad_reduce && mb == s_.num_microbatches() - 1;
  }

  // ZeRO 3: gather layer `l`'s parameters before its first kernel, at most one layer ahead
  // of the compute (`gate`: the previous layer's first kernel, per lane). Returns per lane
  // the gather's last task; empty without ZeRO 3.
  Lanes gather_layer(const StageRuntime& rt, std::int32_t l, std::int64_t mb, const Lanes& gate) {
    if (!zero3()) return {};
    Lanes gathered(lanes_, kNoTask);
    const GroupSet& dp = rt.groups.dp;
    for (std::size_t g = 0; g < dp.num_groups(); ++g) {
      const auto [head, tail] = emit_group(rt, dp, g, rt.ops.of(s_.model.layer_kind(l)).gather_plan, &RankRuntime::dp,
                                           {OpId::dp_all_gather, TaskKind::comm_dp, l, static_cast<std::int32_t>(mb), -1});
      for (std::uint32_t m : dp.group(g)) {
        if (gate[m] != kNoTask) depend(gate[m], head);
        gathered[m] = tail;
      }
    }
    return gathered;
  }

  // One layer's kernels, after its gathered parameters when ZeRO 3 shards them. Returns
  // the first task per lane (kNoTask for no ops).
  Lanes layer_chain(const StageRuntime& rt, const std::vector<TimedOp>& ops, TaskKind kind, std::int32_t l,
                    std::int64_t mb, Lanes& prev, BlockTasks& block, const Lanes& gathered) {
    Lanes first;
    chain(rt, ops, kind, l, mb, prev, block, &first);
    if (!gathered.empty() && first[0] != kNoTask) {
      for (std::size_t r = 0; r < lanes_; ++r) depend(gathered[r], first[r]);
    }
    return first;
  }

  // Reduces layer `l`'s gradients once its backward (or W pass) is done, beside the compute.
  void reduce_layer_gradients(const StageRuntime& rt, std::int32_t l, std::int64_t mb, int chunk, const Lanes& prev) {
    if (!reduce_layer_now(mb, chunk) || prev[0] == kNoTask) return;
    const bool scatter = s_.layout.zero_stage >= 1;
    const GroupSet& dp = rt.groups.dp;
    for (std::size_t g = 0; g < dp.num_groups(); ++g) {
      const auto [head, tail] = emit_group(
          rt, dp, g, rt.ops.of(s_.model.layer_kind(l)).reduce_plan, &RankRuntime::dp,
          {scatter ? OpId::dp_reduce_scatter : OpId::dp_all_reduce, TaskKind::comm_dp, l, static_cast<std::int32_t>(mb), -1});
      for (std::uint32_t m : dp.group(g)) depend(prev[m], head);
      (void)tail;
    }
  }

  BlockTasks emit_block(int st, int chunk, std::int64_t mb, Phase phase) {
    const StageRuntime& rt = stages_[static_cast<std::size_t>(st)];
    const StageOps& ops = rt.ops;
    Lanes prev(lanes_, kNoTask);
    Lanes gate(lanes_, kNoTask);  // the previous layer's first kernel
    BlockTasks block{Lanes(lanes_, kNoTask), Lanes(lanes_, kNoTask)};
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
      assert(prev[0] != kNoTask);  // every chunk has at least one layer, every layer weight GEMMs
      return block;
    }
    if (phase == Phase::forward) {
      chain(rt, emb_fwd, TaskKind::forward, -1, mb, prev, block);
      for (std::int32_t l = first; l < first + count; ++l) {
        const Lanes gathered = gather_layer(rt, l, mb, gate);
        gate = layer_chain(rt, ops.of(s_.model.layer_kind(l)).fwd, TaskKind::forward, l, mb, prev, block, gathered);
      }
      chain(rt, head_fwd, TaskKind::forward, -1, mb, prev, block);
    } else {
      chain(rt, head_bwd, TaskKind::backward, -1, mb, prev, block);
      for (std::int32_t l = first + count - 1; l >= first; --l) {
        // Parameters were freed after the forward (reshard-after-forward): gather again.
        const Lanes gathered = s_.layout.reshard_after_forward ? gather_layer(rt, l, mb, gate) : Lanes{};
        const LayerOps& lo = ops.of(s_.model.layer_kind(l));
        const Lanes layer_first = layer_chain(rt, lo.recompute, TaskKind::recompute, l, mb, prev, block, gathered);
        const bool recomputed = layer_first[0] != kNoTask;
        const Lanes bwd_first =
            layer_chain(rt, lo.bwd, TaskKind::backward, l, mb, prev, block, recomputed ? Lanes{} : gathered);
        gate = recomputed ? layer_first : bwd_first;
        // Under zb-h1 the gradients are complete only after the W pass.
        if (s_.layout.schedule != Schedule::zb_h1) reduce_layer_gradients(rt, l, mb, chunk, prev);
      }
      chain(rt, emb_bwd, TaskKind::backward, -1, mb, prev, block);
    }
    return block;
  }

  // A point-to-point transfer is one flow from the sender's tx port to the receiver's rx
  // port, per lane: each rank sends to the rank with its TP, CP and DP indices on `to`.
  void emit_send(int from, int to, std::int64_t mb, Phase phase, std::span<sim::TaskId> out) {
    const StageRuntime& src = stages_[static_cast<std::size_t>(from)];
    const StageRuntime& dst = stages_[static_cast<std::size_t>(to)];
    const std::size_t dir = phase == Phase::forward ? 0 : 1;
    const GroupSet& set = src.groups.send[dir];
    for (std::size_t r = 0; r < lanes_; ++r) {
      const GroupPlan& gp = src.send_plan[dir][set.tx_class[r]];
      const auto& ph = gp.plan.phases.front();
      const Ports& a = src.ranks[r].ports;
      const Ports& b = dst.ranks[r].ports;
      std::size_t n = 0;
      sim::FlowSpec& flow = next_flow(n);
      if (ph.network_bytes > 0) {
        flow.path.assign({a.net_tx, b.net_rx});
        if (gp.crosses_pods) flow.path.assign({a.net_tx, a.spine_tx, b.spine_rx, b.net_rx});
        flow.bytes = ph.network_bytes;
        flow.max_rate_bytes_per_s = ph.network_rate_bytes_per_s;
      } else {
        flow.path.assign({a.nvlink_tx, b.nvlink_rx});
        flow.bytes = ph.nvlink_bytes;
        flow.max_rate_bytes_per_s = ph.nvlink_rate_bytes_per_s;
      }
      out[r] = out_.graph.add_transfer(src.ranks[r].pp, std::span<const sim::FlowSpec>(flow_buf_.data(), 1),
                                       Time::from_seconds(ph.latency_s) + dst.send_gather,
                                       static_cast<std::uint32_t>(TaskKind::comm_pp));
      out_.labels.push_back({OpId::pp_send, TaskKind::comm_pp, -1, static_cast<std::int32_t>(mb), to});
    }
  }

  void emit_tail(int st, std::span<const sim::TaskId> last_backward) {
    const StageRuntime& rt = stages_[static_cast<std::size_t>(st)];
    Lanes before_optimizer(last_backward.begin(), last_backward.end());
    const bool zero = s_.layout.zero_stage >= 1;
    const GroupSet& dp = rt.groups.dp;
    if (reduces_gradients()) {
      // The gradient reduction waits for the last backward and, on the FIFO dp stream,
      // for every per-layer reduce-scatter before it.
      for (std::size_t g = 0; g < dp.num_groups(); ++g) {
        const auto [head, tail] = emit_group(rt, dp, g, rt.dp_plan, &RankRuntime::dp,
                                             {zero ? OpId::dp_reduce_scatter : OpId::dp_all_reduce, TaskKind::comm_dp, -1, -1, -1});
        for (std::uint32_t m : dp.group(g)) {
          depend(last_backward[m], head);
          before_optimizer[m] = tail;
        }
      }
    }
    Lanes opt(lanes_, kNoTask);
    for (std::size_t r = 0; r < lanes_; ++r) {
      opt[r] = out_.graph.add_task(rt.ranks[r].compute, rt.plan.optimizer, static_cast<std::uint32_t>(TaskKind::optimizer),
                                   host_issue(1));
      out_.labels.push_back({OpId::optimizer_step, TaskKind::optimizer, -1, -1, -1});
      depend(before_optimizer[r], opt[r]);
    }
    if (!rt.embedding_plan.empty()) {
      // The stages' tails come in stage order: the first stage's waits for the last's.
      if (is_first(st)) {
        first_stage_reduced_ = before_optimizer;
        first_stage_optimizer_ = opt;
      } else {
        assert(first_stage_optimizer_.size() == lanes_);
        emit_embedding_all_reduce(stages_.front(), rt, before_optimizer, opt);
      }
    }
    if (zero && reduces_gradients()) {
      // Distributed optimizer: each rank updated its shard; gather the new parameters.
      for (std::size_t g = 0; g < dp.num_groups(); ++g) {
        const auto [head, tail] = emit_group(rt, dp, g, rt.dp_gather_plan, &RankRuntime::dp,
                                             {OpId::dp_all_gather, TaskKind::comm_dp, -1, -1, -1});
        for (std::uint32_t m : dp.group(g)) depend(opt[m], head);
        (void)tail;
      }
    }
  }

  // Per lane, the word-embedding gradient all-reduce between the first stage (`a`) and the
  // last (`b`): after both stages' data-parallel reduction, before both optimizers. On the
  // pp-send streams (Megatron's embedding group is a communicator of its own), whose sends
  // are all issued by then.
  void emit_embedding_all_reduce(const StageRuntime& a, const StageRuntime& b, const Lanes& b_reduced,
                                 const Lanes& b_optimizer) {
    auto& graph = out_.graph;
    const auto kind = static_cast<std::uint32_t>(TaskKind::comm_dp);
    for (std::size_t r = 0; r < lanes_; ++r) {
      const GroupPlan& gp = b.embedding_plan[r];
      const std::array<sim::StreamId, 2> streams{a.ranks[r].pp, b.ranks[r].pp};
      sim::TaskId first = kNoTask, last = kNoTask;
      for (const auto& ph : gp.plan.phases) {
        std::size_t n = 0;
        for (const Ports* ports : {&a.ranks[r].ports, &b.ranks[r].ports}) {
          if (ph.nvlink_bytes > 0) {
            add_flow(n, {ports->nvlink_tx}, std::nullopt, ph.nvlink_bytes, ph.nvlink_rate_bytes_per_s);
            add_flow(n, {ports->nvlink_rx}, std::nullopt, ph.nvlink_bytes, ph.nvlink_rate_bytes_per_s);
          }
          if (ph.network_bytes > 0) {
            const auto tx_spine = gp.crosses_pods ? std::optional(ports->spine_tx) : std::nullopt;
            const auto rx_spine = gp.crosses_pods ? std::optional(ports->spine_rx) : std::nullopt;
            add_flow(n, {ports->net_tx}, tx_spine, ph.network_bytes, ph.network_rate_bytes_per_s);
            add_flow(n, {ports->net_rx}, rx_spine, ph.network_bytes, ph.network_rate_bytes_per_s);
          }
        }
        const sim::TaskId id = graph.add_transfer(streams, std::span<const sim::FlowSpec>(flow_buf_.data(), n),
                                                  Time::from_seconds(ph.latency_s), kind);
        out_.labels.push_back({OpId::embedding_all_reduce, TaskKind::comm_dp, -1, -1, -1});
        if (first == kNoTask) first = id;
        else depend(last, id);
        last = id;
      }
      if (first == kNoTask) continue;
      depend(first_stage_reduced_[r], first);
      depend(b_reduced[r], first);
      depend(last, first_stage_optimizer_[r]);
      depend(last, b_optimizer[r]);
    }
  }

  const Scenario& s_;
  bool full_;
  StagePlanCache* cache_;
  ShapeContext shape_;
  RankGrid grid_;
  std::size_t lanes_;
  double nvlink_capacity_ = 0;
  double net_capacity_ = 0;
  double spine_capacity_ = 0;
  std::vector<StageRuntime> stages_;
  std::vector<std::pair<sim::LinkId, sim::LinkId>> pod_links_;
  LoweredStep out_;
  // Scratch, reused so that emitting a task allocates nothing once warm.
  std::vector<sim::FlowSpec> flow_buf_;
  std::vector<sim::StreamId> streams_buf_;
  Lanes head_, tail_;
  std::vector<std::uint32_t> identity_;
  std::pair<sim::TaskId, sim::TaskId> last_dep_{kNoTask, kNoTask};
  // The first stage's tail, for the tied-embedding all-reduce the last stage's tail emits.
  Lanes first_stage_reduced_, first_stage_optimizer_;
};

const char* group_name(int which) {
  static constexpr const char* kNames[] = {"TP groups", "CP groups", "CP ring steps", "EP groups",
                                           "DP (x CP) gradient-reduction groups"};
  return kNames[which];
}

}  // namespace

std::optional<std::string> rank_asymmetry(const Scenario& s) {
  const RankGrid grid(s.layout.tp, s.layout.dp, s.layout.pp, s.layout.rank_order, s.layout.cp);
  for (int st = 0; st < s.layout.pp; ++st) {
    const detail::StageGroups g = detail::build_stage_groups(s, grid, st, true);
    const std::array<const GroupSet*, 5> sets{&g.tp, &g.cp, &g.cp_ring, &g.ep, &g.dp};
    std::string what;
    const GroupSet* odd = nullptr;
    for (std::size_t i = 0; i < sets.size() && !odd; ++i) {
      if (sets[i]->shapes.size() > 1) {
        odd = sets[i];
        what = std::string("the ") + group_name(static_cast<int>(i)) + " of stage " + std::to_string(st);
      }
    }
    for (std::size_t dir = 0; dir < 2 && !odd; ++dir) {
      if (g.send[dir].shapes.size() > 1) {
        odd = &g.send[dir];
        what = "the pipeline sends from stage " + std::to_string(st) + " to stage " + std::to_string(g.send_to[dir]);
      }
    }
    if (odd) {
      return what + " are placed differently: " + detail::describe_group(odd->examples[0], odd->shapes[0]) + " but " +
             detail::describe_group(odd->examples[1], odd->shapes[1]);
    }
  }
  return std::nullopt;
}

LoweredStep lower_step(const Scenario& scenario, LoweringMode mode) {
  if (scenario.graph) {
    // Layer-graph models: one rank per stage (their own lowering; no full mode yet).
    LoweredStep out = lower_graph_step(scenario, partition_scenario(scenario));
    out.simulated_ranks = static_cast<std::int64_t>(out.stages.size());
    return out;
  }
  std::string reason;
  if (mode == LoweringMode::automatic) {
    const auto asym = rank_asymmetry(scenario);
    mode = asym ? LoweringMode::full : LoweringMode::collapsed;
    if (asym) reason = *asym;
  }
  LoweredStep out = StepLowering(scenario, mode == LoweringMode::full).run();
  out.fallback_reason = std::move(reason);
  return out;
}

std::vector<StagePlan> plan_stages(const Scenario& scenario, StagePlanCache* cache) {
  return StepLowering(scenario, false, cache).plan_only();
}

}  // namespace ptsim::strategies

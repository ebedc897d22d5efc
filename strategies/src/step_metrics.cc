#include "ptsim/strategies/step_metrics.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "ptsim/strategies/graph_step.h"
#include "ptsim/strategies/task_labels.h"
#include "ptsim/strategies/transformer_ops.h"

namespace ptsim::strategies {
namespace {

constexpr std::size_t kNumKinds = 10;

// A task's start or end on one process, packed into one integer so the per-process sort
// is a plain integer sort: time in the high bits, then end (0) before start (1) at equal
// times, then the kind. The order among equal (time, end/start) is irrelevant: spans of
// zero length attribute nothing.
using Edge = std::uint64_t;
constexpr int kKindBits = 5;
static_assert(kNumKinds <= (1u << kKindBits));
constexpr std::int64_t kMaxEdgeTimeNs = std::int64_t{1} << (63 - kKindBits - 1);

Edge make_edge(std::int64_t time_ns, bool start, TaskKind kind) {
  return (static_cast<std::uint64_t>(time_ns) << (kKindBits + 1)) | (std::uint64_t{start} << kKindBits) |
         static_cast<std::uint64_t>(kind);
}
std::int64_t edge_time(Edge e) { return static_cast<std::int64_t>(e >> (kKindBits + 1)); }
bool edge_is_start(Edge e) { return ((e >> kKindBits) & 1u) != 0; }
std::size_t edge_kind(Edge e) { return static_cast<std::size_t>(e & ((1u << kKindBits) - 1)); }

// LSD radix sort, 11-bit digits, only as many passes as the largest key needs (a step's
// edges need about 4): linear in the number of edges, where a comparison sort of the ~10^6
// edges of a 1,024-GPU step dominated the whole simulation (callgrind).
void radix_sort(std::vector<Edge>& keys, std::vector<Edge>& scratch) {
  constexpr int kDigitBits = 11;
  constexpr std::size_t kBuckets = std::size_t{1} << kDigitBits;
  if (keys.size() < 64) {
    std::sort(keys.begin(), keys.end());
    return;
  }
  const Edge largest = *std::max_element(keys.begin(), keys.end());
  scratch.resize(keys.size());
  std::array<std::size_t, kBuckets> offset{};
  for (int shift = 0; shift < 64 && (largest >> shift) != 0; shift += kDigitBits) {
    offset.fill(0);
    for (const Edge k : keys) ++offset[(k >> shift) & (kBuckets - 1)];
    std::size_t sum = 0;
    for (auto& o : offset) sum += std::exchange(o, sum);
    for (const Edge k : keys) scratch[offset[(k >> shift) & (kBuckets - 1)]++] = k;
    keys.swap(scratch);
  }
}

}  // namespace

std::vector<Breakdown> breakdown_per_process(const sim::TaskGraph& graph, const sim::Timeline& timeline,
                                             std::span<const sim::ProcessId> processes) {
  // A task touches a process through its streams and through the links it holds.
  std::vector<std::vector<Edge>> edges(graph.num_processes());
  std::vector<std::uint8_t> wanted(graph.num_processes(), processes.empty() ? 1 : 0);
  for (const sim::ProcessId p : processes) wanted.at(p) = 1;
  std::vector<sim::ProcessId> touched;
  for (sim::TaskId t = 0; t < graph.num_tasks(); ++t) {
    if (timeline.end[t] == timeline.start[t]) continue;
    touched.clear();
    for (sim::StreamId s : graph.streams_of(t)) touched.push_back(graph.stream(s).process);
    for (sim::LinkId l : graph.links_of(t)) touched.push_back(graph.link(l).process);
    for (sim::FlowId f : graph.flows_of(t)) {
      for (sim::LinkId l : graph.path_of(f)) touched.push_back(graph.link(l).process);
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    const auto kind = static_cast<TaskKind>(graph.tag(t));
    if (timeline.end[t].count_ns() >= kMaxEdgeTimeNs || timeline.start[t].count_ns() < 0) {
      throw std::overflow_error("step breakdown: task times outside [0, 2^57) ns");
    }
    for (sim::ProcessId p : touched) {
      if (!wanted[p]) continue;
      edges[p].push_back(make_edge(timeline.start[t].count_ns(), true, kind));
      edges[p].push_back(make_edge(timeline.end[t].count_ns(), false, kind));
    }
  }

  const std::int64_t horizon = timeline.makespan.count_ns();
  std::vector<Breakdown> result(graph.num_processes());
  std::vector<Edge> scratch;
  for (std::size_t p = 0; p < edges.size(); ++p) {
    auto& ev = edges[p];
    radix_sort(ev, scratch);
    std::array<std::int64_t, kNumKinds> active{};
    std::array<std::int64_t, kNumKinds> kind_ns{};
    std::int64_t bubble_ns = 0;
    std::int64_t cursor = 0;
    auto attribute = [&](std::int64_t until) {
      const std::int64_t span = until - cursor;
      if (span <= 0) return;
      // Priority: compute-stream work, then TP, CP, EP, PP, DP communication, else idle.
      constexpr std::array<TaskKind, kNumKinds> order = {
          TaskKind::forward, TaskKind::backward, TaskKind::weight_grad, TaskKind::recompute, TaskKind::optimizer,
          TaskKind::comm_tp, TaskKind::comm_cp, TaskKind::comm_ep, TaskKind::comm_pp, TaskKind::comm_dp};
      for (TaskKind k : order) {
        if (active[static_cast<std::size_t>(k)] > 0) {
          kind_ns[static_cast<std::size_t>(k)] += span;
          return;
        }
      }
      bubble_ns += span;
    };
    for (const Edge e : ev) {
      const std::int64_t time_ns = edge_time(e);
      attribute(time_ns);
      cursor = std::max(cursor, time_ns);
      active[edge_kind(e)] += edge_is_start(e) ? 1 : -1;
    }
    attribute(horizon);

    auto sec = [](std::int64_t ns) { return sim::Time::ns(ns).seconds(); };
    auto k = [&](TaskKind kind) { return kind_ns[static_cast<std::size_t>(kind)]; };
    Breakdown& b = result[p];
    b.compute_s = sec(k(TaskKind::forward) + k(TaskKind::backward) + k(TaskKind::weight_grad));
    b.recompute_s = sec(k(TaskKind::recompute));
    b.optimizer_s = sec(k(TaskKind::optimizer));
    b.exposed_tp_s = sec(k(TaskKind::comm_tp));
    b.exposed_pp_s = sec(k(TaskKind::comm_pp));
    b.exposed_dp_s = sec(k(TaskKind::comm_dp));
    b.exposed_cp_s = sec(k(TaskKind::comm_cp));
    b.exposed_ep_s = sec(k(TaskKind::comm_ep));
    b.bubble_s = sec(bubble_ns);
  }
  return result;
}

void fill_stage_results(const LoweredStep& lowered, const sim::Timeline& timeline, StepResult& r) {
  // Each stage's breakdown is its representative's (TP 0, CP 0, DP replica 0), in both
  // modes; in full mode the other ranks of an equivalent stage have the same.
  std::vector<sim::ProcessId> reps;
  for (const StagePlan& plan : lowered.stages) reps.push_back(plan.process);
  const std::vector<Breakdown> per_process = breakdown_per_process(lowered.graph, timeline, reps);
  double busiest = -1;
  for (const StagePlan& plan : lowered.stages) {
    StageResult st;
    st.stage = plan.stage;
    st.rank = plan.rank;
    st.num_layers = plan.num_layers;
    st.parameters = plan.parameters;
    st.forward_s = plan.forward.seconds();
    st.backward_s = plan.backward.seconds();
    st.layer_forward_s = plan.layer_forward.seconds();
    st.layer_backward_s = plan.layer_backward.seconds();
    st.breakdown = per_process[plan.process];
    const double busy = st.breakdown.compute_s + st.breakdown.recompute_s + st.breakdown.optimizer_s;
    if (busy > busiest) {
      busiest = busy;
      r.breakdown = st.breakdown;
      r.breakdown_stage = st.stage;
    }
    r.stages.push_back(st);
  }
}

StepResult compute_step_result(const Scenario& s, const LoweredStep& lowered, const sim::Timeline& timeline) {
  if (s.graph) return compute_graph_step_result(s, lowered, timeline);
  StepResult r;
  r.step_time = timeline.makespan;
  r.num_gpus = s.layout.num_gpus();
  r.num_microbatches = s.num_microbatches();
  r.tokens_per_step = static_cast<double>(s.training.global_batch_size * s.training.seq_length);
  const double step_s = r.step_time.seconds();
  r.tokens_per_s = step_s > 0 ? r.tokens_per_step / step_s : 0;
  r.tokens_per_s_per_gpu = r.tokens_per_s / static_cast<double>(r.num_gpus);
  r.parameters_total = total_parameters(s.model, s.training.seq_length);

  // Model FLOPs: forward + backward (2x forward) of every sequence, recompute excluded.
  const double fwd = model_forward_flops_per_sequence(s.model, s.training.seq_length) *
                     static_cast<double>(s.training.global_batch_size);
  r.model_flops_per_step = 3 * fwd;
  // Hardware FLOPs add what recompute reruns: the whole forward (full), or the attention
  // core's forward (selective; Korthikanti et al. Eq. 8).
  double rerun = 0;
  if (s.layout.recompute == Recompute::full) rerun = fwd;
  if (s.layout.recompute == Recompute::selective) {
    rerun = attention_forward_flops_per_sequence(s.model, s.training.seq_length) *
            static_cast<double>(s.training.global_batch_size);
  }
  r.hardware_flops_per_step = r.model_flops_per_step + rerun;
  const double gpu_seconds = step_s * static_cast<double>(r.num_gpus);
  const double peak = s.cluster.gpu.peak(s.training.precision);
  if (gpu_seconds > 0) {
    r.model_tflops_per_gpu = r.model_flops_per_step / gpu_seconds / 1e12;
    r.hardware_tflops_per_gpu = r.hardware_flops_per_step / gpu_seconds / 1e12;
    r.mfu = r.model_flops_per_step / gpu_seconds / peak;
    r.hfu = r.hardware_flops_per_step / gpu_seconds / peak;
  }

  fill_stage_results(lowered, timeline, r);
  r.memory = estimate_memory(s);
  r.events = timeline.events;
  r.tasks = lowered.graph.num_tasks();
  r.simulated_ranks = static_cast<int>(lowered.simulated_ranks);
  r.full = lowered.mode == LoweringMode::full;
  r.fallback_reason = lowered.fallback_reason;
  return r;
}

SimulatedStep simulate_step(const Scenario& scenario, LoweringMode mode) {
  SimulatedStep out;
  out.lowered = lower_step(scenario, mode);
  out.timeline = sim::simulate(out.lowered.graph);
  out.result = compute_step_result(scenario, out.lowered, out.timeline);
  return out;
}

}  // namespace ptsim::strategies

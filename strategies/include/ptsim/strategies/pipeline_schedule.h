// Pipeline schedules as the order in which each stage runs the forward and backward
// passes of its micro-batches, and the generic lowering of such an order into a
// sim::TaskGraph: what runs inside a block and how bytes move between stages is supplied
// by the caller (PipelineHooks), so the same code serves transformers and closed-form tests.
//   sequential  F0 B0 F1 B1 ... on every stage: one micro-batch in the pipeline at a time
//   gpipe       all forwards, then all backwards
//   1f1b        min(p-1-s, m) warm-up forwards, then one forward / one backward, then drain
//   1f1b with v > 1 virtual stages (chunks) per GPU: Megatron-LM's interleaved schedule.
//                Virtual stage k = chunk * p + stage holds layers [k L/(p v), (k+1) L/(p v));
//                warm-up 2(p-1-s) + (v-1) p chunk-forwards, then one forward / one backward.
//   zb-h1       ZB-H1 (Qi et al. 2023, "Zero Bubble Pipeline Parallelism"): 1F1B's order
//                with each backward split into B (input gradients, what the previous stage
//                waits for) and W (weight gradients); stage s runs W of micro-batch j - s
//                after B of micro-batch j, the rest after the last B, so every stage holds
//                p micro-batches between F and W. Equal stages, no communication, m >= p,
//                tW <= tF (else the bubble is (p-1) tB):
//                makespan m (tF + tB + tW) + (p-1)(tF + tB - tW), against 1F1B's
//                (m + p - 1)(tF + tB + tW).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "ptsim/sim/task_graph.h"
#include "ptsim/strategies/scenario.h"

namespace ptsim::strategies {

// backward: the whole backward, or under zb-h1 its B pass; weight: zb-h1's W pass.
enum class Phase : std::uint8_t { forward, backward, weight };

struct PipelineStep {
  std::int64_t microbatch = 0;
  Phase phase = Phase::forward;
  int chunk = 0;  // model chunk on this GPU (interleaved schedule), else 0
  friend bool operator==(const PipelineStep&, const PipelineStep&) = default;
};

std::vector<PipelineStep> stage_order(Schedule schedule, int stage, int num_stages,
                                      std::int64_t num_microbatches, int virtual_stages = 1);

// Chunk-micro-batches whose activations stage `stage` holds at its peak (each chunk is
// L/(p v) layers; v = 1: whole stages).
std::int64_t chunks_in_flight(Schedule schedule, int stage, int num_stages, std::int64_t num_microbatches,
                              int virtual_stages);

// Peak activation bytes a stage holds when it runs `order`: each forward adds
// `held_after_forward` (what backward needs) until its backward (B pass), which leaves
// `held_after_backward` (what the W pass needs: GEMM inputs and output gradients) until
// its W pass. Schedules without W passes free everything at the backward.
double peak_activation_bytes(const std::vector<PipelineStep>& order, double held_after_forward,
                             double held_after_backward);

// First and last task of a block (all of a stage's work for one micro-batch and phase),
// per lane: the ranks of a stage the caller simulates (one, or every rank), lane i of one
// stage sending to lane i of the next. The caller chains the tasks inside, lower_pipeline
// chains a stage's blocks in order, lane by lane.
struct BlockTasks {
  std::vector<sim::TaskId> first;  // per lane
  std::vector<sim::TaskId> last;
};

struct PipelineHooks {
  int lanes = 1;
  std::function<BlockTasks(int stage, int chunk, std::int64_t microbatch, Phase phase)> emit_block;
  // The activation (forward) or gradient (backward) transfer from `from` to `to`, placed
  // on the sender's streams, one task per lane into `out`. Called in each sender's issue
  // order, before any block.
  std::function<void(int from, int to, std::int64_t microbatch, Phase phase, std::span<sim::TaskId> out)> emit_transfer;
  // After a stage's last backward (or W) block, per lane: gradient reduction and optimizer step.
  std::function<void(int stage, std::span<const sim::TaskId> last_backward)> emit_tail;
};

void lower_pipeline(Schedule schedule, int num_stages, std::int64_t num_microbatches,
                    const PipelineHooks& hooks, sim::TaskGraph& graph, int virtual_stages = 1);

}  // namespace ptsim::strategies

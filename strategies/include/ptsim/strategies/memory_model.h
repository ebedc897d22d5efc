// Memory per GPU, per pipeline stage, by kind: parameters, gradients and optimizer states
// (by precision and ZeRO stage), activations (Korthikanti et al. 2022, Table 2, generalised
// to GQA, SwiGLU, flash attention and dropout-free models) times the micro-batches a
// stage holds under its schedule, the output layer's logits, the runtime's reserve and
// the allocator's fragmentation. Formulas and sources: docs/memory.md.
#pragma once

#include <cstdint>
#include <vector>

#include "ptsim/strategies/scenario.h"
#include "ptsim/strategies/transformer_ops.h"

namespace ptsim::strategies {

struct MemoryByKind {
  double parameters = 0;
  double gradients = 0;
  double optimizer_states = 0;
  double activations = 0;
  double logits = 0;             // LM head output and the loss's fp32 softmax (last stage)
  double runtime_reserved = 0;   // CUDA context, workspaces, NCCL buffers
  double allocator_overhead = 0;

  double total() const {
    return parameters + gradients + optimizer_states + activations + logits + runtime_reserved +
           allocator_overhead;
  }
};

struct StageMemory {
  int stage = 0;
  // Micro-batches whose activations the stage holds at its peak; with the interleaved
  // schedule, micro-batches per model chunk (each chunk is L/(p v) layers).
  std::int64_t microbatches_in_flight = 0;
  double activation_bytes_per_microbatch = 0;  // per micro-batch per chunk
  // zb-h1: what a micro-batch keeps between its B and W passes (0 for other schedules).
  double weight_grad_bytes_per_microbatch = 0;
  MemoryByKind bytes;
};

struct MemoryReport {
  std::vector<StageMemory> stages;
  double peak_bytes = 0;
  int peak_stage = 0;
  double capacity_bytes = 0;
  bool fits = true;
};

// Activation bytes one transformer layer keeps for backward, per micro-batch, on one TP
// rank. For a GPT layer (MHA, 4h GeLU MLP, dropout, unfused attention, 2-byte activations)
// this is exactly Korthikanti et al.'s Table 2.
// `kind` picks the MLP (dense or MoE); with MLA the attention block's own tensors (docs/memory.md).
double layer_activation_bytes(const TransformerConfig& model, LayerKind kind, const ShapeContext& shape,
                              Recompute recompute);

// Bytes one layer keeps from its B pass until its W pass under zb-h1, per micro-batch, on
// one TP rank: the input and the output gradient of every weight GEMM (QKV, output
// projection, MLP up and down; for MoE the router, the experts on their token copies and
// the shared expert), sequence-sharded where sequence parallelism shards them. With MLA the
// attention GEMMs are counted as an ordinary QKV projection of the same heads (approximate).
double layer_weight_grad_bytes(const TransformerConfig& model, LayerKind kind, const ShapeContext& shape);

// Micro-batches whose activations stage `stage` holds at its peak.
std::int64_t microbatches_in_flight(Schedule schedule, int stage, int num_stages, std::int64_t num_microbatches);

MemoryReport estimate_memory(const Scenario& scenario);

}  // namespace ptsim::strategies

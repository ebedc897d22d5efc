// What a user asks ptsim to simulate: a model, a cluster, the training workload and the
// parallel layout, as plain typed structs. io/ fills them from JSON and checks every
// field and every cross-field rule (see io/scenario_parser.h); code here may assume a
// Scenario it receives is valid.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ptsim/costmodel/dtype.h"
#include "ptsim/costmodel/hardware.h"
#include "ptsim/strategies/model.h"

namespace ptsim::strategies {

class LayerGraph;  // layer_graph.h

// zb_h1: Qi et al. 2023's ZB-H1, 1F1B with each backward split into B (input gradients)
// and W (weight gradients), the W passes deferred to fill the pipeline's drain.
enum class Schedule { sequential, gpipe, one_f_one_b, zb_h1 };
// none: keep every activation; selective: recompute the attention core (its s x s scores
// are not kept), Korthikanti et al. 2022; full: keep each layer's input, rerun its forward.
enum class Recompute { none, selective, full };
// flash: one fused causal kernel (FlashAttention); unfused: QK^T and AV batched GEMMs with
// separate scale-mask-softmax and dropout kernels over the full s x s scores (Megatron 2021).
enum class AttentionKernel { flash, unfused };

struct Training {
  std::int64_t seq_length = 2048;
  std::int64_t global_batch_size = 1;
  costmodel::Dtype precision = costmodel::Dtype::bf16;
  AttentionKernel attention = AttentionKernel::flash;
  // Format of the data-parallel gradient all-reduce; Megatron-LM reduces in fp32 when
  // --accumulate-allreduce-grads-in-fp32 is set, in the training precision otherwise.
  bool grad_reduce_in_fp32 = false;
  // Memory the step cannot use for tensors: the CUDA context, cuBLAS workspaces and NCCL's
  // buffers (runtime_reserved_bytes), and the caching allocator's fragmentation, as a
  // fraction of the tensor memory. Estimates, documented in docs/memory.md.
  double runtime_reserved_bytes = 2.0 * 1024 * 1024 * 1024;
  double allocator_overhead_fraction = 0.05;
};

// Which parallel dimension varies fastest over consecutive global ranks (and so stays
// inside a node): Megatron-LM's default order is tensor, then data, then pipeline.
enum class RankOrder { tp_dp_pp, tp_pp_dp, dp_tp_pp, dp_pp_tp, pp_tp_dp, pp_dp_tp };

// Context parallelism's K/V exchange: ring attention (point-to-point, overlapped with the
// attention kernels) or Llama 3's all-gather of K and V before attention.
enum class ContextParallelComm { ring, all_gather };

struct Layout {
  std::int64_t dp = 1;
  std::int64_t tp = 1;
  std::int64_t pp = 1;
  // Context parallelism: the sequence split over cp ranks (2 cp load-balanced chunks).
  std::int64_t cp = 1;
  ContextParallelComm cp_comm = ContextParallelComm::ring;
  // Expert parallelism: experts split over ep ranks carved from the data-parallel ranks
  // (ep divides dp x cp); tokens reach their experts by all-to-all.
  std::int64_t ep = 1;
  std::int64_t micro_batch_size = 1;
  Schedule schedule = Schedule::one_f_one_b;
  Recompute recompute = Recompute::none;
  RankOrder rank_order = RankOrder::tp_dp_pp;
  bool sequence_parallel = false;
  // 0: replicated; 1: optimizer states sharded over dp; 2: + gradients; 3: + parameters.
  std::int64_t zero_stage = 0;
  // Megatron --overlap-grad-reduce: reduce each layer's gradients during the last backward.
  bool overlap_grad_reduce = false;
  // Megatron --tp-comm-overlap (Transformer Engine userbuffers): with sequence parallelism,
  // each TP all-gather / reduce-scatter is pipelined with the GEMM it feeds or follows.
  bool tp_comm_overlap = false;
  // Megatron-LM's scatter/gather of pipeline transfers without sequence parallelism
  // (--scatter-gather-tensors-in-pipeline, Megatron-LM until 2022, SC21 Sec. 4.1): each TP
  // rank sends 1/tp of the boundary tensor and the receivers all-gather it over NVLink.
  // Off: every TP rank sends the whole tensor, as Megatron-Core does.
  bool pipeline_scatter_gather = false;
  // Model chunks per GPU for the interleaved 1F1B schedule (Megatron's virtual pipeline).
  std::int64_t virtual_stages = 1;
  // Uneven pipelines (Megatron --decoder-first/last-pipeline-num-layers): layers on the
  // first and last stage, the rest spread evenly over the others; 0 = even split.
  std::int64_t num_layers_in_first_pipeline_stage = 0;
  std::int64_t num_layers_in_last_pipeline_stage = 0;
  // ZeRO 3 (FSDP reshard_after_forward): free a layer's gathered parameters after its
  // forward and all-gather them again for its backward; false keeps them until the backward.
  bool reshard_after_forward = true;

  std::int64_t num_gpus() const { return dp * tp * pp * cp; }
};

struct StageLayers {
  std::int64_t first = 0;  // global index of the stage's first layer
  std::int64_t count = 0;
};

struct Scenario {
  std::string name = "scenario";
  TransformerConfig model;
  // Set: the model is this layer graph (layer_graph.h, graph_step.h) and `model` is unused;
  // training.seq_length is then the graph's tokens per sample.
  std::shared_ptr<const LayerGraph> graph;
  costmodel::ClusterSpec cluster;
  Training training;
  Layout layout;

  // Micro-batches each pipeline runs per step: global_batch_size / (dp * micro_batch_size).
  std::int64_t num_microbatches() const {
    return training.global_batch_size / (layout.dp * layout.micro_batch_size);
  }

  // The transformer layers pipeline stage `stage` holds (all its chunks when interleaved).
  StageLayers stage_layers(std::int64_t stage) const;
  // The layers of model chunk `chunk` of stage `stage` (virtual stage chunk * pp + stage),
  // Megatron-LM's rule: each stage's layers split evenly over its virtual_stages chunks,
  // chunk c of every stage before chunk c + 1 of any; uneven first/last stages keep
  // num_layers_in_first/last_pipeline_stage / virtual_stages layers per chunk.
  StageLayers chunk_layers(std::int64_t stage, std::int64_t chunk) const;
};

std::string_view to_string(Schedule s);
std::string_view to_string(Recompute r);
std::string_view to_string(AttentionKernel a);
std::string_view to_string(RankOrder o);
std::string_view to_string(ContextParallelComm c);

}  // namespace ptsim::strategies

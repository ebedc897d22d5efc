// Every scenario field, declared once: JSON name, the member it fills, presence, rule,
// unit and description. The parser (scenario_parser.cc) and the schema generator
// (scenario_schema.cc) are two visitors over these declarations, so they cannot drift.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ptsim/costmodel/dtype.h"
#include "ptsim/costmodel/efficiency.h"
#include "ptsim/costmodel/hardware.h"
#include "ptsim/costmodel/units.h"
#include "ptsim/strategies/layer_graph.h"
#include "ptsim/strategies/model.h"
#include "ptsim/strategies/scenario.h"
#include "hf_config.h"
#include "layer_graph_file.h"

// A visitor V provides, each taking the Field first:
//   preset(f, kind, names_fn, find_fn, target, naming)  a preset name that replaces target;
//                                                       declared first in its object
//   file_import(f, read_fn, target)                      a file path; read_fn(file, path of
//                                                       f) returns what replaces target,
//                                                       like a preset (the two are exclusive)
//   integer(f, member, IntRule)                          JSON integer
//   number(f, member, NumberRule, to_si)                 JSON number in the field's unit;
//                                                       to_si (a costmodel::units helper)
//                                                       converts it to the member's unit
//   boolean(f, member), string(f, member)
//   enumeration(f, member, values)                       one of to_string(values[i])
//   object(f, fields)                                    nested object; fields(V&) declares it
//   object_or_preset(f, fields)                          the same, or a preset name alone
//   exactly_one_of(a, b)                                 exactly one of two keys present
//   at_most_one_of(a, b)                                 not both of two keys present
// Fields are visited in declaration order, which is the order the parser applies them:
// a preset first, then the fields that override it.
namespace ptsim::io::fields {

enum class Presence {
  optional,                 // default: the member's value in the default-constructed struct
  required,
  required_without_preset,  // required unless a preset or file_import, here or in an
                            // enclosing object, gives it
  derived,                  // optional; when absent it is computed (the description says how)
};

enum class IntRule { positive, non_negative };              // 1 (or 0) .. kMaxInteger
enum class NumberRule { positive, non_negative, fraction };  // fraction: in (0, 1]

// Every integer is at most this, so products of a few of them cannot overflow int64.
inline constexpr std::int64_t kMaxInteger = std::numeric_limits<std::int32_t>::max();

// At most this many micro-batches x layers per step (a cross-field rule): each is a few
// dozen simulated tasks, so the largest accepted step stays within a minute and a few GiB.
// GPT-3 175B on 1,024 A100s (scenarios/) is 192 x 96 = 18,432.
inline constexpr std::int64_t kMaxLayerPasses = std::int64_t{1} << 20;

// Reads a file named by a scenario field into a value of T; errors are InputErrors at
// error_path. A relative path is resolved against the scenario file's directory first.
template <class T>
using ImportFn = T (*)(const std::filesystem::path& file, const std::string& error_path);

// Converts a value in the field's user-facing unit to the member's unit (SI).
using UnitFn = double (*)(double);
constexpr double same_unit(double x) { return x; }

// What a preset field does to the name of the object it fills: mark_overrides appends
// " (modified)" when other fields of the object override the preset. Without any preset
// (here or enclosing) the name becomes "custom".
enum class PresetNaming { mark_overrides, keep };

struct Field {
  std::string_view name;
  std::string_view description;
  Presence presence = Presence::optional;
  std::string_view unit = {};
};

// Inputs that are not members of the strategies structs; parse_scenario turns them into a
// strategies::Scenario after the cross-field checks.
struct ClusterInput {
  costmodel::ClusterSpec spec;
  std::int64_t num_gpus = 0;   // 0: not given
  std::int64_t num_nodes = 0;  // 0: not given
  std::string profile;         // empty: no measured profile
};

inline strategies::Layout layout_without_dp() {
  strategies::Layout l;
  l.dp = 0;  // 0: not given, derived from the GPU count
  return l;
}

inline strategies::Training training_without_seq_length() {
  strategies::Training t;
  t.seq_length = 0;  // 0: not given (required for transformers, derived for layer graphs)
  return t;
}

struct ScenarioInput {
  std::string name = strategies::Scenario{}.name;
  std::string description;
  strategies::TransformerConfig model;  // 0 in num_query_groups / ffn_hidden_size: not given
  strategies::LayerGraphSpec graph;     // no layers: not given
  ClusterInput cluster;
  strategies::Training training = training_without_seq_length();
  strategies::Layout layout = layout_without_dp();
};

inline constexpr std::array kNormalizations = {strategies::Normalization::layernorm,
                                               strategies::Normalization::rmsnorm};
inline constexpr std::array kPositionEmbeddings = {strategies::PositionEmbedding::learned_absolute,
                                                   strategies::PositionEmbedding::rope};
inline constexpr std::array kNormPlacements = {strategies::NormPlacement::pre,
                                               strategies::NormPlacement::post};
inline constexpr std::array kOutputHeads = {strategies::OutputHead::lm, strategies::OutputHead::mlm};
inline constexpr std::array kAttentionKernels = {strategies::AttentionKernel::flash,
                                                 strategies::AttentionKernel::unfused};
inline constexpr std::array kContextParallelComms = {strategies::ContextParallelComm::ring,
                                                     strategies::ContextParallelComm::all_gather};
inline constexpr std::array kRankOrders = {strategies::RankOrder::tp_dp_pp, strategies::RankOrder::tp_pp_dp,
                                           strategies::RankOrder::dp_tp_pp, strategies::RankOrder::dp_pp_tp,
                                           strategies::RankOrder::pp_tp_dp, strategies::RankOrder::pp_dp_tp};
inline constexpr std::array kSchedules = {strategies::Schedule::sequential,
                                          strategies::Schedule::gpipe,
                                          strategies::Schedule::one_f_one_b,
                                          strategies::Schedule::zb_h1};
inline constexpr std::array kRecomputes = {strategies::Recompute::none,
                                           strategies::Recompute::selective,
                                           strategies::Recompute::full};

using enum Presence;

template <class V>
void model_fields(V& v, strategies::TransformerConfig& m) {
  v.at_most_one_of("preset", "hf_config");
  v.preset({.name = "preset", .description = "model preset; the other fields override it"},
           "model", &strategies::model_preset_names, &strategies::find_model_preset, m,
           PresetNaming::mark_overrides);
  v.file_import({.name = "hf_config",
                 .description = "path to a HuggingFace transformers config.json (llama, "
                                "mistral, mixtral, qwen2, qwen2_moe, gpt2, gpt_neox, "
                                "deepseek_v3), relative to the scenario "
                                "file; used like a preset, the other fields override it; not "
                                "with preset"},
                ImportFn<strategies::TransformerConfig>{&import_hf_model}, m);
  v.integer({.name = "num_layers", .description = "transformer layers",
             .presence = required_without_preset},
            m.num_layers, IntRule::positive);
  v.integer({.name = "hidden_size", .description = "model width h",
             .presence = required_without_preset},
            m.hidden_size, IntRule::positive);
  v.integer({.name = "num_attention_heads", .description = "query heads; divides hidden_size",
             .presence = required_without_preset},
            m.num_attention_heads, IntRule::positive);
  v.integer({.name = "num_query_groups",
             .description = "key/value heads (grouped-query attention); divides "
                            "num_attention_heads; default: num_attention_heads (multi-head "
                            "attention), or the preset's value",
             .presence = derived},
            m.num_query_groups, IntRule::positive);
  v.integer({.name = "ffn_hidden_size",
             .description = "MLP inner width; default: 4 x hidden_size, or the preset's value",
             .presence = derived},
            m.ffn_hidden_size, IntRule::positive);
  v.integer({.name = "vocab_size", .description = "vocabulary size (padded, as trained)",
             .presence = required_without_preset},
            m.vocab_size, IntRule::positive);
  v.boolean({.name = "swiglu",
             .description = "gated MLP: the first MLP GEMM produces 2 x ffn_hidden_size columns"},
            m.swiglu);
  v.enumeration({.name = "normalization", .description = "normalization layer"},
                m.normalization, kNormalizations);
  v.boolean({.name = "add_bias_linear", .description = "biases on the linear layers"},
            m.add_bias_linear);
  v.enumeration({.name = "position_embedding_type", .description = "position embedding"},
                m.position_embedding_type, kPositionEmbeddings);
  v.boolean({.name = "untie_embeddings_and_output_weights",
             .description = "separate output layer instead of reusing the input embedding"},
            m.untie_embeddings_and_output_weights);
  v.number({.name = "hidden_dropout",
            .description = "dropout probability after attention and MLP; below 1 (its masks "
                           "are kept for backward when > 0)"},
           m.hidden_dropout, NumberRule::non_negative, same_unit);
  v.number({.name = "attention_dropout",
            .description = "dropout probability on attention probabilities; below 1"},
           m.attention_dropout, NumberRule::non_negative, same_unit);
  v.integer({.name = "num_experts",
             .description = "mixture of experts: experts per MoE layer (every layer); 0 = dense"},
            m.num_experts, IntRule::non_negative);
  v.integer({.name = "moe_router_topk", .description = "experts each token is routed to"},
            m.moe_router_topk, IntRule::positive);
  v.integer({.name = "moe_ffn_hidden_size",
             .description = "width of each expert's MLP; 0 = ffn_hidden_size"},
            m.moe_ffn_hidden_size, IntRule::non_negative);
  v.integer({.name = "moe_shared_expert_intermediate_size",
             .description = "width of the shared expert applied to every token; 0 = none"},
            m.moe_shared_expert_intermediate_size, IntRule::non_negative);
  v.number({.name = "moe_capacity_factor",
            .description = "expert capacity as a multiple of the balanced load; experts pad "
                           "to it; 0 = dropless"},
           m.moe_capacity_factor, NumberRule::non_negative, same_unit);
  v.boolean({.name = "moe_shared_expert_gate",
             .description = "sigmoid gate (a Linear(h, 1)) on the shared expert's output, "
                            "as Qwen2-MoE"},
            m.moe_shared_expert_gate);
  v.integer({.name = "first_k_dense_replace",
             .description = "MoE models: the first k layers are dense (ffn_hidden_size), as "
                            "DeepSeek-V3 (3)"},
            m.first_k_dense_replace, IntRule::non_negative);
  v.integer({.name = "decoder_sparse_step",
             .description = "MoE models: layer l (from 0) is MoE when l + 1 is a multiple of "
                            "it (Qwen2-MoE); 1 = every layer"},
            m.decoder_sparse_step, IntRule::positive);
  v.integer({.name = "q_lora_rank",
             .description = "multi-head latent attention: width of the query latent; needs "
                            "kv_lora_rank"},
            m.q_lora_rank, IntRule::non_negative);
  v.integer({.name = "kv_lora_rank",
             .description = "multi-head latent attention (DeepSeek-V2/V3): width of the "
                            "shared key/value latent; 0 = ordinary attention"},
            m.kv_lora_rank, IntRule::non_negative);
  v.integer({.name = "qk_nope_head_dim",
             .description = "multi-head latent attention: per-head query/key channels "
                            "without RoPE"},
            m.qk_nope_head_dim, IntRule::non_negative);
  v.integer({.name = "qk_rope_head_dim",
             .description = "multi-head latent attention: per-head query channels with RoPE "
                            "(and the width of the one decoupled RoPE key)"},
            m.qk_rope_head_dim, IntRule::non_negative);
  v.integer({.name = "v_head_dim",
             .description = "multi-head latent attention: per-head value channels"},
            m.v_head_dim, IntRule::non_negative);
  v.boolean({.name = "causal",
             .description = "causal (decoder) attention; false: bidirectional encoder "
                            "(BERT), attention kernels compute all s x s scores"},
            m.causal);
  v.enumeration({.name = "norm_placement",
                 .description = "pre: norm before attention and MLP, final norm before the "
                                "head; post: after each residual add and after the embedding "
                                "(BERT)"},
                m.norm_placement, kNormPlacements);
  v.enumeration({.name = "output_head",
                 .description = "lm: vocabulary projection; mlm: BERT's masked-LM head (dense "
                                "h x h + GeLU + LayerNorm, then the vocabulary projection)"},
                m.output_head, kOutputHeads);
  v.integer({.name = "num_token_types",
             .description = "token-type (segment) embeddings added to the input (BERT: 2)"},
            m.num_token_types, IntRule::non_negative);
}

// `presence` is optional for a GPU's own efficiency (default: ptsim's generic values) and
// derived for cluster.efficiency (default: keep the GPU's value).
template <class V>
void efficiency_fields(V& v, costmodel::Efficiency& e, Presence presence) {
  using costmodel::units::microseconds;
  v.number({.name = "gemm_flops_fraction",
            .description = "fraction of peak FLOP/s that dense GEMMs achieve",
            .presence = presence},
           e.gemm_flops_fraction, NumberRule::fraction, same_unit);
  v.number({.name = "attention_flops_fraction",
            .description = "fraction of peak FLOP/s that the attention core achieves",
            .presence = presence},
           e.attention_flops_fraction, NumberRule::fraction, same_unit);
  v.number({.name = "memory_bandwidth_fraction",
            .description = "fraction of HBM bandwidth that memory-bound kernels achieve",
            .presence = presence},
           e.memory_bandwidth_fraction, NumberRule::fraction, same_unit);
  v.number({.name = "kernel_launch_overhead_us",
            .description = "GPU-side gap per kernel launch",
            .presence = presence,
            .unit = "us"},
           e.kernel_launch_overhead_s, NumberRule::non_negative, microseconds);
  v.number({.name = "host_issue_us",
            .description = "host (CPU) time to issue one kernel under eager PyTorch; a kernel "
                           "cannot start before the host has issued it (0: not modelled)",
            .presence = presence,
            .unit = "us"},
           e.host_issue_s, NumberRule::non_negative, microseconds);
  v.number({.name = "nvlink_bandwidth_fraction",
            .description = "bus bandwidth a ring collective achieves over NVLink, fraction of "
                           "the per-direction line rate",
            .presence = presence},
           e.nvlink_bandwidth_fraction, NumberRule::fraction, same_unit);
  v.number({.name = "network_bandwidth_fraction",
            .description = "bus bandwidth a ring collective achieves over the network, "
                           "fraction of the per-direction line rate",
            .presence = presence},
           e.network_bandwidth_fraction, NumberRule::fraction, same_unit);
  v.number({.name = "intra_node_step_latency_us",
            .description = "latency per collective algorithm step inside a node",
            .presence = presence,
            .unit = "us"},
           e.intra_node_step_latency_s, NumberRule::non_negative, microseconds);
  v.number({.name = "inter_node_step_latency_us",
            .description = "latency per collective algorithm step across nodes",
            .presence = presence,
            .unit = "us"},
           e.inter_node_step_latency_s, NumberRule::non_negative, microseconds);
}

template <class V>
void peak_fields(V& v, costmodel::GpuSpec& g) {
  for (costmodel::Dtype d : costmodel::kAllDtypes) {
    v.number({.name = costmodel::to_string(d),
              .description = "dense (non-sparse) peak in this format; 0: not supported",
              .unit = "TFLOP/s"},
             g.peak_flops[static_cast<std::size_t>(d)], NumberRule::non_negative,
             costmodel::units::tflops);
  }
}

template <class V>
void gpu_fields(V& v, costmodel::GpuSpec& g) {
  using costmodel::units::gb_per_s;
  using costmodel::units::gib;
  v.preset({.name = "preset", .description = "GPU preset; the other fields override it"}, "gpu",
           &costmodel::gpu_preset_names, &costmodel::find_gpu_preset, g,
           PresetNaming::mark_overrides);
  v.object({.name = "peak_tflops",
            .description = "spec-sheet peak per numeric format: fp32, tf32, fp16, bf16, fp8",
            .presence = required_without_preset},
           [&](auto& sub) { peak_fields(sub, g); });
  v.number({.name = "hbm_bandwidth_gb_per_s", .description = "HBM bandwidth",
            .presence = required_without_preset, .unit = "GB/s"},
           g.hbm_bandwidth_bytes_per_s, NumberRule::positive, gb_per_s);
  v.number({.name = "hbm_capacity_gib", .description = "HBM capacity",
            .presence = required_without_preset, .unit = "GiB"},
           g.hbm_capacity_bytes, NumberRule::positive, gib);
  v.number({.name = "nvlink_bandwidth_gb_per_s",
            .description = "NVLink bandwidth per GPU per direction, all links together",
            .presence = required_without_preset, .unit = "GB/s"},
           g.nvlink_bandwidth_bytes_per_s, NumberRule::positive, gb_per_s);
  v.integer({.name = "num_sms",
             .description = "streaming multiprocessors, for GEMM tile and wave quantization; "
                            "0 = not modelled"},
            g.num_sms, IntRule::non_negative);
  v.object({.name = "efficiency",
            .description = "achievable fractions and latencies; default: the preset's, or "
                           "ptsim's generic defaults"},
           [&](auto& sub) { efficiency_fields(sub, g.efficiency, optional); });
}

template <class V>
void cluster_fields(V& v, ClusterInput& c) {
  using costmodel::units::gbit_per_s;
  v.preset({.name = "preset",
            .description = "node preset (GPU, gpus_per_node, network bandwidth); the other "
                           "fields override it"},
           "node", &costmodel::node_preset_names, &costmodel::find_node_preset, c.spec,
           PresetNaming::keep);
  v.exactly_one_of("num_gpus", "num_nodes");
  v.integer({.name = "num_gpus",
             .description = "GPUs in the cluster; give this or num_nodes. Fewer than "
                            "gpus_per_node: one node of num_gpus GPUs; otherwise a multiple "
                            "of gpus_per_node",
             .presence = derived},
            c.num_gpus, IntRule::positive);
  v.integer({.name = "num_nodes", .description = "nodes in the cluster; give this or num_gpus",
             .presence = derived},
            c.num_nodes, IntRule::positive);
  v.integer({.name = "gpus_per_node", .description = "GPUs per node, behind one NVLink switch"},
            c.spec.gpus_per_node, IntRule::positive);
  v.object_or_preset({.name = "gpu",
                      .description = "a GPU preset name, or an object: preset plus overrides, "
                                     "or every field inline",
                      .presence = required_without_preset},
                     [&](auto& sub) { gpu_fields(sub, c.spec.gpu); });
  v.number({.name = "network_bandwidth_gbit_per_s",
            .description = "network bandwidth per GPU per direction (NIC line rate / GPUs per NIC)",
            .presence = required_without_preset, .unit = "Gb/s"},
           c.spec.network_bandwidth_bytes_per_s, NumberRule::positive, gbit_per_s);
  v.integer({.name = "nvlink_domain_gpus",
             .description = "GPUs that reach each other over NVLink; default: one node "
                            "(gpus_per_node); GB200 NVL72: 72",
             .presence = derived},
            c.spec.nvlink_domain_gpus, IntRule::positive);
  v.integer({.name = "pod_gpus",
             .description = "GPUs in a pod with full bisection bandwidth; default: the whole "
                            "cluster is one pod",
             .presence = derived},
            c.spec.pod_gpus, IntRule::positive);
  v.number({.name = "oversubscription",
            .description = "network oversubscription between pods, N for N:1 (Llama 3: 7); "
                           "at least 1",
            .unit = "ratio"},
           c.spec.oversubscription, NumberRule::positive, same_unit);
  v.object({.name = "efficiency",
            .description = "overrides of cluster.gpu.efficiency, applied after gpu; an absent "
                           "field keeps the GPU's value"},
           [&](auto& sub) { efficiency_fields(sub, c.spec.gpu.efficiency, derived); });
  v.string({.name = "profile",
            .description = "path to a measured hardware profile (ptsim-calibrate fit; "
                           "scenarios/profiles/), relative to the scenario file; its GPU must "
                           "be cluster.gpu. Measured GEMM tables, bandwidth curves and "
                           "collective curves are used first, the roofline and network model "
                           "outside them (docs/calibration.md)"},
           c.profile);
}

template <class V>
void training_fields(V& v, strategies::Training& t) {
  v.integer({.name = "seq_length",
             .description = "tokens per sequence; required for transformer models; layer "
                            "graphs: the graph's tokens_per_sample (shapes are fixed in the "
                            "graph), and if given it must equal that",
             .presence = derived, .unit = "tokens"},
            t.seq_length, IntRule::positive);
  v.integer({.name = "global_batch_size", .description = "sequences per optimizer step",
             .presence = required, .unit = "sequences"},
            t.global_batch_size, IntRule::positive);
  v.enumeration({.name = "precision",
                 .description = "numeric format of the GEMMs and activations; the GPU's peak "
                                "for it must not be 0"},
                t.precision, costmodel::kAllDtypes);
  v.enumeration({.name = "attention",
                 .description = "flash: one fused kernel; unfused: batched GEMMs plus separate "
                                "softmax and dropout kernels"},
                t.attention, kAttentionKernels);
  v.boolean({.name = "grad_reduce_in_fp32",
             .description = "data-parallel gradient reduction in fp32 instead of the training "
                            "precision"},
            t.grad_reduce_in_fp32);
  v.number({.name = "runtime_reserved_gib",
            .description = "memory per GPU not available to tensors: CUDA context, cuBLAS "
                           "workspaces, NCCL buffers",
            .unit = "GiB"},
           t.runtime_reserved_bytes, NumberRule::non_negative, costmodel::units::gib);
  v.number({.name = "allocator_overhead_fraction",
            .description = "caching-allocator fragmentation, as a fraction of tensor memory; "
                           "below 1"},
           t.allocator_overhead_fraction, NumberRule::non_negative, same_unit);
}

template <class V>
void layout_fields(V& v, strategies::Layout& l) {
  v.integer({.name = "tp", .description = "tensor-parallel size; divides num_attention_heads, "
                                          "num_query_groups and ffn_hidden_size"},
            l.tp, IntRule::positive);
  v.integer({.name = "pp", .description = "pipeline-parallel stages; divides num_layers"},
            l.pp, IntRule::positive);
  v.integer({.name = "cp",
             .description = "context-parallel size: each sequence split over cp ranks (placed "
                            "right after tp); needs seq_length divisible by 2 x cp and flash "
                            "attention"},
            l.cp, IntRule::positive);
  v.enumeration({.name = "cp_comm",
                 .description = "context parallelism's K/V exchange: ring (point-to-point, "
                                "overlapped with attention) or all_gather (Llama 3)"},
                l.cp_comm, kContextParallelComms);
  v.integer({.name = "ep",
             .description = "expert-parallel size: experts split over ep of the data-parallel "
                            "ranks; divides num_experts and dp x cp"},
            l.ep, IntRule::positive);
  v.integer({.name = "dp",
             .description = "data-parallel replicas; dp x tp x pp = cluster GPUs; default: "
                            "GPUs / (tp x pp)",
             .presence = derived},
            l.dp, IntRule::positive);
  v.integer({.name = "micro_batch_size",
             .description = "sequences per micro-batch; dp x micro_batch_size divides "
                            "global_batch_size",
             .unit = "sequences"},
            l.micro_batch_size, IntRule::positive);
  v.enumeration({.name = "schedule",
                 .description = "pipeline schedule: sequential, gpipe, 1f1b (interleaved with "
                                "virtual_stages > 1), zb-h1 (zero-bubble ZB-H1: backward split "
                                "into input- and weight-gradient passes; not with virtual_stages "
                                "> 1 or zero_stage 3)"},
                l.schedule, kSchedules);
  v.integer({.name = "virtual_stages",
             .description = "model chunks per GPU for the interleaved 1F1B schedule "
                            "(Megatron --num-layers-per-virtual-pipeline-stage = layers / (pp x "
                            "virtual_stages)); 1: not interleaved"},
            l.virtual_stages, IntRule::positive);
  v.integer({.name = "num_layers_in_first_pipeline_stage",
             .description = "uneven pipeline: layers on the first stage (Megatron "
                            "--decoder-first-pipeline-num-layers); 0 = even split"},
            l.num_layers_in_first_pipeline_stage, IntRule::non_negative);
  v.integer({.name = "num_layers_in_last_pipeline_stage",
             .description = "uneven pipeline: layers on the last stage (Megatron "
                            "--decoder-last-pipeline-num-layers); 0 = even split"},
            l.num_layers_in_last_pipeline_stage, IntRule::non_negative);
  v.enumeration({.name = "rank_order",
                 .description = "how ranks map to GPUs, fastest-varying first (Megatron-LM's "
                                "default: tp, then dp, then pp); consecutive ranks share a node"},
                l.rank_order, kRankOrders);
  v.enumeration({.name = "recompute",
                 .description = "activation recomputation: none; selective (attention scores, "
                                "Korthikanti et al.); full (every layer from its input)"},
                l.recompute, kRecomputes);
  v.boolean({.name = "sequence_parallel",
             .description = "Megatron sequence parallelism: norms and dropout sharded over tp, "
                            "TP all-reduces become reduce-scatter + all-gather"},
            l.sequence_parallel);
  v.boolean({.name = "overlap_grad_reduce",
             .description = "reduce each layer's gradients during the step's last backward "
                            "(Megatron --overlap-grad-reduce) instead of after it"},
            l.overlap_grad_reduce);
  v.boolean({.name = "tp_comm_overlap",
             .description = "pipeline each sequence-parallel TP all-gather / reduce-scatter "
                            "with its GEMM (Megatron --tp-comm-overlap); needs sequence_parallel"},
            l.tp_comm_overlap);
  v.boolean({.name = "pipeline_scatter_gather",
             .description = "without sequence_parallel and with tp > 1: each TP rank sends 1/tp of a "
                            "pipeline transfer and the receivers all-gather it (Megatron-LM's "
                            "scatter/gather); off, every TP rank sends it whole (Megatron-Core)"},
            l.pipeline_scatter_gather);
  v.integer({.name = "zero_stage",
             .description = "ZeRO sharding over dp: 0 none, 1 optimizer states (distributed "
                            "optimizer), 2 + gradients, 3 + parameters (FSDP)"},
            l.zero_stage, IntRule::non_negative);
  v.boolean({.name = "reshard_after_forward",
             .description = "ZeRO 3 / FSDP: free each layer's gathered parameters after its "
                            "forward and all-gather them again for its backward (true), or keep "
                            "them until the backward (false: no backward all-gather, every "
                            "layer's full parameters resident); false needs zero_stage 3"},
            l.reshard_after_forward);
}

template <class V>
void layer_graph_fields(V& v, strategies::LayerGraphSpec& g) {
  v.exactly_one_of("preset", "file");
  v.preset({.name = "preset",
            .description = "layer-graph preset: resnet50 (ImageNet 224x224), bert-large "
                           "(sequence 512), mnist-cnn",
            .presence = derived},
           "layer-graph", &strategies::layer_graph_preset_names, &strategies::find_layer_graph_preset, g,
           PresetNaming::keep);
  v.file_import({.name = "file",
                 .description = "path to a layer-graph JSON file (docs/layer-graph.md), relative "
                                "to the scenario file; not with preset"},
                ImportFn<strategies::LayerGraphSpec>{&import_layer_graph}, g);
}

template <class V>
void scenario_fields(V& v, ScenarioInput& s) {
  v.string({.name = "name", .description = "label for reports"}, s.name);
  v.string({.name = "description", .description = "free text; ignored"}, s.description);
  v.exactly_one_of("model", "layer_graph");
  v.object_or_preset({.name = "model",
                      .description = "a transformer: a model preset name, or an object: preset "
                                     "plus overrides, or every field inline; give this or "
                                     "layer_graph",
                      .presence = derived},
                     [&](auto& sub) { model_fields(sub, s.model); });
  v.object_or_preset({.name = "layer_graph",
                      .description = "any other model as a graph of layers (CNNs, encoders): a "
                                     "layer-graph preset name, or an object with preset or file; "
                                     "give this or model",
                      .presence = derived},
                     [&](auto& sub) { layer_graph_fields(sub, s.graph); });
  v.object({.name = "cluster", .description = "the GPUs and how they are connected",
            .presence = required},
           [&](auto& sub) { cluster_fields(sub, s.cluster); });
  v.object({.name = "training", .description = "the workload of one optimizer step",
            .presence = required},
           [&](auto& sub) { training_fields(sub, s.training); });
  v.object({.name = "layout", .description = "the parallel layout", .presence = required},
           [&](auto& sub) { layout_fields(sub, s.layout); });
}

}  // namespace ptsim::io::fields

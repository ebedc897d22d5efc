// What each simulated task is, for reports and traces: its kind (the tag the simulator
// carries), the operation, and the layer and micro-batch it belongs to. Kept beside the
// TaskGraph as a parallel array (TaskLabels) so the simulator itself never handles names;
// the ranks of a stage repeat the same labels, so each distinct label is stored once and
// each task holds a 4-byte index to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace ptsim::strategies {

// The sim::TaskGraph tag of every task ptsim lowers.
enum class TaskKind : std::uint8_t {
  forward,     // forward kernels
  backward,    // backward kernels
  recompute,   // forward kernels re-run before backward (activation recompute)
  optimizer,   // optimizer step
  comm_tp,     // tensor-parallel collectives
  comm_pp,     // pipeline send/recv
  comm_dp,     // data-parallel gradient reduction
  comm_cp,     // context-parallel K/V exchange
  comm_ep,     // expert-parallel token all-to-all
  weight_grad, // zb-h1's W pass: weight-gradient GEMMs deferred from the backward
};

enum class OpId : std::uint16_t {
  embedding,
  input_norm,
  qkv_proj,
  attention,          // fused (flash) attention
  attention_scores,   // unfused: Q K^T
  attention_softmax,  // unfused: scale, mask, softmax
  attention_dropout,  // unfused: dropout on probabilities
  attention_context,  // unfused: probabilities x V
  out_proj,
  attn_residual,      // bias + dropout + residual add
  post_attn_norm,
  mlp_up,
  mlp_activation,
  mlp_down,
  mlp_residual,
  moe_router,
  moe_permute,         // gather tokens by expert (and scatter back)
  moe_dispatch,        // all-to-all to the experts' ranks
  moe_expert_up,
  moe_expert_activation,
  moe_expert_down,
  moe_combine,         // all-to-all back
  final_norm,
  lm_head,
  cross_entropy,
  tp_all_reduce,
  tp_all_gather,
  tp_reduce_scatter,
  pp_send,
  dp_all_reduce,
  cp_kv_exchange,     // ring attention: K/V (and dK/dV) to the next CP rank
  cp_all_gather,      // Llama 3 CP: K and V of the whole sequence
  cp_reduce_scatter,  // its backward: dK and dV
  dp_reduce_scatter,  // ZeRO: gradients
  dp_all_gather,      // ZeRO: parameters
  optimizer_step,
  mla_q_down,         // MLA: hidden -> query latent (q_lora_rank)
  mla_kv_down,        // MLA: hidden -> KV latent (kv_lora_rank) + decoupled RoPE key
  mla_latent_norm,    // MLA: RMSNorm of the two latents
  mla_q_up,           // MLA: query latent -> per-head queries (nope + rope)
  mla_kv_up,          // MLA: KV latent -> per-head keys (nope) and values
  embedding_norm,     // post-LN models (BERT): LayerNorm after the embedding
  mlm_transform,      // BERT masked-LM head: dense h x h + GeLU + LayerNorm
  graph_layer,  // one layer of a layer-graph model (all its kernels)
  embedding_all_reduce,  // tied embeddings, pp > 1: word-embedding gradient, first <-> last stage
};

struct TaskLabel {
  OpId op = OpId::embedding;
  TaskKind kind = TaskKind::forward;
  std::int32_t layer = -1;       // global layer index, -1 when not a layer's
  std::int32_t microbatch = -1;  // -1 when not a micro-batch's
  std::int32_t peer_stage = -1;  // pipeline sends: the receiving stage
  bool operator==(const TaskLabel&) const = default;
};

// Per task its label, as a vector of TaskLabel would hold them (push_back, [], size,
// iteration by value), stored as an index per task into a table of distinct labels.
class TaskLabels {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = TaskLabel;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = TaskLabel;
    iterator() = default;
    iterator(const TaskLabels* labels, std::size_t i) : labels_(labels), i_(i) {}
    TaskLabel operator*() const { return (*labels_)[i_]; }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++i_;
      return old;
    }
    bool operator==(const iterator& other) const { return i_ == other.i_; }

   private:
    const TaskLabels* labels_ = nullptr;
    std::size_t i_ = 0;
  };

  void push_back(const TaskLabel& label) {
    if (!ids_.empty() && table_[ids_.back()] == label) {
      ids_.push_back(ids_.back());
    } else {
      ids_.push_back(static_cast<std::uint32_t>(table_.size()));
      table_.push_back(label);
    }
  }
  TaskLabel operator[](std::size_t task) const { return table_[ids_[task]]; }
  TaskLabel at(std::size_t task) const { return table_.at(ids_.at(task)); }
  std::size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  std::size_t num_distinct() const { return table_.size(); }
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, ids_.size()}; }

 private:
  // A label equal to the previous task's shares its entry (the ranks of a stage add the
  // same op one after the other); any other gets a new one, so the table never costs more
  // than one entry per task and pushing never hashes.
  std::vector<TaskLabel> table_;
  std::vector<std::uint32_t> ids_;  // per task
};

std::string_view to_string(TaskKind kind);
std::string_view to_string(OpId op);
// "L12 qkv_proj fwd mb3", "send fwd -> stage 2 mb3", "dp_all_reduce".
std::string task_display_name(const TaskLabel& label);

}  // namespace ptsim::strategies

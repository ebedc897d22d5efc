#include "ptsim/strategies/task_labels.h"

namespace ptsim::strategies {

// A full-mode step has tens of millions of tasks: each stores a 4-byte index, the table
// one 16-byte label per run of equal labels.
static_assert(sizeof(TaskLabel) == 16, "TaskLabel grew");

std::string_view to_string(TaskKind kind) {
  switch (kind) {
    case TaskKind::forward: return "forward";
    case TaskKind::backward: return "backward";
    case TaskKind::recompute: return "recompute";
    case TaskKind::optimizer: return "optimizer";
    case TaskKind::comm_tp: return "tp";
    case TaskKind::comm_pp: return "pp";
    case TaskKind::comm_dp: return "dp";
    case TaskKind::comm_cp: return "cp";
    case TaskKind::comm_ep: return "ep";
    case TaskKind::weight_grad: return "weight_grad";
  }
  return "?";
}

std::string_view to_string(OpId op) {
  switch (op) {
    case OpId::embedding: return "embedding";
    case OpId::input_norm: return "input_norm";
    case OpId::qkv_proj: return "qkv_proj";
    case OpId::attention: return "attention";
    case OpId::attention_scores: return "attention_scores";
    case OpId::attention_softmax: return "attention_softmax";
    case OpId::attention_dropout: return "attention_dropout";
    case OpId::attention_context: return "attention_context";
    case OpId::out_proj: return "out_proj";
    case OpId::attn_residual: return "attn_residual";
    case OpId::post_attn_norm: return "post_attn_norm";
    case OpId::mlp_up: return "mlp_up";
    case OpId::mlp_activation: return "mlp_activation";
    case OpId::mlp_down: return "mlp_down";
    case OpId::mlp_residual: return "mlp_residual";
    case OpId::moe_router: return "moe_router";
    case OpId::moe_permute: return "moe_permute";
    case OpId::moe_dispatch: return "moe_dispatch";
    case OpId::moe_expert_up: return "moe_expert_up";
    case OpId::moe_expert_activation: return "moe_expert_activation";
    case OpId::moe_expert_down: return "moe_expert_down";
    case OpId::moe_combine: return "moe_combine";
    case OpId::final_norm: return "final_norm";
    case OpId::lm_head: return "lm_head";
    case OpId::cross_entropy: return "cross_entropy";
    case OpId::tp_all_reduce: return "tp_all_reduce";
    case OpId::tp_all_gather: return "tp_all_gather";
    case OpId::tp_reduce_scatter: return "tp_reduce_scatter";
    case OpId::pp_send: return "pp_send";
    case OpId::dp_all_reduce: return "dp_all_reduce";
    case OpId::cp_kv_exchange: return "cp_kv_exchange";
    case OpId::cp_all_gather: return "cp_all_gather";
    case OpId::cp_reduce_scatter: return "cp_reduce_scatter";
    case OpId::dp_reduce_scatter: return "dp_reduce_scatter";
    case OpId::dp_all_gather: return "dp_all_gather";
    case OpId::optimizer_step: return "optimizer_step";
    case OpId::embedding_all_reduce: return "embedding_all_reduce";
    case OpId::mla_q_down: return "mla_q_down";
    case OpId::mla_kv_down: return "mla_kv_down";
    case OpId::mla_latent_norm: return "mla_latent_norm";
    case OpId::mla_q_up: return "mla_q_up";
    case OpId::mla_kv_up: return "mla_kv_up";
    case OpId::embedding_norm: return "embedding_norm";
    case OpId::mlm_transform: return "mlm_transform";
    case OpId::graph_layer: return "layer";
  }
  return "?";
}

std::string task_display_name(const TaskLabel& label) {
  // Appends piece by piece: `"L" + std::to_string(...)` trips GCC 12's -Wrestrict false
  // positive (GCC bug 105329).
  std::string name;
  if (label.layer >= 0) {
    name += 'L';
    name += std::to_string(label.layer);
    name += ' ';
  }
  name += to_string(label.op);
  switch (label.kind) {
    case TaskKind::forward: name += " fwd"; break;
    case TaskKind::backward: name += " bwd"; break;
    case TaskKind::recompute: name += " recompute"; break;
    case TaskKind::weight_grad: name += " wgrad"; break;
    default: break;
  }
  if (label.peer_stage >= 0) {
    name += " -> stage ";
    name += std::to_string(label.peer_stage);
  }
  if (label.microbatch >= 0) {
    name += " mb";
    name += std::to_string(label.microbatch);
  }
  return name;
}

}  // namespace ptsim::strategies

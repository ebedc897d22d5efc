// GPUs, nodes and clusters as the cost model sees them: spec-sheet peaks per numeric
// format, HBM, the NVLink and network bandwidth available to each GPU, plus the achievable
// fractions (Efficiency). Presets come from the vendors' spec sheets (sources in
// docs/cost-model.md); a scenario may name a preset or give every field inline.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ptsim/costmodel/dtype.h"
#include "ptsim/costmodel/efficiency.h"

namespace ptsim::costmodel {

struct HardwareProfile;  // profile.h

// A bandwidth regime of NCCL's protocols on NVLink: per algorithm step a fixed latency,
// and a fraction of the per-direction NVLink bandwidth the protocol achieves.
struct ProtocolRegime {
  std::string name;
  double step_latency_s = 0;
  double bandwidth_fraction = 1;
};

// How NCCL behaves on this GPU's NVLink beyond the large-message ("Simple") regime that
// Efficiency describes: the low-latency regimes that win for small messages, and NVLink
// SHARP (NVLS) in-switch all-reduce on NVSwitch generations that have it.
struct NcclTuning {
  std::vector<ProtocolRegime> small_message_regimes;
  bool nvls = false;
  double nvls_latency_s = 0;            // whole all-reduce
  double nvls_bandwidth_fraction = 0;   // algorithm bandwidth / per-direction NVLink
  // SMs a running collective holds: one CTA per NCCL channel, and NCCL's CTAs do not share
  // an SM with compute kernels. A kernel that runs beside a collective gets the rest
  // (docs/cost-model.md, "Compute beside a collective"). 0 = not modelled.
  std::int64_t collective_sms = 0;
};

struct GpuSpec {
  std::string name;
  // Dense (non-sparse) peak per format, indexed by Dtype; 0 = not supported.
  std::array<double, kAllDtypes.size()> peak_flops{};
  double hbm_bandwidth_bytes_per_s = 0;
  double hbm_capacity_bytes = 0;
  // NVLink bandwidth per GPU per direction (all links together).
  double nvlink_bandwidth_bytes_per_s = 0;
  std::int64_t num_sms = 0;  // streaming multiprocessors (GEMM wave quantization); 0 = not modelled
  // Board power limit (TDP) of one GPU in watts: the GPU board only, no host, network or
  // cooling. `ptsim plan` uses it for an upper-bound energy estimate. 0 = unknown.
  double tdp_watts = 0;
  Efficiency efficiency;
  NcclTuning nccl;
  // A measured profile (cluster.profile) the cost model consults before the roofline and
  // the network model; null: spec sheet and Efficiency only.
  std::shared_ptr<const HardwareProfile> profile;

  double peak(Dtype d) const { return peak_flops[static_cast<std::size_t>(d)]; }
  void set_peak(Dtype d, double flops) { peak_flops[static_cast<std::size_t>(d)] = flops; }
};

// A cluster of identical nodes of `gpus_per_node` GPUs. GPUs talk over NVLink inside an
// NVLink domain (one node behind its NVSwitch, or several nodes: GB200 NVL72 has 72 GPUs
// in one domain) and over the network otherwise: rail-optimised NICs, each GPU with its
// own share of network bandwidth, full bisection inside a pod of `pod_gpus` GPUs and
// `oversubscription`:1 between pods (Llama 3: 3,072-GPU pods, 1:7 above).
struct ClusterSpec {
  std::string name;
  GpuSpec gpu;
  int num_nodes = 1;
  int gpus_per_node = 8;
  int nvlink_domain_gpus = 0;   // 0: one node is one NVLink domain
  // Network bandwidth per GPU per direction (NIC line rate / GPUs per NIC).
  double network_bandwidth_bytes_per_s = 0;
  int pod_gpus = 0;             // 0: the whole cluster is one pod
  double oversubscription = 1;  // between pods

  int num_gpus() const { return num_nodes * gpus_per_node; }
  int node_of(int rank) const { return rank / gpus_per_node; }
  int domain_size() const { return nvlink_domain_gpus > 0 ? nvlink_domain_gpus : gpus_per_node; }
  int domain_of(int rank) const { return rank / domain_size(); }
  int pod_of(int rank) const { return pod_gpus > 0 ? rank / pod_gpus : 0; }
};

std::optional<GpuSpec> find_gpu_preset(std::string_view name);
std::vector<std::string> gpu_preset_names();

// A node preset: a ClusterSpec with num_nodes = 1.
std::optional<ClusterSpec> find_node_preset(std::string_view name);
std::vector<std::string> node_preset_names();

}  // namespace ptsim::costmodel

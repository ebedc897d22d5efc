// GPUs, nodes and clusters as the cost model sees them: spec-sheet peaks per numeric
// format, HBM, the NVLink and network bandwidth available to each GPU, plus the achievable
// fractions (Efficiency). Presets come from the vendors' spec sheets (sources in
// docs/cost-model.md); a scenario may name a preset or give every field inline.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ptsim/costmodel/dtype.h"
#include "ptsim/costmodel/efficiency.h"

namespace ptsim::costmodel {

struct GpuSpec {
  std::string name;
  // Dense (non-sparse) peak per format, indexed by Dtype; 0 = not supported.
  std::array<double, kAllDtypes.size()> peak_flops{};
  double hbm_bandwidth_bytes_per_s = 0;
  double hbm_capacity_bytes = 0;
  // NVLink bandwidth per GPU per direction (all links together).
  double nvlink_bandwidth_bytes_per_s = 0;
  Efficiency efficiency;

  double peak(Dtype d) const { return peak_flops[static_cast<std::size_t>(d)]; }
  void set_peak(Dtype d, double flops) { peak_flops[static_cast<std::size_t>(d)] = flops; }
};

// A cluster of identical nodes, each `gpus_per_node` GPUs behind one NVLink switch, each
// GPU with its own share of network bandwidth (rail-optimised NICs).
struct ClusterSpec {
  std::string name;
  GpuSpec gpu;
  int num_nodes = 1;
  int gpus_per_node = 8;
  // Network bandwidth per GPU per direction (NIC line rate / GPUs per NIC).
  double network_bandwidth_bytes_per_s = 0;

  int num_gpus() const { return num_nodes * gpus_per_node; }
  int node_of(int rank) const { return rank / gpus_per_node; }
};

std::optional<GpuSpec> find_gpu_preset(std::string_view name);
std::vector<std::string> gpu_preset_names();

// A node preset: a ClusterSpec with num_nodes = 1.
std::optional<ClusterSpec> find_node_preset(std::string_view name);
std::vector<std::string> node_preset_names();

}  // namespace ptsim::costmodel

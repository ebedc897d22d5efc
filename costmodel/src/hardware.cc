#include "ptsim/costmodel/hardware.h"

#include "ptsim/costmodel/named_presets.h"
#include "ptsim/costmodel/units.h"

namespace ptsim::costmodel {
namespace {

using namespace units;

// Spec-sheet peaks: ../shared/validation/hardware_peak_specs.json (NVIDIA datasheets).
// Efficiency fractions: measured figures quoted in docs/cost-model.md.
GpuSpec a100_sxm_80gb() {
  GpuSpec g;
  g.name = "a100-sxm-80gb";
  g.tdp_watts = 400;  // A100 SXM4 datasheet: 400 W max TDP
  g.set_peak(Dtype::fp32, tflops(19.5));
  g.set_peak(Dtype::tf32, tflops(156));
  g.set_peak(Dtype::fp16, tflops(312));
  g.set_peak(Dtype::bf16, tflops(312));
  g.hbm_bandwidth_bytes_per_s = gb_per_s(2039);
  g.hbm_capacity_bytes = gib(80);
  g.nvlink_bandwidth_bytes_per_s = gb_per_s(300);
  g.num_sms = 108;                                 // A100 whitepaper
  g.efficiency.gemm_flops_fraction = 0.81;         // cuBLASLt fp16 8192^3: 253.7 TFLOP/s (waves fill 99.8%)
  g.efficiency.attention_flops_fraction = 0.55;    // FlashAttention-2 fwd: 179.5 TFLOP/s
  g.efficiency.memory_bandwidth_fraction = 0.83;   // STREAM triad 1.70 TB/s
  g.efficiency.nvlink_bandwidth_fraction = 0.773;  // 8-GPU all-reduce busbw ~232 GB/s
  g.efficiency.network_bandwidth_fraction = 0.95;  // HDR NIC ~24 of 25 GB/s
  // Host issue per kernel: no DGX A100 (EPYC 7742) figure; the DGX H100 host's below, which
  // an older, slower core can only exceed.
  g.efficiency.host_issue_s = 13.48e-6;
  // NCCL regimes fitted to the 8-GPU all-reduce curve (docs/network.md): 14 ring steps
  // cost 33 us (LL), 60 us (LL128), 250 us (Simple: pipeline fill of its large chunks).
  g.efficiency.intra_node_step_latency_s = 17.86e-6;
  g.nccl.small_message_regimes = {{"LL", 2.36e-6, 0.35}, {"LL128", 4.29e-6, 0.50}};
  // HGX A100 8-GPU NVSwitch: NCCL opens 24 channels (NCCL INFO "Channel 23/24",
  // NVIDIA/nccl-tests#100), one CTA each on an SM of its own (NVIDIA/nccl#689).
  g.nccl.collective_sms = 24;
  return g;
}

GpuSpec h100_sxm_80gb() {
  GpuSpec g;
  g.name = "h100-sxm-80gb";
  g.tdp_watts = 700;  // H100 SXM5 datasheet: up to 700 W
  g.set_peak(Dtype::fp32, tflops(66.9));
  g.set_peak(Dtype::tf32, tflops(494.7));
  g.set_peak(Dtype::fp16, tflops(989.5));
  g.set_peak(Dtype::bf16, tflops(989.5));
  g.set_peak(Dtype::fp8, tflops(1979));
  g.hbm_bandwidth_bytes_per_s = gb_per_s(3350);
  g.hbm_capacity_bytes = gib(80);
  g.nvlink_bandwidth_bytes_per_s = gb_per_s(450);
  g.num_sms = 132;                                 // H100 SXM5 whitepaper
  // BF16 torch Linear, 8192 tokens x 2048 -> 2048, on a DGX H100: 100.06 us of GPU time,
  // 686.8 TFLOP/s (NVIDIA/TransformerEngine#2053), over W = 0.970 (1024 tiles, 8 waves of
  // 132): 0.716. Square BF16 sweeps on H100 SXM reach 0.71-0.83 over W (docs/cost-model.md).
  g.efficiency.gemm_flops_fraction = 0.72;
  g.efficiency.attention_flops_fraction = 0.33;    // FlashAttention-2 fwd: 327.9 TFLOP/s
  g.efficiency.memory_bandwidth_fraction = 0.88;   // STREAM triad 2.97 TB/s
  g.efficiency.nvlink_bandwidth_fraction = 0.82;   // ring busbw ~370 of 450 GB/s
  g.efficiency.network_bandwidth_fraction = 0.94;  // NDR NIC 46-48 of 50 GB/s
  // Host issue per kernel: CPU time of a BF16 torch.nn.Linear forward on a DGX H100 (Xeon
  // Platinum 8480C), 13.48 us (NVIDIA/TransformerEngine#2053).
  g.efficiency.host_issue_s = 13.48e-6;
  g.efficiency.intra_node_step_latency_s = 10e-6;  // Simple ring: not in the published curve
  // LL fitted to the 8-GPU all-reduce curve below 16 MiB; NVLS (NVLink SHARP): algbw
  // ~275 GB/s (busbw ~480) at large sizes, ~80 us fixed cost (docs/network.md).
  g.nccl.small_message_regimes = {{"LL", 2.5e-6, 0.667}};
  g.nccl.nvls = true;
  g.nccl.nvls_latency_s = 80e-6;
  g.nccl.nvls_bandwidth_fraction = 0.611;
  // 16 channels, one SM each: NCCL on DGX H100 (NCCL INFO "Channel 05/16", NVIDIA/nccl#1453;
  // "on DGX ... it would use 16 SMs", NCCL maintainer in NVIDIA/nccl#689).
  g.nccl.collective_sms = 16;
  return g;
}

GpuSpec h200_sxm_141gb() {
  GpuSpec g = h100_sxm_80gb();
  g.name = "h200-sxm-141gb";
  g.tdp_watts = 700;  // H200 SXM datasheet: up to 700 W
  g.hbm_bandwidth_bytes_per_s = gb_per_s(4800);
  g.hbm_capacity_bytes = gib(140);                 // 143771 MiB reported by the driver
  g.efficiency.memory_bandwidth_fraction = 0.86;   // STREAM triad 4.15 TB/s
  return g;
}

// GB200 in an NVL72 rack (secondary spec pages, marked uncertain in
// ../shared/validation/hardware_peak_specs.json): 2.5 PFLOP/s dense BF16 at 1200 W,
// 8 TB/s HBM3e, NVLink 5 at 900 GB/s per direction. Efficiencies: H100's until measured,
// except the GEMM fraction (below).
GpuSpec gb200() {
  GpuSpec g = h100_sxm_80gb();
  g.name = "gb200";
  g.tdp_watts = 1200;  // per B200 GPU in GB200 NVL72 (same secondary sources as the peak above)
  g.set_peak(Dtype::fp32, tflops(80));
  g.set_peak(Dtype::tf32, tflops(1250));
  g.set_peak(Dtype::fp16, tflops(2500));
  g.set_peak(Dtype::bf16, tflops(2500));
  g.set_peak(Dtype::fp8, tflops(5000));
  g.hbm_bandwidth_bytes_per_s = tb_per_s(8);
  g.hbm_capacity_bytes = gb(186);
  g.nvlink_bandwidth_bytes_per_s = gb_per_s(900);
  g.num_sms = 148;  // B200: 148 SMs over two dies (secondary sources, uncertain)
  // BF16 torch Linear, 8192 x 2048 -> 2048, on GB200: 41.79 us, 1644 TFLOP/s
  // (NVIDIA/TransformerEngine#2053), over W = 0.988 (1024 tiles, 7 waves of 148): 0.666.
  g.efficiency.gemm_flops_fraction = 0.67;
  // Host issue per kernel: the same torch Linear forward costs the Grace CPU 37.08 us (same source).
  g.efficiency.host_issue_s = 37.08e-6;
  return g;
}

ClusterSpec node(std::string name, GpuSpec gpu, double network_per_gpu) {
  ClusterSpec c;
  c.name = std::move(name);
  c.gpu = std::move(gpu);
  c.num_nodes = 1;
  c.gpus_per_node = 8;
  c.network_bandwidth_bytes_per_s = network_per_gpu;
  return c;
}

std::vector<GpuSpec> all_gpus() { return {a100_sxm_80gb(), h100_sxm_80gb(), h200_sxm_141gb(), gb200()}; }

// 18 compute trays of 4 GPUs in one 72-GPU NVLink domain, 400 Gb/s per GPU to the network.
ClusterSpec gb200_nvl72() {
  ClusterSpec c = node("gb200-nvl72", gb200(), gbit_per_s(400));
  c.gpus_per_node = 4;
  c.nvlink_domain_gpus = 72;
  return c;
}

std::vector<ClusterSpec> all_nodes() {
  return {
      node("dgx-a100", a100_sxm_80gb(), gbit_per_s(200)),  // 8x 200 Gb/s HDR InfiniBand
      node("dgx-h100", h100_sxm_80gb(), gbit_per_s(400)),  // 8x 400 Gb/s NDR InfiniBand
      node("dgx-h200", h200_sxm_141gb(), gbit_per_s(400)), // 8x 400 Gb/s NDR InfiniBand
      gb200_nvl72(),
  };
}

}  // namespace

std::optional<GpuSpec> find_gpu_preset(std::string_view name) { return find_named(all_gpus(), name); }
std::vector<std::string> gpu_preset_names() { return names_of(all_gpus()); }
std::optional<ClusterSpec> find_node_preset(std::string_view name) { return find_named(all_nodes(), name); }
std::vector<std::string> node_preset_names() { return names_of(all_nodes()); }

}  // namespace ptsim::costmodel

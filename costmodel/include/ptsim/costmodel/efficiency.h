// The fraction of spec-sheet peak that real kernels and collectives achieve, and the fixed
// per-kernel and per-step latencies: every "achievable" number of cost model v1 comes from
// here. Each default names its source in docs/cost-model.md; the calibration tool replaces
// them with measured tables. They are per GPU and fabric, never per scenario row.
#pragma once

namespace ptsim::costmodel {

struct Efficiency {
  // Dense matrix multiplies (cuBLAS GEMMs of transformer shapes), fraction of peak FLOP/s.
  double gemm_flops_fraction = 0.80;
  // Output tile of one thread block of those GEMMs (tile and wave quantization, with the
  // GPU's SM count); see docs/cost-model.md.
  double gemm_tile_m = 128;
  double gemm_tile_n = 128;
  // Attention core: fused (flash) kernels or the batched GEMMs of unfused attention.
  double attention_flops_fraction = 0.55;
  // Memory-bound kernels (norms, activations, softmax, optimizer), fraction of HBM peak.
  double memory_bandwidth_fraction = 0.83;
  // GPU-side gap per kernel launch (seconds): back-to-back kernels under eager PyTorch.
  double kernel_launch_overhead_s = 2e-6;
  // Host (CPU) time to issue one kernel under eager PyTorch (Python module, dispatcher,
  // launch), seconds: a kernel cannot start before the host has issued it, and the host
  // issues the compute stream's kernels one after the other, running ahead of the GPU.
  // 0: not modelled (an inline GPU); the presets carry a published measurement.
  double host_issue_s = 0;
  // Bus bandwidth a ring collective achieves, fraction of the per-direction line rate.
  double nvlink_bandwidth_fraction = 0.77;
  double network_bandwidth_fraction = 0.95;
  // Latency per algorithm step (alpha of the alpha-beta model), seconds.
  double intra_node_step_latency_s = 3e-6;
  double inter_node_step_latency_s = 6e-6;
};

}  // namespace ptsim::costmodel

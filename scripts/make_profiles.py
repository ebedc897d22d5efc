#!/usr/bin/python3
"""Regenerates the shipped profiles in scenarios/profiles/ from published measurements.

The published curves in ../shared/validation are not nccl-tests logs, so this script only
transcribes them into ptsim's measurement format (scenarios/profiles/measurements/*.json,
one sample per published row, nothing fitted or adjusted here); the profiles themselves
are then made by the tool, exactly as a user's would be:

    ptsim-calibrate fit --gpu PRESET MEASUREMENTS... -o scenarios/profiles/PRESET.json

Usage (from the repository root, after building):
    /usr/bin/python3 scripts/make_profiles.py [../shared/validation]
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALIDATION = sys.argv[1] if len(sys.argv) > 1 else os.path.join("..", "shared", "validation")
OUT = os.path.join(ROOT, "scenarios", "profiles")
TOOL = os.path.join(ROOT, "build", "calibrate", "ptsim-calibrate")


def load(name):
    with open(os.path.join(VALIDATION, name)) as f:
        return json.load(f)


def measurements(device, sources, collectives=(), gemm=()):
    return {"format": "ptsim-measurements/1", "device": device, "sources": sources,
            "gemm": list(gemm), "attention": [], "bandwidth": [], "collectives": list(collectives)}


def write(name, doc):
    path = os.path.join(OUT, "measurements", name)
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    return path


def a100():
    vtrain = load("a100_allreduce_2to8gpu.json")
    samples = []
    for n, rows in sorted(vtrain["curves"].items(), key=lambda kv: int(kv[0])):
        for r in rows:  # in-place time, as frameworks reduce gradients in place
            samples.append({"op": "all_reduce", "ranks": int(n), "ranks_per_domain": int(n), "domains": 1,
                            "bytes": r["size_bytes"], "time_s": r["ip_time_ns"] * 1e-9})
    coll = write("a100_allreduce_vtrain.json", measurements(
        {"name": "NVIDIA A100 (vTrain look-up tables)"},
        ["interconnect: all-reduce inside one A100 node, 2-8 GPUs, 1 MiB-1 GiB, in-place times: " + vtrain["source"]],
        collectives=samples))
    azure = load("interconnect_nccl.json")["azure_microbenchmarks"]
    tflops = azure["gemm_cublaslt_TFLOPS"]["A100 FP16"]["16384^3"]
    n = 16384.0
    gemm = write("a100_gemm_azure.json", measurements(
        {"name": "A100 SXM4 80GB (Azure ND A100 v4)"},
        ["gemm fp16: one cuBLASLt point, 16384^3 at %.1f TFLOP/s: %s" % (tflops, azure["source"])],
        gemm=[{"dtype": "fp16", "m": n, "n": n, "k": n, "time_s": 2 * n ** 3 / (tflops * 1e12), "spread": 0}]))
    return "a100-sxm-80gb", [coll, gemm]


def h100():
    nccl = load("interconnect_nccl.json")
    curve = nccl["azure_all_reduce_busbw_GBps"]
    ranks = 8
    factor = 2 * (ranks - 1) / ranks  # nccl-tests: busbw = algbw * 2(n-1)/n for all-reduce
    samples = []
    for i, busbw in enumerate(curve["ND_H100_v5_H100_80GB"]):
        size = 1024 * 2 ** i  # the labels 1K..8G are nccl-tests' doubling sizes from 1 KiB
        samples.append({"op": "all_reduce", "ranks": ranks, "ranks_per_domain": ranks, "domains": 1,
                        "bytes": size, "time_s": size / (busbw / factor * 1e9)})
    coll = write("h100_allreduce_azure.json", measurements(
        {"name": "H100 80GB (Azure ND H100 v5)"},
        ["interconnect: 8-GPU all-reduce, in-place busbw 1 KiB-8 GiB, time = size / (busbw / (2(n-1)/n)): "
         + curve["source"] + "; " + curve["test"]],
        collectives=samples))
    azure = nccl["azure_microbenchmarks"]
    tflops = azure["gemm_cublaslt_TFLOPS"]["H100 FP8"]["16384^3"]
    n = 16384.0
    gemm = write("h100_gemm_azure.json", measurements(
        {"name": "H100 80GB (Azure ND H100 v5)"},
        ["gemm fp8: one cuBLASLt point, 16384^3 at %.1f TFLOP/s: %s" % (tflops, azure["source"])],
        gemm=[{"dtype": "fp8", "m": n, "n": n, "k": n, "time_s": 2 * n ** 3 / (tflops * 1e12), "spread": 0}]))
    # Not in ../shared/validation: a BF16 torch.nn.Linear forward on a DGX H100 (Xeon 8480C
    # host), 8192 tokens x hidden 2048 -> 2048, GPU runtime 100.06 us (the table).
    bf16 = write("h100_gemm_bf16_te2053.json", measurements(
        {"name": "H100 SXM (DGX H100)"},
        ["gemm bf16: one point, m 8192 x n 2048 x k 2048 at 100.06 us (686.8 TFLOP/s), torch Linear forward: "
         "NVIDIA/TransformerEngine issue #2053 (2025-08-11), table 'CPU runtime / GPU runtime', row H100 DGX torch"],
        gemm=[{"dtype": "bf16", "m": 8192.0, "n": 2048.0, "k": 2048.0, "time_s": 100.06e-6, "spread": 0}]))
    return "h100-sxm-80gb", [coll, gemm, bf16]


def main():
    if not os.path.exists(TOOL):
        sys.exit("build ptsim-calibrate first: cmake --build build --target ptsim-calibrate")
    for make in (a100, h100):
        gpu, files = make()
        out = os.path.join(OUT, gpu + ".json")
        subprocess.run([TOOL, "fit", "--gpu", gpu, *[os.path.relpath(f, ROOT) for f in files],
                        "--source", "no GPU measurement: kernels not listed here use the spec-sheet "
                        "roofline (docs/cost-model.md)", "-o", out], check=True, cwd=ROOT)
        print("wrote", os.path.relpath(out, ROOT))


if __name__ == "__main__":
    main()

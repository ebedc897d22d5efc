#!/usr/bin/python3
"""How much a host-side (CPU) issue cost per op would delay a simulated step.

Eager PyTorch issues every op from the CPU; the GPU cannot start an op before the host has
issued it, and the host otherwise runs ahead (no synchronisation modelled). Given a trace
written by `ptsim simulate --trace`, this replays the compute stream of process 0 with a
host that needs C microseconds per task: host issue time i*C, GPU start
max(previous end, issue time). It prints, per C, when the compute stream would end and
the GPU time spent waiting for the host (docs/accuracy-analysis.md, round 4).

    build/apps/ptsim simulate SCENARIO --trace /tmp/t.json
    /usr/bin/python3 scripts/host_dispatch_check.py /tmp/t.json [C_us ...]
"""
import json
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    costs = [float(c) for c in sys.argv[2:]] or [5, 10, 20, 50, 100, 150, 200, 250]
    # The compute stream of the first rank (tid 1 of pid 0 in ptsim's traces), in start order.
    ops = sorted((e for e in events if e.get("ph") == "X" and e.get("pid") == 0 and e.get("tid") == 1),
                 key=lambda e: e["ts"])
    busy = sum(e["dur"] for e in ops)
    end_sim = max(e["ts"] + e["dur"] for e in ops)
    print("compute tasks %d, busy %.3f ms, compute stream ends at %.3f ms in the trace" %
          (len(ops), busy / 1e3, end_sim / 1e3))
    for c in costs:
        host = end = waited = 0.0
        for e in ops:
            host += c
            start = max(end, host)
            waited += start - end
            end = start + e["dur"]
        print("C = %6.1f us per task: back-to-back compute ends at %.3f ms (+%.3f ms waiting for the host)" %
              (c, end / 1e3, waited / 1e3))


if __name__ == "__main__":
    main()

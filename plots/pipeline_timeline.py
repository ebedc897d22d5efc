#!/usr/bin/python3
"""Pipeline timeline (Gantt) from a `ptsim simulate --trace` file.

One row per simulated rank (pipeline stage), compute kernels coloured by kind (forward,
backward, zb-h1's weight_grad W passes, recompute, optimizer) and communication on
thinner bars below them, so the pipeline bubble shows as white space. Reads ptsim's output only.

    /usr/bin/python3 plots/pipeline_timeline.py step.trace.json timeline.png [--title T]

Writes PNG or SVG by the output's extension; prints the number of bars drawn.
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

COMPUTE = {"forward": "#4C72B0", "backward": "#DD8452", "weight_grad": "#E5AE38", "recompute": "#8172B3",
           "optimizer": "#55A868"}
COMM = {"tp": "#C44E52", "pp": "#937860", "dp": "#DA8BC3", "cp": "#8C8C8C", "ep": "#CCB974"}


def load(path):
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    names = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "process_name":
            names[e["pid"]] = e["args"]["name"]
    bars = [e for e in events if e.get("ph") == "X"]
    return names, bars


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace")
    parser.add_argument("output")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)

    try:
        names, bars = load(args.trace)
    except (OSError, ValueError, KeyError) as err:
        print(f"pipeline_timeline: cannot read {args.trace}: {err}", file=sys.stderr)
        return 2
    if not bars:
        print(f"pipeline_timeline: {args.trace} has no complete events", file=sys.stderr)
        return 2

    pids = sorted({b["pid"] for b in bars})
    row = {pid: i for i, pid in enumerate(pids)}
    scale = 1e-3  # trace microseconds -> milliseconds
    fig, ax = plt.subplots(figsize=(12, 0.55 * len(pids) + 1.6))
    drawn = 0
    for kinds, height, offset in ((COMPUTE, 0.5, 0.0), (COMM, 0.18, 0.36)):
        for kind, colour in kinds.items():
            spans = [(b["ts"] * scale, b["dur"] * scale, b["pid"]) for b in bars if b.get("cat") == kind]
            by_row = {}
            for start, dur, pid in spans:
                by_row.setdefault(pid, []).append((start, dur))
            for pid, ranges in by_row.items():
                ax.broken_barh(ranges, (row[pid] - height / 2 + offset, height), facecolors=colour, linewidth=0)
                drawn += len(ranges)

    ax.set_yticks(range(len(pids)))
    ax.set_yticklabels([names.get(pid, f"rank {pid}") for pid in pids])
    ax.invert_yaxis()
    ax.set_xlabel("time (ms)")
    ax.set_title(args.title or "pipeline timeline")
    legend = [Patch(color=c, label=k) for k, c in COMPUTE.items()
              if k != "weight_grad" or any(b.get("cat") == k for b in bars)]
    legend += [Patch(color=c, label=f"{k} comm") for k, c in COMM.items()
               if any(b.get("cat") == k for b in bars)]
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=len(legend), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(f"pipeline_timeline: {drawn} bars on {len(pids)} rows -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

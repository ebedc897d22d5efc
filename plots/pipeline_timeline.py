#!/usr/bin/python3
"""Pipeline timeline (Gantt) from a `ptsim simulate --trace` file.

One row per simulated rank (pipeline stage), compute kernels coloured by kind (forward,
backward, zb-h1's weight_grad W passes, recompute, optimizer) and communication on
thinner bars below them, so the pipeline bubble shows as white space. Reads ptsim's output only.

    /usr/bin/python3 plots/pipeline_timeline.py step.trace.json OUT[.png|.svg] [--title T] [--summary FILE]

OUT with .png or .svg writes that file, without an extension both; prints the number of
bars drawn.
"""
import argparse
import sys

import plotkit
from plotkit import plt
from matplotlib.patches import Patch  # noqa: E402

COMPUTE = {"forward": "#4C72B0", "backward": "#DD8452", "weight_grad": "#E5AE38", "recompute": "#8172B3",
           "optimizer": "#55A868"}
COMM = {"tp": "#C44E52", "pp": "#937860", "dp": "#DA8BC3", "cp": "#8C8C8C", "ep": "#CCB974"}


def load(path):
    trace = plotkit.read_json(path)
    events = trace.get("traceEvents") if isinstance(trace, dict) else trace
    if not isinstance(events, list):
        raise plotkit.InputProblem(f"{path}: not a Chrome trace")
    names = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "process_name":
            names[e["pid"]] = e["args"]["name"]
    bars = [e for e in events if e.get("ph") == "X"]
    if not bars:
        raise plotkit.InputProblem(f"{path} has no complete events")
    return names, bars


def merge(spans, gap):
    """Time-sorted (start, duration, kind) spans of one row: consecutive spans of the same
    kind with at most `gap` between them joined into one (a span of another kind between
    them keeps them apart)."""
    out = []
    for start, dur, kind in sorted(spans):
        if out and out[-1][2] == kind and start - (out[-1][0] + out[-1][1]) <= gap:
            out[-1] = (out[-1][0], max(out[-1][1], start + dur - out[-1][0]), kind)
        else:
            out.append((start, dur, kind))
    return out


def draw(ax, names, bars, merge_fraction=0.0):
    """Draws one trace on ax: kernels of a kind closer than merge_fraction of the step are
    one bar (readable at figure size). Returns (bars drawn, rows, step time in ms, share of
    the step each row's compute stream was idle: bubble plus exposed communication)."""
    pids = sorted({b["pid"] for b in bars})
    row = {pid: i for i, pid in enumerate(pids)}
    scale = 1e-3  # trace microseconds -> milliseconds
    end = max(b["ts"] + b["dur"] for b in bars) * scale
    drawn = 0
    for kinds, height, offset in ((COMPUTE, 0.5, 0.0), (COMM, 0.18, 0.36)):
        by_row = {}
        for b in bars:
            if b.get("cat") in kinds:
                by_row.setdefault(b["pid"], []).append((b["ts"] * scale, b["dur"] * scale, b["cat"]))
        for pid, spans in by_row.items():
            if merge_fraction > 0:
                spans = merge(spans, merge_fraction * end)
            for kind, colour in kinds.items():
                ranges = [(start, dur) for start, dur, k in spans if k == kind]
                if ranges:
                    ax.broken_barh(ranges, (row[pid] - height / 2 + offset, height), facecolors=colour, linewidth=0)
                    drawn += len(ranges)
    busy = {pid: 0.0 for pid in pids}
    for b in bars:
        if b.get("cat") in COMPUTE:
            busy[b["pid"]] += b["dur"] * scale
    idle = [1 - busy[pid] / end if end > 0 else 0 for pid in pids]
    ax.set_yticks(range(len(pids)))
    ax.set_yticklabels([names.get(pid, f"rank {pid}") for pid in pids])
    ax.set_ylim(len(pids) - 0.4, -0.6)
    ax.grid(axis="x", alpha=0.3)
    return drawn, len(pids), end, idle


def legend_handles(bar_lists):
    handles = [Patch(color=c, label="weight grad (W)" if k == "weight_grad" else k) for k, c in COMPUTE.items()
               if any(b.get("cat") == k for bars in bar_lists for b in bars)]
    handles += [Patch(color=c, label=f"{k.upper()} comm") for k, c in COMM.items()
                if any(b.get("cat") == k for bars in bar_lists for b in bars)]
    return handles


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace")
    parser.add_argument("output")
    parser.add_argument("--title", default=None)
    parser.add_argument("--summary", help="write what was drawn as JSON here")
    args = parser.parse_args(argv)

    names, bars = load(args.trace)
    rows = len({b["pid"] for b in bars})
    fig, ax = plt.subplots(figsize=(12, 0.55 * rows + 1.6))
    drawn, rows, end, idle = draw(ax, names, bars)
    ax.set_xlabel("time (ms)")
    ax.set_title(args.title or f"pipeline timeline: step {end:.1f} ms")
    handles = legend_handles([bars])
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=len(handles), frameon=False)
    fig.tight_layout()
    written = plotkit.save(fig, args.output, {"kind": "pipeline_timeline", "bars": drawn, "rows": rows,
                                              "step_ms": end}, args.summary)
    print(f"pipeline_timeline: {drawn} bars on {rows} rows -> {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(plotkit.run(main))

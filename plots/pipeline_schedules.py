#!/usr/bin/python3
"""Pipeline schedules side by side: one Gantt panel per `ptsim simulate --trace` file (e.g.
sequential, GPipe, 1F1B and interleaved 1F1B of the same model), on one time axis, so the
bubble (white space on a stage's row) and the step time compare at a glance. Each row's
label carries the share of the step its compute stream sat idle (bubble and exposed
communication). Kernels of one kind closer than 0.05% of the longest step are drawn as one
bar (--merge); the idle shares come from the unmerged trace. Reads ptsim's output only.

    /usr/bin/python3 plots/pipeline_schedules.py TRACE.json [TRACE.json ...] OUT[.png|.svg]
        [--label NAME ...] [--title T] [--summary FILE]
"""
import argparse

import pipeline_timeline
import plotkit
from plotkit import plt


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("traces", nargs="+", help="ptsim simulate --trace files, then the output")
    parser.add_argument("--label", action="append", default=[], help="panel name, once per trace")
    parser.add_argument("--title", default="Pipeline schedules")
    parser.add_argument("--merge", type=float, default=0.0005,
                        help="join kernels closer than this fraction of the longest step (0: draw each)")
    parser.add_argument("--summary", help="write what was drawn as JSON here")
    args = parser.parse_args(argv)
    if len(args.traces) < 2:
        parser.error("need at least one trace file and the output")
    files, output = args.traces[:-1], args.traces[-1]
    if args.label and len(args.label) != len(files):
        parser.error("give --label once per trace file")

    loaded = [pipeline_timeline.load(path) for path in files]
    rows = [len({b["pid"] for b in bars}) for _, bars in loaded]
    longest = max(max(b["ts"] + b["dur"] for b in bars) for _, bars in loaded)
    fig, axes = plt.subplots(len(files), 1, figsize=(12, sum(0.3 * r + 0.8 for r in rows) + 1.2), sharex=True,
                             squeeze=False, gridspec_kw={"height_ratios": [r + 1.2 for r in rows]})
    panels = []
    for i, (ax, (names, bars)) in enumerate(zip(axes[:, 0], loaded)):
        end_us = max(b["ts"] + b["dur"] for b in bars)
        drawn, n, end, idle = pipeline_timeline.draw(ax, names, bars, args.merge * longest / end_us)
        ax.set_yticklabels([f"{t.get_text()}  idle {100 * f:.0f}%" for t, f in zip(ax.get_yticklabels(), idle)],
                           fontsize=8)
        label = args.label[i] if args.label else files[i]
        ax.set_title(f"{label}: step {end:,.0f} ms, compute idle {100 * sum(idle) / len(idle):.0f}% on average",
                     fontsize=10, loc="left")
        panels.append({"label": label, "bars": drawn, "rows": n, "step_ms": end})
    axes[-1, 0].set_xlabel("time (ms)")
    handles = pipeline_timeline.legend_handles([bars for _, bars in loaded])
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=9)
    fig.suptitle(args.title)
    fig.tight_layout(rect=(0, 0.03, 1, 0.985))
    written = plotkit.save(fig, output, {"kind": "pipeline_schedules", "panels": panels}, args.summary)
    print(f"pipeline_schedules: {len(panels)} panels, {sum(p['bars'] for p in panels)} bars -> {', '.join(written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(plotkit.run(main))

#!/usr/bin/python3
"""Where a step's time goes, one stacked bar per layout.

Reads `ptsim sweep --json` files (one bar per simulated point) and/or `ptsim simulate --json`
files (one bar each): compute, recompute, pipeline bubble, exposed communication by kind
(TP, CP, EP, PP, DP) and optimizer, of each point's busiest stage, so a bar's height is the
step time. Points that do not fit are hatched. Reads ptsim's output only.

    /usr/bin/python3 plots/time_breakdown.py REPORT.json [REPORT.json ...] OUT[.png|.svg]
        [--title T] [--percent] [--summary FILE]
"""
import argparse

import plotkit
from plotkit import plt


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="ptsim sweep/simulate --json files, then the output")
    parser.add_argument("--title", default="Where a step's time goes")
    parser.add_argument("--percent", action="store_true", help="bars as % of the step instead of seconds")
    parser.add_argument("--summary", help="write what was drawn as JSON here")
    args = parser.parse_args(argv)
    if len(args.reports) < 2:
        parser.error("need at least one report file and the output")
    files, output = args.reports[:-1], args.reports[-1]

    bars = []
    for path in files:
        bars += plotkit.reports(path)
    if not bars:
        raise plotkit.InputProblem("no simulated point to draw")

    used = [k for k in plotkit.TIME_KINDS if any(plotkit.time_seconds(r, k[0]) > 0 for _, r in bars)]
    fig, ax = plt.subplots(figsize=(max(6.5, 1.35 * len(bars) + 3), 5.6))
    x = range(len(bars))
    bottom = [0.0] * len(bars)
    for kind, name, colour in used:
        values = []
        for (_, r), b in zip(bars, bottom):
            v = plotkit.time_seconds(r, kind)
            values.append(100 * v / r["step_time_s"] if args.percent else v)
        ax.bar(x, values, 0.65, bottom=bottom, color=colour, label=name, edgecolor="white", linewidth=0.4)
        bottom = [b + v for b, v in zip(bottom, values)]
    for i, (_, r) in enumerate(bars):
        if not r["memory"]["fits"]:
            ax.bar(i, bottom[i], 0.65, fill=False, hatch="//", edgecolor="black", linewidth=0)
        top = f"{r['step_time_s']:.3g} s\nMFU {100 * r['mfu']:.0f}%"
        ax.annotate(top, (i, bottom[i]), textcoords="offset points", xytext=(0, 3), ha="center", va="bottom",
                    fontsize=8)
    gpus = {r["num_gpus"] for _, r in bars}
    labels = []
    for _, r in bars:
        text = plotkit.layout_label(r)
        if r["layout"]["schedule"] != "1f1b":
            text += f"\n{r['layout']['schedule']}"
        if len(gpus) > 1:
            text += f"\n{r['num_gpus']:,} GPUs"
        labels.append(text + ("\n(does not fit)" if not r["memory"]["fits"] else ""))
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("share of the step (%)" if args.percent else "time per step (s)")
    if len(gpus) == 1:
        ax.set_xlabel(f"layout on {gpus.pop():,} GPUs (busiest pipeline stage; hatched: does not fit in memory)")
    else:
        ax.set_xlabel("layout (busiest pipeline stage; hatched: does not fit in memory)")
    ax.set_ylim(0, max(bottom) * 1.18)
    ax.set_title(args.title)
    ax.grid(axis="y", alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], names[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    summary = {"kind": "time_breakdown", "bars": len(bars), "segments": [k[0] for k in used],
               "step_time_s": [r["step_time_s"] for _, r in bars]}
    written = plotkit.save(fig, output, summary, args.summary)
    print(f"time_breakdown: {len(bars)} bars of {len(used)} kinds -> {', '.join(written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(plotkit.run(main))

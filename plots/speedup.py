#!/usr/bin/python3
"""Speedup vs number of GPUs from `ptsim sweep --vary num_gpus=... --json` files.

One curve per sweep (speedup against the sweep's first point that fits, as ptsim computed
it), the ideal linear speedup from the same baseline dashed beside it, both axes in powers
of two; each point is labelled with its scaling efficiency. Points that do not fit are
hollow; points that are not valid scenarios are left out. Reads ptsim's output only.

    /usr/bin/python3 plots/speedup.py SWEEP.json [SWEEP.json ...] OUT[.png|.svg]
        [--label NAME ...] [--title T] [--summary FILE]
"""
import argparse

from matplotlib.ticker import FuncFormatter

import plotkit
from plotkit import plt


def series(path):
    doc = plotkit.read_json(path)
    if not isinstance(doc, dict) or "points" not in doc:
        raise plotkit.InputProblem(f"{path}: not `ptsim sweep --json` output")
    pts = [p for p in doc["points"] if p.get("speedup") is not None]
    if not pts:
        raise plotkit.InputProblem(f"{path}: no point of the sweep fits in memory")
    return doc, pts


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweeps", nargs="+", help="ptsim sweep --json files, then the output")
    parser.add_argument("--label", action="append", default=[], help="curve name, once per sweep")
    parser.add_argument("--title", default="Speedup vs GPUs (strong scaling: the same global batch on more GPUs)")
    parser.add_argument("--summary", help="write what was drawn as JSON here")
    args = parser.parse_args(argv)
    if len(args.sweeps) < 2:
        parser.error("need at least one sweep file and the output")
    files, output = args.sweeps[:-1], args.sweeps[-1]
    if args.label and len(args.label) != len(files):
        parser.error("give --label once per sweep file")

    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    drawn = []
    lo, hi = None, None
    for i, path in enumerate(files):
        doc, pts = series(path)
        colour = colours[i % len(colours)]
        label = args.label[i] if args.label else doc.get("scenario", path)
        base = doc["points"][doc["baseline_index"]]
        g0 = base["num_gpus"]
        gpus = [p["num_gpus"] for p in pts]
        speedup = [p["speedup"] for p in pts]
        ax.plot(gpus, [g / g0 for g in gpus], linestyle="--", color=colour, alpha=0.6, linewidth=1.2)
        ax.plot(gpus, speedup, "-", color=colour, linewidth=2, label=label)
        fits = [p for p in pts if p["status"] == "ok"]
        over = [p for p in pts if p["status"] != "ok"]
        ax.plot([p["num_gpus"] for p in fits], [p["speedup"] for p in fits], "o", color=colour)
        if over:
            ax.plot([p["num_gpus"] for p in over], [p["speedup"] for p in over], "o", markerfacecolor="white",
                    color=colour)
        for p in pts:
            ax.annotate(f"{100 * p['scaling_efficiency']:.0f}%", (p["num_gpus"], p["speedup"]),
                        textcoords="offset points", xytext=(6, -12), fontsize=8, color=colour)
        lo = min(gpus + ([lo] if lo else []))
        hi = max(gpus + ([hi] if hi else []))
        drawn.append({"label": label, "points": len(pts), "fits": len(fits), "baseline_gpus": g0})

    ax.plot([], [], linestyle="--", color="grey", label="ideal (linear from first point)")
    if any(d["fits"] < d["points"] for d in drawn):
        ax.plot([], [], "o", markerfacecolor="white", color="grey", label="does not fit in memory")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xticks(sorted({p for p in _powers(lo, hi)}))
    ax.set_xlim(lo / 1.3, hi * 1.4)
    ax.get_xaxis().set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.get_yaxis().set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.set_xlabel("GPUs (log scale)")
    ax.set_ylabel("speedup in tokens/s over the first point (log scale)")
    ax.set_title(args.title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    fig.text(0.99, 0.01, "labels: scaling efficiency = speedup / GPU ratio", ha="right", fontsize=7, color="grey")
    fig.tight_layout()
    written = plotkit.save(fig, output, {"kind": "speedup", "series": drawn}, args.summary)
    print(f"speedup: {len(drawn)} curves, {sum(d['points'] for d in drawn)} points -> {', '.join(written)}")
    return 0


def _powers(lo, hi):
    v = 1
    while v <= hi:
        if v >= lo:
            yield v
        v *= 2


if __name__ == "__main__":
    raise SystemExit(plotkit.run(main))

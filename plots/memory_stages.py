#!/usr/bin/python3
"""Memory per GPU of each pipeline stage, by kind, against the GPU's capacity.

One panel per report (`ptsim simulate --json` files, or every simulated point of a
`ptsim sweep --json` file), one stacked bar per stage: parameters, gradients, optimizer
states, activations, logits, runtime reserve and allocator overhead, in GiB; the GPU's
capacity is the red line. Reads ptsim's output only.

    /usr/bin/python3 plots/memory_stages.py REPORT.json [REPORT.json ...] OUT[.png|.svg]
        [--title T] [--summary FILE]
"""
import argparse

import plotkit
from plotkit import GIB, plt


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="ptsim simulate/sweep --json files, then the output")
    parser.add_argument("--title", default="Memory per GPU by pipeline stage")
    parser.add_argument("--summary", help="write what was drawn as JSON here")
    args = parser.parse_args(argv)
    if len(args.reports) < 2:
        parser.error("need at least one report file and the output")
    files, output = args.reports[:-1], args.reports[-1]
    panels = []
    for path in files:
        panels += plotkit.reports(path)
    if not panels:
        raise plotkit.InputProblem("no simulated point to draw")

    widths = [max(2.0, 0.32 * len(r["memory"]["stages"]) + 1.0) for _, r in panels]
    fig, axes = plt.subplots(1, len(panels), figsize=(sum(widths) + 1.9, 5.0), sharey=True, squeeze=False,
                             gridspec_kw={"width_ratios": widths})
    axes = axes[0]
    top = max(max(r["memory"]["capacity_bytes"], r["memory"]["peak_bytes"]) for _, r in panels) / GIB
    drawn = []
    for ax, (label, r) in zip(axes, panels):
        mem = r["memory"]
        stages = mem["stages"]
        x = [s["stage"] for s in stages]
        bottom = [0.0] * len(stages)
        for kind, name, colour in plotkit.MEMORY_KINDS:
            values = [s["by_kind_bytes"][kind] / GIB for s in stages]
            ax.bar(x, values, 0.8, bottom=bottom, color=colour, label=name, linewidth=0)
            bottom = [b + v for b, v in zip(bottom, values)]
        cap = mem["capacity_bytes"] / GIB
        ax.axhline(cap, color="red", linewidth=1.5, label="GPU capacity")
        verdict = "fits" if mem["fits"] else "DOES NOT FIT"
        ax.set_title(f"{r.get('scenario', label)}\n{plotkit.layout_label(r).replace(chr(10), ', ')}\n"
                     f"peak {mem['peak_bytes'] / GIB:.1f} of {cap:.0f} GiB: {verdict}", fontsize=8)
        ax.set_xlabel("pipeline stage")
        step = max(1, len(stages) // 8)
        ax.set_xticks(x[::step])
        ax.set_xlim(-0.6, len(stages) - 0.4)
        ax.grid(axis="y", alpha=0.3)
        drawn.append({"label": label, "stages": len(stages), "fits": mem["fits"]})
    axes[0].set_ylabel("memory per GPU (GiB)")
    axes[0].set_ylim(0, top * 1.1)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles[::-1], labels[::-1], loc="center right", fontsize=8, frameon=False)
    fig.suptitle(args.title)
    fig.tight_layout(rect=(0, 0, 1 - 1.75 / (sum(widths) + 1.9), 1))
    summary = {"kind": "memory_stages", "panels": drawn, "memory_kinds": [k[0] for k in plotkit.MEMORY_KINDS]}
    written = plotkit.save(fig, output, summary, args.summary)
    print(f"memory_stages: {len(drawn)} panels, {sum(d['stages'] for d in drawn)} stage bars -> {', '.join(written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(plotkit.run(main))

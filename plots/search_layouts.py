#!/usr/bin/python3
"""Layouts as step time vs peak memory per GPU, the chosen one marked.

Each candidate layout is a point: x = peak memory per GPU (GiB), y = step time (s; log
scale when the times span a decade); layouts that do not fit are grey crosses right of the GPU-capacity line; the chosen
layout is a star. Reads ptsim's output only (docs/plots.md, "Layouts file"):

  * `ptsim search --json` (candidates under "ranking", best first) or its shard JSON lines
    ({"counts": ...} then one {"row": {...}} per layout),
  * `ptsim sweep --json` with several --vary (every combination is a candidate), or
  * a JSON object whose candidates are under "layouts", "candidates" or "results", a JSON
    array of candidates, or JSON lines (one candidate per line).

A candidate is an object with "step_time_s", "layout" and memory as "memory": {"peak_bytes",
"capacity_bytes", "fits"} (the `ptsim simulate --json` contract) or as top-level
"peak_memory_bytes" / "capacity_bytes" / "fits". The chosen one is the candidate with
"chosen": true or "best": true, or the index in a top-level "best_index" / "chosen_index",
or the first of a "ranking", else the fastest that fits.

    /usr/bin/python3 plots/search_layouts.py LAYOUTS.json OUT[.png|.svg] [--title T] [--summary FILE]
"""
import argparse
import json

from matplotlib.ticker import FuncFormatter

import plotkit
from plotkit import GIB, plt

LISTS = ("ranking", "layouts", "candidates", "results", "points")


def read_candidates(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError as err:
        raise plotkit.InputProblem(f"cannot read {path}: {err.strerror}")
    try:
        doc = json.loads(text)
    except ValueError:
        try:
            doc = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as err:
            raise plotkit.InputProblem(f"{path} is neither JSON nor JSON lines: {err}")
    top = doc if isinstance(doc, dict) else {}
    entries = doc if isinstance(doc, list) else next((doc[k] for k in LISTS if k in doc), None)
    if not isinstance(entries, list):
        raise plotkit.InputProblem(f"{path}: no list of layouts (looked for {', '.join(LISTS)})")
    ranked = isinstance(doc, dict) and "ranking" in doc
    # `ptsim search` shard lines: {"counts": ...} then one {"row": {...}} per layout.
    entries = [e["row"] if isinstance(e, dict) and isinstance(e.get("row"), dict) else e for e in entries]
    cands = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or e.get("step_time_s") is None:
            continue  # not simulated (an invalid sweep point, a pruned layout)
        mem = e.get("memory", {})
        peak = mem.get("peak_bytes", e.get("peak_memory_bytes"))
        cap = mem.get("capacity_bytes", e.get("capacity_bytes", top.get("capacity_bytes")))
        fits = mem.get("fits", e.get("fits", peak is not None and cap is not None and peak <= cap))
        if peak is None:
            raise plotkit.InputProblem(f"{path}: layout {i} has no peak memory")
        cands.append({"index": i, "step": e["step_time_s"], "peak": peak, "capacity": cap, "fits": bool(fits),
                      "chosen": bool(e.get("chosen") or e.get("best")), "entry": e})
    if not cands:
        raise plotkit.InputProblem(f"{path}: no simulated layout")
    chosen_index = next((top[k] for k in ("best_index", "chosen_index") if isinstance(top.get(k), int)), None)
    chosen = [c for c in cands if c["chosen"] or c["index"] == chosen_index]
    if not chosen and ranked:
        chosen = [cands[0]]  # `ptsim search --json` ranks best first
    if not chosen:
        fitting = [c for c in cands if c["fits"]]
        chosen = [min(fitting, key=lambda c: c["step"])] if fitting else []
    return top, cands, (chosen[0] if chosen else None)


def describe(entry):
    if "layout" in entry:
        return plotkit.layout_label(entry).replace("\n", ", ")
    return entry.get("value", "")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layouts")
    parser.add_argument("output")
    parser.add_argument("--title", default=None)
    parser.add_argument("--summary", help="write what was drawn as JSON here")
    args = parser.parse_args(argv)
    top, cands, chosen = read_candidates(args.layouts)

    fig, ax = plt.subplots(figsize=(8, 5.4))
    fit = [c for c in cands if c["fits"]]
    over = [c for c in cands if not c["fits"]]
    ax.scatter([c["peak"] / GIB for c in fit], [c["step"] for c in fit], s=28, color="#4C72B0", alpha=0.8,
               label=f"fits ({len(fit)})")
    if over:
        ax.scatter([c["peak"] / GIB for c in over], [c["step"] for c in over], s=28, marker="x", color="#999999",
                   label=f"does not fit ({len(over)})")
    caps = sorted({c["capacity"] for c in cands if c["capacity"]})
    for cap in caps:
        ax.axvline(cap / GIB, color="red", linewidth=1.3, label=f"GPU capacity {cap / GIB:.0f} GiB")
    if chosen:
        ax.scatter([chosen["peak"] / GIB], [chosen["step"]], s=260, marker="*", color="#DD8452", edgecolor="black",
                   zorder=5, label="chosen")
        ax.annotate(f"{describe(chosen['entry'])}\n{chosen['step']:.3g} s, {chosen['peak'] / GIB:.1f} GiB",
                    (chosen["peak"] / GIB, chosen["step"]), textcoords="offset points", xytext=(12, 8), fontsize=8,
                    bbox={"boxstyle": "round", "fc": "white", "ec": "#DD8452"})
    steps = [c["step"] for c in cands]
    if max(steps) > 10 * min(steps):  # log only where step times span a decade or more
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_ylabel("step time (s, log scale)")
    else:
        ax.set_ylabel("step time (s)")
    ax.set_xlabel("peak memory per GPU (GiB)")
    ax.set_xlim(left=0)
    title = args.title or f"{top.get('scenario', 'layouts')}: step time vs memory"
    ax.set_title(f"{title}\n{len(cands)} layouts simulated, {len(fit)} fit", fontsize=11)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    summary = {"kind": "search_layouts", "layouts": len(cands), "fit": len(fit),
               "chosen_index": chosen["index"] if chosen else None}
    written = plotkit.save(fig, args.output, summary, args.summary)
    print(f"search_layouts: {len(cands)} layouts ({len(fit)} fit) -> {', '.join(written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(plotkit.run(main))

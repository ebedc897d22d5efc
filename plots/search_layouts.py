#!/usr/bin/python3
"""Layouts as step time vs peak memory per GPU, the chosen one marked.

Each candidate layout is a point: x = peak memory per GPU (GiB), y = step time (s; log
scale when the times span a decade), coloured by pipeline depth when the candidates carry
their layout; layouts that do not fit are grey crosses right of the GPU-capacity line; the
chosen layout is a star. For `ptsim search --json` the subtitle says how many of the
layouts that fit were drawn (its --top N) out of its counts. Reads ptsim's output only (docs/plots.md, "Layouts file"):

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
        text = plotkit.layout_label(entry).replace("\n", ", ")
        layout = entry["layout"]
        extras = [name for name, on in (("sp", layout.get("sequence_parallel")),
                                        (f"ZeRO-{layout.get('zero_stage')}", layout.get("zero_stage", 0) > 0)) if on]
        return text + (", " + " ".join(extras) if extras else "")
    return entry.get("value", "")


def subtitle(top, cands, fit):
    """What was drawn, and of how many: `ptsim search --json` ranks only its --top N."""
    counts = top.get("counts")
    if isinstance(counts, dict) and "ranking" in top and isinstance(counts.get("valid"), int):
        fitting = counts["valid"] - counts.get("does_not_fit", 0)
        return (f"the {len(cands)} fastest of {fitting:,} layouts that fit "
                f"({counts['valid']:,} valid, {counts.get('does_not_fit', 0):,} over memory, not drawn)")
    return f"{len(cands)} layouts simulated, {len(fit)} fit"


def pp_of(c):
    layout = c["entry"].get("layout")
    return layout.get("pp") if isinstance(layout, dict) else None


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layouts")
    parser.add_argument("output")
    parser.add_argument("--title", default=None)
    parser.add_argument("--summary", help="write what was drawn as JSON here")
    args = parser.parse_args(argv)
    top, cands, chosen = read_candidates(args.layouts)

    fig, ax = plt.subplots(figsize=(9.5, 5.6))
    fit = [c for c in cands if c["fits"]]
    over = [c for c in cands if not c["fits"]]
    # Layouts that fit, one colour per pipeline depth where the layouts say it (the knob that
    # moves memory and step time most), else one colour.
    depths = sorted({pp_of(c) for c in fit if pp_of(c) is not None})
    if depths and all(pp_of(c) is not None for c in fit):
        palette = plt.get_cmap("viridis")
        for k, pp in enumerate(depths):
            group = [c for c in fit if pp_of(c) == pp]
            ax.scatter([c["peak"] / GIB for c in group], [c["step"] for c in group], s=26, alpha=0.8,
                       color=palette(k / max(1, len(depths) - 1) * 0.9), label=f"fits, pp {pp} ({len(group)})")
    else:
        ax.scatter([c["peak"] / GIB for c in fit], [c["step"] for c in fit], s=28, color="#4C72B0", alpha=0.8,
                   label=f"fits ({len(fit)})")
    if over:
        ax.scatter([c["peak"] / GIB for c in over], [c["step"] for c in over], s=28, marker="x", color="#999999",
                   label=f"does not fit ({len(over)})")
    caps = sorted({c["capacity"] for c in cands if c["capacity"]})
    for cap in caps:
        ax.axvline(cap / GIB, color="red", linewidth=1.3, label=f"GPU capacity {cap / GIB:.0f} GiB")
    ax.set_xlim(left=0, right=max([c["peak"] for c in cands] + caps) / GIB * 1.04)
    if chosen:
        ax.scatter([chosen["peak"] / GIB], [chosen["step"]], s=260, marker="*", color="#DD8452", edgecolor="black",
                   zorder=5, label="chosen (fastest)" if "ranking" in top else "chosen")
        # The note goes on the side of the star with more room, so it never crosses the
        # capacity line or leaves the axes.
        left = chosen["peak"] > sum(ax.get_xlim()) / 2
        ax.annotate(f"{describe(chosen['entry'])}\n{chosen['step']:.3f} s, {chosen['peak'] / GIB:.1f} GiB",
                    (chosen["peak"] / GIB, chosen["step"]), textcoords="offset points",
                    xytext=(-14 if left else 14, 10), ha="right" if left else "left", fontsize=8, zorder=6,
                    bbox={"boxstyle": "round", "fc": "white", "ec": "#DD8452"})
    steps = [c["step"] for c in cands]
    if max(steps) > 10 * min(steps):  # log only where step times span a decade or more
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_ylabel("step time (s, log scale)")
    else:
        ax.set_ylabel("step time (s)")
    ax.set_xlabel("peak memory per GPU (GiB)")
    title = args.title or f"{top.get('scenario', 'layouts')}: step time vs memory"
    ax.set_title(f"{title}\n{subtitle(top, cands, fit)}", fontsize=10.5)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0)
    fig.tight_layout()
    summary = {"kind": "search_layouts", "layouts": len(cands), "fit": len(fit),
               "chosen_index": chosen["index"] if chosen else None}
    written = plotkit.save(fig, args.output, summary, args.summary)
    print(f"search_layouts: {len(cands)} layouts ({len(fit)} fit) -> {', '.join(written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(plotkit.run(main))

"""Shared pieces of the plots/ scripts: reading ptsim's JSON outputs, colours per kind,
layout labels, and writing a figure as PNG and/or SVG plus a JSON summary of what was drawn
(the tests read the summary). Reads ptsim's outputs only; run with /usr/bin/python3."""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402,F401  (re-exported for the scripts)

GIB = 1024.0 ** 3

# Where a step's time goes, in the order of ptsim's breakdown (README "Output contract").
TIME_KINDS = [
    ("compute", "compute", "#4C72B0"),
    ("recompute", "recompute", "#8172B3"),
    ("bubble", "pipeline bubble", "#D9D9D9"),
    ("tp", "exposed TP comm", "#C44E52"),
    ("cp", "exposed CP comm", "#8C8C8C"),
    ("ep", "exposed EP comm", "#CCB974"),
    ("pp", "exposed PP comm", "#937860"),
    ("dp", "exposed DP comm", "#DA8BC3"),
    ("optimizer", "optimizer", "#55A868"),
]

MEMORY_KINDS = [
    ("parameters", "parameters", "#4C72B0"),
    ("gradients", "gradients", "#DD8452"),
    ("optimizer_states", "optimizer states", "#55A868"),
    ("activations", "activations", "#C44E52"),
    ("logits", "logits", "#8172B3"),
    ("runtime_reserved", "runtime reserved", "#937860"),
    ("allocator_overhead", "allocator overhead", "#8C8C8C"),
]


class InputProblem(Exception):
    """A file the script cannot use; main() prints it on one line and exits 2."""


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as err:
        raise InputProblem(f"cannot read {path}: {err.strerror}")
    except ValueError as err:
        raise InputProblem(f"{path} is not JSON: {err}")


def time_seconds(report, kind):
    """One breakdown kind of a `ptsim simulate --json` report (or sweep point), seconds."""
    b = report["breakdown_s"]
    return b["exposed_comm"][kind] if kind in b["exposed_comm"] else b[kind]


def reports(path):
    """(label, report) for each simulated point of a `ptsim sweep --json` file, or the one
    report of a `ptsim simulate --json` file. Points not simulated are skipped."""
    doc = read_json(path)
    if isinstance(doc, dict) and "points" in doc:
        return [(p["value"], p) for p in doc["points"] if "step_time_s" in p]
    if isinstance(doc, dict) and "step_time_s" in doc:
        return [(doc.get("scenario", os.path.basename(path)), doc)]
    raise InputProblem(f"{path}: neither `ptsim simulate --json` nor `ptsim sweep --json` output")


def layout_label(report):
    l = report["layout"]
    parts = [f"tp{l['tp']}", f"pp{l['pp']}", f"dp{l['dp']}"]
    if l.get("cp", 1) > 1:
        parts.append(f"cp{l['cp']}")
    if l.get("ep", 1) > 1:
        parts.append(f"ep{l['ep']}")
    text = " ".join(parts)
    extra = [f"mb{l['micro_batch_size']}"]
    if l.get("virtual_stages", 1) > 1:
        extra.append(f"v{l['virtual_stages']}")
    text += "\n" + " ".join(extra)
    if l.get("recompute", "none") != "none":
        text += f"\n{l['recompute']} recompute"
    return text


def outputs(output):
    """OUT.png / OUT.svg: that file; OUT without an extension: both."""
    root, ext = os.path.splitext(output)
    if ext.lower() in (".png", ".svg"):
        return [output]
    return [output + ".png", output + ".svg"]


def save(fig, output, summary, summary_path=None):
    """Writes the figure (PNG at 120 dpi, SVG with a fixed hash salt and no date, so reruns
    give the same file) and, if asked, the JSON summary of what was drawn."""
    written = []
    for path in outputs(output):
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        if path.lower().endswith(".svg"):
            matplotlib.rcParams["svg.hashsalt"] = "ptsim"
            fig.savefig(path, metadata={"Date": None})
        else:
            fig.savefig(path, dpi=120, metadata={"Software": None})
        written.append(path)
    summary = dict(summary, files=written)
    if summary_path:
        with open(summary_path, "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
    return written


def run(main, argv=None, prog=None):
    """Calls main(argv) (default: the command line); an InputProblem becomes one line on
    stderr and exit code 2."""
    import sys

    try:
        return main(sys.argv[1:] if argv is None else argv)
    except (InputProblem, KeyError) as err:
        prog = prog or os.path.splitext(os.path.basename(sys.argv[0]))[0]
        if isinstance(err, KeyError):  # a JSON file of another kind, or from another version
            err = f"the input has no field {err}: not the ptsim output this script reads (docs/plots.md)"
        print(f"{prog}: {err}", file=sys.stderr)
        return 2

#!/bin/sh
# CTest driver for plots/: `setup` runs ptsim on a small scenario (a 5-point num_gpus sweep
# with one invalid point, a tp x pp grid, four pipeline schedules with traces); each other
# step runs one script and checks that the PNG and SVG exist and that the script's summary
# says it drew the right number of points, bars, panels or layouts.
#   plots_test.sh STEP OUT_DIR PTSIM SOURCE_DIR PYTHON
set -eu
step=$1 out=$2 ptsim=$3 src=$4 py=$5
plots="$src/plots"
base="$src/tests/golden/megatron-1.7b-8xa100-tp2-pp2-dp2.json"

# check SUMMARY PYTHON_EXPRESSION: the expression, over the summary `s`, must be true.
check() {
  "$py" -c "import json,sys; s=json.load(open(sys.argv[1])); ok=($2); print('check', sys.argv[1], ok); sys.exit(0 if ok else 1)" "$1"
}
# files PREFIX: PNG and SVG both written and not empty.
files() { test -s "$1.png" && test -s "$1.svg"; }

case "$step" in
setup)
  rm -rf "$out" && mkdir -p "$out"
  # 4, 8, 16, 32 GPUs simulate; 64 does not divide the batch (an invalid row).
  "$ptsim" sweep "$base" --vary num_gpus=4:64:x2 --json "$out/scaling.json" --csv "$out/scaling.csv" >/dev/null
  "$ptsim" sweep "$base" --vary tp=1,2,4 --vary pp=1,2 --json "$out/grid.json" >/dev/null
  "$py" - "$base" "$out" <<'PY'
import json, sys
base, out = json.load(open(sys.argv[1])), sys.argv[2]
for name, schedule, chunks in (("sequential", "sequential", 1), ("gpipe", "gpipe", 1), ("1f1b", "1f1b", 1),
                               ("interleaved", "1f1b", 2)):
    doc = json.loads(json.dumps(base))
    doc["layout"].update(schedule=schedule, virtual_stages=chunks)
    doc["name"] = name
    json.dump(doc, open(f"{out}/{name}.scenario.json", "w"))
PY
  for s in sequential gpipe 1f1b interleaved; do
    "$ptsim" simulate "$out/$s.scenario.json" --json --trace "$out/$s.trace.json" >"$out/$s.json"
  done
  ;;
speedup)
  "$py" "$plots/speedup.py" "$out/scaling.json" "$out/grid.json" "$out/speedup" --summary "$out/speedup.s.json" >/dev/null
  files "$out/speedup"
  # scaling: 4 simulated points of 5; the grid's points all fit on 8 GPUs.
  check "$out/speedup.s.json" "[d['points'] for d in s['series']] == [4, $("$py" -c "import json,sys; print(sum(p['speedup'] is not None for p in json.load(open(sys.argv[1]))['points']))" "$out/grid.json")] and s['series'][0]['baseline_gpus'] == 4"
  ;;
breakdown)
  "$py" "$plots/time_breakdown.py" "$out/scaling.json" "$out/1f1b.json" "$out/breakdown" --summary "$out/breakdown.s.json" >/dev/null
  files "$out/breakdown"
  check "$out/breakdown.s.json" "s['bars'] == 5 and 'compute' in s['segments'] and 'bubble' in s['segments']"
  ;;
schedules)
  "$py" "$plots/pipeline_schedules.py" "$out"/sequential.trace.json "$out"/gpipe.trace.json "$out"/1f1b.trace.json \
    "$out"/interleaved.trace.json "$out/schedules" --summary "$out/schedules.s.json" >/dev/null
  files "$out/schedules"
  # four panels of two stages; sequential is the slowest, interleaved faster than 1F1B.
  check "$out/schedules.s.json" "[p['rows'] for p in s['panels']] == [2, 2, 2, 2] and s['panels'][0]['step_ms'] > s['panels'][2]['step_ms'] > s['panels'][3]['step_ms'] and all(p['bars'] > 0 for p in s['panels'])"
  "$py" "$plots/pipeline_timeline.py" "$out/1f1b.trace.json" "$out/timeline.png" --summary "$out/timeline.s.json" | grep -q 'on 2 rows'
  test -s "$out/timeline.png" && test ! -e "$out/timeline.svg"
  ;;
memory)
  "$py" "$plots/memory_stages.py" "$out/gpipe.json" "$out/1f1b.json" "$out/memory" --summary "$out/memory.s.json" >/dev/null
  files "$out/memory"
  check "$out/memory.s.json" "[p['stages'] for p in s['panels']] == [2, 2] and len(s['memory_kinds']) == 7"
  ;;
search)
  "$py" "$plots/search_layouts.py" "$out/grid.json" "$out/search" --summary "$out/search.s.json" >/dev/null
  files "$out/search"
  # The chosen layout without a mark is the fastest that fits; as JSON lines with one
  # marked "chosen", it is that one.
  "$py" - "$out" <<'PY'
import json, sys
out = sys.argv[1]
pts = json.load(open(f"{out}/grid.json"))["points"]
sim = [i for i, p in enumerate(pts) if "step_time_s" in p]
fastest = min((i for i in sim if pts[i]["memory"]["fits"]), key=lambda i: pts[i]["step_time_s"])
s = json.load(open(f"{out}/search.s.json"))
assert s["layouts"] == len(sim) and s["chosen_index"] == fastest, (s, len(sim), fastest)
with open(f"{out}/layouts.jsonl", "w") as f:
    for i in sim:
        p = pts[i]
        f.write(json.dumps({"layout": p["layout"], "step_time_s": p["step_time_s"], "chosen": i == sim[-1],
                            "peak_memory_bytes": p["memory"]["peak_bytes"],
                            "capacity_bytes": p["memory"]["capacity_bytes"]}) + "\n")
PY
  "$py" "$plots/search_layouts.py" "$out/layouts.jsonl" "$out/search-lines.png" --summary "$out/search-lines.s.json" >/dev/null
  check "$out/search-lines.s.json" "s['chosen_index'] == s['layouts'] - 1"
  # `ptsim search --json`'s shape (rows under "ranking", best first, the fastest last here
  # so the first is chosen for being first) and its shard lines ({"row": ...}).
  "$py" - "$out" <<'PY'
import json, sys
out = sys.argv[1]
pts = [p for p in json.load(open(f"{out}/grid.json"))["points"] if "step_time_s" in p and p["memory"]["fits"]]
rows = [{"index": i, "num_gpus": p["num_gpus"], "layout": p["layout"], "step_time_s": p["step_time_s"],
         "peak_memory_bytes": p["memory"]["peak_bytes"], "capacity_bytes": p["memory"]["capacity_bytes"]}
        for i, p in enumerate(sorted(pts, key=lambda p: -p["step_time_s"]))]
json.dump({"scenario": "grid", "objective": "step_time", "counts": {}, "ranking": rows}, open(f"{out}/search.json", "w"))
with open(f"{out}/search-shard.jsonl", "w") as f:
    f.write(json.dumps({"counts": {}}) + "\n")
    for r in rows:
        f.write(json.dumps({"row": r}) + "\n")
PY
  "$py" "$plots/search_layouts.py" "$out/search.json" "$out/search-ranked.png" --summary "$out/search-ranked.s.json" >/dev/null
  check "$out/search-ranked.s.json" "s['chosen_index'] == 0 and s['layouts'] == s['fit']"
  "$py" "$plots/search_layouts.py" "$out/search-shard.jsonl" "$out/search-shard.png" --summary "$out/search-shard.s.json" >/dev/null
  check "$out/search-shard.s.json" "s['chosen_index'] == s['layouts'] and s['layouts'] == s['fit']"
  ;;
errors)
  # A missing or wrong input is one line on stderr and exit code 2, for every script (one
  # Python process, so matplotlib is imported once).
  "$py" - "$plots" "$out" <<'PY'
import contextlib, importlib, io, sys
plots, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, plots)
import plotkit
cases = [(name, [f"{out}/missing.json", f"{out}/x.png"]) for name in
         ("speedup", "time_breakdown", "memory_stages", "search_layouts", "pipeline_timeline", "pipeline_schedules")]
cases += [("speedup", [f"{out}/1f1b.json", f"{out}/x.png"]),          # a report, not a sweep
          ("pipeline_timeline", [f"{out}/1f1b.json", f"{out}/x.png"]),  # a report, not a trace
          ("search_layouts", [f"{out}/1f1b.trace.json", f"{out}/x.png"])]
for name, argv in cases:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = plotkit.run(importlib.import_module(name).main, argv, name)
    lines = err.getvalue().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith(name + ": "), (name, argv, rc, lines)
print("errors: ok")
PY
  ;;
*)
  echo "plots_test.sh: unknown step $step" >&2
  exit 2
  ;;
esac

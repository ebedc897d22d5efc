#!/usr/bin/env bash
# Renders the README gallery into docs/img/ (`make plots`): builds ptsim, runs the sweeps and
# simulations for GPT-3 175B and Llama-3-70B, and draws each picture as PNG and SVG with the
# scripts in plots/ (Debian's matplotlib, /usr/bin/python3). Intermediate ptsim outputs go to
# build/gallery/. PTSIM_JOBS sets the sweep threads (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${PTSIM_BUILD_DIR:-build}"
jobs="${PTSIM_JOBS:-$(nproc)}"
./scripts/install-deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j "$jobs" --target ptsim

ptsim="$build_dir/apps/ptsim"
py=/usr/bin/python3
data="$build_dir/gallery"
img=docs/img
mkdir -p "$data" "$img"

# sweep NAME SCENARIO --vary ...: JSON and CSV into $data; a sweep where no point fits
# exits 3 and still writes its rows, which the gallery does not expect.
sweep() {
  local name=$1 scenario=$2
  shift 2
  "$ptsim" sweep "$scenario" "$@" -j "$jobs" --json "$data/$name.json" --csv "$data/$name.csv" >/dev/null
}

# 1. Speedup vs GPUs (strong scaling, the scenario's global batch and layout, dp grows).
sweep gpt3-scaling scenarios/gpt3-175b-1024-a100.json --vary num_gpus=128:4096:x2
sweep llama3-scaling scenarios/llama3-70b-1024-h100.json --vary num_gpus=32:2048:x2
$py plots/speedup.py "$data/gpt3-scaling.json" "$data/llama3-scaling.json" "$img/speedup" \
  --label "GPT-3 175B, A100, TP8 PP16, batch 1536" --label "Llama-3-70B, H100, TP8 PP4, batch 512"

# 2. Where the time goes, per layout, on the scenarios' 1,024 GPUs.
sweep gpt3-layouts scenarios/gpt3-175b-1024-a100.json --vary tp=4,8 --vary pp=8,16,32
sweep llama3-layouts scenarios/llama3-70b-1024-h100.json --vary tp=2,4,8 --vary pp=2,4,8
$py plots/time_breakdown.py "$data/gpt3-layouts.json" "$img/gpt3-175b-time-breakdown" \
  --title "GPT-3 175B on 1,024 A100s: where a step's time goes"
$py plots/time_breakdown.py "$data/llama3-layouts.json" "$img/llama3-70b-time-breakdown" \
  --title "Llama-3-70B on 1,024 H100s: where a step's time goes"

# 3. Pipeline schedules side by side, and 4. memory per stage (the scaling scenario and
# GPipe vs 1F1B of the small pipeline).
for model in gpt3-175b-pp8 llama3-70b-pp4; do
  for schedule in sequential gpipe 1f1b interleaved zb-h1; do
    "$ptsim" simulate "scenarios/gallery/$model-$schedule.json" --json \
      --trace "$data/$model-$schedule.trace.json" >"$data/$model-$schedule.json"
  done
done
$py plots/pipeline_schedules.py "$data"/gpt3-175b-pp8-{sequential,gpipe,1f1b,interleaved,zb-h1}.trace.json \
  "$img/gpt3-175b-pipeline-schedules" --label sequential --label GPipe --label 1F1B \
  --label "interleaved 1F1B (2 chunks per GPU)" --label "ZB-H1 (W passes deferred)" --title "GPT-3 175B, TP8 PP8 on 64 A100s, 8 micro-batches of 1"
$py plots/pipeline_schedules.py "$data"/llama3-70b-pp4-{sequential,gpipe,1f1b,interleaved,zb-h1}.trace.json \
  "$img/llama3-70b-pipeline-schedules" --label sequential --label GPipe --label 1F1B \
  --label "interleaved 1F1B (2 chunks per GPU)" --label "ZB-H1 (W passes deferred)" --title "Llama-3-70B, TP8 PP4 on 32 H100s, 8 micro-batches of 1"

"$ptsim" simulate scenarios/gpt3-175b-1024-a100.json --json >"$data/gpt3-175b-1024-a100.json"
"$ptsim" simulate scenarios/llama3-70b-1024-h100.json --json >"$data/llama3-70b-1024-h100.json"
$py plots/memory_stages.py "$data/gpt3-175b-1024-a100.json" "$data/gpt3-175b-pp8-gpipe.json" \
  "$data/gpt3-175b-pp8-1f1b.json" "$img/gpt3-175b-memory" --title "GPT-3 175B: memory per GPU by pipeline stage"
$py plots/memory_stages.py "$data/llama3-70b-1024-h100.json" "$data/llama3-70b-pp4-gpipe.json" \
  "$data/llama3-70b-pp4-1f1b.json" "$img/llama3-70b-memory" --title "Llama-3-70B: memory per GPU by pipeline stage"

# 5. Layouts, step time vs memory, from the layout search itself: the 200 fastest layouts
# that fit (`ptsim search --top 200`, exact) with cp 1 and ZeRO-1 fixed, every other knob
# open, the best starred.
"$ptsim" search scenarios/search/gpt3-175b-1024-a100-cp1-zero1.json --top 200 --threads "$jobs" --json \
  >"$data/gpt3-search.json"
"$ptsim" search scenarios/search/llama3-70b-1024-h100-cp1-zero1.json --top 200 --threads "$jobs" --json \
  >"$data/llama3-search.json"
$py plots/search_layouts.py "$data/gpt3-search.json" "$img/gpt3-175b-layouts" \
  --title "GPT-3 175B on 1,024 A100s, global batch 1,536: ptsim search (cp 1, ZeRO-1 fixed)"
$py plots/search_layouts.py "$data/llama3-search.json" "$img/llama3-70b-layouts" \
  --title "Llama-3-70B on 1,024 H100s, global batch 512 x 8K: ptsim search (cp 1, ZeRO-1 fixed)"

echo "plots: gallery in $img/"

#!/usr/bin/env bash
# Builds the libFuzzer targets under fuzz/ (clang, ASan + UBSan) in build-fuzz/ and runs
# each for a set time on its seed corpus (docs/hardening.md):
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default 60 s, every target
# Installs clang and libFuzzer first (scripts/install-deps.sh --fuzz), so the default
# set-up stays without them. Exits 1 when a target found a crash, a hang or a leak; the
# input that did it is under build-fuzz/artifacts/, and the summary says which.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
build_dir="${PTSIM_FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${PTSIM_JOBS:-$(nproc)}"

./scripts/install-deps.sh --fuzz
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 \
  -DPTSIM_FUZZ=ON -DPTSIM_BUILD_TESTS=OFF -DPTSIM_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null

targets_file="$build_dir/fuzz/targets.txt"
mapfile -t all < <(cut -d"|" -f1 "$targets_file")
wanted=("$@")
if [ ${#wanted[@]} -eq 0 ]; then wanted=("${all[@]}"); fi
cmake --build "$build_dir" -j "$jobs" --target "${wanted[@]}"

mkdir -p "$build_dir/artifacts" "$build_dir/logs"
summary=()
failed=0
for name in "${wanted[@]}"; do
  line="$(grep "^${name}|" "$targets_file")" || { echo "fuzz.sh: no target $name (known: ${all[*]})" >&2; exit 2; }
  IFS='|' read -r _ dict seeds <<<"$line"
  IFS=';' read -r -a seed_dirs <<<"$seeds"
  corpus="$build_dir/corpus/$name"   # grows across runs; the seeds stay untouched
  mkdir -p "$corpus"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$name-")
  if [ -n "$dict" ]; then args+=(-dict="$dict"); fi
  log="$build_dir/logs/$name.log"
  echo "fuzz.sh: $name for ${seconds}s (log $log)"
  status=0
  "$build_dir/fuzz/$name" "${args[@]}" "$corpus" "${seed_dirs[@]}" </dev/null >"$log" 2>&1 || status=$?
  execs="$(grep -oP 'stat::number_of_executed_units:\s*\K[0-9]+' "$log" | tail -1 || true)"
  size="$(ls "$corpus" | wc -l)"
  if [ "$status" -ne 0 ]; then
    failed=1
    summary+=("$(printf '%-22s %12s execs  corpus %6s  FAILED (exit %s): %s' "$name" "${execs:-?}" "$size" "$status" \
      "$(grep -m1 -E 'ERROR|ptsim fuzz|Test unit written' "$log" || echo 'see log')")")
  else
    summary+=("$(printf '%-22s %12s execs  corpus %6s  ok' "$name" "${execs:-?}" "$size")")
  fi
done
echo
echo "fuzz.sh: ${seconds}s per target"
printf '%s\n' "${summary[@]}"
exit "$failed"

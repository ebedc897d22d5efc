#!/usr/bin/env bash
# The project's two entry points on a fresh Debian 12 machine (see README):
#   scripts/dev.sh run    install what is missing, build, simulate the built-in scenario
#   scripts/dev.sh test   install what is missing, build, run the whole test suite (ctest)
# Also: `bench` (Google Benchmark binaries), `build` (install + build only).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${PTSIM_BUILD_DIR:-build}"
jobs="${PTSIM_JOBS:-$(nproc)}"

build() {
  ./scripts/install-deps.sh
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build_dir" -j "$jobs"
}

case "${1:-}" in
  build) build ;;
  run)
    build
    "$build_dir/apps/ptsim" simulate scenarios/gpt3-175b-1024-a100.json
    ;;
  test)
    build
    ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
    ;;
  bench)
    build
    "$build_dir/bench/ptsim_bench" "${@:2}"
    ;;
  *)
    echo "usage: scripts/dev.sh run|test|bench|build" >&2
    exit 2
    ;;
esac

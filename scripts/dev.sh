#!/usr/bin/env bash
# The project's two entry points on a fresh Debian 12 machine (see README):
#   scripts/dev.sh run    install what is missing, build, simulate the built-in scenario
#   scripts/dev.sh test   install what is missing, build, run the whole test suite (ctest),
#                         then build it again with ASan + UBSan in build-asan/ and run it there
# Also: `sanitize` (only the sanitizer half of test), `bench` (Google Benchmark binaries),
# `build` (install + build only). PTSIM_TEST_SANITIZE=0 makes `test` skip the sanitizer half.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${PTSIM_BUILD_DIR:-build}"
jobs="${PTSIM_JOBS:-$(nproc)}"

build() {
  ./scripts/install-deps.sh
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build_dir" -j "$jobs"
}

# The suite again under AddressSanitizer + UndefinedBehaviorSanitizer (docs/hardening.md):
# a Debug build (asserts on) at -O1, without the benchmarks; any report fails the test.
sanitize() {
  local dir="${PTSIM_ASAN_BUILD_DIR:-build-asan}"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DPTSIM_SANITIZE=ON -DPTSIM_BUILD_BENCH=OFF
  cmake --build "$dir" -j "$jobs"
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    ctest --test-dir "$dir" --output-on-failure -j "$jobs"
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
    if [ "${PTSIM_TEST_SANITIZE:-1}" != 0 ]; then sanitize; fi
    ;;
  sanitize)
    ./scripts/install-deps.sh
    sanitize
    ;;
  bench)
    build
    "$build_dir/bench/ptsim_bench" "${@:2}"
    ;;
  *)
    echo "usage: scripts/dev.sh run|test|sanitize|bench|build" >&2
    exit 2
    ;;
esac

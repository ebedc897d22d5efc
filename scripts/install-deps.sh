#!/usr/bin/env bash
# Installs the Debian 12 packages ptsim builds with, and only the ones that are missing.
# Called by `make run` and `make test`; safe to run again. Needs root or sudo for apt-get.
#   scripts/install-deps.sh          what the build and the test suite need
#   scripts/install-deps.sh --fuzz   also clang and libFuzzer, for scripts/fuzz.sh only
set -euo pipefail

packages=(
  build-essential     # g++ (C++20), make
  cmake               # the build
  nlohmann-json3-dev  # io/: the only JSON reader/writer (scenarios, reports, traces)
  libcli11-dev        # apps/: command-line parsing
  libfmt-dev          # tables and number formatting in reports
  libgtest-dev        # unit and golden tests
  libgmock-dev        # matchers used by the tests
  libbenchmark-dev    # bench/: Google Benchmark
  libboost-graph-dev  # strategies/: layer-graph models (DAG, topological order, cycle check) and partitioning
  python3-matplotlib  # plots/: pictures from ptsim's outputs (run with /usr/bin/python3)
  openmpi-bin         # mpirun: `mpirun -n K ptsim search` and its CTest (PTSIM_MPI, docs/search.md)
  libopenmpi-dev      # MPI headers and libmpi for that optional build (CMake finds it with FindMPI)
)
if [ "${1:-}" = "--fuzz" ]; then
  packages+=(
    clang-14            # scripts/fuzz.sh: the fuzz targets need clang's -fsanitize=fuzzer
    libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer and clang's ASan/UBSan runtimes
  )
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

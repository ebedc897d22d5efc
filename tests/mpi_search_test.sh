#!/bin/sh
# `mpirun -n K ptsim search` against the single-process search (CTest mpi.search, registered
# when CMake found MPI). usage: mpi_search_test.sh MPIEXEC PTSIM SCENARIO OUT_DIR
# The ranking, every count of the enumeration and the framework configs must be byte-identical;
# `simulated`, `pruned_by_bound` and `pruned_by_pipeline_bound` count the work done, which
# the ranks share differently (each chunk prunes against its own top N; docs/search.md,
# "MPI"), so those three numbers are masked, and only they.
set -eu
mpiexec=$1 ptsim=$2 scenario=$3 out=$4
mkdir -p "$out"
run_mpi() { ranks=$1; shift; "$mpiexec" --oversubscribe -n "$ranks" "$ptsim" "$@"; }
mask() { sed -E -e 's/"(simulated|pruned_by_bound|pruned_by_pipeline_bound)": [0-9]+/"\1": N/' \
  -e 's/[0-9]+ simulated, [0-9]+ pruned by the lower bound \([0-9]+ of them/N simulated, N pruned by the lower bound (N of them/' "$1"; }
same() {  # same NAME: single-process and MPI outputs byte-identical after the mask
  mask "$out/$1.one" >"$out/$1.one.masked"
  mask "$out/$1.mpi" >"$out/$1.mpi.masked"
  if ! cmp -s "$out/$1.one.masked" "$out/$1.mpi.masked"; then
    echo "mpi.search: $1 differs from the single-process output:" >&2
    diff "$out/$1.one.masked" "$out/$1.mpi.masked" >&2 || true
    exit 1
  fi
}

"$ptsim" search "$scenario" --json >"$out/json.one"
run_mpi 2 search "$scenario" --json >"$out/json.mpi"
same json
# The mask hides nothing else: the two outputs differ in at most three lines.
lines=$(diff "$out/json.one" "$out/json.mpi" | grep -c '^>' || true)
[ "$lines" -le 3 ] || { echo "mpi.search: $lines lines differ" >&2; exit 1; }
grep -q '"ranking"' "$out/json.mpi"

# Three ranks (two workers asking for chunks as they finish), a table, another chunk count.
"$ptsim" search "$scenario" --top 4 >"$out/table.one"
run_mpi 3 search "$scenario" --top 4 --mpi-chunks 5 >"$out/table.mpi"
same table
"$ptsim" search "$scenario" --emit megatron >"$out/emit.one"
run_mpi 2 search "$scenario" --emit megatron >"$out/emit.mpi"
cmp "$out/emit.one" "$out/emit.mpi"

# Bad input: one error line (from rank 0), exit code 2.
if run_mpi 2 search "$scenario" --shard 0/2 >"$out/bad.out" 2>"$out/bad.err"; then
  echo "mpi.search: --shard under mpirun was accepted" >&2; exit 1
else
  rc=$?
fi
[ "$rc" -eq 2 ] || { echo "mpi.search: exit code $rc for a bad flag, expected 2" >&2; cat "$out/bad.err" >&2; exit 1; }
[ "$(grep -c 'ptsim: error:' "$out/bad.err")" -eq 1 ] || { cat "$out/bad.err" >&2; exit 1; }
echo "mpi.search: ranking and counts identical to the single-process search"

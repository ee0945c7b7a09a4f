#!/usr/bin/env bash
# Instructions per acquire+release pair, counted by callgrind (exact and
# reproducible, unlike timings on a shared machine), for each contender
# of the benchmarks: bash benches/callgrind.sh [target/release]
# Needs valgrind and a built library (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
lib=${1:-target/release}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc=${CC:-cc}
flags=(-std=gnu11 -O2 -Iinclude -Ibenches/c)
for b in none inline malloc; do
  "$cc" "${flags[@]}" benches/c/count.c "benches/c/backend_$b.c" -o "$out/$b"
done
"$cc" "${flags[@]}" -DZF_DEFAULTS benches/c/count.c benches/c/backend_zf.c "$lib/libzombie_frames.a" -lpthread -ldl -lm -o "$out/zf"
"$cc" "${flags[@]}" -DZF_DEFAULTS -DZF_BENCH_FAST benches/c/count.c benches/c/backend_zf.c "$lib/libzombie_frames.a" -lpthread -ldl -lm -o "$out/zf-fast"
"$cc" "${flags[@]}" -DZF_DEFAULTS -DZF_BENCH_HOT benches/c/count.c benches/c/backend_zf.c "$lib/libzombie_frames.a" -lpthread -ldl -lm -o "$out/zf-hot"

count() { # exe args... -> instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/Collected/ {print $4}'
}
per_rep() { # n exe args...
  local n=$1; shift
  local a b; a=$(count "$1" "$2" "$n" "${@:3}"); b=$(count "$1" "$2" $((2 * n)) "${@:3}")
  echo "scale=1; ($b - $a) / $n" | bc
}

# One row: pattern $1, $2 units (pairs, or codes) per repetition, n = $3
# repetitions; each figure is per unit, less what the same loop costs with
# no allocator at all (backend_none.c).
row() {
  local p=$1 units=$2 n=$3 base i f h z l m
  base=$(per_rep "$n" "$out/none" "$p")
  div() { echo "scale=1; $1 / $units" | bc; }
  net() { echo "scale=1; ($1 - $base) / $units" | bc; }
  i=$(per_rep "$n" "$out/inline" "$p"); f=$(per_rep "$n" "$out/zf-fast" "$p"); z=$(per_rep "$n" "$out/zf" "$p")
  h=$(per_rep "$n" "$out/zf-hot" "$p")
  l=$(per_rep "$n" "$out/zf" "$p" legacy); m=$(per_rep "$n" "$out/malloc" "$p")
  echo "| $p | $units | $(div "$base") | $(net "$i") | $(net "$f") | $(net "$h") | $(net "$z") | $(net "$l") | $(net "$m") |"
}
columns='| loop alone | inline C (CPython 3.9) | zf fast pair | zf halves, state in the code (kits) | zf exported pair | zf legacy | malloc |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'

# Per acquire + release pair.
printf "| pattern | pairs per rep $columns"
for p in hit rec100 two20 rec1000; do
  case $p in hit) pairs=1 ;; two20) pairs=40 ;; *) pairs=${p#rec} ;; esac
  n=$((20000 / pairs)); [ "$n" -lt 20 ] && n=20
  row "$p" "$pairs" "$n"
done

# A code's whole life, per code: made, called, freed (life: 3 calls, the
# pool open; close: 1 call, then the pool freed before its 50 codes, as the
# kits free it before the modules go). The C contenders malloc a small
# struct per code that an interpreter's code object would not need.
printf "\n| pattern | codes per rep $columns"
row life 1 2000
row close 50 200

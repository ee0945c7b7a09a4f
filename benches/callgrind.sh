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
for b in inline malloc; do
  "$cc" "${flags[@]}" benches/c/count.c "benches/c/backend_$b.c" -o "$out/$b"
done
"$cc" "${flags[@]}" -DZF_DEFAULTS benches/c/count.c benches/c/backend_zf.c "$lib/libzombie_frames.a" -lpthread -ldl -lm -o "$out/zf"

count() { # exe args... -> instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/Collected/ {print $4}'
}
per_rep() { # n exe args...
  local n=$1; shift
  local a b; a=$(count "$1" "$2" "$n" "${@:3}"); b=$(count "$1" "$2" $((2 * n)) "${@:3}")
  echo "scale=1; ($b - $a) / $n" | bc
}

printf '| pattern | pairs per rep | inline C | zf per-code | zf per-code, per_code_max 1024, budget 1 GiB | zf legacy | malloc |\n|---|---:|---:|---:|---:|---:|---:|\n'
for p in hit rec10 rec100 rec1000; do
  pairs=1; [ "$p" != hit ] && pairs=${p#rec}
  n=$((20000 / pairs)); [ "$n" -lt 20 ] && n=20
  i=$(per_rep $n "$out/inline" $p); z=$(per_rep $n "$out/zf" $p); d=$(per_rep $n "$out/zf" $p per-code 1024)
  l=$(per_rep $n "$out/zf" $p legacy); m=$(per_rep $n "$out/malloc" $p)
  div() { echo "scale=1; $1 / $pairs" | bc; }
  echo "| $p | $pairs | $(div $i) | $(div $z) | $(div $d) | $(div $l) | $(div $m) |"
done

#!/usr/bin/env bash
# Makes the static library a C program should link: the library's zf_
# functions and only the code they reach.
#
#   scripts/slim-archive.sh [IN.a [OUT.a]]
#       (default: target/release/libzombie_frames.a, rewritten in place)
#
# Why: a Rust static archive carries the precompiled core and alloc
# libraries whole (about 150 KB of code), and a C link without
# --gc-sections takes every object it touches whole, so a program linking
# the archive as cargo leaves it gains about 210 KB of text and exports
# thousands of Rust symbols. Here the archive is linked once into one
# object with --gc-sections, rooted at the zf_ exports, and every other
# symbol is made local. Needs GNU binutils (ld, objcopy, ar, readelf).
set -euo pipefail

in=${1:-target/release/libzombie_frames.a}
out=${2:-$in}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The exports: the zf_ functions the archive defines (the header's, by tests/abi.rs).
# (readelf, not nm: nm's LTO plugin chokes on the bitcode rustc embeds.)
readelf -sW "$in" | awk '$4 == "FUNC" && $5 == "GLOBAL" && $7 != "UND" && $8 ~ /^zf_/ {print $8}' |
  sort -u > "$tmp/exports"
[ -s "$tmp/exports" ] || { echo "slim-archive: no zf_ function in $in" >&2; exit 1; }

# shellcheck disable=SC2046
ld -r --gc-sections $(sed 's/^/--require-defined=/' "$tmp/exports") \
  --whole-archive "$in" -o "$tmp/linked.o"
# Undefined symbols that no relocation uses any more are dropped: the
# sections that used them went with --gc-sections, but ld -r keeps the
# symbols, and a program linking one needs whatever library defines it.
# (_Unwind_Resume, from core's unwinding code: it made every C program
# that links the archive load libgcc_s.so.1, for nothing.)
readelf -sW "$tmp/linked.o" | awk '$7 == "UND" && $8 != "" {print $8}' | sort -u > "$tmp/undefined"
readelf -rW "$tmp/linked.o" | awk 'NF >= 5 && $1 ~ /^[0-9a-f]+$/ {sub(/@.*/, "", $5); print $5}' |
  sort -u > "$tmp/used"
comm -23 "$tmp/undefined" "$tmp/used" | sed 's/^/--strip-symbol=/' > "$tmp/unused"
# Debug info and LLVM bitcode are dropped too: no C link reads them.
# shellcheck disable=SC2046
objcopy --strip-debug -R .llvmbc -R .llvmcmd --keep-global-symbols="$tmp/exports" \
  $(cat "$tmp/unused") "$tmp/linked.o" "$tmp/zombie_frames.o"
rm -f "$tmp/slim.a"
ar rcs "$tmp/slim.a" "$tmp/zombie_frames.o"
mv "$tmp/slim.a" "$out"

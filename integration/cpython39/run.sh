#!/usr/bin/env bash
# CPython 3.9.2 (Debian's python3.9 source package) with its frames
# allocated by zombie-frames, beside a stock build of the same source.
#
#   integration/cpython39/run.sh [stage ...]      (no stage: all of them, in order)
#
# stages: deps fetch build-stock build-patched test smoke bench summary
#
# Everything built goes under $ZF_CPY_WORK (default /tmp/zf-cpython39),
# never into the repository. Settings:
#   ZF_CPY_WORK      work directory
#   ZF_CPY_JOBS      make -j and test -j (default: nproc)
#   ZF_CPY_SMOKE_POLICIES   policies the smoke stage runs (default "per-code legacy")
#   ZF_CPY_BENCH     benchmarks to run (default: all of bench/*.py)
#   ZF_CPY_BENCH_ARGS  extra pyperf arguments (default: "--fast")
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
W="${ZF_CPY_WORK:-/tmp/zf-cpython39}"
JOBS="${ZF_CPY_JOBS:-$(nproc)}"
VERSION=3.9.2
SRC="$W/src/python3.9-$VERSION"
STOCK="$W/stock"
PATCHED="$W/patched"
PYLIB="$W/pylib"        # pyperf, installed with --target, shared by both builds
RESULTS="$W/results"

step() { printf '\n==> %s\n' "$*"; }
need_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Build dependencies and the tools the stages use, installed only if missing.
stage_deps() {
  local pkgs=(build-essential dpkg-dev zlib1g-dev libffi-dev libssl-dev libexpat1-dev
              libbz2-dev liblzma-dev libreadline-dev libsqlite3-dev libgdbm-dev
              libncursesw5-dev uuid-dev valgrind curl ca-certificates)
  local missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    need_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive need_root apt-get install -y -qq "${missing[@]}"
  fi
}

# A deb-src entry for bullseye (3.9.2's suite), with the URIs and keyring of
# the machine's own Debian entry.
add_bullseye_src() {
  if grep -rqs "^Types:.*deb-src" /etc/apt/sources.list.d/ && \
     grep -rqs "bullseye" /etc/apt/sources.list.d/*.sources; then
    return
  fi
  grep -qs "^deb-src .* bullseye " /etc/apt/sources.list && return
  local src uris keyring
  src=$(grep -ls "^Types: deb$" /etc/apt/sources.list.d/*.sources | head -n 1)
  uris=$(sed -n 's/^URIs: *//p' "$src" | head -n 1)
  keyring=$(sed -n 's/^Signed-By: *//p' "$src" | head -n 1)
  : "${uris:=http://deb.debian.org/debian}"
  : "${keyring:=/usr/share/keyrings/debian-archive-keyring.gpg}"
  step "adding a bullseye deb-src entry ($uris)"
  printf 'Types: deb-src\nURIs: %s\nSuites: bullseye\nComponents: main\nSigned-By: %s\n' \
    "$uris" "$keyring" | need_root tee /etc/apt/sources.list.d/bullseye-src.sources >/dev/null
  need_root apt-get update -qq
}

# Debian's python3.9 3.9.2 source, unpacked with Debian's patches applied.
stage_fetch() {
  if [ -f "$SRC/configure" ]; then echo "source already at $SRC"; return; fi
  add_bullseye_src
  mkdir -p "$W/src"
  (cd "$W/src" && apt-get source -qq "python3.9=$VERSION-1")
  [ -f "$SRC/Objects/frameobject.c" ]
}

# configure + make in $1 (a copy of the source); extra configure args after.
build_tree() {
  local dir=$1; shift
  (cd "$dir" && ./configure -q --prefix="$dir/inst" "$@" >/dev/null && make -s -j"$JOBS" >/dev/null)
  "$dir/python" -c 'import sys, _ssl, _ctypes, zlib, _sqlite3; print(sys.version)'
}

fresh_copy() {
  rm -rf "$1"
  cp -a "$SRC" "$1"
}

stage_build_stock() {
  step "building stock CPython $VERSION in $STOCK"
  fresh_copy "$STOCK"
  build_tree "$STOCK"
}

stage_build_patched() {
  step "building the library (static archive)"
  (cd "$repo" && cargo build --release -q)
  step "building patched CPython $VERSION in $PATCHED"
  fresh_copy "$PATCHED"
  (cd "$PATCHED" && patch -s -p1 < "$here/cpython-3.9.2-zombie-frames.patch")
  cp "$here/zf_frames.c" "$PATCHED/Objects/zf_frames.c"
  cp "$here/pycore_zf_frames.h" "$PATCHED/Include/internal/pycore_zf_frames.h"
  build_tree "$PATCHED" CPPFLAGS="-I$repo/include" \
    LIBS="$repo/target/release/libzombie_frames.a -lpthread -ldl -lm"
  ZF_DEBUG=1 "$PATCHED/python" -c 'import sys; sys._debugmallocstats()' 2>&1 | grep -q "zombie-frames"
}

# Names listed under a regrtest summary heading such as "3 tests failed:".
summary_list() {
  awk -v pat="$2" '$0 ~ pat {on=1; next} on && /^    / {for (i=1;i<=NF;i++) print $i; next} {on=0}' "$1" | sort -u
}

# The whole suite with each build; the failure sets must be the same.
stage_test() {
  mkdir -p "$RESULTS"
  local b
  for b in stock patched; do
    step "test suite: $b (-m test -j$JOBS)"
    local t0=$SECONDS
    (cd "$W/$b" && ./python -m test -j"$JOBS" --timeout 1800 > "$RESULTS/suite-$b.log" 2>&1) || true
    summary_list "$RESULTS/suite-$b.log" "tests? failed:$" > "$RESULTS/suite-$b.failed"
    echo "$b: $((SECONDS - t0)) s; failed: $(tr '\n' ' ' < "$RESULTS/suite-$b.failed")"
    tail -n 3 "$RESULTS/suite-$b.log"
  done
  compare_failures
}

compare_failures() {
  step "failures, stock vs patched"
  if diff "$RESULTS/suite-stock.failed" "$RESULTS/suite-patched.failed"; then
    echo "identical: $(tr '\n' ' ' < "$RESULTS/suite-stock.failed")"
  else
    echo "DIFFERENT (< stock only, > patched only)"; return 1
  fi
}

main() {
  local stages=("$@")
  [ ${#stages[@]} -gt 0 ] || stages=(deps fetch build-stock build-patched test smoke bench summary)
  mkdir -p "$W"
  for s in "${stages[@]}"; do
    "stage_${s//-/_}"
  done
}

main "$@"

#!/usr/bin/env bash
# CPython 3.9.2 (Debian's python3.9 source package) with its frames
# allocated by zombie-frames, beside a stock build of the same source.
#
#   integration/cpython39/run.sh [stage ...]      (no stage: all of them, in order)
#
# stages: deps fetch build-stock build-patched test smoke bench trace summary
#   (bench = bench-time, then bench-once: pool stats, peak RSS, callgrind)
#
# Everything built goes under $ZF_CPY_WORK (default /tmp/zf-cpython39),
# never into the repository. Settings:
#   ZF_CPY_WORK      work directory
#   ZF_CPY_JOBS      make -j and test -j (default: nproc)
#   ZF_CPY_SMOKE_POLICIES   policies the smoke stage runs (default "per-code legacy")
#   ZF_CPY_BENCH     benchmarks to run, by name (default: all of bench_table)
#   ZF_CPY_ROUNDS, ZF_CPY_PROCS  timing rounds (3) and pyperf processes per round (4)
#   ZF_CPY_TRACE_BENCH  benchmarks the trace stage records (default "fib richards")
# Patched-build settings at run time: ZF_* (the library's), ZF_CPY_EAGER=1
# (a ZfCode per code object when it is made), ZF_CPY_FINAL_STATS=1 (the
# pool's report on stderr as it closes at exit).
set -euo pipefail

# Settings from the caller's shell that change what tests see.
unset PYTHONUNBUFFERED PYTHONDONTWRITEBYTECODE PYTHONHASHSEED PYTHONPATH

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
              libncursesw5-dev uuid-dev valgrind ca-certificates)
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
  # Byte-compile the library as `make install` would, so that no run pays
  # for compiling the modules it imports (some files are bad on purpose).
  (cd "$dir" && ./python -E -m compileall -q -j"$JOBS" Lib >/dev/null 2>&1) || true
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

# Runs Python ($1) with arguments, SIGINT/SIGHUP/SIGQUIT back to their
# defaults: background jobs start with SIGINT ignored, which fails the tests
# that send it (test_pdb, test_threading, test_signal, test_generators...).
py_default_signals() {
  "$1" -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(s, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$@"
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
    (cd "$W/$b" && py_default_signals ./python -m test -j"$JOBS" --timeout 1800 \
       > "$RESULTS/suite-$b.log" 2>&1) || true
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

# Tests that exercise frames hard: creation, reuse, tracing, generators and
# coroutines, recursion limits, GC of frame cycles, threads, tracebacks.
SMOKE_TESTS=(test_frame test_sys test_gc test_generators test_coroutines test_asyncgen
  test_scope test_exceptions test_traceback test_inspect test_pdb test_trace
  test_sys_setprofile test_sys_settrace test_weakref test_threading test_thread
  test_contextlib test_contextlib_async test_generator_stop test_yield_from test_bdb
  test_profile test_cprofile test_faulthandler test_tracemalloc test_finalization
  test_super test_isinstance test_richcmp test_json test_pickle test_functools
  test_dictviews test_class test_descr test_gdb test_asyncio)

smoke_run() {  # label, then env assignments
  local label=$1; shift
  step "smoke ($label): ${#SMOKE_TESTS[@]} tests"
  local t0=$SECONDS
  # -w: a test that fails is run again alone, so a timing flake under load
  # (seen on stock too) does not fail the stage; the log shows any rerun.
  (cd "$PATCHED" && export "$@" && py_default_signals ./python -m test -j"$JOBS" -w --timeout 900 "${SMOKE_TESTS[@]}")
  # The setting reached the pool: its report names the policy in force.
  env "$@" "$PATCHED/python" -c 'import sys; sys._debugmallocstats()' 2>&1 | grep "^  policy"
  echo "smoke ($label): $((SECONDS - t0)) s"
}

stage_smoke() {
  local p
  for p in ${ZF_CPY_SMOKE_POLICIES:-per-code legacy}; do
    smoke_run "$p" ZF_POLICY="$p"
  done
  smoke_run "per-code, ZF_DEBUG=1" ZF_POLICY=per-code ZF_DEBUG=1
}

# ---- benchmarks -------------------------------------------------------------

PYPERF_BM="$PYLIB/pyperformance/data-files/benchmarks"
# name | script and arguments | loops for the single (callgrind, stats, RSS) run
bench_table() {
  cat <<TABLE
fib|$here/bench/bm_fib.py|2
binary_trees|$here/bench/bm_binary_trees.py|1
two_recursions|$here/bench/bm_two_recursions.py|5
generator_pipeline|$here/bench/bm_generator_pipeline.py|7
asyncio_tasks|$here/bench/bm_asyncio_tasks.py|6
richards|$PYPERF_BM/bm_richards/run_benchmark.py|1
deltablue|$PYPERF_BM/bm_deltablue/run_benchmark.py|4
raytrace|$PYPERF_BM/bm_raytrace/run_benchmark.py|1
nqueens|$PYPERF_BM/bm_nqueens/run_benchmark.py|1
generators|$PYPERF_BM/bm_generators/run_benchmark.py|1
deepcopy|$PYPERF_BM/bm_deepcopy/run_benchmark.py|300
pickle_pure_python|$PYPERF_BM/bm_pickle/run_benchmark.py --pure-python pickle|60
logging|$PYPERF_BM/bm_logging/run_benchmark.py|5000
regex_compile|$PYPERF_BM/bm_regex_compile/run_benchmark.py|1
TABLE
}
CONFIGS=(stock per-code legacy)

# The interpreter and environment of one configuration.
config_env() {
  case $1 in
    stock) echo "$STOCK/python" ;;
    per-code) echo "env ZF_POLICY=per-code $PATCHED/python" ;;
    legacy) echo "env ZF_POLICY=legacy $PATCHED/python" ;;
  esac
}

valgrind_env() {
  local vg="valgrind --tool=callgrind --callgrind-out-file=/dev/null"
  case $1 in
    stock) echo "$vg $STOCK/python" ;;
    *) echo "env ZF_POLICY=$1 $vg $PATCHED/python" ;;
  esac
}

bench_selected() {
  local want=" ${ZF_CPY_BENCH:-} "
  bench_table | while IFS='|' read -r name script loops; do
    if [ -z "${ZF_CPY_BENCH:-}" ] || [[ $want == *" $name "* ]]; then
      echo "$name|$script|$loops"
    fi
  done
}

# pyperf from PyPI for the built interpreters: pip's wheel (Debian's
# python3-pip-whl) run as a path entry, installing into $PYLIB.
stage_bench_deps() {
  [ -d "$PYLIB/pyperformance" ] && return
  local whl
  whl=$(ls /usr/share/python-wheels/pip-*.whl 2>/dev/null | head -n 1)
  if [ -z "$whl" ]; then
    DEBIAN_FRONTEND=noninteractive need_root apt-get install -y -qq python3-pip-whl
    whl=$(ls /usr/share/python-wheels/pip-*.whl | head -n 1)
  fi
  "$PATCHED/python" "$whl/pip" install -q --target "$PYLIB" pyperf pyperformance
}

stage_bench() {
  stage_bench_time
  stage_bench_once
}

stage_bench_time() {
  stage_bench_deps
  mkdir -p "$RESULTS/time"
  export PYTHONPATH="$PYLIB"
  local rounds=${ZF_CPY_ROUNDS:-3} r c name script loops
  # Timing: rounds interleave the configurations, each round appending
  # ${ZF_CPY_PROCS:-4} worker processes x 3 values per benchmark.
  for ((r = 1; r <= rounds; r++)); do
    step "timing, round $r of $rounds"
    while IFS='|' read -r name script loops; do
      for c in "${CONFIGS[@]}"; do
        # shellcheck disable=SC2086
        $(config_env "$c") $script -q -p "${ZF_CPY_PROCS:-4}" -n 3 -w 1 \
          --inherit-environ=PYTHONPATH,ZF_POLICY --append "$RESULTS/time/$c-$name.json" >/dev/null
      done
      echo "  $name"
    done < <(bench_selected)
  done
}

# One run of each in-process (hash seed fixed): pool report and peak RSS,
# then the same run under callgrind.
stage_bench_once() {
  stage_bench_deps
  mkdir -p "$RESULTS/once"
  export PYTHONPATH="$PYLIB" PYTHONHASHSEED=0
  local c name script loops
  step "single runs: pool stats, peak RSS, callgrind instructions"
  while IFS='|' read -r name script loops; do
    for c in "${CONFIGS[@]}"; do
      # shellcheck disable=SC2206
      local once=("$here/bench/once.py" $script --worker --loops "$loops" --values 1 --warmups 0 -p 1)
      $(config_env "$c") "${once[@]}" > /dev/null 2> "$RESULTS/once/$c-$name.txt"
      $(valgrind_env "$c") "${once[@]}" \
        2>&1 >/dev/null | sed -n 's/.*Collected : *//p' > "$RESULTS/once/$c-$name.ir"
    done
    echo "  $name: Ir $(cat "$RESULTS/once/"{stock,per-code,legacy}-"$name".ir | tr '\n' ' ')"
  done < <(bench_selected)
}

# ZF_TRACE recordings of two workloads, replayed with zf-replay: the
# replay's counts must be the ones the live pool reported as it closed.
stage_trace() {
  (cd "$repo" && cargo build --release -q --bin zf-replay)
  mkdir -p "$RESULTS/trace"
  export PYTHONPATH="$PYLIB" PYTHONHASHSEED=0
  local name script loops p
  while IFS='|' read -r name script loops; do
    for p in per-code legacy; do
      local t="$RESULTS/trace/$name-$p.zft"
      # shellcheck disable=SC2086
      ZF_POLICY=$p ZF_TRACE="$t" ZF_CPY_FINAL_STATS=1 "$PATCHED/python" $script \
        --worker --loops "$loops" --values 1 --warmups 0 -p 1 2> "$RESULTS/trace/$name-$p.live" >/dev/null
      step "$name recorded under $p: live pool at exit, then zf-replay --policy $p"
      grep -E "^  (acquires|releases|frees)" "$RESULTS/trace/$name-$p.live"
      "$repo/target/release/zf-replay" --policy "$p" "$t" | tee "$RESULTS/trace/$name-$p.replay"
    done
  done < <(ZF_CPY_BENCH="${ZF_CPY_TRACE_BENCH:-fib richards}" bench_selected)
}

stage_summary() {
  export PYTHONPATH="$PYLIB"
  "$STOCK/python" "$here/summary.py" "$RESULTS" $(bench_selected | cut -d'|' -f1)
  [ -f "$RESULTS/suite-stock.failed" ] && compare_failures || true
}

main() {
  local stages=("$@")
  [ ${#stages[@]} -gt 0 ] || stages=(deps fetch build-stock build-patched test smoke bench trace summary)
  mkdir -p "$W"
  for s in "${stages[@]}"; do
    "stage_${s//-/_}"
  done
}

main "$@"

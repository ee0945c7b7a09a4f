# The stages shared by the CPython kits (integration/cpython*/run.sh):
# sourced, not run. A kit's run.sh sets what differs, then calls kit_main:
#
#   KIT          label, e.g. "CPython 3.9.2"
#   W            work directory; SRC the unpacked source in it
#   SRC_PKG      the Debian source package to fetch, "name=version"
#   PATCH        the kit's patch; GLUE "file:destination" pairs copied into
#                the patched tree (destination relative to it)
#   COMPILEALL   compileall's arguments after -q (2.7 has no -j)
#   SUITE_CMD    the test runner's arguments for the whole suite;
#   SMOKE_CMD    and for the smoke subset (SMOKE_TESTS follow it)
#   SUITE_CONFIGS  configurations the test stage runs the whole suite with
#   TRACE_BENCH  benchmarks the trace stage records by default
# and defines bench_table (name|script and arguments|loops for the single
# run) and stage_bench_deps (pyperf into $PYLIB for the built interpreters).
#
# Settings every kit reads: ZF_CPY_WORK (unset: ZF_CPY_WORK39 or ZF_CPY_WORK27,
# by line), ZF_CPY_JOBS, ZF_CPY_SMOKE_POLICIES,
# ZF_CPY_BENCH, ZF_CPY_ROUNDS, ZF_CPY_PROCS, ZF_CPY_RUNS, ZF_CPY_TRACE_BENCH
# (see the kits' own headers).

# Settings from the caller's shell that change what tests see.
unset PYTHONUNBUFFERED PYTHONDONTWRITEBYTECODE PYTHONHASHSEED PYTHONPATH

common="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$common/../.." && pwd)"
JOBS="${ZF_CPY_JOBS:-$(nproc)}"
STOCK="$W/stock"
# As long as "stock": a longer path alone costs 3.9's start-up 40,000 to
# 75,000 instructions, which counts taken from each build's own directory
# (stage_bench_once) must not see. frame_instructions.py goes further and
# runs both from one path.
PATCHED="$W/patch"
PYLIB="$W/pylib"        # pyperf, installed with --target, shared by both builds
RESULTS="$W/results"
BENCH="$common/bench"   # benchmark programs both kits run
CONFIGS=(stock per-code legacy)
# Every stage, in order: what a run without arguments does.
DEFAULT_STAGES=(deps fetch patch-check build-stock build-patched test smoke bench trace summary)

step() { printf '\n==> %s\n' "$*"; }
need_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Build dependencies and the tools the stages use, installed only if missing.
stage_deps() {
  local pkgs=(build-essential dpkg-dev zlib1g-dev libffi-dev libssl-dev libexpat1-dev
              libbz2-dev liblzma-dev libreadline-dev libsqlite3-dev libgdbm-dev
              libncursesw5-dev uuid-dev valgrind ca-certificates time)
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

# A deb-src entry for bullseye (the suite of both kits' sources), with the
# URIs and keyring of the machine's own Debian entry.
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

# The Debian source package, unpacked as dpkg-source unpacks it.
stage_fetch() {
  if [ -f "$SRC/configure" ]; then echo "source already at $SRC"; return; fi
  add_bullseye_src
  mkdir -p "$W/src"
  (cd "$W/src" && apt-get source -qq "$SRC_PKG")
  [ -f "$SRC/Objects/frameobject.c" ]
}

need_source() {
  [ -f "$SRC/Objects/frameobject.c" ] || { echo "$0: no $KIT source in $SRC: run the fetch stage first" >&2; exit 1; }
}

# The patch comes back byte for byte from the trees it touches
# (patch_trees.sh): an edit made in its b/ tree is then the next patch,
# with nothing else changed.
stage_patch_check() {
  need_source
  step "the patch comes back byte for byte from its trees (patch_trees.sh)"
  local work
  work=$(mktemp -d)
  bash "$common/patch_trees.sh" trees "$PATCH" "$SRC" "$work"
  bash "$common/patch_trees.sh" diff "$work" | cmp - "$PATCH"
  rm -rf "$work"
  echo "$(basename "$PATCH"): the same"
}

# configure + make in $1 (a copy of the source); extra configure args after.
build_tree() {
  local dir=$1; shift
  # One prefix for both builds (nothing is installed there): it is baked
  # into each, and a program's paths must not differ between them.
  (cd "$dir" && ./configure -q --prefix="$W/inst" "$@" >/dev/null && make -s -j"$JOBS" >/dev/null)
  # Byte-compile the library as `make install` would, so that no run pays
  # for compiling the modules it imports (some files are bad on purpose).
  # shellcheck disable=SC2086
  (cd "$dir" && ./python -E -m compileall -q $COMPILEALL Lib >/dev/null 2>&1) || true
  "$dir/python" -c 'import sys, _ssl, _ctypes, zlib, _sqlite3; print(sys.version)'
}

fresh_copy() {
  need_source
  rm -rf "$1"
  cp -a "$SRC" "$1"
}

stage_build_stock() {
  step "building stock $KIT in $STOCK"
  fresh_copy "$STOCK"
  build_tree "$STOCK"
}

stage_build_patched() {
  step "building the library (static archive, slimmed: scripts/slim-archive.sh)"
  (cd "$repo" && cargo build --release -q)
  bash "$repo/scripts/slim-archive.sh" "$repo/target/release/libzombie_frames.a" "$W/libzombie_frames.a"
  step "building patched $KIT in $PATCHED"
  fresh_copy "$PATCHED"
  (cd "$PATCHED" && patch -s -p1 < "$PATCH")
  local g
  for g in "${GLUE[@]}"; do
    cp "${g%%:*}" "$PATCHED/${g#*:}"
  done
  build_tree "$PATCHED" LIBS="$W/libzombie_frames.a -lpthread -ldl -lm"
  # The pool is there: a debug pool's report, from a run that starts.
  local out
  out=$(ZF_DEBUG=1 "$PATCHED/python" -c 'import sys; sys._debugmallocstats()' 2>&1) || true
  [[ $out == *"zombie-frames "*" pool"* ]] || { echo "the patched python reports no pool: $out" >&2; return 1; }
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

# The build directory and environment of a suite configuration: stock,
# patched (its default policy), or a policy of the patched build.
suite_env() {
  case $1 in
    stock) echo "$STOCK" ;;
    patched) echo "$PATCHED" ;;
    *) echo "$PATCHED ZF_POLICY=$1" ;;
  esac
}

# The whole suite with each configuration; the failure sets must be the same.
stage_test() {
  mkdir -p "$RESULTS"
  local c dir envs
  for c in "${SUITE_CONFIGS[@]}"; do
    read -r dir envs < <(suite_env "$c")
    step "test suite: $c (${SUITE_CMD[*]})"
    local t0=$SECONDS
    # shellcheck disable=SC2086
    (cd "$dir" && if [ -n "$envs" ]; then export $envs; fi &&
       py_default_signals ./python "${SUITE_CMD[@]}" > "$RESULTS/suite-$c.log" 2>&1) || true
    summary_list "$RESULTS/suite-$c.log" "tests? failed:$" > "$RESULTS/suite-$c.failed"
    echo "$c: $((SECONDS - t0)) s; failed: $(tr '\n' ' ' < "$RESULTS/suite-$c.failed")"
    tail -n 3 "$RESULTS/suite-$c.log"
  done
  compare_failures
}

compare_failures() {
  local c status=0
  for c in "${SUITE_CONFIGS[@]:1}"; do
    [ -f "$RESULTS/suite-$c.failed" ] || continue
    step "failures, stock vs $c"
    if diff "$RESULTS/suite-stock.failed" "$RESULTS/suite-$c.failed"; then
      echo "identical: $(tr '\n' ' ' < "$RESULTS/suite-stock.failed")"
    else
      echo "DIFFERENT (< stock only, > $c only)"; status=1
    fi
  done
  return $status
}

smoke_run() {  # label, then env assignments
  local label=$1; shift
  step "smoke ($label): ${#SMOKE_TESTS[@]} tests"
  local t0=$SECONDS
  # -w: a test that fails is run again alone, so a timing flake under load
  # (seen on stock too) does not fail the stage; the log shows any rerun.
  (cd "$PATCHED" && export "$@" && py_default_signals ./python "${SMOKE_CMD[@]}" "${SMOKE_TESTS[@]}")
  # The setting reached the pool: its report names the policy in force.
  env "$@" "$PATCHED/python" -c 'import sys; sys._debugmallocstats()' 2>&1 | grep "^  policy"
  echo "smoke ($label): $((SECONDS - t0)) s"
}

# ZF_CPY_FINAL_STATS=1 gives one report, from the process it was set for:
# the children and forks it starts print nothing on stderr.
smoke_final_stats() {
  step "smoke: ZF_CPY_FINAL_STATS=1 reports once, from the top process only"
  local err status=0 reports
  err=$(mktemp)
  ZF_CPY_FINAL_STATS=1 "$PATCHED/python" "$common/final_stats_child.py" 2> "$err" || status=$?
  reports=$(grep -c '^zombie-frames [^ ]* pool' "$err" || true)
  if [ $status != 0 ] || [ "$reports" != 1 ]; then
    echo "exit $status, $reports report(s) on stderr:"; cat "$err"; rm -f "$err"; return 1
  fi
  rm -f "$err"
  echo "children silent; one report from the top process"
}

# ZF_* are read as the interpreter's own PYTHON* variables are: not at all
# under -E, and a value the library refuses ends start-up with status 1 and
# a message naming the variable (not Py_FatalError's abort and core).
smoke_environment() {
  step "smoke: ZF_* ignored under -E; a bad value or a slipped name exits 1 and names itself, the kit's own switches' too"
  local out status=0
  out=$(ZF_BUDGET=lots "$PATCHED/python" -c pass 2>&1) || status=$?
  if [ $status != 1 ] || [[ $out != *'ZF_BUDGET="lots"'* ]]; then
    echo "ZF_BUDGET=lots: exit $status, want 1 and the variable named: $out"; return 1
  fi
  echo "ZF_BUDGET=lots: exit 1, $out"
  status=0
  out=$(ZF_CPY_EAGER=maybe "$PATCHED/python" -c pass 2>&1) || status=$?
  if [ $status != 1 ] || [[ $out != *'ZF_CPY_EAGER="maybe"'* ]]; then
    echo "ZF_CPY_EAGER=maybe: exit $status, want 1 and the variable named: $out"; return 1
  fi
  echo "ZF_CPY_EAGER=maybe: exit 1, $out"
  # A name one slip from a switch's would leave the switch off unseen.
  status=0
  out=$(ZF_CPY_EAGR=1 "$PATCHED/python" -c pass 2>&1) || status=$?
  if [ $status != 1 ] || [[ $out != *'ZF_CPY_EAGR: not a setting; ZF_CPY_EAGER is'* ]]; then
    echo "ZF_CPY_EAGR=1: exit $status, want 1 and both names: $out"; return 1
  fi
  echo "ZF_CPY_EAGR=1: exit 1, $out"
  ZF_CPY_EAGR=1 "$PATCHED/python" -E -c pass || { echo "ZF_CPY_EAGR=1 was read under -E"; return 1; }
  # The library's trim_ascii's spaces, a carriage return among them.
  out=$(ZF_CPY_FINAL_STATS=$' Yes\r' "$PATCHED/python" -c pass 2>&1 | grep -c "^  policy")
  [ "$out" = 1 ] || { echo "ZF_CPY_FINAL_STATS=' Yes\\r' gave $out reports, want 1"; return 1; }
  echo "ZF_CPY_FINAL_STATS=' Yes\\r': the report"
  ZF_BUDGET=lots "$PATCHED/python" -E -c pass || { echo "ZF_BUDGET=lots was read under -E"; return 1; }
  out=$(ZF_POLICY=legacy "$PATCHED/python" -E -c 'import sys; sys._debugmallocstats()' 2>&1 | grep "^  policy")
  if [[ $out != *"policy per-code"* ]]; then
    echo "ZF_POLICY=legacy was read under -E: $out"; return 1
  fi
  echo "under -E: ZF_BUDGET=lots and ZF_POLICY=legacy unread"
}

# ZF_DEBUG=1 turns misuse into a fatal error that names it (misuse.py writes
# into a zombie frame, as a buggy extension could).
smoke_misuse() {
  step "smoke: misuse under ZF_DEBUG=1 is a fatal error"
  local out
  out=$(ZF_DEBUG=1 "$PATCHED/python" "$common/misuse.py" 2>&1) && { echo "$out"; return 1; }
  echo "$out" | grep "^Fatal Python error: .*zombie-frames: write after release"
}

# Aging follows the program's own full collections, not those the
# interpreter runs as it finalizes (the pool goes then); legacy, CPython's
# scheme, empties its free list at every one of them.
smoke_exit_collections() {
  step "smoke: per-code ages at the program's full collections only, legacy at every one"
  local p want said got
  local script="import gc; gc.disable(); gc.collect(); gc.collect(); gc.collect()"
  for p in per-code legacy; do
    got=$(ZF_POLICY=$p ZF_CPY_FINAL_STATS=1 "$PATCHED/python" -c "$script" 2>&1 | sed -n 's/.*sweeps \([0-9]*\).*/\1/p')
    case $p in per-code) want="-eq 3" said="3" ;; legacy) want="-gt 3" said="more than 3" ;; esac
    if [ -z "$got" ] || ! [ "$got" $want ]; then
      echo "$p: sweeps '$got', want $said"; return 1
    fi
    echo "$p: $got sweeps (want $said)"
  done
}

# An embedder that finalizes the interpreter and initializes it again gets
# a pool again, as CPython's own frame cache works again (reinit.c).
smoke_reinit() {
  step "smoke: a second Py_Initialize gets a pool again"
  local exe="$W/reinit" out n
  # libpython's link line: the modules built into it, then configure's LIBS
  # (the library among them).
  # shellcheck disable=SC2046  # the Makefile's words, split as make would
  cc -o "$exe" "$common/reinit.c" -I"$PATCHED/Include" -I"$PATCHED" "$PATCHED"/libpython*.a \
    $(sed -n 's/^\(LOCALMODLIBS\|LIBS\)=[[:space:]]*//p' "$PATCHED/Makefile") -lutil -Xlinker -export-dynamic
  out=$(PYTHONHOME="$PATCHED" PYTHONPATH="$PATCHED/Lib" "$exe" 2>&1)
  n=$(grep -c '^zombie-frames [^ ]* pool' <<<"$out" || true)
  [ "$n" = 2 ] || { echo "$n pool report(s) from two rounds:"; echo "$out"; return 1; }
  echo "two rounds, a pool in each"
}

# ZF_TRACE without %p names one file: a Python child inheriting it would
# truncate it under its parent, so the glue keeps it to the first process.
smoke_trace_child() {
  step "smoke: ZF_TRACE without %p is the parent's alone, whatever its children"
  local t out acquires lines
  t=$(mktemp --suffix=.zft)
  out=$(ZF_TRACE="$t" ZF_CPY_FINAL_STATS=1 "$PATCHED/python" -c 'import subprocess, sys
def f(n): return n and f(n - 1)
f(50)
subprocess.check_call([sys.executable, "-c", "def g(n): return n and g(n - 1)\ng(50)"])
f(50)' 2>&1)
  acquires=$(sed -n 's/^  acquires *\([0-9,]*\).*/\1/p' <<<"$out" | tr -d ,)
  lines=$(grep -ac '^a ' "$t" || true)
  rm -f "$t"
  if [ -z "$acquires" ] || [ "$acquires" != "$lines" ]; then
    echo "the report's acquires '$acquires', the trace's a lines $lines: $out"; return 1
  fi
  echo "the trace holds the parent's $lines acquires"
}

stage_smoke() {
  local p
  [ -x "$PATCHED/python" ] || { echo "no patched python in $PATCHED: run build-patched first" >&2; return 1; }
  for p in ${ZF_CPY_SMOKE_POLICIES:-per-code legacy}; do
    smoke_run "$p" ZF_POLICY="$p"
  done
  smoke_run "per-code, ZF_DEBUG=1" ZF_POLICY=per-code ZF_DEBUG=1
  smoke_final_stats
  smoke_exit_collections
  smoke_environment
  smoke_misuse
  smoke_reinit
  smoke_trace_child
  if declare -F smoke_extra >/dev/null; then smoke_extra; fi   # a kit's own checks
}

# ---- benchmarks -------------------------------------------------------------

# The rows of bench_table both kits run: the programs in $BENCH.
# name | script and arguments | loops for the single (callgrind, stats, RSS) run
common_bench_rows() {
  cat <<TABLE
fib|$BENCH/bm_fib.py|2
binary_trees|$BENCH/bm_binary_trees.py|1
two_recursions|$BENCH/bm_two_recursions.py|5
generator_pipeline|$BENCH/bm_generator_pipeline.py|7
TABLE
}

# The interpreter and environment of one configuration.
config_env() {
  case $1 in
    stock) echo "$STOCK/python" ;;
    *) echo "env ZF_POLICY=$1 $PATCHED/python" ;;
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
      local once=("$BENCH/once.py" $script --worker --loops "$loops" --values 1 --warmups 0 -p 1)
      $(config_env "$c") "${once[@]}" > /dev/null 2> "$RESULTS/once/$c-$name.txt"
      $(valgrind_env "$c") "${once[@]}" \
        2>&1 >/dev/null | sed -n 's/.*Collected : *//p' > "$RESULTS/once/$c-$name.ir"
    done
    echo "  $name: Ir $(cat "$RESULTS/once/"{stock,per-code,legacy}-"$name".ir | tr '\n' ' ')"
  done < <(bench_selected)
}

# What linking the library costs before any frame is made: the text it
# adds to python (a static link), and the peak RSS of `python -c pass` and
# of one benchmark run (binary_trees, in-process), stock against patched
# per-code, ${ZF_CPY_RUNS:-10} runs each, interleaved. KiB as GNU time
# reports them: min / median / max.
stage_footprint() {
  stage_bench_deps
  mkdir -p "$RESULTS"
  local runs=${ZF_CPY_RUNS:-10} c r what
  local -a cmd
  step "footprint: text and peak RSS, $runs runs each"
  {
    printf 'text (bytes): stock %s, patched %s, added %s\n' \
      "$(size -A "$STOCK/python" | awk '$1==".text"{print $2}')" \
      "$(size -A "$PATCHED/python" | awk '$1==".text"{print $2}')" \
      "$(( $(size -A "$PATCHED/python" | awk '$1==".text"{print $2}') - $(size -A "$STOCK/python" | awk '$1==".text"{print $2}') ))"
    for what in pass binary_trees; do
      for c in stock per-code; do : > "$RESULTS/rss-$c-$what.txt"; done
      for ((r = 1; r <= runs; r++)); do
        for c in stock per-code; do
          # shellcheck disable=SC2206
          cmd=($(config_env "$c"))
          case $what in
            pass) cmd+=(-c pass) ;;
            *) cmd+=("$BENCH/once.py" "$BENCH/bm_binary_trees.py" --worker --loops 1 --values 1 --warmups 0 -p 1) ;;
          esac
          PYTHONPATH="$PYLIB" /usr/bin/time -f %M -a -o "$RESULTS/rss-$c-$what.txt" "${cmd[@]}" >/dev/null 2>&1
        done
      done
      for c in stock per-code; do
        printf 'max RSS (KiB), %s, %s: %s\n' "$what" "$c" \
          "$(sort -n "$RESULTS/rss-$c-$what.txt" | awk '{v[NR]=$1} END {printf "%d / %d / %d", v[1], v[int((NR+1)/2)], v[NR]}')"
      done
    done
  } | tee "$RESULTS/footprint.txt"
}

# ZF_TRACE recordings of a few workloads, replayed with zf-replay: the
# replay's counts must be the ones the live pool reported as it closed.
stage_trace() {
  stage_bench_deps
  (cd "$repo" && cargo build --release -q -p zf-replay)
  mkdir -p "$RESULTS/trace"
  export PYTHONPATH="$PYLIB" PYTHONHASHSEED=0
  local name script loops p rc status=0
  while IFS='|' read -r name script loops; do
    for p in per-code legacy; do
      rc=0
      local t="$RESULTS/trace/$name-$p.zft"
      # shellcheck disable=SC2086
      ZF_POLICY=$p ZF_TRACE="$t" ZF_CPY_FINAL_STATS=1 "$PATCHED/python" $script \
        --worker --loops "$loops" --values 1 --warmups 0 -p 1 2> "$RESULTS/trace/$name-$p.live" >/dev/null
      step "$name recorded under $p: live pool at exit, then zf-replay --policy $p"
      grep -E "^  (acquires|releases|frees)" "$RESULTS/trace/$name-$p.live"
      # Its errors go to the file too, and its status to the check, which
      # reports them rather than reading them as a row of the table.
      "$repo/target/release/zf-replay" --policy "$p" "$t" 2>&1 | tee "$RESULTS/trace/$name-$p.replay" || rc=$?
      "$PATCHED/python" "$common/replay_check.py" "$RESULTS/trace/$name-$p."{live,replay} "$rc" || status=1
    done
  done < <(ZF_CPY_BENCH="${ZF_CPY_TRACE_BENCH:-$TRACE_BENCH}" bench_selected)
  return $status
}

stage_summary() {
  export PYTHONPATH="$PYLIB"
  # shellcheck disable=SC2046
  "$STOCK/python" "$common/summary.py" "$RESULTS" $(bench_selected | cut -d'|' -f1)
  [ -f "$RESULTS/suite-stock.failed" ] && compare_failures || true
}

kit_main() {
  local stages=("$@") s
  [ ${#stages[@]} -gt 0 ] || stages=("${DEFAULT_STAGES[@]}")
  # Every stage named is checked before any runs: a typo (or --help) prints
  # the kit's usage, its header, and does nothing.
  for s in "${stages[@]}"; do
    if ! declare -F "stage_${s//-/_}" >/dev/null; then
      [[ $s == -h || $s == --help ]] || echo "$0: no stage '$s'" >&2
      sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
      [[ $s == -h || $s == --help ]] && exit 0 || exit 2
    fi
  done
  mkdir -p "$W"
  # One kit's work directory: another kit's stages would replace its trees.
  if [ -f "$W/.kit" ] && [ "$(cat "$W/.kit")" != "$KIT" ]; then
    echo "$0: $W holds $(cat "$W/.kit")'s work, not $KIT's: give each kit its own directory (ZF_CPY_WORK39, ZF_CPY_WORK27)" >&2
    exit 2
  fi
  echo "$KIT" > "$W/.kit"
  for s in "${stages[@]}"; do
    "stage_${s//-/_}"
  done
}

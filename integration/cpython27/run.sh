#!/usr/bin/env bash
# CPython 2.7.18 (Debian bullseye's python2.7 source package) with its
# frames allocated by zombie-frames, beside a stock build of the same tree.
#
#   integration/cpython27/run.sh [stage ...]      (no stage: all of them, in order)
#
# stages: deps fetch patch-check build-stock build-patched build-counted test smoke
#   bench trace own-counts summary (build-counted, own-counts: 2.7's own scheme
#   counted, below)
#   (bench = bench-time, then bench-once: pool stats, peak RSS, callgrind)
#   (bench-deps: the pinned pyperf and pyperformance into $ZF_CPY_WORK/pylib;
#   bench and trace run it first, record_traces.sh needs it run)
# The stages are integration/common/kit.sh's, shared with the 3.9 kit; this
# file says what is 2.7's.
#
# The tree built: the source package as `apt-get source` (dpkg-source)
# leaves it. Its format is 1.0, so that is upstream 2.7.18 plus the
# .diff.gz, which only adds debian/; the debian/patches series (applied by
# debian/rules, through quilt and autoconf) is not applied. Stock and
# patched are copies of that one tree.
#
# Everything built goes under $ZF_CPY_WORK (unset: $ZF_CPY_WORK27, then
# $ZF_CPY27_WORK, then /tmp/zf-cpython27),
# never into the repository (but for the library, which cargo builds in
# its own target/). Settings: those of integration/cpython39/run.sh
# (ZF_CPY_WORK, ZF_CPY_JOBS, ZF_CPY_SMOKE_POLICIES, ZF_CPY_BENCH,
# ZF_CPY_ROUNDS, ZF_CPY_PROCS, ZF_CPY_TRACE_BENCH, ZF_CPY_RUNS), and at run
# time of the patched build ZF_*, ZF_CPY_EAGER=1 and ZF_CPY_FINAL_STATS=1 as
# there (none of them read under -E).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
KIT="CPython 2.7.18"
W="${ZF_CPY_WORK:-${ZF_CPY_WORK27:-${ZF_CPY27_WORK:-/tmp/zf-cpython27}}}"
SRC="$W/src/python2.7-2.7.18"
SRC_PKG="python2.7=2.7.18-8+deb11u1"
PATCH="$here/python-2.7.18-zombie-frames.patch"
GLUE=("$here/zf_frames.c:Objects/zf_frames.c" "$here/zf_frames.h:Include/zf_frames.h"
      "$here/../common/zf_pool_glue.h:Objects/zf_pool_glue.h"
      "$here/../common/zf_glue.h:Include/zf_glue.h"
      "$here/../../include/zombie_frames.h:Include/zombie_frames.h")
TRACE_BENCH="fib two_recursions generator_pipeline richards deltablue"
# The whole suite: stock, then the patched build under each policy.
SUITE_CONFIGS=(stock per-code legacy)

# shellcheck source=../common/kit.sh
source "$here/../common/kit.sh"

COMPILEALL=""                       # 2.7's compileall has no -j
SUITE_CMD=(-m test.regrtest -j"$JOBS")  # 2.7's regrtest has no --timeout
SMOKE_CMD=(-m test.regrtest -j"$JOBS" -w)

# 2.7's tests that exercise frames hard: creation and reuse (calls, extcall,
# recursion limits in test_sys), tracing and profiling, generators, GC of
# frame cycles, f_exc_* (test_exceptions, test_with), threads, tracebacks.
# 2.7 has no test_frame, test_super, test_finalization. test_gdb runs, but
# skips its frame tests (test_frames among them, which the patch edits) on
# an optimised build such as this one: it checks gdb's hooks load, no more.
SMOKE_TESTS=(test_sys test_gc test_generators test_genexps test_scope test_exceptions
  test_traceback test_inspect test_pdb test_trace test_sys_setprofile test_sys_settrace
  test_weakref test_threading test_thread test_threading_local test_contextlib test_with
  test_bdb test_profile test_cprofile test_hotshot test_isinstance test_richcmp test_json
  test_pickle test_cpickle test_functools test_dictviews test_class test_descr test_gdb
  test_extcall test_call test_copy test_funcattrs test_code test_doctest)

PYPERF_BM="$PYLIB/pyperformance/benchmarks"
# name | script and arguments | loops for the single (callgrind, stats, RSS) run
# pyperformance 0.9.1 (its last release for 2.7) has no generators or
# deepcopy benchmark, and 2.7 no asyncio.
bench_table() {
  common_bench_rows
  cat <<TABLE
richards|$PYPERF_BM/bm_richards.py|1
deltablue|$PYPERF_BM/bm_deltablue.py|4
raytrace|$PYPERF_BM/bm_raytrace.py|1
nqueens|$PYPERF_BM/bm_nqueens.py|1
chaos|$PYPERF_BM/bm_chaos.py|1
pickle_pure_python|$PYPERF_BM/bm_pickle.py --pure-python pickle|60
logging|$PYPERF_BM/bm_logging.py|5000
regex_compile|$PYPERF_BM/bm_regex_compile.py|1
TABLE
}

# pyperf 1.7.1 and pyperformance 0.9.1, the last releases for 2.7, from
# PyPI into $PYLIB. Installed by pip 20.3.4 (the last pip for 2.7), whose
# wheel the machine's python3 downloads; setuptools 44 (the last for 2.7)
# builds pyperf's sdist.
stage_bench_deps() {
  [ -d "$PYLIB/pyperformance" ] && return
  command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive need_root apt-get install -y -qq python3-pip
  mkdir -p "$W/wheels"
  python3 -m pip download -q --no-deps -d "$W/wheels" "pip==20.3.4"
  local pip=("$PATCHED/python" "$W/wheels/pip-20.3.4-py2.py3-none-any.whl/pip" install -q
             --disable-pip-version-check --no-python-version-warning --no-warn-script-location)
  "${pip[@]}" --target "$W/pipenv" "setuptools<45" "wheel<0.38"
  PYTHONPATH="$W/pipenv" "${pip[@]}" --no-build-isolation --target "$PYLIB" "pyperf==1.7.1" "six==1.17.0" \
    "statistics==1.0.3.5" "docutils==0.18.1"
  PYTHONPATH="$W/pipenv" "${pip[@]}" --no-build-isolation --no-deps --target "$PYLIB" "pyperformance==0.9.1"
}

# ---- 2.7's own scheme, counted -----------------------------------------------

# Stock with counters (own-counts.patch): what 2.7's own frame scheme does,
# in the words of the library's report, printed at exit with
# ZF_CPY_OWN_COUNTS=1. Not a third interpreter to test: a witness for the
# legacy policy's exactness.
COUNTED="$W/counted"
stage_build_counted() {
  step "building stock $KIT with counters in $COUNTED"
  fresh_copy "$COUNTED"
  (cd "$COUNTED" && patch -s -p1 < "$here/own-counts.patch")
  build_tree "$COUNTED"
}

# The trace stage's programs, run the same way by the counted stock build:
# its counts must be the legacy policy's live counts to the unit.
stage_own_counts() {
  export PYTHONPATH="$PYLIB" PYTHONHASHSEED=0
  local name script loops status=0
  while IFS='|' read -r name script loops; do
    local live="$RESULTS/trace/$name-legacy.live" own="$RESULTS/trace/$name-own.txt"
    # shellcheck disable=SC2086
    ZF_CPY_OWN_COUNTS=1 "$COUNTED/python" $script --worker --loops "$loops" --values 1 \
      --warmups 0 -p 1 2>&1 >/dev/null | sed -n 's/^own-scheme //p' > "$own"
    step "$name: 2.7's own scheme (counted stock) against legacy's live pool"
    "$STOCK/python" - "$own" "$live" <<'PY' || status=1
import re, sys
own = open(sys.argv[1]).read().split()
own = dict(zip(own[::2], [int(v) for v in own[1::2]]))
text = open(sys.argv[2]).read().replace(",", "")
num = lambda pat: int(re.search(pat, text).group(1))
live = {"acquires": num(r"acquires +(\d+)"), "zombie_hits": num(r"zombie hits (\d+)"),
        "shared": num(r"shared (\d+)"), "reallocs": num(r"reallocs (\d+)"),
        "fresh": num(r"fresh (\d+)"), "releases": num(r"releases +(\d+)"),
        "frees": num(r"frees +(\d+)")}
for k in ("acquires", "zombie_hits", "shared", "reallocs", "fresh", "releases", "frees"):
    print("  %-12s 2.7 %10d  legacy %10d  %s" % (k, own[k], live[k], "=" if own[k] == live[k] else "DIFFERENT"))
sys.exit(own != live)
PY
  done < <(ZF_CPY_BENCH="${ZF_CPY_TRACE_BENCH:-$TRACE_BENCH}" bench_selected)
  return $status
}

DEFAULT_STAGES=(deps fetch patch-check build-stock build-patched build-counted test smoke bench trace own-counts summary)
kit_main "$@"

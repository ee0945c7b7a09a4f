#!/usr/bin/env bash
# CPython 3.9.2 (Debian's python3.9 source package) with its frames
# allocated by zombie-frames, beside a stock build of the same source.
#
#   integration/cpython39/run.sh [stage ...]      (no stage: all of them, in order)
#
# stages: deps fetch patch-check build-stock build-patched test smoke bench trace summary
#   (bench = bench-time, then bench-once: pool stats, peak RSS, callgrind)
#   (footprint, not in the default run: text added to python, peak RSS of
#   `python -c pass` and of one benchmark, stock against patched)
#   (bench-deps: the pinned pyperf and pyperformance into $ZF_CPY_WORK/pylib;
#   bench and trace run it first, record_traces.sh needs it run)
# The stages are integration/common/kit.sh's, shared with the 2.7 kit; this
# file says what is 3.9's.
#
# Everything built goes under $ZF_CPY_WORK (default /tmp/zf-cpython39),
# never into the repository (but for the library, which cargo builds in
# its own target/). Settings:
#   ZF_CPY_WORK      work directory (unset: $ZF_CPY_WORK39, as frame_instructions.py reads it)
#   ZF_CPY_JOBS      make -j and test -j (default: nproc)
#   ZF_CPY_SMOKE_POLICIES   policies the smoke stage runs (default "per-code legacy")
#   ZF_CPY_BENCH     benchmarks to run, by name (default: all of bench_table)
#   ZF_CPY_ROUNDS, ZF_CPY_PROCS  timing rounds (3) and pyperf processes per round (4)
#   ZF_CPY_TRACE_BENCH  benchmarks the trace stage records (default "fib richards")
#   ZF_CPY_RUNS      runs of each build the footprint stage's RSS takes (10)
# Patched-build settings at run time, none of them read under -E or -I:
# ZF_* (the library's), ZF_CPY_EAGER=1 (a ZfCode per code object when it is
# made, module and class bodies too), ZF_CPY_FINAL_STATS=1 (the pool's
# report on stderr as it closes at exit, from that process only: the glue
# takes the variable out of the environment, so children stay silent).
# The two switches take what ZF_DEBUG takes (1, yes, true, on; 0, no,
# false, off); any other value exits with status 1, naming it, as does
# a name one slip from theirs (ZF_CPY_EAGR).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
KIT="CPython 3.9.2"
W="${ZF_CPY_WORK:-${ZF_CPY_WORK39:-/tmp/zf-cpython39}}"
SRC="$W/src/python3.9-3.9.2"
SRC_PKG="python3.9=3.9.2-1"        # Debian's patches come applied (format 3.0 quilt)
PATCH="$here/cpython-3.9.2-zombie-frames.patch"
GLUE=("$here/zf_frames.c:Objects/zf_frames.c"
      "$here/pycore_zf_frames.h:Include/internal/pycore_zf_frames.h"
      "$here/../common/zf_pool_glue.h:Objects/zf_pool_glue.h"
      "$here/../common/zf_glue.h:Include/internal/zf_glue.h"
      "$here/../../include/zombie_frames.h:Include/zombie_frames.h")
TRACE_BENCH="fib richards"
SUITE_CONFIGS=(stock patched)

# shellcheck source=../common/kit.sh
source "$here/../common/kit.sh"

COMPILEALL="-j$JOBS"
SUITE_CMD=(-m test -j"$JOBS" --timeout 1800)
SMOKE_CMD=(-m test -j"$JOBS" -w --timeout 900)

# Tests that exercise frames hard: creation, reuse, tracing, generators and
# coroutines, recursion limits, GC of frame cycles, threads, tracebacks.
SMOKE_TESTS=(test_frame test_sys test_gc test_generators test_coroutines test_asyncgen
  test_scope test_exceptions test_traceback test_inspect test_pdb test_trace
  test_sys_setprofile test_sys_settrace test_weakref test_threading test_thread
  test_contextlib test_contextlib_async test_generator_stop test_yield_from test_bdb
  test_profile test_cprofile test_faulthandler test_tracemalloc test_finalization
  test_super test_isinstance test_richcmp test_json test_pickle test_functools
  test_dictviews test_class test_descr test_gdb test_asyncio)

PYPERF_BM="$PYLIB/pyperformance/data-files/benchmarks"
# name | script and arguments | loops for the single (callgrind, stats, RSS) run
bench_table() {
  common_bench_rows
  cat <<TABLE
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

# pyperf 2.10.0 and pyperformance 1.11.0, those the traces were recorded
# with (traces/README.md), and their dependencies at the versions the
# figures were taken with, from PyPI
# for the built interpreters: pip's wheel (Debian's python3-pip-whl) run as
# a path entry, installing into $PYLIB.
stage_bench_deps() {
  [ -d "$PYLIB/pyperformance" ] && return
  local whl
  whl=$(ls /usr/share/python-wheels/pip-*.whl 2>/dev/null | head -n 1)
  if [ -z "$whl" ]; then
    DEBIAN_FRONTEND=noninteractive need_root apt-get install -y -qq python3-pip-whl
    whl=$(ls /usr/share/python-wheels/pip-*.whl | head -n 1)
  fi
  "$PATCHED/python" "$whl/pip" install -q --target "$PYLIB" "pyperf==2.10.0" "pyperformance==1.11.0" \
    "psutil==7.2.2" "packaging==26.3" "tomli==2.5.0"
}

kit_main "$@"

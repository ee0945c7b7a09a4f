#!/usr/bin/env bash
# Records the repository's CPython 3.9 frame traces (traces/*.zft.gz) with
# the patched interpreter that run.sh builds, each under ZF_POLICY=legacy
# (CPython 3.9's own scheme) with the pool's report at exit, and checks that
# `zf-replay --policy legacy` of each trace gives the live pool's counts.
#
#   integration/cpython39/record_traces.sh [NAME ...]   (no name: every trace)
#
# Needs a patched build and pyperformance, as run.sh makes them:
#   ZF_CPY_WORK=/tmp/zf-rec39 integration/cpython39/run.sh deps fetch build-patched bench-deps
# Settings:
#   ZF_CPY_WORK   the kit's work directory (default /tmp/zf-cpython39): its
#                 patched/python and pylib/ are used
#   ZF_REC_OUT    where the traces go (default: the repository's traces/)
#   ZF_REC_CHECK_ONLY=1  record nothing; check the traces in ZF_REC_OUT
#                 against their .live.json
#
# Per trace NAME it writes NAME.zft.gz (gzip -9 -n: the same bytes for the
# same events) whose `#` lines say what program made it, and NAME.live.json:
# the counts of the live pool as it closed, which the replay must reproduce.
# Every size and loop count is fixed, and PYTHONHASHSEED=0, so a recording
# is deterministic up to what the program itself leaves to chance (the
# regrtest and asyncio ones depend a little on timing and on the machine).
set -euo pipefail
unset PYTHONUNBUFFERED PYTHONDONTWRITEBYTECODE PYTHONHASHSEED PYTHONPATH PYTHONSTARTUP
unset ZF_POLICY ZF_TRACE ZF_BUDGET ZF_PER_CODE_MAX ZF_RESERVE_MAX ZF_SWEEP_EVERY ZF_SWEEP_GENERATION ZF_DEBUG

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
W="${ZF_CPY_WORK:-/tmp/zf-cpython39}"
PATCHED="$W/patched"
PY="$PATCHED/python"
PYLIB="$W/pylib"
BM="$PYLIB/pyperformance/data-files/benchmarks"
OUT="${ZF_REC_OUT:-$repo/traces}"
WL="$repo/traces/workloads"
REPLAY="$repo/target/release/zf-replay"

# The stdlib test modules of the regrtest trace: thousands of codes, few
# calls each (the run must stay a few hundred thousand events).
REGRTESTS=(test_grammar test_keywordonlyarg test_unpack_ex test_augassign test_opcodes
  test_dictcomps test_setcomps test_listcomps test_genexps test_raise test_with
  test_contextlib test_abc test_bool test_int_literal test_string_literals)

# name | what it runs (argv after the interpreter; $BM, $WL, $PATCHED expand) | what it is
programs() {
  cat <<'TABLE'
regrtest|-m test -q REGRTESTS|regrtest, in one process, of 16 stdlib test modules (grammar, comprehensions, with, contextlib, abc, ...)
compileall|-X pycache_prefix=PYC -m compileall -f -q -x NOTESTS $PATCHED/Lib|compileall -f over the whole stdlib but its test directories (whose bad-syntax files fail on purpose), .pyc files under a temporary prefix
2to3|-m lib2to3 -f all BM2TO3|python -m lib2to3 -f all over 7 of the 10 data files of pyperformance's 2to3 benchmark (all but mail.py.txt, urlresolvers.py.txt and paginator.py.txt)
chaos|$BM/bm_chaos/run_benchmark.py --iterations 3500 PYPERF 1|pyperformance chaos, one loop of 3,500 iterations instead of 5,000
go|$WL/wl_pyperformance.py $BM go 50|pyperformance go at 50 games instead of 200 (traces/workloads/wl_pyperformance.py)
hexiom|$BM/bm_hexiom/run_benchmark.py PYPERF 2|pyperformance hexiom, two loops
richards|$WL/wl_pyperformance.py $BM richards 4500|pyperformance richards, one run, idle task counting from 4,500 instead of 10,000 (traces/workloads/wl_pyperformance.py)
deltablue|$BM/bm_deltablue/run_benchmark.py PYPERF 2|pyperformance deltablue, two loops
logging|$BM/bm_logging/run_benchmark.py PYPERF 200|pyperformance logging (silent, simple and format), 200 loops each
pickle_pure_python|$BM/bm_pickle/run_benchmark.py --pure-python pickle PYPERF 4|pyperformance pickle_pure_python, 4 loops
generators|$WL/wl_pyperformance.py $BM generators 50000|pyperformance generators, one walk of a 50,000-node tree instead of 100,000 (traces/workloads/wl_pyperformance.py)
coroutines|$BM/bm_coroutines/run_benchmark.py PYPERF 1|pyperformance coroutines, one loop
async_tree|$WL/wl_pyperformance.py $BM async_tree 5|pyperformance async_tree (io variant), 5 levels of 5 branches instead of 6 of 6: 3,125 leaf coroutines alive at once (traces/workloads/wl_pyperformance.py)
deep_recursion|$WL/wl_deep_recursion.py 14|traces/workloads/wl_deep_recursion.py: seven recursive functions of different frame sizes, hundreds to thousands deep
asyncio_many|$WL/wl_asyncio_many.py 2500 1|traces/workloads/wl_asyncio_many.py: 2,500 tasks three coroutines deep, all suspended at once, then a queue of 833 items for 64 consumers
TABLE
}

step() { printf '\n==> %s\n' "$*"; }
die() { echo "record_traces.sh: $*" >&2; exit 1; }

# The argv of a table row, one word a line.
argv_of() {
  local args=$1 tmp=$2 w words
  set -f   # split on blanks only: the words hold regex characters
  read -r -a words <<< "$args"
  set +f
  for w in "${words[@]}"; do
    case $w in
      REGRTESTS) printf '%s\n' "${REGRTESTS[@]}" ;;
      PYPERF) printf '%s\n' --worker --values 1 --warmups 0 -p 1 --loops ;;
      BM2TO3) ls "$BM"/bm_2to3/data/2to3/*.py.txt | grep -v -e /mail.py.txt -e /urlresolvers.py.txt -e /paginator.py.txt | LC_ALL=C sort ;;
      PYC) echo "$tmp/pyc" ;;
      NOTESTS) echo '/(test|tests|idle_test)/' ;;
      *) eval "echo \"$w\"" ;;
    esac
  done
}

# The counts in the pool's last report on stderr ($1), as JSON.
live_counts() {
  python3 - "$1" <<'EOF'
import json, re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
at = text.rfind("zombie-frames ")
if at < 0 or "policy legacy" not in text[at:]:
    sys.exit("no legacy pool report on stderr")
report = text[at:]
def num(pattern):
    m = re.search(pattern, report)
    if not m:
        sys.exit("the report has no " + pattern)
    return int(m.group(1).replace(",", ""))
counts = {
    "acquisitions": num(r"acquires +([\d,]+)"),
    "zombie_hits": num(r"zombie hits ([\d,]+)"),
    "shared_hits": num(r"shared ([\d,]+)"),
    "reallocs": num(r"reallocs ([\d,]+)"),
    "fresh_allocs": num(r"fresh ([\d,]+)"),
    "releases": num(r"releases +([\d,]+)"),
    "frees": num(r"frees +([\d,]+)"),
    "peak_live_frames": num(r"live now [\d,]+, peak ([\d,]+)"),
}
print(json.dumps(counts))
EOF
}

# Writes $OUT/$name.live.json from the live counts and the trace's own facts.
write_live_json() {
  local name=$1 counts=$2 command=$3 what=$4 replay_json=$5
  python3 - "$OUT/$name.live.json" "$counts" "$command" "$what" "$replay_json" <<'EOF'
import json, sys
path, counts, command, what, replay = sys.argv[1:]
trace = json.loads(replay)["traces"][0]
data = {"name": path.rsplit("/", 1)[-1][: -len(".live.json")], "program": what, "command": command,
        "policy": "legacy", "events": trace["events"], "codes": trace["codes"]}
data["live_pool_at_exit"] = json.loads(counts)
with open(path, "w") as f:
    json.dump(data, f, indent=1)
    f.write("\n")
EOF
}

# The legacy replay of $1 must give the counts of $2 (a .live.json).
check_trace() {
  local trace=$1 live=$2 replay_json
  replay_json=$("$REPLAY" --policy legacy --json "$trace")
  python3 - "$live" "$replay_json" <<'EOF'
import json, sys
live = json.load(open(sys.argv[1]))["live_pool_at_exit"]
row = json.loads(sys.argv[2])["traces"][0]["contenders"][0]
bad = [f"{k}: live {v}, replay {row.get(k)}" for k, v in live.items() if row.get(k) != v]
name = sys.argv[1].rsplit("/", 1)[-1][: -len(".live.json")]
if bad:
    sys.exit(f"{name}: the legacy replay differs from the live pool: " + "; ".join(bad))
print(f"{name}: legacy replay = live pool ({live['acquisitions']:,} acquisitions, "
      f"{live['zombie_hits']:,} zombie hits, {live['shared_hits']:,} shared, {live['reallocs']:,} reallocs, "
      f"{live['fresh_allocs']:,} fresh, {live['frees']:,} frees, {live['releases']:,} releases)")
EOF
}

record() {
  local name=$1 args=$2 what=$3
  local tmp; tmp=$(mktemp -d)
  mkdir -p "$tmp/run"
  mapfile -t argv < <(argv_of "$args" "$tmp")
  step "$name: $what"
  local t0=$SECONDS pid status=0
  # The interpreter's own pid names its trace; a subprocess writes its own
  # file (%p), which is dropped.
  (cd "$tmp/run" && exec env PYTHONHASHSEED=0 PYTHONPATH="$PYLIB" ZF_POLICY=legacy ZF_CPY_FINAL_STATS=1 \
     ZF_TRACE="$tmp/trace-%p.zft" "$PY" "${argv[@]}" > "$tmp/stdout" 2> "$tmp/stderr") &
  pid=$!
  wait $pid || status=$?
  [ $status = 0 ] || { tail -n 20 "$tmp/stderr"; die "$name: the program failed (exit $status)"; }
  local raw="$tmp/trace-$pid.zft"
  [ -f "$raw" ] || die "$name: the interpreter wrote no trace"
  local others; others=$(ls "$tmp"/trace-*.zft | grep -vc "/trace-$pid.zft$" || true)
  [ "$others" = 0 ] || echo "$name: $others subprocess trace(s) dropped"
  local counts; counts=$(live_counts "$tmp/stderr") || die "$name: $counts"
  local shown="python3.9 ${argv[*]}"
  shown=${shown//$PATCHED/\$PATCHED}; shown=${shown//$BM/\$BM}; shown=${shown//$WL/traces/workloads}
  shown=${shown//$tmp/\$TMP}
  [ ${#shown} -le 400 ] || shown="${shown:0:400} ..."
  {
    echo "zftrace 1"
    echo "# program: $what"
    echo "# command: PYTHONHASHSEED=0 ZF_POLICY=legacy $shown"
    echo "# interpreter: CPython 3.9.2 (Debian python3.9 3.9.2-1 source) patched by integration/cpython39, frames from zombie-frames, x86-64"
    echo "# recorded by integration/cpython39/record_traces.sh; the live pool's counts at exit are in $name.live.json"
    tail -n +2 "$raw"
  } | gzip -9 -n > "$OUT/$name.zft.gz"
  local replay_json; replay_json=$("$REPLAY" --policy legacy --json "$OUT/$name.zft.gz")
  write_live_json "$name" "$counts" "PYTHONHASHSEED=0 ZF_POLICY=legacy $shown" "$what" "$replay_json"
  echo "$name: $((SECONDS - t0)) s, $(du -k "$OUT/$name.zft.gz" | cut -f1) KiB gzip'd"
  check_trace "$OUT/$name.zft.gz" "$OUT/$name.live.json"
  rm -rf "$tmp"
}

main() {
  (cd "$repo" && cargo build --release -q -p zf-replay)
  mkdir -p "$OUT"
  local want=" $* " name args what found=0
  while IFS='|' read -r name args what; do
    [ $# = 0 ] || [[ $want == *" $name "* ]] || continue
    found=$((found + 1))
    if [ "${ZF_REC_CHECK_ONLY:-0}" = 1 ]; then
      check_trace "$OUT/$name.zft.gz" "$OUT/$name.live.json"
    else
      [ -x "$PY" ] || die "no patched interpreter at $PY (run.sh build-patched)"
      [ -d "$BM" ] || die "no pyperformance at $PYLIB (run.sh bench-deps)"
      # The shipped traces ran pyperformance 1.11.0 and pyperf 2.10.0 (what
      # bench-deps installed); other versions may run other code.
      [ -d "$PYLIB/pyperformance-1.11.0.dist-info" ] && [ -d "$PYLIB/pyperf-2.10.0.dist-info" ] ||
        echo "record_traces.sh: warning: not pyperformance 1.11.0 and pyperf 2.10.0 in $PYLIB" >&2
      record "$name" "$args" "$what"
    fi
  done < <(programs)
  [ $found -gt 0 ] || die "no trace named: $*"
}

main "$@"

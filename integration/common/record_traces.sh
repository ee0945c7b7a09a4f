#!/usr/bin/env bash
# Records the repository's CPython frame traces (traces/*.zft.gz) with the
# patched interpreters that integration/cpython39/run.sh and
# integration/cpython27/run.sh build, each under ZF_POLICY=legacy (the
# line's own scheme) with the pool's report at exit, and checks that
# `zf-replay --policy legacy` of each trace gives the live pool's counts.
#
#   integration/common/record_traces.sh LINE [NAME ...]   (LINE 39 or 27; no name: every trace of the line)
#
# (integration/cpython39/record_traces.sh and integration/cpython27/record_traces.sh
# call it with their line.) Needs a patched build, and for the 3.9 line's
# pyperformance traces pyperformance (run.sh bench-deps):
#   ZF_CPY_WORK=/tmp/zf-cpython39 integration/cpython39/run.sh deps fetch build-patched bench-deps
#   ZF_CPY_WORK=/tmp/zf-cpython27 integration/cpython27/run.sh deps fetch build-patched
# The PyPI packages whose tests or code some programs run are fetched by
# version (PINS below) with the host's `python3 -m pip download --no-deps
# --no-binary :all:` into $ZF_CPY_WORK/corpus-pkgs and unpacked there; they
# are put on sys.path by the program, never installed.
# Settings:
#   ZF_CPY_WORK   the kit's work directory (unset: as the kit's run.sh finds
#                 it): its patch/python and pylib/ are used
#   ZF_REC_OUT    where the traces go (default: the repository's traces/)
#   ZF_REC_CHECK_ONLY=1  record nothing; check the line's traces in ZF_REC_OUT
#                 against their .live.json
#
# Per trace NAME it writes NAME.zft.gz (gzip -9 -n: the same bytes for the
# same events) whose `#` lines say what program made it (its description is
# NAME's line in traces/corpus.tsv), and NAME.live.json: the counts of the
# live pool as it closed, which the replay must reproduce. Every size and
# loop count is fixed, PYTHONHASHSEED=0, the environment fixed (env -i),
# address randomisation off (setarch -R) and the byte code compiled ahead
# (warm_pycs), so a recording is deterministic
# up to what the program itself leaves to chance (the regrtest, pyperf and
# asyncio-with-timers ones depend a little on timing and on the machine).
set -euo pipefail
unset PYTHONUNBUFFERED PYTHONDONTWRITEBYTECODE PYTHONHASHSEED PYTHONPATH PYTHONSTARTUP PYTHONHOME
unset ZF_POLICY ZF_TRACE ZF_BUDGET ZF_PER_CODE_MAX ZF_RESERVE_MAX ZF_SWEEP_EVERY ZF_SWEEP_GENERATION ZF_DEBUG

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
LINE=${1:-}
case $LINE in
  39) W="${ZF_CPY_WORK:-${ZF_CPY_WORK39:-/tmp/zf-cpython39}}"; PYNAME=python3.9
      INTERP="CPython 3.9.2 (Debian python3.9 3.9.2-1 source) patched by integration/cpython39, frames from zombie-frames, x86-64" ;;
  27) W="${ZF_CPY_WORK:-${ZF_CPY_WORK27:-${ZF_CPY27_WORK:-/tmp/zf-cpython27}}}"; PYNAME=python2.7
      INTERP="CPython 2.7.18 (Debian bullseye python2.7 2.7.18-8+deb11u1 source) patched by integration/cpython27, frames from zombie-frames, x86-64" ;;
  *) echo "usage: $0 39|27 [NAME ...]" >&2; exit 2 ;;
esac
shift
PATCHED="$W/patch"
PY="$PATCHED/python"
PYLIB="$W/pylib"
BM="$PYLIB/pyperformance/data-files/benchmarks"
PKGS="$W/corpus-pkgs"
OUT="${ZF_REC_OUT:-$repo/traces}"
WL="$repo/traces/workloads"
REPLAY="$repo/target/release/zf-replay"
MANIFEST="$repo/traces/corpus.tsv"

# The PyPI packages (sdists) the programs use, by line: versions that still
# run on 2.7 where the 2.7 line uses them.
PINS_39="simplejson==3.19.2 more-itertools==5.0.0 six==1.16.0 idna==2.10
  toolz==0.10.0 pyasn1==0.4.8 pytz==2023.3 docutils==0.16 Jinja2==2.11.3
  MarkupSafe==1.1.1 chardet==3.0.4 Pygments==2.5.2"
PINS_27="$PINS_39"

# The stdlib test modules of the regrtest trace: thousands of codes, few
# calls each (the run must stay a few hundred thousand events).
REGRTESTS=(test_grammar test_keywordonlyarg test_unpack_ex test_augassign test_opcodes
  test_dictcomps test_setcomps test_listcomps test_genexps test_raise test_with
  test_contextlib test_abc test_bool test_int_literal test_string_literals)

# line | name | what it runs (argv after the interpreter; $BM, $WL, $PATCHED,
# $PKGS expand; the tokens below in argv_of too). What each is: traces/corpus.tsv.
programs() {
  cat <<'TABLE'
39|regrtest|-m test -q REGRTESTS
39|compileall|-X pycache_prefix=PYC -m compileall -f -q -x NOTESTS $PATCHED/Lib
39|2to3|-m lib2to3 -f all BM2TO3
39|chaos|$BM/bm_chaos/run_benchmark.py --iterations 3500 PYPERF 1
39|go|$WL/wl_pyperformance.py $BM go 50
39|hexiom|$BM/bm_hexiom/run_benchmark.py PYPERF 2
39|richards|$WL/wl_pyperformance.py $BM richards 4500
39|deltablue|$BM/bm_deltablue/run_benchmark.py PYPERF 2
39|logging|$BM/bm_logging/run_benchmark.py PYPERF 200
39|pickle_pure_python|$BM/bm_pickle/run_benchmark.py --pure-python pickle PYPERF 4
39|generators|$WL/wl_pyperformance.py $BM generators 50000
39|coroutines|$BM/bm_coroutines/run_benchmark.py PYPERF 1
39|async_tree|$WL/wl_pyperformance.py $BM async_tree 5
39|deep_recursion|$WL/wl_deep_recursion.py 14
39|asyncio_many|$WL/wl_asyncio_many.py 2500 1
TABLE
  # The corpus: line-prefixed names.
  cat <<'TABLE'
39|py39-asyncgen|$WL/wl_async.py asyncgen 1350
39|py39-gather|$WL/wl_async.py gather 1100
39|py39-genpipe|$WL/wl_corpus.py genpipe 3000
39|py39-recursion|$WL/wl_corpus.py recursion 12
39|py39-methods|$WL/wl_corpus.py methods 20000
39|py39-dataclasses|$WL/wl_corpus.py dataclasses 250
39|py39-exec|$WL/wl_corpus.py exec 2500
39|py39-lambdas|$WL/wl_corpus.py lambdas 8000
39|py39-imports|$WL/wl_corpus.py imports 100
39|py39-phases|$WL/wl_corpus.py phases 60
39|py39-minidom|$WL/wl_corpus.py minidom 30
39|py39-difflib|$WL/wl_corpus.py difflib 100
39|py39-email|$WL/wl_corpus.py email 25
39|py39-argparse|$WL/wl_corpus.py argparse 20
39|py39-textwrap|$WL/wl_corpus.py textwrap 150
39|py39-re|$WL/wl_corpus.py re 50
39|py39-decimal|$WL/wl_corpus.py decimal 150
39|py39-fractions|$WL/wl_corpus.py fractions 800
39|py39-statistics|$WL/wl_corpus.py statistics 60
39|py39-csv|$WL/wl_corpus.py csv 200
39|py39-pickle|$WL/wl_corpus.py pickle 20
39|py39-docutils|$WL/wl_pkgs.py $PKGS docutils 2
39|py39-jinja2|$WL/wl_pkgs.py $PKGS jinja2 10
39|py39-chardet|$WL/wl_pkgs.py $PKGS chardet 3
39|py39-pygments|$WL/wl_pkgs.py $PKGS pygments 6
39|py39-test-simplejson|$WL/wl_tests.py -n 15 -x test_tool -p $PKGS/simplejson-3.19.2 $PKGS/simplejson-3.19.2/simplejson/tests
39|py39-test-more-itertools|$WL/wl_tests.py -n 70 -p $PKGS/more-itertools-5.0.0 -p $PKGS/six-1.16.0 more_itertools.tests.test_more more_itertools.tests.test_recipes
39|py39-test-idna|$WL/wl_tests.py -p $PKGS/idna-2.10 tests.test_idna tests.test_idna_codec tests.test_idna_compat tests.test_idna_other tests.test_intranges
39|py39-test-toolz|$WL/wl_tests.py -n 30 -p $PKGS/toolz-0.10.0 $PKGS/toolz-0.10.0/toolz/tests
39|py39-test-pyasn1|$WL/wl_tests.py -n 200 -p $PKGS/pyasn1-0.4.8 $PKGS/pyasn1-0.4.8/tests/type
39|py39-test-pytz|$WL/wl_tests.py -n 60 -p $PKGS/pytz-2023.3 pytz.tests.test_tzinfo pytz.tests.test_lazy
27|py27-genpipe|$WL/wl_corpus.py genpipe 3000
27|py27-genexps|$WL/wl_corpus.py genexps 3000
27|py27-recursion|$WL/wl_corpus.py recursion 12
27|py27-nested-eval|$WL/wl_corpus.py nested_eval 20
27|py27-methods|$WL/wl_corpus.py methods 20000
27|py27-exec|$WL/wl_corpus.py exec 2500
27|py27-lambdas|$WL/wl_corpus.py lambdas 6000
27|py27-imports|$WL/wl_corpus.py imports 150
27|py27-compiler|$WL/wl_corpus.py compiler 2
27|py27-compileall|-m compileall -f -q -x NOTESTS LIBCOPY
27|py27-phases|$WL/wl_corpus.py phases 60
27|py27-minidom|$WL/wl_corpus.py minidom 25
27|py27-difflib|$WL/wl_corpus.py difflib 250
27|py27-email|$WL/wl_corpus.py email 40
27|py27-argparse|$WL/wl_corpus.py argparse 20
27|py27-textwrap|$WL/wl_corpus.py textwrap 1000
27|py27-re|$WL/wl_corpus.py re 70
27|py27-decimal|$WL/wl_corpus.py decimal 150
27|py27-fractions|$WL/wl_corpus.py fractions 450
27|py27-csv|$WL/wl_corpus.py csv 200
27|py27-pickle|$WL/wl_corpus.py pickle 40
27|py27-docutils|$WL/wl_pkgs.py $PKGS docutils 2
27|py27-jinja2|$WL/wl_pkgs.py $PKGS jinja2 10
27|py27-chardet|$WL/wl_pkgs.py $PKGS chardet 3
27|py27-pygments|$WL/wl_pkgs.py $PKGS pygments 4
27|py27-test-simplejson|$WL/wl_tests.py -n 10 -x test_tool -p $PKGS/simplejson-3.19.2 $PKGS/simplejson-3.19.2/simplejson/tests
27|py27-test-more-itertools|$WL/wl_tests.py -n 60 -p $PKGS/more-itertools-5.0.0 -p $PKGS/six-1.16.0 more_itertools.tests.test_more more_itertools.tests.test_recipes
27|py27-test-idna|$WL/wl_tests.py -p $PKGS/idna-2.10 tests.test_idna tests.test_idna_codec tests.test_idna_compat tests.test_idna_other tests.test_intranges
27|py27-test-pyasn1|$WL/wl_tests.py -n 200 -p $PKGS/pyasn1-0.4.8 $PKGS/pyasn1-0.4.8/tests/type
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
      LIBCOPY) mkdir -p "$tmp/lib" && cp -a "$PATCHED/Lib/." "$tmp/lib/" && echo "$tmp/lib" ;;
      NOTESTS) echo '/(test|tests|idle_test)/' ;;
      *) eval "printf '%s\\n' \"$w\"" ;;   # not echo: it would eat a word like -n
    esac
  done
}

# NAME's description in traces/corpus.tsv (name, line, shape, description).
what_of() {
  awk -F'\t' -v n="$1" '$1 == n { print $4; found = 1 } END { exit !found }' "$MANIFEST" ||
    die "$1: no line in $MANIFEST"
}

# The pinned packages, unpacked in $PKGS (once).
fetch_pkgs() {
  local pins spec dir
  if [ "$LINE" = 39 ]; then pins=$PINS_39; else pins=$PINS_27; fi
  mkdir -p "$PKGS/dl"
  for spec in $pins; do
    dir="$PKGS/${spec/==/-}"
    [ -d "$dir" ] && continue
    step "fetching $spec"
    python3 -m pip download -q --no-deps --no-binary :all: -d "$PKGS/dl" "$spec"
    local f; f=$(ls "$PKGS"/dl/* | grep -i "/${spec%%==*}-${spec#*==}\.\(tar\.gz\|zip\)$" | head -n 1)
    [ -n "$f" ] || die "pip left no sdist for $spec"
    case $f in *.zip) (cd "$PKGS" && unzip -q "$f") ;; *) tar xzf "$f" -C "$PKGS" ;; esac
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

# Byte code compiled ahead for the stdlib, pylib and the packages, so that
# every recording imports from .pyc files: a module compiled from source on
# one run and loaded from its .pyc on the next runs other Python code
# (importlib's) and allocates differently. compileall writes only what is
# missing or stale; files this line cannot compile are skipped.
warm_pycs() {
  step "compiling the byte code the programs import (missing or stale only)"
  local d
  for d in "$PATCHED/Lib" "$PYLIB" "$PKGS"; do
    [ -d "$d" ] || continue
    env -i PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C.UTF-8 "$PY" -m compileall -q "$d" > /dev/null 2>&1 || true
  done
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
  # A fixed environment (env -i): every variable is objects the program
  # allocates at startup, which moves the garbage collector's runs.
  # And no address randomisation where the kernel allows (NORAND): some
  # programs (2.7's compiler package) iterate over sets of objects hashed
  # by address.
  (cd "$tmp/run" && exec env -i PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C.UTF-8 PYTHONHASHSEED=0 \
     PYTHONPATH="$PYLIB" ZF_POLICY=legacy ZF_CPY_FINAL_STATS=1 \
     ZF_TRACE="$tmp/trace-%p.zft" "${NORAND[@]}" "$PY" "${argv[@]}" < /dev/null > "$tmp/stdout" 2> "$tmp/stderr") &
  pid=$!
  wait $pid || status=$?
  [ $status = 0 ] || { tail -n 20 "$tmp/stderr"; die "$name: the program failed (exit $status)"; }
  local raw="$tmp/trace-$pid.zft"
  [ -f "$raw" ] || die "$name: the interpreter wrote no trace"
  local others; others=$(ls "$tmp"/trace-*.zft | grep -vc "/trace-$pid.zft$" || true)
  [ "$others" = 0 ] || echo "$name: $others subprocess trace(s) dropped"
  local counts; counts=$(live_counts "$tmp/stderr") || die "$name: $counts"
  local shown="$PYNAME ${argv[*]}"
  shown=${shown//$PATCHED/\$PATCHED}; shown=${shown//$BM/\$BM}; shown=${shown//$WL/traces/workloads}
  shown=${shown//$PKGS/\$PKGS}; shown=${shown//$tmp/\$TMP}
  [ ${#shown} -le 400 ] || shown="${shown:0:400} ..."
  {
    echo "zftrace 1"
    echo "# program: $what"
    echo "# command: PYTHONHASHSEED=0 ZF_POLICY=legacy $shown"
    echo "# interpreter: $INTERP"
    echo "# recorded by integration/common/record_traces.sh; the live pool's counts at exit are in $name.live.json"
    tail -n +2 "$raw"
  } | gzip -9 -n > "$OUT/$name.zft.gz"
  local replay_json; replay_json=$("$REPLAY" --policy legacy --json "$OUT/$name.zft.gz")
  write_live_json "$name" "$counts" "PYTHONHASHSEED=0 ZF_POLICY=legacy $shown" "$what" "$replay_json"
  echo "$name: $((SECONDS - t0)) s, $(du -k "$OUT/$name.zft.gz" | cut -f1) KiB gzip'd; program said: $(tail -n 1 "$tmp/stdout" | cut -c1-200)"
  check_trace "$OUT/$name.zft.gz" "$OUT/$name.live.json"
  rm -rf "$tmp"
}

main() {
  (cd "$repo" && cargo build --release -q -p zf-replay)
  NORAND=(setarch "$(uname -m)" -R)
  "${NORAND[@]}" true 2> /dev/null ||
    { NORAND=(); echo "record_traces.sh: warning: setarch -R fails here; recording with address randomisation" >&2; }
  mkdir -p "$OUT"
  local want=" $* " line name args found=0 fetched=0 warm=0 n
  # Every name asked for is one of the line's, before anything is recorded.
  for n in "$@"; do
    programs | awk -F'|' -v l="$LINE" -v n="$n" '$1 == l && $2 == n { f = 1 } END { exit !f }' ||
      die "no trace of line $LINE named: $n"
  done
  while IFS='|' read -r line name args; do
    [ "$line" = "$LINE" ] || continue
    [ $# = 0 ] || [[ $want == *" $name "* ]] || continue
    found=$((found + 1))
    if [ "${ZF_REC_CHECK_ONLY:-0}" = 1 ]; then
      check_trace "$OUT/$name.zft.gz" "$OUT/$name.live.json"
      continue
    fi
    [ -x "$PY" ] || die "no patched interpreter at $PY (run.sh build-patched)"
    if [[ $args == *'$BM'* ]]; then
      [ -d "$BM" ] || die "no pyperformance at $PYLIB (run.sh bench-deps)"
      # The shipped traces ran pyperformance 1.11.0 and pyperf 2.10.0 (what
      # bench-deps installed); other versions may run other code.
      [ -d "$PYLIB/pyperformance-1.11.0.dist-info" ] && [ -d "$PYLIB/pyperf-2.10.0.dist-info" ] ||
        echo "record_traces.sh: warning: not pyperformance 1.11.0 and pyperf 2.10.0 in $PYLIB" >&2
    fi
    if [[ $args == *'$PKGS'* ]] && [ $fetched = 0 ]; then fetch_pkgs; fetched=1; fi
    [ $warm = 1 ] || { warm_pycs; warm=1; }
    record "$name" "$args" "$(what_of "$name")"
  done < <(programs)
  [ $found -gt 0 ] || die "no trace of line $LINE to record"
}

main "$@"

#!/usr/bin/env python3
"""Callgrind instructions in frame creation and deallocation, per frame,
stock against patched (per-code), for the CPython 3.9 and 2.7 kits' builds.

    integration/common/frame_instructions.py run [--line 39|27] [--only NAME,...] [--jobs N]
    integration/common/frame_instructions.py table          # the Markdown table of what was run
    integration/common/frame_instructions.py diff LINE NAME [--top N]   # where the extra instructions go, with calls
    integration/common/frame_instructions.py rss [--runs 7]  # `python -c pass` max RSS, both lines

Needs the kits' builds: $ZF_CPY_WORK39 (default /tmp/zf-cpython39) and
$ZF_CPY_WORK27 (or $ZF_CPY27_WORK, .ci/run's; default /tmp/zf-cpython27)
with stock/python,
patch/python (the patched build), pylib/ (run.sh bench-deps) and corpus-pkgs/
(record_traces.sh). Results, with the callgrind files, go to
$W/results/frames/.

Programs, per line: `python -c pass`; the kits' benchmarks (bench_table of
integration/common/kit.sh and the line's run.sh, read from those files) at
the loop count of the kits' single run, run in pyperf's worker mode as
record_traces.sh runs them (no once.py, whose report at exit would be
counted); and programs of the corpus (record_traces.sh) at sizes that
callgrind runs in about a minute.

How each run is made: the kits' conventions (stage_bench_once,
record_traces.sh): PYTHONHASHSEED=0, PYTHONPATH=$W/pylib, a fixed
environment (env -i), no address randomisation (setarch -R) where the
kernel allows it, under `valgrind --tool=callgrind`. Both builds run with
the same environment and from the same path, $W/run/python ($W/run a
symlink to the build measured, one build at a time), and have the same
prefix (kit.sh): the patched one under its default policy, per-code.

What is counted:
  total        every instruction of the process (callgrind's Ir).
  frames       the calls of the frame constructor (3.9:
               _PyFrame_New_NoTrack, 2.7: PyFrame_New), from callgrind's
               call counts.
  frame work   the instructions of the frame constructor and of
               frame_dealloc, inclusive of everything they call (the
               library, the glue, malloc, the GC allocator) except what is
               not frame allocation: the deallocation of the objects the
               frame referenced (every *dealloc* callee, and the trashcan's
               deferred chains) and garbage collections (collect and the
               functions that run one), which both builds run from the
               same points. Computed from the callgrind profile's call
               arcs; a callee shared with other callers (the GC allocator,
               say) is charged with the same share of its excluded
               callees as over the whole run.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WL = os.path.join(REPO, "traces", "workloads")
CONFIGS = ("stock", "per-code")

LINES = {
    "39": {"work": os.environ.get("ZF_CPY_WORK39") or "/tmp/zf-cpython39",
           "run_sh": os.path.join(REPO, "integration", "cpython39", "run.sh"),
           "pyperf_bm": "pylib/pyperformance/data-files/benchmarks",
           "new": "_PyFrame_New_NoTrack"},
    "27": {"work": os.environ.get("ZF_CPY_WORK27") or os.environ.get("ZF_CPY27_WORK") or "/tmp/zf-cpython27",
           "run_sh": os.path.join(REPO, "integration", "cpython27", "run.sh"),
           "pyperf_bm": "pylib/pyperformance/benchmarks",
           "new": "PyFrame_New"},
}

# Corpus programs (record_traces.sh's table), smaller where callgrind needs it.
# line | name | argv after the interpreter ($WL, $PKGS expand)
CORPUS = """
39|recursion|$WL/wl_corpus.py recursion 12
39|asyncgen|$WL/wl_async.py asyncgen 500
39|minidom|$WL/wl_corpus.py minidom 20
39|difflib|$WL/wl_corpus.py difflib 50
39|exec|$WL/wl_corpus.py exec 400
39|lambdas|$WL/wl_corpus.py lambdas 3000
39|test-idna|$WL/wl_tests.py -p $PKGS/idna-2.10 tests.test_idna tests.test_idna_codec tests.test_idna_compat tests.test_idna_other tests.test_intranges
27|recursion|$WL/wl_corpus.py recursion 12
27|compiler|$WL/wl_corpus.py compiler 1
27|minidom|$WL/wl_corpus.py minidom 20
27|difflib|$WL/wl_corpus.py difflib 50
27|exec|$WL/wl_corpus.py exec 400
27|lambdas|$WL/wl_corpus.py lambdas 2500
27|test-idna|$WL/wl_tests.py -p $PKGS/idna-2.10 tests.test_idna tests.test_idna_codec tests.test_idna_compat tests.test_idna_other tests.test_intranges
"""
CORPUS_NAMES = {ln: {e.split("|")[1] for e in CORPUS.strip().splitlines() if e.startswith(ln + "|")}
                for ln in ("39", "27")}
PYPERF_WORKER = ["--worker", "--values", "1", "--warmups", "0", "-p", "1", "--loops"]


def bench_rows(line):
    """The kit's bench_table rows (name, argv, loops), read from kit.sh and run.sh."""
    cfg = LINES[line]
    w = cfg["work"]
    subst = {"$BENCH": os.path.join(HERE, "bench"),
             "$here": os.path.dirname(cfg["run_sh"]),
             "$PYPERF_BM": os.path.join(w, cfg["pyperf_bm"])}
    rows = []
    for path in (os.path.join(HERE, "kit.sh"), cfg["run_sh"]):
        text = open(path).read()
        for m in re.finditer(r"^([a-z_0-9]+)\|([^|\n]+)\|(\d+)$", text, re.M):
            name, script, loops = m.groups()
            for k, v in subst.items():
                script = script.replace(k, v)
            rows.append((name, script.split() + PYPERF_WORKER + [loops]))
    return rows


def programs(line):
    w = LINES[line]["work"]
    rows = [("pass", ["-c", "pass"])]
    rows += bench_rows(line)
    for entry in CORPUS.strip().splitlines():
        ln, name, args = entry.split("|")
        if ln == line:
            args = args.replace("$WL", WL).replace("$PKGS", os.path.join(w, "corpus-pkgs"))
            rows.append((name, args.split()))
    return rows


def norand():
    try:
        subprocess.run(["setarch", os.uname().machine, "-R", "true"], check=True,
                       stderr=subprocess.DEVNULL)
        return ["setarch", os.uname().machine, "-R"]
    except (OSError, subprocess.CalledProcessError):
        return []


def base_env(w):
    """The same for both builds (the patched one's default policy is
    per-code), down to the last variable."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": "0", "PYTHONPATH": os.path.join(w, "pylib")}


def run_link(w):
    """Where every measured run starts its interpreter: $W/run, a symlink
    to the build measured. So both builds see the same paths (kit.sh gives
    them one prefix too), and nothing but the allocator differs: a path's
    string alone moved 2.7's compiler program by 0.15%, through the
    hashes of the strings that hold it."""
    return os.path.join(w, "run")


def point_run_link(w, config):
    tmp = run_link(w) + ".new"
    if os.path.lexists(tmp):
        os.remove(tmp)
    os.symlink("stock" if config == "stock" else "patch", tmp)
    os.replace(tmp, run_link(w))


def python_of(w, config):
    return os.path.join(w, "stock" if config == "stock" else "patch", "python")


# ---- the callgrind profile ----------------------------------------------------

# GCC's clones (.part.0, .cold, ...) and callgrind's recursion levels ('2).
SUFFIX = re.compile(r"('\d+|\.(part|cold|constprop|isra|lto_priv)(\.\d+)*)$")


def base(name):
    while True:
        b = SUFFIX.sub("", name)
        if b == name:
            return b
        name = b


def parse_callgrind(path):
    """self[fn] and arcs[(caller, callee)] = [calls, inclusive Ir], and the total."""
    selfc, arcs, total = {}, {}, None
    fn = cfn = None
    pending = None   # calls count of the call whose cost line comes next
    with open(path, errors="replace") as f:
        for line in f:
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                ir = int(parts[1]) if len(parts) > 1 else 0
                if pending is not None:
                    a = arcs.setdefault((fn, cfn), [0, 0])
                    a[0] += pending
                    a[1] += ir
                    pending = None
                else:
                    selfc[fn] = selfc.get(fn, 0) + ir
            elif line.startswith("fn="):
                fn = line[3:].rstrip("\n")
            elif line.startswith("cfn="):
                cfn = line[4:].rstrip("\n")
            elif line.startswith("calls="):
                pending = int(line[6:].split()[0])
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    return selfc, arcs, total


GC_RUNS = {"collect", "collect_with_callback", "gc_collect_main", "invoke_gc_callback"}


def not_frame_work(name):
    b = base(name)
    return "dealloc" in b.lower() or b in GC_RUNS or "destroy_chain" in b


def frame_work(selfc, arcs, targets):
    """Instructions of the target functions, inclusive, without what not_frame_work names."""
    out = {}
    for (caller, callee), (calls, ir) in arcs.items():
        out.setdefault(caller, []).append((callee, ir))
    incl = {fn: selfc.get(fn, 0) + sum(ir for _, ir in out.get(fn, ())) for fn in set(selfc) | set(out)}
    memo = {}

    def kept(fn, stack):
        if fn in memo:
            return memo[fn]
        if fn in stack:
            return incl.get(fn, 0)
        stack.add(fn)
        k = selfc.get(fn, 0)
        for callee, ir in out.get(fn, ()):
            if not_frame_work(callee) or base(callee) in targets:
                continue
            i = incl.get(callee, 0)
            k += ir if i == 0 else ir * min(1.0, kept(callee, stack) / i)
        stack.discard(fn)
        memo[fn] = k
        return k

    per = {}
    for fn in set(selfc) | set(out):
        b = base(fn)
        if b in targets:
            per[b] = per.get(b, 0) + kept(fn, set())
    return per


def frames_made(arcs, new):
    return sum(calls for (caller, callee), (calls, _) in arcs.items()
               if base(callee) == new and base(caller) != new)


# ---- running ------------------------------------------------------------------

def run_one(line, name, argv, config, outdir, rand):
    w = LINES[line]["work"]
    out = os.path.join(outdir, f"{name}-{config}.callgrind")
    res = os.path.join(outdir, f"{name}-{config}.json")
    tmp = tempfile.mkdtemp(prefix="zf-frames-")
    cmd = ["env", "-i"] + [f"{k}={v}" for k, v in base_env(w).items()] + rand + [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
        "--compress-strings=no", "--compress-pos=no", os.path.join(run_link(w), "python")] + argv
    p = subprocess.run(cmd, cwd=tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, errors="replace")
    shutil.rmtree(tmp, ignore_errors=True)
    if p.returncode != 0:
        raise SystemExit(f"{line} {name} {config}: exit {p.returncode}\n{p.stderr[-2000:]}")
    selfc, arcs, total = parse_callgrind(out)
    new = LINES[line]["new"]
    per = frame_work(selfc, arcs, {new, "frame_dealloc"})
    r = {"line": line, "name": name, "config": config, "argv": argv, "total": total,
         "frames": frames_made(arcs, new), "new": round(per.get(new, 0)),
         "dealloc": round(per.get("frame_dealloc", 0))}
    json.dump(r, open(res, "w"), indent=1)
    return r


def results_of(line):
    return os.path.join(LINES[line]["work"], "results", "frames")


def outdir_of(line):
    d = results_of(line)
    os.makedirs(d, exist_ok=True)
    return d


def profiled(d):
    """{program name: the configurations profiled} in a results directory."""
    got = {}
    for f in sorted(os.listdir(d)) if os.path.isdir(d) else ():
        for c in CONFIGS:
            if f.endswith(f"-{c}.callgrind"):
                got.setdefault(f[:-len(f"-{c}.callgrind")], []).append(c)
    return got


def warm_pycs(line):
    """Byte code compiled ahead (as record_traces.sh does), so that no run
    compiles what it imports, and stock and patched import the same way."""
    w = LINES[line]["work"]
    for d in ("pylib", "corpus-pkgs"):   # not traces/workloads: no byte code in the repository
        d = os.path.join(w, d)
        if os.path.isdir(d):
            subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8", python_of(w, "stock"),
                            "-m", "compileall", "-q", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cmd_run(a):
    rand = norand()
    for line in a.line:
        warm_pycs(line)
    jobs = []
    only = set(a.only.split(",")) if a.only else None
    for line in a.line:
        for name, argv in programs(line):
            if only and name not in only:
                continue
            for config in CONFIGS:
                done = os.path.join(outdir_of(line), f"{name}-{config}.json")
                if a.keep and os.path.exists(done) and \
                        os.path.getmtime(done) > os.path.getmtime(python_of(LINES[line]["work"], config)):
                    continue
                jobs.append((line, name, argv, config, outdir_of(line), rand))
    if a.corpus_first:
        jobs.sort(key=lambda j: j[1] not in CORPUS_NAMES[j[0]] and j[1] != "pass")
    # One build at a time, each through $W/run.
    for config in CONFIGS:
        for line in a.line:
            point_run_link(LINES[line]["work"], config)
        with ThreadPoolExecutor(a.jobs) as ex:
            for r in ex.map(lambda j: run_one(*j), [j for j in jobs if j[3] == config]):
                fw = (r["new"] + r["dealloc"]) / max(r["frames"], 1)
                print(f"{r['line']} {r['name']:<20} {r['config']:<8} Ir {r['total']:>14,}  "
                      f"frames {r['frames']:>9,}  frame work/frame {fw:7.2f}", flush=True)


def load(line):
    d = outdir_of(line)
    got = {}
    for name, _ in programs(line):
        rs = {}
        for c in CONFIGS:
            p = os.path.join(d, f"{name}-{c}.json")
            if os.path.exists(p):
                rs[c] = json.load(open(p))
        if len(rs) == 2:
            got[name] = rs
    return got


def cmd_table(a):
    print("| program | line | stock instructions | patched instructions | ratio | frames "
          "| frame work per frame, stock | patched | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for line in a.line:
        for name, rs in load(line).items():
            s, p = rs["stock"], rs["per-code"]
            fs = (s["new"] + s["dealloc"]) / s["frames"]
            fp = (p["new"] + p["dealloc"]) / p["frames"]
            frames = f"{s['frames']:,}" if s["frames"] == p["frames"] else f"{s['frames']:,} / {p['frames']:,}"
            label = "`python -c pass`" if name == "pass" else name
            print(f"| {label} | {line[0]}.{line[1]} | {s['total']:,} | {p['total']:,} | "
                  f"{p['total'] / s['total']:.4f}x | {frames} | {fs:.1f} | {fp:.1f} | {fp / fs:.4f}x |")


# Where valgrind loads a position-independent executable.
VALGRIND_PIE_BASE = 0x108000


def plt_names(binary, profile):
    """{address in the profile: name} for the binary's `.plt.got` stubs,
    which callgrind names by address alone. The patched build has them
    (its Rust objects call memcpy and others through the GOT), and
    callgrind shows them as functions of one instruction a call, where it
    charges stock's `.plt` stubs to their callers: so a `memcpy` row of
    1.0 instructions a call is the stubs' jumps, moved, not extra work.
    Empty when the binary was rebuilt after the profile (stubs move)."""
    if not os.path.exists(binary) or os.path.getmtime(binary) > os.path.getmtime(profile):
        return {}
    names = {}
    for section in (".plt", ".plt.got", ".plt.sec"):
        r = subprocess.run(["objdump", "-d", "-j", section, binary], capture_output=True, text=True)
        for m in re.finditer(r"^([0-9a-f]+) <([^>@]+)@plt>:", r.stdout, re.M):
            names[f"0x{int(m.group(1), 16) + VALGRIND_PIE_BASE:016x}"] = m.group(2)
    return names


def cmd_diff(a):
    d = results_of(a.line_one)
    got = profiled(d)
    if sorted(got.get(a.name, ())) != sorted(CONFIGS):
        have = sorted(n for n, cs in got.items() if len(cs) == len(CONFIGS))
        why = f"only {got[a.name][0]} was profiled" if a.name in got else "no results"
        listed = ", ".join(have) if have else "none (`run` makes them)"
        print(f"frame_instructions.py diff: {a.line_one} {a.name}: {why} "
              f"({a.name}-stock.callgrind and {a.name}-per-code.callgrind in {d}); "
              f"programs with results on line {a.line_one}: {listed}", file=sys.stderr)
        sys.exit(2)
    prof = {}
    for c in CONFIGS:
        path = os.path.join(d, f"{a.name}-{c}.callgrind")
        selfc, arcs, total = parse_callgrind(path)
        plt = plt_names(python_of(LINES[a.line_one]["work"], c), path)
        name = lambda fn: plt.get(fn, base(fn))
        out, calls = {}, {}
        for (caller, callee), (n, ir) in arcs.items():
            if name(caller) != name(callee):
                out[name(caller)] = out.get(name(caller), 0) + ir
                calls[name(callee)] = calls.get(name(callee), 0) + n
        s = {}
        for fn, v in selfc.items():
            s[name(fn)] = s.get(name(fn), 0) + v
        incl = {fn: s.get(fn, 0) + out.get(fn, 0) for fn in set(s) | set(out)}
        prof[c] = (s, incl, total, calls)
    (s0, i0, t0, n0), (s1, i1, t1, n1) = prof["stock"], prof["per-code"]
    print(f"{a.line_one} {a.name}: total stock {t0:,}, patched {t1:,}, difference {t1 - t0:+,}")
    for title, x0, x1 in (("self", s0, s1), ("inclusive (callgrind_annotate's: recursion counted again)", i0, i1)):
        print(f"\ntop {a.top} by |difference|, {title}: patched - stock (stock, patched)"
              + ("; calls, stock and patched, and the patched build's instructions a call" if title == "self" else ""))
        keys = sorted(set(x0) | set(x1), key=lambda k: -abs(x1.get(k, 0) - x0.get(k, 0)))
        for k in keys[:a.top]:
            row = f"  {x1.get(k, 0) - x0.get(k, 0):+12,}  {k}  ({x0.get(k, 0):,}, {x1.get(k, 0):,})"
            if title == "self" and n1.get(k, 0) > 0:
                row += f"  calls {n0.get(k, 0):,}, {n1[k]:,}: {x1.get(k, 0) / n1[k]:.1f} a call"
            print(row)


# What a process holds at the end of `-c`: its resident pages by kind.
STATUS = "import sys; sys.stdout.write(open('/proc/self/status').read())"


def cmd_rss(a):
    """Max RSS of `python -c pass`, each build run from $W/run with address
    randomisation off (`setarch -R`), as the callgrind runs are. With it
    on, where the binary lands moves which 64 KiB windows the kernel maps
    around each touched page of it, and a median of 21 runs moved by 90
    KiB from one set to the next; with it off, every run after the first
    (which warms the page cache) gives the same figure, though another
    page-cache state (what ran before) can give another. Beside it, the
    private (anonymous) and file-backed pages at the end of a `-c` that
    reads them: the first, which does not move, is what the allocator and
    the bigger code objects cost; the second mostly the binary's size."""
    for line in a.line:
        w = LINES[line]["work"]
        env = ["env", "-i"] + [f"{k}={v}" for k, v in base_env(w).items()]
        norand = ["setarch", os.uname().machine, "-R"]
        got, kinds = {}, {}
        for c in CONFIGS:
            point_run_link(w, c)
            python = os.path.join(run_link(w), "python")
            runs = []
            for _ in range(a.runs + 1):   # the first warms the page cache
                with tempfile.NamedTemporaryFile("r") as t:
                    subprocess.run(env + norand + ["/usr/bin/time", "-f", "%M", "-o", t.name, python, "-c", "pass"],
                                   check=True)
                    runs.append(int(t.read().split()[-1]))
            got[c] = runs[1:]
            out = subprocess.run(env + norand + [python, "-c", STATUS], check=True, capture_output=True,
                                 text=True).stdout
            kinds[c] = {k: int(v.split()[0]) for k, v in (l.split(":", 1) for l in out.splitlines())
                        if k in ("RssAnon", "RssFile")}
        ms = {c: statistics.median(v) for c, v in got.items()}
        d = {k: kinds["per-code"][k] - kinds["stock"][k] for k in ("RssAnon", "RssFile")}
        print(f"{line[0]}.{line[1]} `python -c pass` max RSS KiB, ASLR off, median of {a.runs}: stock {ms['stock']:.0f}, "
              f"patched {ms['per-code']:.0f}, difference {ms['per-code'] - ms['stock']:+.0f} "
              f"(stock {sorted(got['stock'])}, patched {sorted(got['per-code'])}); at the end of `-c` reading "
              f"them: anonymous {kinds['stock']['RssAnon']} -> {kinds['per-code']['RssAnon']} ({d['RssAnon']:+d}), "
              f"file-backed {kinds['stock']['RssFile']} -> {kinds['per-code']['RssFile']} ({d['RssFile']:+d})")


def main():
    # `| head` ends the output quietly, as it does a C program's.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for n in ("run", "table", "rss"):
        p = sub.add_parser(n)
        p.add_argument("--line", action="append", choices=sorted(LINES))
        if n == "run":
            p.add_argument("--only", help="program names, comma-separated")
            p.add_argument("--jobs", type=int, default=2)
            p.add_argument("--keep", action="store_true",
                           help="skip runs whose results are newer than their interpreter")
            p.add_argument("--corpus-first", action="store_true", help="the corpus programs first")
        if n == "rss":
            p.add_argument("--runs", type=int, default=7)
    p = sub.add_parser("diff")
    p.add_argument("line_one", choices=sorted(LINES))
    p.add_argument("name")
    p.add_argument("--top", type=int, default=20)
    a = ap.parse_args()
    if getattr(a, "line", None) is None:
        a.line = ["39", "27"]
    {"run": cmd_run, "table": cmd_table, "diff": cmd_diff, "rss": cmd_rss}[a.cmd](a)


if __name__ == "__main__":
    main()

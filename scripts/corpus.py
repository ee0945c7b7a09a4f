#!/usr/bin/env python3
"""The trace corpus: every real CPython trace the project judges its
defaults on, from the manifest traces/corpus.tsv (name, line, shape,
description), each put in the tuning half or the held-out half by a fixed
rule on its name.

    python3 scripts/corpus.py                    # a table of every trace
    python3 scripts/corpus.py --half tuning      # the paths of one half, one a line
    python3 scripts/corpus.py --json             # everything, as JSON
    python3 scripts/corpus.py --summary          # shapes per half
    python3 scripts/corpus.py --markdown         # traces/README.md's table

Shapes: a = thousands of frames of one code live at once (generators,
async generators, asyncio), b = recursion (deep, or re-entries through
many codes), c = compile-heavy (many code
objects made and freed), d = a test suite, e = long mixed or phased
programs, bench = a benchmark (pyperformance or the shared set's workloads).

From Python: `import corpus; corpus.traces(half=None)` -> a list of dicts
{path, name, line, shape, half} (plus description), in manifest order.
Traces in ../shared/traces (beside the repository) are listed when that
directory holds them; `json` is one trace, traces/json.zft.gz, a copy of
the shared one.
"""
import argparse
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = os.path.join(ROOT, "traces", "corpus.tsv")
# The traces kept outside the repository: $ZF_SHARED_TRACES, as tests/traces.rs reads it.
SHARED = os.environ.get("ZF_SHARED_TRACES") or os.path.join(os.path.dirname(ROOT), "shared", "traces")
HALVES = ("tuning", "held-out")


def half_of(name):
    """The rule: tuning if the first byte of sha256(name) is even."""
    return "tuning" if hashlib.sha256(name.encode("utf-8")).digest()[0] % 2 == 0 else "held-out"


def manifest(path=MANIFEST):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        assert header == ["name", "line", "shape", "description"], header
        for n, line in enumerate(f, 2):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 4:
                raise ValueError("%s:%d: %d fields, not 4" % (path, n, len(fields)))
            rows.append(dict(zip(header, fields)))
    return rows


def traces(half=None, shared=SHARED):
    """Every trace present, in manifest order; only one half's if `half`."""
    if half is not None and half not in HALVES:
        raise ValueError("half must be one of %s" % (HALVES,))
    out = []
    for row in manifest():
        name = row["name"]
        for d in (os.path.join(ROOT, "traces"), shared):
            path = os.path.join(d, name + ".zft.gz")
            if os.path.exists(path):
                break
        else:
            continue  # a shared trace, and no shared directory here
        t = {"path": os.path.relpath(path), "name": name, "line": row["line"],
             "shape": row["shape"], "half": half_of(name), "description": row["description"]}
        if half is None or t["half"] == half:
            out.append(t)
    return out


def summary(ts):
    shapes = sorted({t["shape"] for t in ts}, key=lambda s: (len(s) > 1, s))
    lines = ["%-9s %s" % ("half", " ".join("%5s" % s for s in shapes) + "  total")]
    for h in HALVES:
        row = [sum(1 for t in ts if t["half"] == h and t["shape"] == s) for s in shapes]
        lines.append("%-9s %s  %5d" % (h, " ".join("%5d" % c for c in row), sum(row)))
    for line in ("3.9", "2.7"):
        for h in HALVES:
            row = [sum(1 for t in ts if t["half"] == h and t["shape"] == s and t["line"] == line) for s in shapes]
            lines.append("%-9s %s  %5d" % ("%s %s" % (line, h[:4]), " ".join("%5d" % c for c in row), sum(row)))
    return "\n".join(lines)


def facts(t):
    """Events, codes, peak live frames and legacy's counts of a trace, from
    its NAME.live.json (recorded by the live pool) or NAME.json (CPython's
    own counts, the shared set's format)."""
    stem = t["path"][: -len(".zft.gz")]
    if os.path.exists(stem + ".live.json"):
        with open(stem + ".live.json") as f:
            j = json.load(f)
        c = j["live_pool_at_exit"]
        return {"events": j["events"], "codes": j["codes"], "peak_live_frames": c["peak_live_frames"],
                "acquisitions": c["acquisitions"], "zombie_hits": c["zombie_hits"], "shared_hits": c["shared_hits"],
                "reallocs": c["reallocs"], "fresh_allocs": c["fresh_allocs"], "frees": c["frees"]}
    with open(stem + ".json") as f:
        j = json.load(f)
    def get(*keys):
        for k in keys:
            if k in j:
                return j[k]
        return None
    return {"events": get("events", "total_events"), "codes": get("codes", "distinct_code_objects_ran"),
            "peak_live_frames": get("peak_live_frames"), "acquisitions": get("acquisitions"),
            "zombie_hits": get("zombie_hits"), "shared_hits": get("freelist_hits_no_resize"),
            "reallocs": get("freelist_hits_realloc"), "fresh_allocs": get("fresh_allocations"),
            "frees": get("frees_to_system_total")}


def markdown(ts):
    cols = ["events", "codes", "peak_live_frames", "acquisitions", "zombie_hits", "shared_hits",
            "reallocs", "fresh_allocs", "frees"]
    out = ["| trace | line | shape | half | program | events | codes | peak live | KiB | acquisitions "
           "| zombie hits | shared hits | reallocs | fresh | frees |",
           "|---|---|---|---|---|" + "---:|" * 10]
    for t in ts:
        f = facts(t)
        kib = os.path.getsize(t["path"]) // 1024
        nums = ["{:,}".format(f[c]) if isinstance(f[c], int) else "?" for c in cols]
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            t["name"], t["line"], t["shape"], t["half"], t["description"],
            " | ".join(nums[:3] + ["{:,}".format(kib)] + nums[3:])))
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--half", choices=HALVES, help="only this half; prints its paths, one a line")
    p.add_argument("--line", choices=("3.9", "2.7"), help="only this CPython line")
    p.add_argument("--shape", help="only this shape (a, b, c, d, e, bench)")
    p.add_argument("--json", action="store_true", help="print every field as JSON")
    p.add_argument("--summary", action="store_true", help="count the shapes in each half")
    p.add_argument("--markdown", action="store_true",
                   help="a table of the traces' facts and legacy's counts (traces/README.md's)")
    a = p.parse_args(argv)
    ts = [t for t in traces(a.half) if (a.line is None or t["line"] == a.line)
          and (a.shape is None or t["shape"] == a.shape)]
    if a.json:
        json.dump(ts, sys.stdout, indent=1)
        print()
    elif a.summary:
        print(summary(ts))
    elif a.markdown:
        print(markdown(ts))
    elif a.half or a.line or a.shape:
        for t in ts:
            print(t["path"])
    else:
        for t in ts:
            print("%-28s %-4s %-6s %-9s %s" % (t["name"], t["line"], t["shape"], t["half"], t["path"]))


if __name__ == "__main__":
    main()

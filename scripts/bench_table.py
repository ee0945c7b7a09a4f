#!/usr/bin/env python3
"""Prints BENCHMARKS.md's trace tables: every trace of the corpus
(scripts/corpus.py) under the per-code defaults against legacy (CPython's
scheme, to the unit), the tuning half first, then the held-out half, with
the lockstep count (acquires at which per-code asked the system for a
block and legacy did not) and the causes of those.

    cargo build --release -p zf-replay
    python3 scripts/bench_table.py            # every trace of the corpus
    python3 scripts/bench_table.py --half tuning

Defaults are chosen on the tuning half only; the held-out half says
whether they generalise.
"""
import argparse
import json
import os
import statistics
import subprocess

import corpus
from trace_findings import misses as targets_missed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "target", "release", "zf-replay")
CAUSES = ["cold", "no_reserve_frame", "bound", "limit", "aged", "unexplained"]


def replay(paths, prefix=False):
    """zf-replay's reports; `prefix`: per-code as the kits run it, its
    blocks without headers (`--prefix`), for the column against CPython's
    own bytes."""
    cmd = [TOOL, "--json", "--policy", "per-code,legacy,oracle"] + (["--prefix"] if prefix else []) + paths
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["traces"]


def causes(counts):
    """The nonzero causes, largest first: 'limit 6,199, bound 1,550'."""
    named = sorted(((counts[c], c) for c in CAUSES if counts[c]), reverse=True)
    return ", ".join(f"{c.replace('_', ' ')} {n:,}" for n, c in named) or "-"


def table(ts, reports, prefixed):
    print("| trace | line | shape | system allocs: per-code / legacy | vs legacy | warm hits: per-code / legacy "
          "| peak vs legacy | peak vs CPython's bytes | per-code alone allocates | why | targets missed |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    rows = []
    for t, r, kits in zip(ts, reports, prefixed):
        c = {x["policy"]: x for x in r["contenders"]}
        p, leg, lock = c["per-code"], c["legacy"], r["lockstep"]
        vs_cpython = kits["lockstep"]["per_code_peak_vs_cpython"]
        missed = targets_missed(p, leg, c["oracle"])
        # Legacy already has every warm hit possible: a tie is the best.
        ceiling = " (all the oracle's)" if leg["zombie_hits"] == c["oracle"]["zombie_hits"] else ""
        ra = p["system_allocs"] / max(leg["system_allocs"], 1)
        rp = p["peak_cached_bytes"] / max(leg["peak_cached_bytes"], 1)
        rows.append((ra, rp, vs_cpython, missed, lock["per_code_only"],
                     lock["per_code_peak_held_vs_legacy"]))
        print(f"| {t['name']} | {t['line']} | {t['shape']} | {p['system_allocs']:,} / {leg['system_allocs']:,} "
              f"| {ra:.3f}x | {p['zombie_hit_percent']:.2f}% / {leg['zombie_hit_percent']:.2f}%{ceiling} | {rp:.3f}x "
              f"| {vs_cpython:.3f}x | {lock['per_code_only']:,} "
              f"| {causes(lock['per_code_only_causes'])} | {', '.join(missed) or '-'} |")
    return rows


def summary(name, rows):
    met = sum(not r[3] for r in rows)
    med = lambda i: statistics.median(r[i] for r in rows)  # noqa: E731
    top = lambda i: max(r[i] for r in rows)  # noqa: E731
    missed = {}
    for r in rows:
        for m in r[3]:
            missed[m] = missed.get(m, 0) + 1
    by_target = ", ".join(f"{m} on {n}" for m, n in sorted(missed.items())) or "none"
    print(f"\n{name}: all targets met on {met} of {len(rows)} traces (missed: {by_target}). "
          f"System allocations vs legacy: median {med(0):.3f}x, at most {top(0):.3f}x; "
          f"peak: median {med(1):.3f}x, at most {top(1):.3f}x; peak vs CPython's own bytes: median {med(2):.3f}x, "
          f"at most {top(2):.3f}x; peak of bytes actually held (without the allowances' free room) vs legacy: "
          f"median {med(5):.3f}x, at most {top(5):.3f}x, over 1.000x on {sum(r[5] > 1 for r in rows)}; "
          f"traces with no acquire where per-code alone allocates: {sum(r[4] == 0 for r in rows)}.\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--half", choices=corpus.HALVES)
    args = ap.parse_args()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"Commit {commit}. `python3 scripts/bench_table.py` regenerates these tables.\n")
    for half in [args.half] if args.half else corpus.HALVES:
        ts = corpus.traces(half)
        print(f"### The {half} half ({len(ts)} traces)\n")
        paths = [t["path"] for t in ts]
        rows = table(ts, replay(paths), replay(paths, prefix=True))
        summary(f"The {half} half", rows)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Prints BENCHMARKS.md's trace tables: every trace under legacy, the
per-code defaults and the oracle, the four targets, and the tuning table
(candidate configurations of the per-code policy).

    cargo build --release -p zf-replay
    python3 scripts/trace_tables.py [TRACE_DIR]     # default ../shared/traces

CPython's own figures (peak cached bytes, system allocations) come from the
trace directory's *.json, counted inside the real interpreter.
"""
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "target", "release", "zf-replay")

# (label, --set) for the tuning table; the last is the default.
CANDIDATES = [
    ("0.1 defaults: 32 per code, 512K, no reserve, sweep at every collection",
     "per_code_max=32,budget_bytes=512K,reserve_max=0,sweep_generation=0"),
    ("same, sweeps at generation >= 1 only", "per_code_max=32,budget_bytes=512K,reserve_max=0,sweep_generation=1"),
    ("same, plus a reserve of 200", "per_code_max=32,budget_bytes=512K,reserve_max=200,sweep_generation=1"),
    ("reserve, budget 128K, 32 per code", "per_code_max=32,budget_bytes=128K,reserve_max=200,sweep_generation=1"),
    ("reserve, budget 64K, 128 per code", "per_code_max=128,budget_bytes=64K,reserve_max=200,sweep_generation=1"),
    ("reserve, budget 256K, 128 per code", "per_code_max=128,budget_bytes=256K,reserve_max=200,sweep_generation=1"),
    ("defaults: reserve 200, budget 128K, 128 per code, sweeps at generation >= 1", ""),
]


def replay(traces, policies, settings=""):
    cmd = [TOOL, "--json", "--policy", policies] + (["--set", settings] if settings else []) + traces
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {os.path.basename(t["trace"]).split(".")[0]: t for t in json.loads(out)["traces"]}


def row(trace, policy):
    return next(c for c in trace["contenders"] if c["policy"] == policy)


def main():
    tdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "traces")
    traces = sorted(glob.glob(os.path.join(tdir, "*.zft.gz")))
    cpython = {}
    for t in traces:
        name = os.path.basename(t).split(".")[0]
        with open(t.replace(".zft.gz", ".json")) as f:
            c = json.load(f)
        cpython[name] = {
            "warm": 100.0 * c["zombie_hits"] / c["acquisitions"],
            "sys": c["fresh_allocations"] + c["freelist_hits_realloc"],
            "peak": c["peak_cached_bytes"],
        }
    res = replay(traces, "per-code,legacy,oracle,malloc")

    print("| trace | policy | warm hits | shared hits | fresh | reallocs | system allocs | frees | peak cached | final cached |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, t in res.items():
        for p in ("legacy", "per-code", "oracle", "malloc"):
            r = row(t, p)
            print(f"| {name} | {p} | {r['zombie_hit_percent']:.2f}% | {r['shared_hits']:,} | {r['fresh_allocs']:,} | "
                  f"{r['reallocs']:,} | {r['system_allocs']:,} | {r['frees']:,} | {r['peak_cached_bytes']:,} | "
                  f"{r['final_cached_bytes']:,} |")

    print()
    print("| trace | warm hits, per-code / CPython | system allocs, per-code / CPython | peak cached bytes, per-code / CPython | reallocs |")
    print("|---|---:|---:|---:|---:|")
    for name, t in res.items():
        r, c = row(t, "per-code"), cpython[name]
        print(f"| {name} | {r['zombie_hit_percent']:.2f}% / {c['warm']:.2f}% | {r['system_allocs']:,} / {c['sys']:,} "
              f"({r['system_allocs'] / c['sys']:.3f}x) | {r['peak_cached_bytes']:,} / {c['peak']:,} "
              f"({r['peak_cached_bytes'] / c['peak']:.3f}x) | {r['reallocs']} |")

    print()
    names = list(res)
    print("| per-code configuration | " + " | ".join(names) + " | worst allocs vs CPython | worst peak vs CPython | lowest warm hits |")
    print("|---|" + "---:|" * (len(names) + 3))
    for label, settings in CANDIDATES:
        got = replay(traces, "per-code", settings)
        cells, worst_sys, worst_peak, low_warm = [], 0.0, 0.0, 100.0
        for name in names:
            r, c = row(got[name], "per-code"), cpython[name]
            worst_sys = max(worst_sys, r["system_allocs"] / c["sys"])
            worst_peak = max(worst_peak, r["peak_cached_bytes"] / c["peak"])
            low_warm = min(low_warm, r["zombie_hit_percent"])
            cells.append(f"{r['system_allocs']:,}")
        print(f"| {label} | " + " | ".join(cells) + f" | {worst_sys:.3f}x | {worst_peak:.3f}x | {low_warm:.2f}% |")


if __name__ == "__main__":
    main()

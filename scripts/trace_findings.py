#!/usr/bin/env python3
"""Prints docs/trace-findings.md's tables: every trace under legacy, the
per-code defaults and the oracle; where the defaults lose to legacy; then
per-code variations (--set) against legacy on every trace.

    cargo build --release -p zf-replay
    python3 scripts/trace_findings.py [TRACE ...]   # default: the five seed traces, when a
                                                    # shared/traces directory beside the clone
                                                    # holds them, and traces/*.zft.gz but the sample

A variation "dominates" legacy on a trace when it has no realloc, more warm
(zombie) hits (or as many, where legacy already has every hit the oracle
has: no policy can have more), no more system allocations (fresh +
reallocs) and a peak of cached bytes no higher, all from the same replay of
the same trace.
"""
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "target", "release", "zf-replay")

# (label, --set) of the per-code variations tried; "" is the defaults.
VARIATIONS = [
    ("defaults (auto bound, 64 per code, reserve 200, no sweep at collections)", ""),
    ("0.3 defaults (128 per code, reserve 200, 128K, sweeps from generation 1)",
     "per_code_max=128,budget_bytes=128K,sweep_generation=1"),
    ("per_code_max 1, reserve 200, 128K (CPython-like lists)", "per_code_max=1"),
    ("per_code_max 64", "per_code_max=64"),
    ("per_code_max 64, 139K (--advise on all but deep_recursion and regrtest)", "per_code_max=64,budget_bytes=139K"),
    ("budget 192K", "budget_bytes=192K"),
    ("budget 256K", "budget_bytes=256K"),
    ("budget 350K", "budget_bytes=350K"),
    ("reserve 300", "reserve_max=300"),
    ("reserve 400, budget 192K", "reserve_max=400,budget_bytes=192K"),
    ("per_code_max 16, reserve 300, 150K", "per_code_max=16,reserve_max=300,budget_bytes=150K"),
    ("per_code_max 16, reserve 300, 192K", "per_code_max=16,reserve_max=300,budget_bytes=192K"),
    ("per_code_max 32, reserve 300, 256K", "per_code_max=32,reserve_max=300,budget_bytes=256K"),
    ("per_code_max 16, reserve 400, 256K", "per_code_max=16,reserve_max=400,budget_bytes=256K"),
    ("no sweep at collections (sweep_generation 3)", "sweep_generation=3"),
    ("no sweep at collections, 256K", "sweep_generation=3,budget_bytes=256K"),
    ("no sweep at collections, 350K", "sweep_generation=3,budget_bytes=350K"),
    ("no sweep at collections, per_code_max 16, reserve 300, 256K",
     "sweep_generation=3,per_code_max=16,reserve_max=300,budget_bytes=256K"),
]


def traces_default():
    shared = sorted(glob.glob(os.path.join(ROOT, "..", "shared", "traces", "*.zft.gz")))
    ours = sorted(t for t in glob.glob(os.path.join(ROOT, "traces", "*.zft.gz")) if not t.endswith("/json.zft.gz"))
    return shared + ours


def name(path):
    return os.path.basename(path).split(".")[0]


def replay(traces, policies, settings=""):
    cmd = [TOOL, "--json", "--policy", policies] + (["--set", settings] if settings else []) + traces
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [{c["policy"]: c for c in t["contenders"]} | {"_trace": t} for t in json.loads(out)["traces"]]


def misses(p, legacy, oracle):
    """The targets `p` misses against legacy. Warm hits: more than legacy's,
    or, where legacy already has every hit the oracle has, as many."""
    out = []
    if p["reallocs"]:
        out.append("reallocs")
    if p["zombie_hits"] <= legacy["zombie_hits"] and p["zombie_hits"] < oracle["zombie_hits"]:
        out.append("warm hits")
    if p["system_allocs"] > legacy["system_allocs"]:
        out.append("system allocs")
    if p["peak_cached_bytes"] > legacy["peak_cached_bytes"]:
        out.append("peak")
    return out


def main():
    traces = sys.argv[1:] or traces_default()
    names = [name(t) for t in traces]
    base = replay(traces, "legacy,per-code,oracle")

    print("| trace | codes | peak live | warm hits: legacy / per-code / oracle | system allocs: legacy / per-code / oracle "
          "| peak cached KiB: legacy / per-code / oracle | per-code misses |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for n, r in zip(names, base):
        t, l, p, o = r["_trace"], r["legacy"], r["per-code"], r["oracle"]
        warm = " / ".join(f"{x['zombie_hit_percent']:.2f}%" for x in (l, p, o))
        sys_ = " / ".join(f"{x['system_allocs']:,}" for x in (l, p, o))
        peak = " / ".join(f"{x['peak_cached_bytes'] / 1024:,.1f}" for x in (l, p, o))
        m = misses(p, l, o)
        ratio = p["system_allocs"] / max(l["system_allocs"], 1)
        verdict = ", ".join(m) if m else "none"
        if "system allocs" in m:
            verdict += f" ({ratio:.2f}x)"
        print(f"| {n} | {t['codes']:,} | {t['peak_live_frames']:,} | {warm} | {sys_} | {peak} | {verdict} |")

    print()
    print("| per-code variation (--set) | dominates legacy on | worst system allocs vs legacy | worst peak vs legacy "
          "| lowest warm hits | traces it loses (target missed) |")
    print("|---|---:|---:|---:|---:|---|")
    legacy = [r["legacy"] for r in base]
    oracle = [r["oracle"] for r in base]
    for label, settings in VARIATIONS:
        got = replay(traces, "per-code", settings)
        wins, worst_sys, worst_peak, low_warm, losers = 0, 0.0, 0.0, 100.0, []
        for n, r, l, o in zip(names, got, legacy, oracle):
            p = r["per-code"]
            m = misses(p, l, o)
            wins += not m
            worst_sys = max(worst_sys, p["system_allocs"] / max(l["system_allocs"], 1))
            worst_peak = max(worst_peak, p["peak_cached_bytes"] / max(l["peak_cached_bytes"], 1))
            low_warm = min(low_warm, p["zombie_hit_percent"])
            if m:
                losers.append(f"{n} ({', '.join(m)})")
        shown = f"`{settings}`" if settings else "(none)"
        print(f"| {label}: {shown} | {wins} of {len(names)} | {worst_sys:.2f}x | {worst_peak:.2f}x | {low_warm:.2f}% "
              f"| {'; '.join(losers) or '-'} |")


if __name__ == "__main__":
    main()

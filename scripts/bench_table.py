#!/usr/bin/env python3
"""Prints BENCHMARKS.md's trace table: every trace under legacy (CPython
3.9's scheme), the per-code defaults and the oracle, with warm hits, system
allocations and peak cached bytes, then the targets per trace.

    cargo build --release -p zf-replay
    python3 scripts/bench_table.py            # ../shared/traces/*.zft.gz, then traces/*.zft.gz but the sample
"""
import glob
import json
import os
import subprocess

# The four targets of issue 12, checked one way in both scripts.
from trace_findings import misses as targets_missed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "target", "release", "zf-replay")


def traces():
    shared = sorted(glob.glob(os.path.join(ROOT, "..", "shared", "traces", "*.zft.gz")))
    ours = sorted(t for t in glob.glob(os.path.join(ROOT, "traces", "*.zft.gz")) if not t.endswith("/json.zft.gz"))
    return shared + ours


def main():
    cmd = [TOOL, "--json", "--policy", "legacy,per-code,oracle"] + traces()
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"Commit {commit}. `python3 scripts/bench_table.py` regenerates this table.\n")
    print("| trace | policy | warm hits | system allocs | vs legacy | peak cached | vs legacy | reallocs | targets |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    met = 0
    for t in out["traces"]:
        name = os.path.basename(t["trace"]).split(".")[0]
        c = {r["policy"]: r for r in t["contenders"]}
        leg = c["legacy"]
        for policy in ["legacy", "per-code", "oracle"]:
            r = c[policy]
            misses = []
            if policy == "per-code":
                misses = targets_missed(r, leg)
                met += not misses
            verdict = "" if policy != "per-code" else ("all met" if not misses else "missed: " + ", ".join(misses))
            ra = r["system_allocs"] / max(leg["system_allocs"], 1)
            rp = r["peak_cached_bytes"] / max(leg["peak_cached_bytes"], 1)
            print(f"| {name} | {policy} | {r['zombie_hit_percent']:.2f}% | {r['system_allocs']:,} | {ra:.3f}x | "
                  f"{r['peak_cached_bytes']:,} | {rp:.3f}x | {r['reallocs']:,} | {verdict} |")
    print(f"\nThe per-code defaults meet all four targets on {met} of {len(out['traces'])} traces.")


if __name__ == "__main__":
    main()

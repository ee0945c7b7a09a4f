"""Tables for BENCHMARKS.md from a kit's results (run with pyperf importable),
by the kit's stock interpreter: 3.9, or 2.7 with pyperf 1.7.

    python summary.py RESULTS_DIR NAME...
"""
from __future__ import print_function

import math
import os
import re
import sys

import pyperf

CONFIGS = ("stock", "per-code", "legacy")


def timings(results, name, config):
    """{benchmark: (mean, stdev, n)} of one script under one configuration."""
    path = os.path.join(results, "time", "%s-%s.json" % (config, name))
    if not os.path.exists(path):
        return {}
    out = {}
    for bench in pyperf.BenchmarkSuite.load(path).get_benchmarks():
        values = bench.get_values()
        sd = bench.stdev() if len(values) > 1 else 0.0
        out[bench.get_name()] = (bench.mean(), sd, len(values))
    return out


def ratio(a, b):
    """b / a, and its spread from both relative standard deviations."""
    (ma, sa, _), (mb, sb, _) = a, b
    r = mb / ma
    return r, r * math.hypot(sa / ma, sb / mb)


def read_once(results, name, config):
    """Instructions, peak RSS and the pool counters of the single run."""
    base = os.path.join(results, "once", "%s-%s" % (config, name))
    info = {}
    try:
        info["ir"] = int(open(base + ".ir").read().split()[0].replace(",", ""))
    except (OSError, IndexError, ValueError):
        pass
    try:
        text = open(base + ".txt").read()
    except OSError:
        return info
    m = re.search(r"maxrss_kib (\d+)", text)
    if m:
        info["rss"] = int(m.group(1))
    num = lambda s: int(s.replace(",", ""))
    m = re.search(r"acquires +([\d,]+) +zombie hits ([\d,]+) \(([\d.]+)%\), shared ([\d,]+), "
                  r"reallocs ([\d,]+), fresh ([\d,]+)", text)
    if m:
        info.update(acquires=num(m.group(1)), hits=num(m.group(2)), hit_pct=float(m.group(3)),
                    shared=num(m.group(4)), reallocs=num(m.group(5)), fresh=num(m.group(6)))
    m = re.search(r"peak ([\d.]+ [KMG]?i?B)", text)
    if m:
        info["peak_cached"] = m.group(1)
    return info


def main():
    results, names = sys.argv[1], sys.argv[2:]
    print("### Time (pyperf), ratio to stock, mean +/- spread\n")
    print("| benchmark | stock | per-code / stock | legacy / stock | values per config |")
    print("|---|---|---|---|---|")
    for name in names:
        t = {c: timings(results, name, c) for c in CONFIGS}
        for bench in sorted(t["stock"]):
            row = [bench, "%.1f ms +/- %.1f" % (t["stock"][bench][0] * 1e3, t["stock"][bench][1] * 1e3)]
            for c in CONFIGS[1:]:
                if bench in t[c]:
                    r, s = ratio(t["stock"][bench], t[c][bench])
                    row.append("%.3f +/- %.3f" % (r, s))
                else:
                    row.append("-")
            row.append(str(min(v[bench][2] for v in t.values() if bench in v)))
            print("| " + " | ".join(row) + " |")

    print("\n### One run each: instructions (callgrind), peak RSS, frame allocations\n")
    print("| benchmark | Ir stock | Ir per-code / stock | Ir legacy / stock "
          "| max RSS KiB stock / per-code / legacy "
          "| fresh + reallocs per-code | fresh + reallocs legacy (= CPython) | zombie hits per-code / legacy "
          "| peak cached per-code / legacy |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        o = {c: read_once(results, name, c) for c in CONFIGS}
        ir = lambda c: ("%.3f" % (o[c]["ir"] / float(o["stock"]["ir"]))) if "ir" in o[c] and "ir" in o["stock"] else "-"
        rss = " / ".join(str(o[c].get("rss", "-")) for c in CONFIGS)
        allocs = lambda c: ("%d + %d" % (o[c]["fresh"], o[c]["reallocs"])) if "fresh" in o[c] else "-"
        hits = " / ".join(("%.1f%%" % o[c]["hit_pct"]) if "hit_pct" in o[c] else "-" for c in CONFIGS[1:])
        peak = " / ".join(o[c].get("peak_cached", "-") for c in CONFIGS[1:])
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, "{:,}".format(o["stock"]["ir"]) if "ir" in o["stock"] else "-", ir("per-code"), ir("legacy"),
            rss, allocs("per-code"), allocs("legacy"), hits, peak))


if __name__ == "__main__":
    main()

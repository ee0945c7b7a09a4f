"""Checks that zf-replay's counts equal the live pool's report at exit
(the trace stage of the CPython kits). Runs on 2.7 and 3.x.

    python replay_check.py LIVE_REPORT REPLAY_OUTPUT

Prints one line, the counts compared; exits 1 when any differs.
"""
from __future__ import print_function

import re
import sys

FIELDS = ("acquisitions", "zombie hits", "shared hits", "fresh", "reallocs", "frees")


def live_counts(text):
    text = text.replace(",", "")
    num = lambda pat: re.search(pat, text).group(1)
    return dict(zip(FIELDS, (num(r"acquires +(\d+)"), num(r"zombie hits \d+ \(([\d.]+)%\)"),
                             num(r"shared (\d+)"), num(r"fresh (\d+)"),
                             num(r"reallocs (\d+)"), num(r"frees +(\d+)"))))


def replay_counts(text):
    # The last row of zf-replay's table: policy, acquisitions, zombie hits
    # (a percentage), shared hits, fresh, reallocs, system allocs, frees...
    row = text.replace(",", "").strip().splitlines()[-1].split()
    return dict(zip(FIELDS, (row[1], row[2].rstrip("%"), row[3], row[4], row[5], row[7])))


def main():
    live = live_counts(open(sys.argv[1]).read())
    replay = replay_counts(open(sys.argv[2]).read())
    same = live == replay
    print("  replay %s live: %s" % ("==" if same else "!=", ", ".join(
        "%s %s%s" % (f, live[f], "" if live[f] == replay[f] else " (replay %s)" % replay[f])
        for f in FIELDS)))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()

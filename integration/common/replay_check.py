"""Checks that zf-replay's counts equal the live pool's report at exit
(the trace stage of the CPython kits). Runs on 2.7 and 3.x.

    python replay_check.py LIVE_REPORT REPLAY_OUTPUT [REPLAY_STATUS]

REPLAY_OUTPUT is what `zf-replay --policy P TRACE` printed (its errors
too), REPLAY_STATUS its exit status (0 if not given). Prints one line,
the counts compared; exits 1 when any differs, and when zf-replay failed
or printed no table of one row: then it prints what zf-replay said.
"""
from __future__ import print_function

import re
import sys

FIELDS = ("acquisitions", "zombie hits", "shared hits", "fresh", "reallocs", "frees")
POLICIES = ("per-code", "legacy", "malloc", "oracle")
# A row of zf-replay's table, commas taken out: policy, acquisitions,
# zombie hits (a percentage), shared hits, fresh, reallocs, system allocs,
# frees, then columns this check does not read.
ROW = re.compile(r"^(%s) +(\d+) +([\d.]+)%% +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) " % "|".join(POLICIES))


def live_counts(text):
    text = text.replace(",", "")
    found = [re.search(pat, text) for pat in (
        r"acquires +(\d+)", r"zombie hits \d+ \(([\d.]+)%\)", r"shared (\d+)", r"fresh (\d+)",
        r"reallocs (\d+)", r"frees +(\d+)")]
    if None in found:
        return None
    return dict(zip(FIELDS, (m.group(1) for m in found)))


def replay_counts(text):
    """The counts of the one row of zf-replay's table, or None when
    `text` holds no such table (an error, say)."""
    lines = text.replace(",", "").splitlines()
    heads = [i for i, l in enumerate(lines) if l.split()[:2] == ["policy", "acquisitions"]]
    if len(heads) != 1:
        return None
    rows = []
    for line in lines[heads[0] + 1:]:
        if not line.strip():
            break
        rows.append(ROW.match(line))
    if len(rows) != 1 or rows[0] is None:
        return None
    row = rows[0].groups()
    return dict(zip(FIELDS, (row[1], row[2], row[3], row[4], row[5], row[7])))


def fail(what, text):
    print("  %s:" % what)
    for line in text.strip().splitlines() or ["(nothing)"]:
        print("    " + line)
    sys.exit(1)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip())
    live_text, replay_text = open(sys.argv[1]).read(), open(sys.argv[2]).read()
    status = int(sys.argv[3]) if len(sys.argv) == 4 else 0
    if status != 0:
        fail("zf-replay failed (exit %d), it said" % status, replay_text)
    replay = replay_counts(replay_text)
    if replay is None:
        fail("no zf-replay table of one row in %s, which holds" % sys.argv[2], replay_text)
    live = live_counts(live_text)
    if live is None:
        fail("no pool report at exit in %s, which holds" % sys.argv[1], live_text[-2000:])
    same = live == replay
    print("  replay %s live: %s" % ("==" if same else "!=", ", ".join(
        "%s %s%s" % (f, live[f], "" if live[f] == replay[f] else " (replay %s)" % replay[f])
        for f in FIELDS)))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()

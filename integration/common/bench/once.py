"""Runs a pyperf benchmark script once, in this process (pyperf's worker
mode), then reports peak RSS and the frame pool's report on stderr.

    python once.py SCRIPT [script args] --worker --loops N ...
"""
import atexit
import os
import resource
import runpy
import sys


def report():
    sys.stderr.write("maxrss_kib %d\n" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    sys.stderr.flush()
    # Patched builds end it with the pool's report; stock 2.7 has none.
    stats = getattr(sys, "_debugmallocstats", None)
    if stats is not None:
        stats()


atexit.register(report)
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(script))   # as `python SCRIPT` would
runpy.run_path(script, run_name="__main__")

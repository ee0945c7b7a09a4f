# A main loop calling 300 functions in turn, 200 rounds, none recursing
# (CPython 3.9 and 2.7): CPython keeps one zombie per function, so every
# call after the first round hits. The shape a bound holding fewer
# zombies than codes turns into a miss at every call (BENCHMARKS.md,
# "Why the defaults"). python wl_flat_calls.py [functions] [rounds]
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
# Functions of several frame sizes (their locals and stack differ).
src = "\n".join(
    "def f%d(a, b, c):\n    x%d = a + b\n    y = [x%d, c] * %d\n    return len(y)\n" % (i, i, i, 1 + i % 7)
    for i in range(n)
)
ns = {}
exec(src, ns)
fs = [ns["f%d" % i] for i in range(n)]


def main():
    t = 0
    for r in range(rounds):
        for f in fs:
            t += f(r, 1, 2)
    return t


print(main())

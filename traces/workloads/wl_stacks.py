"""Stacks through many functions, none recursing (2.7 or 3.x): SIZE
functions of 0 to 39 locals, each calling the next of a fixed walk with
one level less, on stacks up to 59 deep, and at every third level a
leaf call of the function after its own; 20 rounds of 2,000 stacks, a
collection after each (generation 2 every third). The Python form of
traces/workloads/code_stacks.c; not a corpus trace. README.md names it
where the automatic bound does worst against CPython's scheme.

    ZF_TRACE=/tmp/stacks.zft python wl_stacks.py [SIZE]     # SIZE: 300
    cargo run --release -p zf-replay -- --prefix /tmp/stacks.zft
"""
import gc
import sys

FUNCTION = """def f%(i)d(d):
%(locals)s    if d > 0:
        F[(%(i)d * 7 + d) %% %(n)d](d - 1)
        if d %% 3 == 0:
            F[(%(i)d + 1) %% %(n)d](0)
    return d
"""


def functions(n):
    source = "\n".join(
        FUNCTION % {"i": i, "n": n, "locals": "".join("    v%d = %d\n" % (k, k) for k in range((i * 13) % 40))}
        for i in range(n))
    space = {}
    exec(source, space)
    space["F"] = [space["f%d" % i] for i in range(n)]
    return space["F"]


def main(n):
    f = functions(n)
    for rnd in range(20):
        for k in range(2000):
            f[k % n]((k * 31) % 60)
        gc.collect(rnd % 3)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)

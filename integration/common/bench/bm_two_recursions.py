"""Two recursions interleaved: at each step one recursion of a small code
and one of a code with a large frame (many locals). Under CPython 3.9's
shared free list the two take each other's frames (and resize them); with
per-code lists each keeps its own."""
import pyperf


def small(n):
    return 0 if n == 0 else 1 + small(n - 1)


def big(n):
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = n
    b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = b8 = b9 = n
    if n == 0:
        return a0 + b9
    return big(n - 1) + a1 - b1


def run(rounds):
    total = 0
    for i in range(rounds):
        total += small(20 + i % 7)
        total += big(15 + i % 5)
    return total


if __name__ == "__main__":
    pyperf.Runner().bench_func("two_recursions", run, 2000)

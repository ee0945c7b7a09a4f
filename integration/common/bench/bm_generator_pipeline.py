"""A generator pipeline: source -> filter -> map -> window -> sum, each
stage a generator whose frame lives as long as the pipeline, plus a short
generator per item."""
import pyperf


def source(n):
    for i in range(n):
        yield i


def evens(items):
    for x in items:
        if x % 2 == 0:
            yield x


def squares(items):
    for x in items:
        yield x * x


def digits(x):
    while x:
        yield x % 10
        x //= 10


def windows(items, size):
    window = []
    for x in items:
        window.append(sum(digits(x)))
        if len(window) == size:
            yield tuple(window)
            del window[:]   # (list.clear() is 3.3+; this runs on 2.7 too)


def run(n):
    return sum(max(w) for w in windows(squares(evens(source(n))), 4))


if __name__ == "__main__":
    pyperf.Runner().bench_func("generator_pipeline", run, 20000)

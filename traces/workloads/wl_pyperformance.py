"""Runs one of pyperformance's benchmarks once, in this process, at a
smaller size than its pyperf run, so that its trace stays small. The
benchmark's own module (pyperformance's data-files/benchmarks/bm_NAME/
run_benchmark.py) is imported, not copied; only its size constants change.

    python wl_pyperformance.py BENCHMARKS_DIR NAME SIZE

NAME and SIZE:
    go SIZE           versus_cpu() with GAMES = SIZE (pyperformance: 200)
    richards SIZE     Richards().run(1) with the idle task counting down from
                      SIZE (pyperformance: 10000)
    generators SIZE   one walk of tree(range(SIZE)) (pyperformance: 100000)
    async_tree SIZE   the "io" variant, SIZE levels of SIZE branches
                      (pyperformance: 6 and 6)
"""
import asyncio
import importlib.util
import os
import sys


def load(bench_dir, name):
    path = os.path.join(bench_dir, "bm_" + name, "run_benchmark.py")
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location("bm_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    bench_dir, name, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    m = load(bench_dir, name)
    if name == "go":
        m.GAMES = size
        m.versus_cpu()
    elif name == "richards":
        plain_init = m.IdleTaskRec.__init__

        def shorter(self):
            plain_init(self)
            self.count = size

        m.IdleTaskRec.__init__ = shorter
        m.Richards().run(1)
    elif name == "generators":
        n = 0
        for _ in m.tree(range(size)):
            n += 1
        assert n == size
    elif name == "async_tree":
        m.NUM_RECURSE_LEVELS = size
        m.NUM_RECURSE_BRANCHES = size
        asyncio.run(m.IOAsyncTree().run())
    else:
        sys.exit("unknown benchmark " + name)
    print(name, size, "done")


if __name__ == "__main__":
    main()

"""Runs a package's own test suite in this interpreter (2.7 or 3.x), with
no test framework beyond the stdlib's unittest: TestCase classes and
module-level `test_*` functions that take no argument (pytest's plain
style), in a fixed order. Failures and errors are counted, not fatal: the
trace is of the work, and some tests expect a newer or older interpreter.

    python wl_tests.py [-p PATH]... [-x NAME]... [-n COUNT] MODULE_OR_DIR...

-p puts PATH first on sys.path (repeatable); a DIR argument runs every
test*.py module found under it (sorted; it must be importable from a -p
path); -x skips tests whose id contains NAME; -n runs only the first COUNT
tests, in the loader's order (modules as given, classes and methods sorted).
"""
from __future__ import print_function

import inspect
import os
import sys
import unittest


def modules_under(directory, root):
    found = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        for f in sorted(filenames):
            if f.startswith("test") and f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, f[:-3]), root)
                found.append(rel.replace(os.sep, "."))
    return found


def function_tests(module):
    tests = []
    for name, obj in sorted(vars(module).items()):
        if name.startswith("test") and inspect.isfunction(obj) and obj.__module__ == module.__name__:
            try:
                spec = inspect.getargspec(obj) if sys.version_info[0] == 2 else inspect.getfullargspec(obj)
            except (TypeError, ValueError):
                continue
            if not spec.args:
                tests.append(unittest.FunctionTestCase(obj))
    return tests


def main(argv):
    paths, skips, targets = [], [], []
    limit = None
    i = 0
    while i < len(argv):
        if argv[i] in ("-p", "-x"):
            (paths if argv[i] == "-p" else skips).append(argv[i + 1])
            i += 2
        elif argv[i] == "-n":
            limit = int(argv[i + 1])
            i += 2
        else:
            targets.append(argv[i])
            i += 1
    for p in reversed(paths):
        if not os.path.isdir(p):
            # A package not fetched yet (record_traces.sh fetches them): its
            # tests would fail to import, and the run would trace nothing.
            print("wl_tests.py: -p %s: no such directory" % p, file=sys.stderr)
            return 2
        sys.path.insert(0, os.path.abspath(p))
    names = []
    for t in targets:
        if os.path.isdir(t):
            root = next(os.path.abspath(p) for p in paths if os.path.abspath(t).startswith(os.path.abspath(p)))
            names.extend(modules_under(os.path.abspath(t), root))
        else:
            names.append(t)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    broken = 0
    for name in names:
        try:
            __import__(name)
        except Exception as e:  # a module this interpreter cannot import
            broken += 1
            print("cannot import %s: %s: %s" % (name, type(e).__name__, e), file=sys.stderr)
            continue
        module = sys.modules[name]
        found = loader.loadTestsFromModule(module)
        if not found.countTestCases() and callable(getattr(module, "suite", None)):
            found = module.suite()  # the older convention: a suite() per module
        for test in list(found) + function_tests(module):
            suite.addTest(test)

    def keep(test):
        return not any(s in test.id() for s in skips)

    def flat(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                for u in flat(t):
                    yield u
            else:
                yield t
    run = unittest.TestSuite([t for t in flat(suite) if keep(t)][:limit])
    stream = open(os.devnull, "w")
    result = unittest.TextTestRunner(stream=stream, verbosity=0).run(run)
    print("%d tests, %d failures, %d errors, %d skipped, %d modules not imported" % (
        result.testsRun, len(result.failures), len(result.errors), len(result.skipped), broken))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

/* An embedder's program (kit.sh's smoke_reinit builds it against the
 * patched build's static libpython): the interpreter initialized, run and
 * finalized twice, each round printing sys._debugmallocstats(), which
 * holds the pool's report. CPython's own frame cache works again after a
 * second Py_Initialize; the pool must too. */
#include <Python.h>

int
main(void)
{
    static const char code[] =
        "import sys\n"
        "def depth(n):\n"
        "    return 0 if n == 0 else 1 + depth(n - 1)\n"
        "for i in range(100):\n"
        "    depth(20)\n"
        "sys._debugmallocstats()\n";
    int round;
    Py_NoSiteFlag = 1;   /* nothing outside the build tree's Lib/ is needed */
    for (round = 0; round < 2; round++) {
        Py_Initialize();
        if (PyRun_SimpleString(code) != 0) {
            return 1;
        }
        Py_Finalize();
    }
    return 0;
}

/*
 * Records a trace from C: the pool takes its configuration from ZF_*
 * (ZF_TRACE among them), runs a mixed workload through minipy, and prints
 * its final counts on one line before zf_pool_free. tests/c_programs.rs
 * replays the trace under the same configuration and expects the same
 * counts.
 */
#include <stdio.h>

#include "check.h"
#include "minipy.h"

int main(void)
{
    ZfConfig cfg;
    PyCodeObject *mod, *fib, *helper;
    PyFrameObject *top, *held;
    ZfStats s;
    int round, i;

    zf_config_default(&cfg);
    CHECK_EQ(zf_config_from_env(&cfg), 0);
    CHECK(cfg.trace_path != NULL);
    if (minipy_init(&cfg) != 0)
        return 1;
    mod = code_new("<module>", 4, 2, 0, 0);
    fib = code_new("fib", 1, 3, 0, 0);
    top = call_enter(mod, NULL);
    for (round = 0; round < 40; round++) {
        call_recursive(fib, top, 5 + (round * 37) % 200);
        /* short-lived code objects, as eval() and lambdas make */
        helper = code_new("<lambda>", 1 + round % 3, 2, round % 2, 0);
        for (i = 0; i < 10; i++)
            call_leave(call_enter(helper, top));
        /* now and then the code goes while a frame of it is live, as the
         * API allows (CPython's frames hold their code: it never does) */
        held = round % 7 == 3 ? call_enter(helper, top) : NULL;
        code_dealloc(helper);
        if (held != NULL)
            call_leave(held);
        /* generation 3 too: past CPython's 2, and sweep_generation's default */
        gc_collect(round % 4);
    }
    call_leave(top);
    s = pool_stats();
    printf("stats %llu %llu %llu %llu %llu %llu %llu %llu\n", (unsigned long long)s.acquires,
           (unsigned long long)s.zombie_hits, (unsigned long long)s.shared_hits,
           (unsigned long long)s.reallocs, (unsigned long long)s.fresh_allocs,
           (unsigned long long)s.frees, (unsigned long long)s.peak_cached_bytes,
           (unsigned long long)s.sweeps);
    minipy_fini();
    code_dealloc(fib);
    code_dealloc(mod);
    return check_done();
}

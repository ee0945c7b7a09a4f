/*
 * The reserve, with the default configuration: frames a code will not keep
 * (a list full after deep recursion, a code object that dies) serve the
 * first calls of new code objects of a close size, with no realloc and
 * with is_zombie 0; the bound bounds zombies and reserve together.
 */
#include "check.h"
#include "minipy.h"

enum { DEPTH = 300, NEW_CODES = 50 };

int main(void)
{
    ZfConfig cfg;
    PyCodeObject *deep, *fresh[NEW_CODES];
    ZfStats s;
    uint64_t fresh_before, not_zombie = 0;
    int i;

    zf_config_default(&cfg);
    cfg.sweep_generation = 1; /* aging at gc_collect(1), below */
    if (minipy_init(&cfg) != 0)
        return 1;
    deep = code_new("deep", 3, 5, 0, 0);
    call_recursive(deep, NULL, DEPTH);
    s = pool_stats();
    /* per_code_max zombies stay with the code, 200 would retire, but the
     * automatic bound (one code's block and the room for its recursion)
     * bounds them together. */
    CHECK_EQ(s.fresh_allocs, DEPTH);
    CHECK(s.cached_frames > (uint64_t)cfg.per_code_max);
    CHECK(s.cached_bytes + s.allowance_bytes <= s.bound_bytes);
    CHECK_EQ(s.cached_frames + s.frees, DEPTH);

    /* A dying code's zombies retire: the first calls of new codes of the
     * same shape take them, not malloc. */
    code_dealloc(deep);
    fresh_before = pool_stats().fresh_allocs;
    for (i = 0; i < NEW_CODES; i++) {
        PyFrameObject *f;
        fresh[i] = code_new("lambda", 3, 5, 0, 0);
        f = call_enter(fresh[i], NULL);
        not_zombie += f->f_zombie == 0;
        call_leave(f);
    }
    s = pool_stats();
    CHECK_EQ(s.fresh_allocs, fresh_before);
    CHECK_EQ(s.shared_hits, NEW_CODES);
    CHECK_EQ(not_zombie, NEW_CODES);
    CHECK_EQ(s.reallocs, 0);

    /* A code twice as big finds nothing that fits and allocates. */
    {
        PyCodeObject *big = code_new("big", 40, 30, 0, 0);
        call_recursive(big, NULL, 1);
        CHECK_EQ(pool_stats().fresh_allocs, fresh_before + 1);
        code_dealloc(big);
    }

    /* A code called back while on the stack (a re-entry, two frames live,
     * no more) keeps its one zombie: the second frame retires here, and
     * serves its next re-entry, as CPython's free list would. */
    {
        PyFrameObject *outer, *inner;
        uint64_t shared_before;
        fresh_before = pool_stats().fresh_allocs;
        outer = call_enter(fresh[0], NULL); /* its zombie */
        inner = call_enter(fresh[0], outer); /* the reserve's, or a new block */
        call_leave(inner);
        call_leave(outer);
        shared_before = pool_stats().shared_hits;
        for (i = 0; i < 10; i++) {
            outer = call_enter(fresh[0], NULL);
            inner = call_enter(fresh[0], outer);
            CHECK(outer->f_zombie == 1 && inner->f_zombie == 0);
            call_leave(inner);
            call_leave(outer);
        }
        s = pool_stats();
        CHECK(s.fresh_allocs <= fresh_before + 1);
        CHECK_EQ(s.shared_hits, shared_before + 10);
    }

    /* Aging empties it all once nothing runs. */
    for (i = 0; i < NEW_CODES; i++)
        code_dealloc(fresh[i]);
    for (i = 0; i < 64 && pool_stats().cached_frames > 0; i++)
        gc_collect(1);
    CHECK_EQ(pool_stats().cached_frames, 0);
    CHECK_EQ(pool_stats().cached_bytes, 0);
    print_summary("reserve");
    minipy_fini();
    return check_done();
}

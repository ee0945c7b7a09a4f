/*
 * A non-recursive call loop: <module> calls f N times, f calls g. Only the
 * first call of each code allocates; every later call gets its zombie back.
 */
#include "check.h"
#include "minipy.h"

/* 2N + 1 releases; a collection every COLLECT calls of f. */
enum { N = 10000, SWEEP_EVERY = 1024, COLLECT = 1000 };

static void loop(PyCodeObject *f, PyCodeObject *g, PyFrameObject *top, uint64_t *zombie_calls,
                 uint64_t *bad_links)
{
    int i;
    for (i = 0; i < N; i++) {
        PyFrameObject *ff = call_enter(f, top);
        PyFrameObject *gg = call_enter(g, ff);
        *zombie_calls += (uint64_t)(ff->f_zombie + gg->f_zombie);
        *bad_links += !(ff->f_back == top && gg->f_back == ff && gg->f_code == g);
        call_leave(gg);
        call_leave(ff);
        if (i % COLLECT == COLLECT - 1)
            CHECK_EQ(gc_collect(1), 0);
    }
}

int main(void)
{
    PyCodeObject *mod, *f, *g;
    PyFrameObject *top;
    ZfConfig cfg;
    uint64_t zombie_calls = 0, bad_links = 0, blocks, releases = 2 * N + 1;
    ZfStats s;

    /* Automatic sweeps far more often than the default: they count the
     * releases that find their code's allowance full, which a steady call
     * loop never makes, so none runs. */
    scenario_config(&cfg);
    cfg.sweep_every = SWEEP_EVERY;
    if (minipy_init(&cfg) != 0)
        return 1;
    mod = code_new("<module>", 4, 2, 0, 0);
    f = code_new("f", 3, 4, 0, 0);
    g = code_new("g", 1, 2, 1, 1); /* a closure: one cell, one free var */
    CHECK(mod && f && g);
    blocks = BLOCK_BYTES(code_frame_bytes(mod)) + BLOCK_BYTES(code_frame_bytes(f)) +
             BLOCK_BYTES(code_frame_bytes(g));

    top = call_enter(mod, NULL);
    loop(f, g, top, &zombie_calls, &bad_links);
    CHECK(frame_locals_intact(top));
    call_leave(top);

    /* f and g allocate once each; every other call is a zombie hit. The
     * collections free nothing: f and g dip into their lists between
     * sweeps, so their low-water mark is 0 (and <module>'s list only
     * appears at the very end). */
    s = pool_stats();
    CHECK_EQ(zombie_calls, 2 * N - 2);
    CHECK_EQ(bad_links, 0);
    CHECK_EQ(s.acquires, releases);
    CHECK_EQ(s.fresh_allocs, 3);
    CHECK_EQ(s.zombie_hits, 2 * N - 2);
    CHECK_EQ(s.releases, releases);
    CHECK_EQ(s.frees, 0);
    CHECK_EQ(s.sweeps, N / COLLECT);
    CHECK_EQ(s.aged_frees, 0);
    CHECK_EQ(s.cached_frames, 3);
    CHECK_EQ(s.cached_bytes, blocks);
    CHECK_EQ(s.peak_cached_bytes, blocks);
    CHECK_EQ(s.peak_live_frames, 3);
    print_summary("call-loop");

    /* Idle now. f and g were last touched before the loop's last sweep,
     * so the next sweep frees their zombies; <module>'s, made after it,
     * goes at the one after. */
    CHECK_EQ(gc_collect(0), blocks - BLOCK_BYTES(code_frame_bytes(mod)));
    CHECK_EQ(gc_collect(1), BLOCK_BYTES(code_frame_bytes(mod)));
    CHECK_EQ(gc_collect(2), 0);
    s = pool_stats();
    CHECK_EQ(s.cached_bytes, 0);
    CHECK_EQ(s.aged_frees, 3);
    CHECK_EQ(s.frees, 3);
    CHECK_EQ(s.sweeps, N / COLLECT + 3);

    code_dealloc(g);
    code_dealloc(f);
    code_dealloc(mod);
    s = pool_stats();
    CHECK_EQ(s.codes, 0);
    CHECK_EQ(s.codes_created, 3);
    CHECK_EQ(s.frees, s.fresh_allocs);
    CHECK_AUDIT_CLEAN();
    minipy_fini();
    return check_done();
}

/*
 * Generator-like frames: each round makes GENS generator frames, which
 * stay live while every generator is resumed and calls work() CALLS times
 * (each call a frame acquired and released), and are released afterwards,
 * in creation order rather than LIFO.
 *
 * The generator frames must keep their locals through all those calls
 * (the pool must never hand out a live frame), and the released ones come
 * back to the next round's generators as zombies, up to per_code_max.
 */
#include "check.h"
#include "minipy.h"

enum { GENS = 100, CALLS = 10, ROUNDS = 3 };

static uint64_t gens_intact, wrong_code;

static void one_round(PyCodeObject *gen, PyCodeObject *work, PyFrameObject *driver)
{
    PyFrameObject *g[GENS];
    int i, k;
    for (i = 0; i < GENS; i++) {
        g[i] = call_enter(gen, NULL); /* a generator's frame has no f_back until resumed */
        wrong_code += g[i]->f_code != gen;
    }
    for (i = 0; i < GENS; i++) {
        g[i]->f_back = driver; /* gen_send_ex: resume */
        for (k = 0; k < CALLS; k++) {
            PyFrameObject *w = call_enter(work, g[i]);
            wrong_code += w->f_code != work;
            call_leave(w);
        }
        g[i]->f_back = NULL; /* YIELD_VALUE: suspend */
    }
    for (i = 0; i < GENS; i++) {
        gens_intact += frame_locals_intact(g[i]);
        call_leave(g[i]); /* the generator is exhausted: gen_dealloc */
    }
}

int main(void)
{
    const uint64_t keep = 32, spill = GENS - 32; /* scenario_config */
    PyCodeObject *mod, *gen, *work;
    PyFrameObject *driver;
    uint64_t bm, bg, bw, work_calls = (uint64_t)ROUNDS * GENS * CALLS;
    ZfStats s;
    int r;

    if (minipy_init(NULL) != 0)
        return 1;
    mod = code_new("<module>", 3, 2, 0, 0);
    gen = code_new("<genexpr>", 4, 5, 0, 1);
    work = code_new("work", 2, 2, 0, 0);
    CHECK(mod && gen && work);
    bm = BLOCK_BYTES(code_frame_bytes(mod));
    bg = BLOCK_BYTES(code_frame_bytes(gen));
    bw = BLOCK_BYTES(code_frame_bytes(work));

    driver = call_enter(mod, NULL);
    for (r = 0; r < ROUNDS; r++)
        one_round(gen, work, driver);
    CHECK(frame_locals_intact(driver));
    call_leave(driver);

    /* Generators: round 1 allocates GENS; each round's releases cache the
     * first `keep` and free the rest; the next round takes those `keep`.
     * work: one allocation, then hits. 3301 releases: no sweep. */
    s = pool_stats();
    CHECK_EQ(gens_intact, (uint64_t)ROUNDS * GENS);
    CHECK_EQ(wrong_code, 0);
    CHECK_EQ(s.sweeps, 0);
    CHECK_EQ(s.acquires, 1 + ROUNDS * GENS + work_calls);
    CHECK_EQ(s.fresh_allocs, 1 + GENS + spill * (ROUNDS - 1) + 1);
    CHECK_EQ(s.zombie_hits, keep * (ROUNDS - 1) + work_calls - 1);
    CHECK_EQ(s.frees, spill * ROUNDS);
    CHECK_EQ(s.peak_live_frames, 1 + GENS + 1);
    CHECK_EQ(s.cached_frames, keep + 2);
    CHECK_EQ(s.cached_bytes, keep * bg + bw + bm);
    CHECK_EQ(s.peak_cached_bytes, keep * bg + bw + bm);
    print_summary("generators");

    code_dealloc(work);
    code_dealloc(gen);
    code_dealloc(mod);
    s = pool_stats();
    CHECK_EQ(s.frees, s.fresh_allocs);
    CHECK_EQ(s.codes, 0);
    CHECK_AUDIT_CLEAN();
    minipy_fini();
    return check_done();
}

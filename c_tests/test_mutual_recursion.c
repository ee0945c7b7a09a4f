/*
 * Mutual recursion: is_even(n) calls is_odd(n - 1), which calls
 * is_even(n - 2), down to 0. One call of is_even(N) makes N/2 + 1 frames of
 * is_even and N/2 of is_odd, all live at once at the bottom.
 *
 * 1. per_code_max 128: both lists keep their whole depth.
 * 2. scenario_config: each keeps its innermost 32.
 */
#include "check.h"
#include "minipy.h"

enum { N = 200, RUNS = 20, EVENS = N / 2 + 1, ODDS = N / 2, FRAMES = EVENS + ODDS };

static PyCodeObject *is_even, *is_odd;
static uint64_t foreign_frames;

static void call(int n, PyFrameObject *back)
{
    PyCodeObject *co = n % 2 == 0 ? is_even : is_odd;
    PyFrameObject *f = call_enter(co, back);
    foreign_frames += f->f_code != co;
    if (n > 0)
        call(n - 1, f);
    call_leave(f);
}

/* Makes the pool and the two codes, runs is_even(N) RUNS times. */
static int run(const ZfConfig *cfg, uint64_t *even_block, uint64_t *odd_block)
{
    int r;
    if (minipy_init(cfg) != 0)
        return -1;
    is_even = code_new("is_even", 1, 2, 0, 0);
    is_odd = code_new("is_odd", 2, 3, 0, 0);
    if (is_even == NULL || is_odd == NULL)
        return -1;
    *even_block = BLOCK_BYTES(code_frame_bytes(is_even));
    *odd_block = BLOCK_BYTES(code_frame_bytes(is_odd));
    foreign_frames = 0;
    for (r = 0; r < RUNS; r++)
        call(N, NULL);
    return 0;
}

static void finish(void)
{
    ZfStats s;
    code_dealloc(is_even);
    code_dealloc(is_odd);
    s = pool_stats();
    CHECK_EQ(s.frees, s.fresh_allocs);
    CHECK_EQ(s.cached_bytes, 0);
    CHECK_EQ(foreign_frames, 0);
    CHECK_AUDIT_CLEAN();
    minipy_fini();
}

static void deep_lists(void)
{
    uint64_t eb, ob;
    ZfConfig cfg;
    ZfStats s;

    scenario_config(&cfg);
    cfg.per_code_max = 128;
    if (run(&cfg, &eb, &ob) != 0) {
        CHECK(0);
        return;
    }
    /* RUNS * FRAMES = 4020 releases: under sweep_every, no sweep. */
    s = pool_stats();
    CHECK_EQ(s.acquires, FRAMES * RUNS);
    CHECK_EQ(s.fresh_allocs, FRAMES);
    CHECK_EQ(s.zombie_hits, FRAMES * (RUNS - 1));
    CHECK_EQ(s.frees, 0);
    CHECK_EQ(s.sweeps, 0);
    CHECK_EQ(s.cached_frames, FRAMES);
    CHECK_EQ(s.cached_bytes, EVENS * eb + ODDS * ob);
    CHECK_EQ(s.peak_cached_bytes, EVENS * eb + ODDS * ob);
    CHECK_EQ(s.peak_live_frames, FRAMES);
    print_summary("mutual-recursion (per_code_max 128)");
    finish();
}

static void default_lists(void)
{
    const uint64_t keep = 32; /* scenario_config */
    const uint64_t spill = FRAMES - 2 * keep; /* frees per run */
    uint64_t eb, ob;
    ZfStats s;

    if (run(NULL, &eb, &ob) != 0) {
        CHECK(0);
        return;
    }
    /* Releases run innermost first: each list caches the innermost `keep`
     * frames of its code, the other `spill` go. The next run's outermost
     * `keep` calls of each code hit. */
    s = pool_stats();
    CHECK_EQ(s.acquires, FRAMES * RUNS);
    CHECK_EQ(s.zombie_hits, 2 * keep * (RUNS - 1));
    CHECK_EQ(s.fresh_allocs, FRAMES + spill * (RUNS - 1));
    CHECK_EQ(s.frees, spill * RUNS);
    CHECK_EQ(s.sweeps, 0);
    CHECK_EQ(s.cached_frames, 2 * keep);
    CHECK_EQ(s.cached_bytes, keep * (eb + ob));
    CHECK_EQ(s.peak_cached_bytes, keep * (eb + ob));
    print_summary("mutual-recursion (defaults)");
    finish();
}

int main(void)
{
    deep_lists();
    default_lists();
    return check_done();
}

/*
 * A recursion DEPTH deep, run RUNS times.
 *
 * 1. per_code_max = DEPTH and a budget of exactly DEPTH blocks: the whole
 *    depth is cached, and every later run is served by the first run's
 *    blocks, turned by one level a run: a hit takes the slot's zombie
 *    (the innermost level's, released first) before the stack's.
 * 2. scenario_config: each code keeps 32 zombies, so only
 *    the outermost levels of each run hit and the rest fall back to malloc.
 * 3. per_code_max 400 and a budget of 300 blocks: the bound stops the
 *    list at 300, past half its limit, where it grows no further.
 * 4. 2 and 3 again with a leaf: each level, as the recursion returns,
 *    calls the code once more before it leaves, as a tree walk does. The
 *    leaf takes a zombie and gives it back, inline, between the releases
 *    past the list, which then have that work to count first.
 */
#include "check.h"
#include "minipy.h"

enum { DEPTH = 1000, RUNS = 10 };

static PyFrameObject *first_run[DEPTH]; /* the frame of each level in run 1 */
static uint64_t moved_levels;           /* later levels not on the block expected */
static int leaf;                        /* 1: each level calls a leaf before it leaves */

static void recurse(PyCodeObject *co, PyFrameObject *back, int level, int run)
{
    PyFrameObject *f = call_enter(co, back);
    if (run == 0)
        first_run[level] = f;
    else
        moved_levels += f != first_run[(level + DEPTH - run) % DEPTH];
    if (level + 1 < DEPTH)
        recurse(co, f, level + 1, run);
    if (leaf)
        call_leave(call_enter(co, f));
    call_leave(f);
}

static PyCodeObject *make_code(void)
{
    return code_new("recurse", 2, 3, 0, 0);
}

static void whole_depth_cached(void)
{
    ZfConfig cfg;
    PyCodeObject *co;
    uint64_t block;
    ZfStats s;
    int run;

    /* The budget is set before the code exists: 2 locals + 3 stack slots. */
    block = BLOCK_BYTES(sizeof(PyFrameObject) + 5 * sizeof(PyObject *));
    scenario_config(&cfg);
    cfg.per_code_max = DEPTH;
    cfg.budget_bytes = (size_t)(DEPTH * block); /* exactly enough: the bound is inclusive */
    if (minipy_init(&cfg) != 0) {
        CHECK(0);
        return;
    }
    co = make_code();
    CHECK_EQ(BLOCK_BYTES(code_frame_bytes(co)), block);
    moved_levels = 0;
    for (run = 0; run < RUNS; run++)
        recurse(co, NULL, 0, run);

    /* Run 1 allocates DEPTH frames and caches them all; every later run
     * is served entirely from zombies. The automatic sweeps find the list
     * dipped to 0 since the last one, so they free nothing. */
    s = pool_stats();
    CHECK_EQ(s.acquires, DEPTH * RUNS);
    CHECK_EQ(s.fresh_allocs, DEPTH);
    CHECK_EQ(s.zombie_hits, DEPTH * (RUNS - 1));
    CHECK_EQ(s.frees, 0);
    CHECK_EQ(s.evicted_frees, 0);
    CHECK_EQ(s.aged_frees, 0);
    CHECK_EQ(s.sweeps, DEPTH * RUNS / ZF_DEFAULT_SWEEP_EVERY);
    CHECK_EQ(s.cached_frames, DEPTH);
    CHECK_EQ(s.cached_bytes, DEPTH * block);
    CHECK_EQ(s.peak_cached_bytes, cfg.budget_bytes);
    CHECK_EQ(s.peak_live_frames, DEPTH);
    /* Run r's level k has run 1's block of level k - r (mod DEPTH). */
    CHECK_EQ(moved_levels, 0);
    print_summary("recursion-1000 (per_code_max 1000, budget 1000 blocks)");

    code_dealloc(co);
    s = pool_stats();
    CHECK_EQ(s.frees, DEPTH);
    CHECK_EQ(s.cached_bytes, 0);
    CHECK_AUDIT_CLEAN();
    minipy_fini();
}

/* Runs RUNS recursions under `cfg` (NULL: scenario_config), whose bound
 * keeps `keep` frames of the DEPTH: each run's releases cache the
 * innermost `keep` and free the rest; the next run's outermost `keep`
 * levels take those zombies and the other levels allocate.
 * With `leaf`, the deepest level's leaf allocates too, and is the first
 * frame cached; every other leaf takes the zombie the level below left
 * and gives it back, so one more frame spills a run. */
static void bounded(const char *what, const ZfConfig *cfg, uint64_t keep)
{
    const uint64_t spill = DEPTH - keep + leaf;
    PyCodeObject *co;
    uint64_t block;
    ZfStats s;
    int run;

    if (minipy_init(cfg) != 0) {
        CHECK(0);
        return;
    }
    co = make_code();
    block = BLOCK_BYTES(code_frame_bytes(co));
    for (run = 0; run < RUNS; run++)
        recurse(co, NULL, 0, run);

    s = pool_stats();
    CHECK_EQ(s.acquires, DEPTH * RUNS * (1 + leaf));
    CHECK_EQ(s.zombie_hits, keep * (RUNS - 1) + leaf * (DEPTH - 1) * RUNS);
    CHECK_EQ(s.fresh_allocs, DEPTH + leaf + spill * (RUNS - 1));
    CHECK_EQ(s.frees, spill * RUNS);
    CHECK_EQ(s.aged_frees, 0);
    CHECK_EQ(s.evicted_frees, 0);
    CHECK_EQ(s.cached_frames, keep);
    CHECK_EQ(s.cached_bytes, keep * block);
    CHECK_EQ(s.peak_cached_bytes, keep * block);
    CHECK_EQ(s.peak_live_frames, DEPTH + leaf);
    print_summary(what);

    code_dealloc(co);
    s = pool_stats();
    CHECK_EQ(s.frees, s.fresh_allocs);
    CHECK_EQ(s.codes, 0);
    CHECK_AUDIT_CLEAN();
    minipy_fini();
}

int main(void)
{
    ZfConfig cfg;

    whole_depth_cached();
    /* The budget is spent past half the code's limit: a code that long
     * grows only into room nobody holds, so the bound keeps 300. */
    scenario_config(&cfg);
    cfg.per_code_max = 400;
    cfg.budget_bytes = (size_t)(300 * BLOCK_BYTES(sizeof(PyFrameObject) + 5 * sizeof(PyObject *)));
    for (leaf = 0; leaf <= 1; leaf++) {
        bounded(leaf ? "recursion-1000 with leaves (defaults)" : "recursion-1000 (defaults)", NULL,
                32); /* scenario_config */
        bounded(leaf ? "recursion-1000 with leaves (per_code_max 400, budget 300 blocks)"
                     : "recursion-1000 (per_code_max 400, budget 300 blocks)",
                &cfg, 300);
    }
    return check_done();
}

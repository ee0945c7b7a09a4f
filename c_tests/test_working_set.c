/*
 * A working set that moves: GROUP functions of group A are called for a
 * while (each recursing DEPTH deep, so each list holds DEPTH zombies),
 * then only group B's. Aging sweeps must free A's idle zombies, halving
 * each list per sweep (DEPTH 4: 4 -> 2 -> 1 -> 0, three sweeps) while
 * B's lists, dipped into between sweeps, keep everything.
 *
 * 1. Sweeps only on gc_collect (sweep_every 0), one every COLLECT rounds.
 * 2. Automatic sweeps: sweep_every is one round's worth of releases. They
 *    count the releases that find their code's allowance full (the ones
 *    that grow the cache): the first round of each group.
 */
#include "check.h"
#include "minipy.h"

enum { GROUP = 8, DEPTH = 4, A_ROUNDS = 100, COLLECT = 10, ROUND_RELEASES = GROUP * DEPTH };

static PyCodeObject *group_a[GROUP], *group_b[GROUP];
static uint64_t sum_a, sum_b; /* one block of each code of the group */

static void recurse(PyCodeObject *co, PyFrameObject *back, int depth, uint64_t *zombies)
{
    PyFrameObject *f = call_enter(co, back);
    *zombies += (uint64_t)f->f_zombie;
    if (depth > 1)
        recurse(co, f, depth - 1, zombies);
    call_leave(f);
}

/* Calls every function of the group once; returns how many of its frames
 * were zombies. */
static uint64_t round_of(PyCodeObject **group)
{
    uint64_t zombies = 0;
    int i;
    for (i = 0; i < GROUP; i++)
        recurse(group[i], NULL, DEPTH, &zombies);
    return zombies;
}

static int start(uint32_t sweep_every)
{
    ZfConfig cfg;
    int i;
    scenario_config(&cfg);
    cfg.sweep_every = sweep_every;
    if (minipy_init(&cfg) != 0)
        return -1;
    sum_a = sum_b = 0;
    for (i = 0; i < GROUP; i++) {
        group_a[i] = code_new("a", 1 + i, 2 + i % 3, 0, 0);
        group_b[i] = code_new("b", 2 + i, 3 + i % 2, i % 2, 0);
        if (group_a[i] == NULL || group_b[i] == NULL)
            return -1;
        sum_a += BLOCK_BYTES(code_frame_bytes(group_a[i]));
        sum_b += BLOCK_BYTES(code_frame_bytes(group_b[i]));
    }
    return 0;
}

/* The end of both runs: A's lists are empty, B's full. A fresh call of
 * each function shows it directly: A allocates, B reuses. */
static void finish(void)
{
    ZfStats s = pool_stats();
    int i;
    CHECK_EQ(s.cached_frames, GROUP * DEPTH);
    CHECK_EQ(s.cached_bytes, DEPTH * sum_b);
    CHECK_EQ(s.aged_frees, GROUP * DEPTH);
    CHECK_EQ(s.frees, GROUP * DEPTH);
    CHECK_EQ(round_of(group_a), 0);
    CHECK_EQ(round_of(group_b), GROUP * DEPTH);
    for (i = 0; i < GROUP; i++) {
        code_dealloc(group_a[i]);
        code_dealloc(group_b[i]);
    }
    s = pool_stats();
    CHECK_EQ(s.frees, s.fresh_allocs);
    CHECK_EQ(s.codes, 0);
    CHECK_AUDIT_CLEAN();
    minipy_fini();
}

static void swept_by_gc(void)
{
    ZfStats s;
    int r;
    if (start(0) != 0) {
        CHECK(0);
        return;
    }
    /* Group A in use: every collection finds each list dipped to 0. */
    for (r = 1; r <= A_ROUNDS; r++) {
        round_of(group_a);
        if (r % COLLECT == 0)
            CHECK_EQ(gc_collect(0), 0);
    }
    s = pool_stats();
    CHECK_EQ(s.cached_bytes, DEPTH * sum_a);
    CHECK_EQ(s.aged_frees, 0);

    /* Group B from now on. A's low-water marks are DEPTH (4) since the last
     * collection: the next three free 2, 1 and 1 zombies of each list. */
    for (r = 1; r <= 4 * COLLECT; r++) {
        round_of(group_b);
        if (r % COLLECT != 0)
            continue;
        switch (r / COLLECT) {
        case 1: CHECK_EQ(gc_collect(0), 2 * sum_a); break;
        case 2: CHECK_EQ(gc_collect(1), sum_a); break;
        case 3: CHECK_EQ(gc_collect(2), sum_a); break;
        default: CHECK_EQ(gc_collect(0), 0); break;
        }
    }
    s = pool_stats();
    CHECK_EQ(s.sweeps, A_ROUNDS / COLLECT + 4);
    CHECK_EQ(s.acquires, (A_ROUNDS + 4 * COLLECT) * ROUND_RELEASES);
    CHECK_EQ(s.fresh_allocs, 2 * GROUP * DEPTH);
    print_summary("working-set (gc_collect sweeps)");
    finish();
}

static void swept_automatically(void)
{
    ZfStats s;
    int r, i;
    if (start(ROUND_RELEASES) != 0) {
        CHECK(0);
        return;
    }
    /* Group A: its first round fills every list, growing the cache by one
     * round of releases, and the sweep at its last release finds nothing
     * untouched. Later rounds grow nothing: no sweep. */
    for (r = 0; r < 10; r++)
        round_of(group_a);
    s = pool_stats();
    CHECK_EQ(s.sweeps, 1);
    CHECK_EQ(s.aged_frees, 0);
    CHECK_EQ(s.cached_bytes, DEPTH * sum_a);
    /* Group B's first round grows the cache again, and brings the second
     * sweep: A's lists were dipped into since the first, so they keep
     * everything. From here on nothing grows, so nothing is swept: A's
     * idle zombies wait for a collection (as in the first run) or for the
     * budget to need them. */
    for (r = 0; r < 10; r++)
        round_of(group_b);
    s = pool_stats();
    CHECK_EQ(s.sweeps, 2);
    CHECK_EQ(s.cached_bytes, DEPTH * (sum_a + sum_b));
    CHECK_EQ(s.aged_frees, 0);
    CHECK_EQ(s.acquires, 20 * ROUND_RELEASES);
    print_summary("working-set (sweep_every 32)");
    for (i = 0; i < GROUP; i++) {
        code_dealloc(group_a[i]);
        code_dealloc(group_b[i]);
    }
    s = pool_stats();
    CHECK_EQ(s.frees, s.fresh_allocs);
    CHECK_AUDIT_CLEAN();
    minipy_fini();
}

int main(void)
{
    swept_by_gc();
    swept_automatically();
    return check_done();
}

/*
 * Aging under the defaults, with calls through the header's inline pair:
 * a code leaves 32 zombies behind and is never called again, while another
 * code of another size class is called in a loop and collections of
 * generations 0, 1 and 2 come at a steady cadence. Within 20 full
 * collections the idle list must be freed down to the one zombie CPython
 * would keep for that code; the busy code loses nothing.
 */
#include "check.h"

enum { DEPTH = 32, CALLS_PER_COLLECT = 200, COLLECTS = 2000, FULL_BY = 20 };

/* `depth` nested calls of `code` through the inline pair, then their returns. */
static void recurse(ZfCode *code, int depth)
{
    void *frame = zf_frame_acquire_fast(code, NULL);
    CHECK(frame != NULL);
    if (depth > 1)
        recurse(code, depth - 1);
    zf_frame_release_fast(code, frame);
}

int main(void)
{
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *idle, *busy;
    void *again;
    uint64_t calls = 0, hits = 0, full = 0;
    int i, j, is_zombie;
    ZfStats s;

    zf_config_default(&cfg);
    pool = zf_pool_new(&cfg);
    CHECK(pool != NULL);
    idle = zf_code_new(pool, 400);
    busy = zf_code_new(pool, 1000);
    CHECK(idle != NULL && busy != NULL);

    recurse(idle, DEPTH);
    s = stats_of(pool);
    CHECK_EQ(s.cached_frames, DEPTH);

    for (i = 0; i < COLLECTS; i++) {
        for (j = 0; j < CALLS_PER_COLLECT; j++) {
            void *frame = zf_frame_acquire_fast(busy, &is_zombie);
            CHECK(frame != NULL);
            hits += (uint64_t)is_zombie;
            calls++;
            zf_frame_release_fast(busy, frame);
        }
        full += i % 3 == 2;
        zf_pool_collect(pool, i % 3);
        if (full == FULL_BY && i % 3 == 2) {
            /* The idle list is down to one zombie, freed, not retired. */
            s = stats_of(pool);
            CHECK(s.sweeps > 0);
            CHECK_EQ(s.cached_frames, 2);
            CHECK_EQ(s.shared_frames, 0);
            CHECK_EQ(s.aged_frees, DEPTH - 1);
            CHECK_EQ(s.frees, DEPTH - 1);
        }
    }

    /* Nothing more went: the busy code kept its zombie through every
     * collection, and the idle code keeps CPython's one. */
    s = stats_of(pool);
    CHECK_EQ(full, COLLECTS / 3);
    CHECK_EQ(hits, calls - 1);
    CHECK_EQ(s.fresh_allocs, DEPTH + 1);
    CHECK_EQ(s.zombie_hits, calls - 1);
    CHECK_EQ(s.cached_frames, 2);
    CHECK_EQ(s.aged_frees, DEPTH - 1);

    /* It is called again: its one zombie serves it. */
    again = zf_frame_acquire(idle, &is_zombie);
    CHECK(again != NULL && is_zombie == 1);
    zf_frame_release(idle, again);
    zf_pool_free(pool);
    zf_code_free(idle);
    zf_code_free(busy);
    return check_done();
}

/*
 * ZF_POLICY_LEGACY follows CPython 3.9's frameobject.c rule by rule: one
 * zombie per code; frames beyond it go to a global free list of at most
 * 200, taken from its head by any code and resized when too small; that
 * list emptied by full (generation 2) collections; a code's zombie freed
 * with the code. per_code_max and budget_bytes do not apply.
 */
#include <stdlib.h>

#include "check.h"
#include "zombie_frames.h"

enum { DEPTH = 300, MAXFREELIST = 200 };

#define BLOCK(n) ((((uint64_t)(n) + 15) & ~(uint64_t)15) + ZF_HEADER_BYTES)

int main(void)
{
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *a, *b, *c, *d;
    void *frames[DEPTH], *f, *g;
    int zombie = -1, i;
    ZfStats s;

    zf_config_default(&cfg);
    cfg.policy = ZF_POLICY_LEGACY;
    cfg.per_code_max = 0; /* ignored under legacy, */
    cfg.budget_bytes = 1; /* as is the budget */
    pool = zf_pool_new(&cfg);
    CHECK(pool != NULL);
    a = zf_code_new(pool, 400);
    b = zf_code_new(pool, 392);
    c = zf_code_new(pool, 480);
    CHECK(a && b && c);

    /* A call loop: one allocation, then the zombie every time. */
    for (i = 0; i < 100; i++) {
        f = zf_frame_acquire(a, &zombie);
        CHECK_EQ(zombie, i > 0);
        zf_frame_release(a, f);
    }

    /* Recursion 300 deep: on the way back, one zombie, 200 onto the free
     * list, 99 freed. */
    for (i = 0; i < DEPTH; i++)
        frames[i] = zf_frame_acquire(a, NULL);
    for (i = DEPTH - 1; i >= 0; i--)
        zf_frame_release(a, frames[i]);
    s = stats_of(pool);
    CHECK_EQ(s.zombie_hits, 99 + 1);
    CHECK_EQ(s.fresh_allocs, 1 + DEPTH - 1);
    CHECK_EQ(s.frees, DEPTH - 1 - MAXFREELIST);
    CHECK_EQ(s.cached_frames, 1 + MAXFREELIST);
    CHECK_EQ(s.shared_frames, MAXFREELIST);
    CHECK_EQ(s.cached_bytes, (1 + MAXFREELIST) * BLOCK(400));

    /* Code b (smaller) takes the head of the free list as it is; code c
     * (larger) takes the next one, resized. */
    f = zf_frame_acquire(b, &zombie);
    CHECK_EQ(zombie, 0);
    g = zf_frame_acquire(c, &zombie);
    CHECK_EQ(zombie, 0);
    s = stats_of(pool);
    CHECK_EQ(s.shared_hits, 1);
    CHECK_EQ(s.reallocs, 1);
    CHECK_EQ(s.fresh_allocs, DEPTH);
    CHECK_EQ(s.acquires, s.zombie_hits + s.shared_hits + s.reallocs + s.fresh_allocs);
    memset(f, 0x5a, 392);
    memset(g, 0x6b, 480);

    /* b's frame becomes b's zombie and keeps its 400-byte block. */
    zf_frame_release(b, f);
    zf_frame_release(c, g);
    s = stats_of(pool);
    CHECK_EQ(s.cached_frames, 1 + (MAXFREELIST - 2) + 2);
    CHECK_EQ(s.cached_bytes, MAXFREELIST * BLOCK(400) + BLOCK(480));
    CHECK(zf_frame_acquire(b, &zombie) == f);
    CHECK_EQ(zombie, 1);
    CHECK_EQ(((unsigned char *)f)[391], 0x5a);
    zf_frame_release(b, f);

    /* Young collections leave the free list alone; a full one empties it. */
    CHECK_EQ(zf_pool_collect(pool, 0), 0);
    CHECK_EQ(zf_pool_collect(pool, 1), 0);
    CHECK_EQ(zf_pool_collect(pool, 2), (MAXFREELIST - 2) * BLOCK(400));
    s = stats_of(pool);
    CHECK_EQ(s.cached_frames, 3);
    CHECK_EQ(s.frees, DEPTH - 1 - MAXFREELIST + MAXFREELIST - 2);

    /* With the free list empty, a code without a zombie allocates. */
    d = zf_code_new(pool, 64);
    f = zf_frame_acquire(d, &zombie);
    CHECK(f != NULL);
    CHECK_EQ(stats_of(pool).fresh_allocs, DEPTH + 1);
    zf_frame_release(d, f);
    zf_code_free(d); /* its zombie goes with it */
    CHECK_EQ(stats_of(pool).frees, DEPTH - 1 - MAXFREELIST + MAXFREELIST - 2 + 1);

    /* A dying code frees its zombie; zf_pool_clear drops all the rest. */
    zf_code_free(a);
    CHECK_EQ(stats_of(pool).cached_frames, 2);
    CHECK_EQ(zf_pool_clear(pool), BLOCK(400) + BLOCK(480));
    CHECK_EQ(stats_of(pool).cached_bytes, 0);

    zf_code_free(b);
    zf_code_free(c);
    zf_pool_free(pool);
    return check_done();
}

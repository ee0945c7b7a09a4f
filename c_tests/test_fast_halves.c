/*
 * The inline pair's halves, zf_frame_hit_fast and zf_frame_give_fast, as
 * glue with slow paths of its own calls them: the hit alone, else the
 * exported acquire (zf_frame_acquire_slow, or zf_frame_acquire); the
 * cached release alone, else the exported release (zf_frame_release_slow,
 * or zf_frame_release): the counts are the same either way. The slow
 * entries called without the inline half first: a release is
 * zf_frame_release's; an acquire past the zombies is a fresh frame, and
 * the counts stay exact. And an inert ZfCodeHot (ZF_CODE_HOT_INERT)
 * standing in for a code that has no ZfCode yet: neither half hits it,
 * takes a frame, or writes it.
 */
#include "check.h"

enum { DEPTH = 3 };

/* After the inline half: the slow entries, or else the exported pair. */
static int slow_entries;

static void *acquire(ZfCode *code)
{
    void *f = zf_frame_hit_fast(code);
    if (f == NULL)
        f = slow_entries ? zf_frame_acquire_slow(code, NULL) : zf_frame_acquire(code, NULL);
    CHECK(f != NULL);
    return f;
}

/* 1 if the inline half took the frame. */
static int release(ZfCode *code, void *frame)
{
    if (zf_frame_give_fast(code, frame))
        return 1;
    if (slow_entries)
        zf_frame_release_slow(code, frame);
    else
        zf_frame_release(code, frame);
    return 0;
}

static void test_inert_stand_in(void)
{
    ZfCodeHot none = ZF_CODE_HOT_INERT, before = ZF_CODE_HOT_INERT;
    char frame[64];
    CHECK(zf_frame_hit_fast((ZfCode *)(void *)&none) == NULL);
    CHECK_EQ(zf_frame_give_fast((ZfCode *)(void *)&none, frame + 16), 0);
    CHECK(memcmp(&none, &before, sizeof none) == 0);
}

static void test_one_frame_at_a_time(void)
{
    ZfPool *pool = zf_pool_new(NULL); /* the defaults */
    ZfCode *code = zf_code_new(pool, 400);
    void *first = acquire(code), *again;
    ZfStats s;
    CHECK_EQ(release(code, first), 0); /* no unit yet: the library grants one */
    again = acquire(code);
    CHECK(again == first);
    CHECK_EQ(release(code, again), 1);
    s = stats_of(pool);
    CHECK_EQ(s.acquires, 2);
    CHECK_EQ(s.zombie_hits, 1);
    CHECK_EQ(s.releases, 2);
    CHECK_EQ(s.live_frames, 0);
    CHECK_EQ(s.cached_frames, 1);
    zf_code_free(code);
    zf_pool_free(pool);
}

static void test_recursion(void)
{
    ZfPool *pool = zf_pool_new(NULL);
    ZfCode *code = zf_code_new(pool, 400);
    void *frames[DEPTH], *again[DEPTH];
    int round, i, j, found;
    ZfStats s;
    for (round = 0; round < 2; round++) {
        for (i = 0; i < DEPTH; i++)
            (round ? again : frames)[i] = acquire(code);
        for (i = DEPTH - 1; i >= 0; i--)
            release(code, (round ? again : frames)[i]);
    }
    /* The second descent got back exactly the frames of the first. */
    for (i = 0; i < DEPTH; i++) {
        for (found = 0, j = 0; j < DEPTH; j++)
            found += again[i] == frames[j];
        CHECK_EQ(found, 1);
    }
    s = stats_of(pool);
    CHECK_EQ(s.zombie_hits, DEPTH);
    CHECK_EQ(s.fresh_allocs, DEPTH);
    CHECK_EQ(s.live_frames, 0);
    CHECK_EQ(s.cached_frames, DEPTH);
    zf_code_free(code);
    zf_pool_free(pool);
}

static void test_slow_entries_alone(void)
{
    ZfPool *pool = zf_pool_new(NULL);
    ZfCode *code = zf_code_new(pool, 400);
    void *a = zf_frame_acquire_slow(code, NULL), *b = zf_frame_acquire_slow(code, NULL);
    void *x = zf_frame_acquire_slow(code, NULL), *c;
    int zombie = -1;
    ZfStats s;
    CHECK(a != NULL && b != NULL && x != NULL && a != b && b != x && a != x);
    /* Releases the inline state could take (three frames live: a
     * recursion, whose list grows): cached all the same, as zombies. */
    zf_frame_release_slow(code, a);
    zf_frame_release_slow(code, b);
    zf_frame_release_slow(code, x);
    s = stats_of(pool);
    CHECK_EQ(s.cached_frames, 3);
    CHECK_EQ(s.shared_frames, 0);
    /* An acquire that skips the inline state holding them: a fresh frame
     * (the zombies stay cached), and counts that add up. */
    c = zf_frame_acquire_slow(code, &zombie);
    CHECK(c != NULL && c != a && c != b && c != x);
    CHECK_EQ(zombie, 0);
    s = stats_of(pool);
    CHECK_EQ(s.acquires, 4);
    CHECK_EQ(s.live_frames, 1);
    CHECK_EQ(s.fresh_allocs, 4);
    CHECK_EQ(s.cached_frames, 3);
    zf_frame_release_slow(code, c);
    zf_frame_release_slow(code, NULL); /* a no-op */
    s = stats_of(pool);
    CHECK_EQ(s.live_frames, 0);
    CHECK_EQ(s.releases, 4);
    zf_code_free(code);
    zf_pool_free(pool);
}

int main(void)
{
    test_inert_stand_in();
    for (slow_entries = 0; slow_entries < 2; slow_entries++) {
        test_one_frame_at_a_time();
        test_recursion();
    }
    test_slow_entries_alone();
    return check_done();
}

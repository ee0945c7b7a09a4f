/*
 * ZfStats.peak_live_frames through the header's inline pair, as an
 * interpreter's glue calls it. Frames a code returns through the inline
 * pair are not seen by the library until that code next reaches it; the
 * peak must not count them as live. A code recurses, a full collection
 * looks at it at the bottom, it returns inline and falls idle; another
 * code then recurses less deep: the peak stays where it was. A deeper
 * recursion is a new peak, counted at most an eighth under.
 */
#include "check.h"

enum { FIRST = 50, SECOND = 30, THIRD = 80 };

static void *enter(ZfCode *code)
{
    void *f = zf_frame_acquire_fast(code, NULL);
    CHECK(f != NULL);
    return f;
}

static void recurse(ZfCode *code, int depth)
{
    void *f;
    if (depth == 0)
        return;
    f = enter(code);
    recurse(code, depth - 1);
    zf_frame_release_fast(code, f);
}

static uint64_t peak(const ZfPool *pool)
{
    return stats_of(pool).peak_live_frames;
}

int main(void)
{
    ZfPool *pool = zf_pool_new(NULL); /* the defaults */
    ZfCode *a = zf_code_new(pool, 400), *b = zf_code_new(pool, 400);
    void *frames[FIRST];
    uint64_t first, third;
    int i;

    recurse(a, FIRST);
    first = peak(pool);
    CHECK(first <= FIRST && first >= FIRST - FIRST / 8);

    for (i = 0; i < FIRST; i++) /* every one a zombie hit, inline */
        frames[i] = enter(a);
    CHECK_EQ(zf_pool_collect(pool, 2), 0);
    for (i = FIRST; i-- > 0;)
        zf_frame_release_fast(a, frames[i]);

    recurse(b, SECOND);
    CHECK_EQ(peak(pool), first); /* a's returned frames are not live */
    CHECK_EQ(stats_of(pool).live_frames, 0);

    recurse(b, THIRD);
    third = peak(pool);
    CHECK(third <= THIRD && third >= THIRD - THIRD / 8);

    zf_code_free(a);
    zf_code_free(b);
    zf_pool_free(pool);
    return check_done();
}

/*
 * Two recursive functions of different frame sizes, interleaved: on even
 * rounds a() recurses DEPTH deep and its innermost call starts b()'s
 * recursion; on odd rounds the other way round.
 *
 * CPython 3.9 keeps one zombie per code plus a shared free list that hands
 * a's frames to b (resized) and back: both recursions keep evicting each
 * other. With a list per code, each keeps its own DEPTH zombies, and every
 * call after the first round is a hit.
 */
#include "check.h"
#include "minipy.h"

enum { DEPTH = 20, ROUNDS = 50 };

static uint64_t foreign_frames; /* frames whose f_code is not the callee */

/* Recurses `depth` deep in `co`, then `depth` deep in `then` (if any). */
static void recurse(PyCodeObject *co, PyCodeObject *then, PyFrameObject *back, int depth)
{
    PyFrameObject *f = call_enter(co, back);
    foreign_frames += f->f_code != co;
    if (depth > 1)
        recurse(co, then, f, depth - 1);
    else if (then != NULL)
        recurse(then, NULL, f, DEPTH);
    call_leave(f);
}

int main(void)
{
    PyCodeObject *a, *b;
    uint64_t block_a, block_b;
    ZfStats s;
    int round;

    if (minipy_init(NULL) != 0)
        return 1;
    a = code_new("a", 2, 3, 0, 0);
    b = code_new("b", 5, 6, 1, 0);
    CHECK(a && b);
    block_a = BLOCK_BYTES(code_frame_bytes(a));
    block_b = BLOCK_BYTES(code_frame_bytes(b));
    CHECK(block_a != block_b);

    for (round = 0; round < ROUNDS; round++) {
        if (round % 2 == 0)
            recurse(a, b, NULL, DEPTH);
        else
            recurse(b, a, NULL, DEPTH);
    }

    /* Round 1 allocates DEPTH frames of each; nothing is freed, so every
     * later call is a hit. ROUNDS * 2 * DEPTH releases: no sweep yet. */
    s = pool_stats();
    CHECK_EQ(foreign_frames, 0);
    CHECK_EQ(s.acquires, 2 * DEPTH * ROUNDS);
    CHECK_EQ(s.fresh_allocs, 2 * DEPTH);
    CHECK_EQ(s.zombie_hits, 2 * DEPTH * (ROUNDS - 1));
    CHECK_EQ(s.frees, 0);
    CHECK_EQ(s.sweeps, 0);
    CHECK_EQ(s.peak_live_frames, 2 * DEPTH);
    /* Both lists hold their own DEPTH zombies. */
    CHECK_EQ(s.cached_frames, 2 * DEPTH);
    CHECK_EQ(s.cached_bytes, DEPTH * (block_a + block_b));
    CHECK_EQ(s.peak_cached_bytes, DEPTH * (block_a + block_b));
    print_summary("two-recursions");

    /* Freeing a's code frees exactly a's zombies and leaves b's. */
    code_dealloc(a);
    s = pool_stats();
    CHECK_EQ(s.frees, DEPTH);
    CHECK_EQ(s.cached_bytes, DEPTH * block_b);
    recurse(b, NULL, NULL, DEPTH);
    s = pool_stats();
    CHECK_EQ(s.zombie_hits, 2 * DEPTH * (ROUNDS - 1) + DEPTH);
    code_dealloc(b);
    s = pool_stats();
    CHECK_EQ(s.frees, s.fresh_allocs);
    CHECK_EQ(s.codes, 0);
    CHECK_AUDIT_CLEAN();
    minipy_fini();
    return check_done();
}

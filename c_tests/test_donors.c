/*
 * Two recursive functions of one frame shape (two code objects), taking
 * turns, DEPTH deep each. CPython's free list would hand one's frames to
 * the other. With a list per code, a miss that finds no reserve frame of
 * its size class takes the zombies another code of the class holds past
 * its first: after the first two rounds, no call asks the system, and
 * each code keeps one zombie of its own. Run in a plain pool and in a
 * debug one: the counts are the same.
 */
#include "check.h"
#include "minipy.h"

enum { DEPTH = 50, ROUNDS = 20 };

static void turns(uint32_t flags)
{
    ZfConfig cfg;
    PyCodeObject *a, *b;
    ZfStats s;
    int round;

    zf_config_default(&cfg);
    cfg.flags = flags;
    if (minipy_init(&cfg) != 0) {
        CHECK(0);
        return;
    }
    a = code_new("a", 3, 5, 0, 0);
    b = code_new("b", 3, 5, 0, 0);
    CHECK_EQ(code_frame_bytes(a), code_frame_bytes(b));
    for (round = 0; round < ROUNDS; round++)
        call_recursive(round % 2 ? b : a, NULL, DEPTH);

    /* a allocates DEPTH; b takes all of a's zombies but the first, and
     * allocates one. From then on each code's first call is its own
     * zombie, and the rest are the other's. */
    s = pool_stats();
    CHECK_EQ(s.acquires, DEPTH * ROUNDS);
    CHECK_EQ(s.fresh_allocs, DEPTH + 1);
    CHECK_EQ(s.zombie_hits, ROUNDS - 2);
    CHECK_EQ(s.shared_hits, (DEPTH - 1) * (ROUNDS - 1));
    CHECK_EQ(s.reallocs, 0);
    CHECK_EQ(s.frees, 0);
    CHECK_EQ(s.cached_frames, DEPTH + 1);

    /* A code of another size class takes none of them. */
    {
        PyCodeObject *big = code_new("big", 40, 30, 0, 0);
        call_recursive(big, NULL, 2);
        CHECK_EQ(pool_stats().fresh_allocs, DEPTH + 3);
        code_dealloc(big);
    }
    code_dealloc(a);
    code_dealloc(b);
    CHECK_EQ(audit.bad_zombies + audit.bad_locals + audit.bad_counts, 0);
    if (flags == 0)
        print_summary("donors");
    minipy_fini();
}

int main(void)
{
    turns(0);
    turns(ZF_FLAG_DEBUG);
    return check_done();
}

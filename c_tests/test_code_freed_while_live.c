/*
 * A code object destroyed while frames of it are still live (an
 * interpreter whose frames do not own their code, or a module unloaded
 * under a running generator). zf_code_free must free the code's zombies at
 * once; each live frame stays valid, and its release frees it instead of
 * caching it; the code's handle goes with its last frame.
 */
#include "check.h"
#include "minipy.h"

int main(void)
{
    PyCodeObject *doomed, *keeper;
    PyFrameObject *outer, *inner, *k;
    uint64_t bk;
    ZfStats s;

    if (minipy_init(NULL) != 0)
        return 1;
    doomed = code_new("doomed", 3, 4, 0, 0);
    keeper = code_new("keeper", 2, 2, 0, 0);
    CHECK(doomed && keeper);
    bk = BLOCK_BYTES(code_frame_bytes(keeper));

    /* doomed: 3 zombies; keeper: 1. Then two of doomed's zombies go live. */
    call_recursive(doomed, NULL, 3);
    call_recursive(keeper, NULL, 1);
    outer = call_enter(doomed, NULL);
    inner = call_enter(doomed, outer);
    CHECK(outer->f_zombie && inner->f_zombie);
    s = pool_stats();
    CHECK_EQ(s.fresh_allocs, 4);
    CHECK_EQ(s.zombie_hits, 2);
    CHECK_EQ(s.cached_frames, 2);
    CHECK_EQ(s.live_frames, 2);

    /* Its one remaining zombie is freed now; keeper's stays. */
    code_dealloc(doomed);
    s = pool_stats();
    CHECK_EQ(s.frees, 1);
    CHECK_EQ(s.cached_frames, 1);
    CHECK_EQ(s.cached_bytes, bk);
    CHECK_EQ(s.live_frames, 2);
    CHECK_EQ(s.codes, 1); /* freed for the caller at once, live frames or not */

    /* The rest of the pool is unaffected: keeper still hits. */
    k = call_enter(keeper, NULL);
    CHECK(k->f_zombie && k->f_code == keeper);
    call_leave(k);

    /* The live frames kept their contents, and each release frees its block. */
    CHECK(frame_locals_intact(inner) && frame_locals_intact(outer));
    call_leave(inner);
    s = pool_stats();
    CHECK_EQ(s.frees, 2);
    CHECK_EQ(s.cached_frames, 1);
    CHECK_EQ(s.cached_bytes, bk);
    call_leave(outer);

    /* 3 + 1 + 2 + 1 acquires, hits 2 (doomed) + 1 (keeper); the last
     * release took doomed's handle with it. */
    s = pool_stats();
    CHECK_EQ(s.acquires, 7);
    CHECK_EQ(s.zombie_hits, 3);
    CHECK_EQ(s.fresh_allocs, 4);
    CHECK_EQ(s.releases, 7);
    CHECK_EQ(s.frees, 3);
    CHECK_EQ(s.live_frames, 0);
    CHECK_EQ(s.cached_frames, 1);
    CHECK_EQ(s.cached_bytes, bk);
    CHECK_EQ(s.codes, 1);
    CHECK_EQ(s.codes_created, 2);
    print_summary("code-freed-while-live");

    code_dealloc(keeper);
    s = pool_stats();
    CHECK_EQ(s.codes, 0);
    CHECK_EQ(s.frees, 4);
    CHECK_EQ(s.cached_bytes, 0);
    CHECK_AUDIT_CLEAN();
    minipy_fini();
    return check_done();
}

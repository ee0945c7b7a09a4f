/*
 * The default bound follows the program, seen from C through
 * ZfStats.bound_bytes: it starts at ZF_AUTO_BOUND_FLOOR, grows by one block
 * (its size class's, header included: zf_frame_block_bytes in this plain
 * pool) for each live
 * code whose frame has come back once, shrinks back as those codes are
 * freed, and what is cached never exceeds it; so a loop that calls more
 * codes than the floor holds keeps every one's zombie, as CPython does. A
 * budget the caller sets stays a hard cap, whatever runs.
 */
#include "check.h"

enum { CODES = 120, FRAME = 3000 };

static void run_once(ZfCode *code)
{
    int zombie;
    void *f = zf_frame_acquire(code, &zombie);
    CHECK(f != NULL);
    zf_frame_release(code, f);
}

/* cached + allowance <= bound, at this moment; returns the stats. */
static ZfStats within_bound(const ZfPool *pool)
{
    ZfStats s = stats_of(pool);
    CHECK(s.cached_bytes + s.allowance_bytes <= s.bound_bytes);
    return s;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static void the_default_bound_follows_the_program(void)
{
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *codes[CODES];
    const uint64_t floor = ZF_AUTO_BOUND_FLOOR;
    const uint64_t weight = zf_frame_block_bytes(FRAME);
    int i;

    zf_config_default(&cfg);
    CHECK_EQ(cfg.budget_bytes, ZF_BUDGET_AUTO);
    pool = zf_pool_new(&cfg);
    CHECK(pool != NULL);
    CHECK_EQ(stats_of(pool).bound_bytes, floor);
    for (i = 0; i < CODES; i++)
        codes[i] = zf_code_new(pool, FRAME);
    CHECK_EQ(stats_of(pool).bound_bytes, floor); /* made, never run */
    for (i = 0; i < CODES; i++) {
        run_once(codes[i]);
        CHECK_EQ(within_bound(pool).bound_bytes, max_u64(floor, weight * (uint64_t)(i + 1)));
    }
    CHECK(stats_of(pool).cached_bytes > floor); /* the cache grew with the program */
    for (i = 0; i < CODES; i++) {
        zf_code_free(codes[i]);
        CHECK_EQ(within_bound(pool).bound_bytes, max_u64(floor, weight * (uint64_t)(CODES - 1 - i)));
    }
    CHECK_EQ(stats_of(pool).bound_bytes, floor);
    CHECK(stats_of(pool).cached_bytes <= floor);
    zf_pool_free(pool);
}

static void a_budget_set_by_the_caller_is_a_hard_cap(void)
{
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *codes[CODES];
    int i;

    zf_config_default(&cfg);
    cfg.budget_bytes = 48 * 1024;
    pool = zf_pool_new(&cfg);
    CHECK(pool != NULL);
    for (i = 0; i < CODES; i++) {
        codes[i] = zf_code_new(pool, FRAME);
        run_once(codes[i]);
        CHECK_EQ(within_bound(pool).bound_bytes, cfg.budget_bytes);
        CHECK(stats_of(pool).peak_cached_bytes <= cfg.budget_bytes);
    }
    CHECK(stats_of(pool).evicted_frees > 0); /* the cap was in the way */
    for (i = 0; i < CODES; i++) {
        zf_code_free(codes[i]);
        CHECK_EQ(within_bound(pool).bound_bytes, cfg.budget_bytes);
    }
    zf_pool_free(pool);
}

static void recurse(ZfCode *code, int depth)
{
    void *f;
    if (depth == 0)
        return;
    f = zf_frame_acquire(code, NULL);
    CHECK(f != NULL);
    recurse(code, depth - 1);
    zf_frame_release(code, f);
}

/* A deep recursion makes room in the bound until the next full collection,
 * which forgets it: the frames that no longer fit are freed, and
 * zf_pool_collect returns their bytes. */
static void a_full_collection_reports_the_frames_it_trims(void)
{
    ZfPool *pool = zf_pool_new(NULL);
    ZfCode *code = zf_code_new(pool, 448);
    ZfStats before, after;
    size_t given_back;

    recurse(code, 300);
    before = within_bound(pool);
    CHECK(before.cached_bytes > ZF_AUTO_BOUND_FLOOR);
    CHECK_EQ(zf_pool_collect(pool, 1), 0); /* only a full collection forgets it */
    given_back = zf_pool_collect(pool, 2);
    after = within_bound(pool);
    CHECK_EQ(after.bound_bytes, ZF_AUTO_BOUND_FLOOR);
    CHECK(given_back > 0);
    CHECK_EQ(given_back, before.cached_bytes - after.cached_bytes);
    CHECK_EQ(after.evicted_frees - before.evicted_frees, after.frees - before.frees);
    zf_code_free(code);
    zf_pool_free(pool);
}

/* A code as the CPython kits hold one: its inline state beside it. */
typedef struct {
    ZfCodeHot hot;
    ZfCode *zf;
} HotCode;

/* A frame of `c` through the inline halves, then the slow entries. */
static void *hot_enter(HotCode *c)
{
    int zombie;
    void *f = zf_hot_hit(&c->hot);
    if (f == NULL)
        f = zf_frame_acquire_slow(c->zf, &zombie);
    CHECK(f != NULL);
    return f;
}

static void hot_leave(HotCode *c, void *f)
{
    if (!zf_hot_give(&c->hot, f))
        zf_frame_release_slow(c->zf, f);
}

/* The second frames re-entries leave behind are room, as they fill
 * CPython's free list: two codes re-entered at once (a, b, a, b on the
 * stack) leave two frames, which the reserve keeps, and each such stack
 * after takes both; a full collection empties CPython's list, and the
 * reserve gives them back. So with `n` codes of `frame` bytes whose
 * zombies fill the bound: their share within the room a recursion may
 * add to (10 codes of 4 KiB blocks, 40 KiB) or past it (60, 240 KiB:
 * there was no room, and each such frame went back to the system), and
 * frames whose block rounds up to its class (2,100 bytes, a block of
 * 2,176: counted at the size asked, two such frames had room for one). */
static void the_frames_reentries_leave_are_room(int n, size_t frame)
{
    enum { N = 100 };
    static const ZfCodeHot inert = ZF_CODE_HOT_INERT;
    static HotCode codes[N];
    ZfPool *pool = zf_pool_new(NULL);
    HotCode *a = &codes[0], *b = &codes[1];
    uint64_t block = zf_frame_block_bytes(frame);
    ZfStats s;
    int i, round;

    CHECK(n <= N);
    for (i = 0; i < n; i++) {
        codes[i].hot = inert;
        codes[i].zf = zf_code_new_with_hot(pool, frame, &codes[i].hot);
        CHECK(codes[i].zf != NULL);
        hot_leave(&codes[i], hot_enter(&codes[i]));
    }
    s = within_bound(pool);
    CHECK_EQ(s.bound_bytes, n * block);
    CHECK_EQ(s.cached_bytes, n * block); /* one zombie a code fills it */
    for (round = 0; round < 4; round++) {
        void *a1 = hot_enter(a), *b1 = hot_enter(b), *a2 = hot_enter(a), *b2 = hot_enter(b);
        hot_leave(b, b2);
        hot_leave(a, a2);
        hot_leave(b, b1);
        hot_leave(a, a1);
        s = within_bound(pool);
        CHECK_EQ(s.bound_bytes, (n + 2) * block);
        CHECK_EQ(s.fresh_allocs, n + 2);
        CHECK_EQ(s.shared_hits, 2 * round);
        CHECK_EQ(s.frees, 0);
        CHECK_EQ(s.shared_frames, 2);
    }
    zf_pool_collect(pool, 2);
    s = within_bound(pool);
    CHECK_EQ(s.bound_bytes, n * block);
    CHECK_EQ(s.shared_frames, 0);
    CHECK_EQ(s.cached_frames, n);
    for (i = 0; i < n; i++)
        zf_code_free(codes[i].zf);
    zf_pool_free(pool);
}

/* A main frame stays live while it calls many functions in turn, each of
 * its own frame size (those past 496 bytes round up to their class), through the header's
 * inline pair: CPython keeps one zombie per function, so every call after
 * the first round hits. A bound of one frame per code at the size asked
 * held fewer blocks than the codes, and the clock evicted, at each
 * release, the zombie called next: no call hit. */
static void a_loop_over_many_codes_keeps_each_ones_zombie(void)
{
    enum { N = 150, ROUNDS = 40 };
    static const ZfCodeHot inert = ZF_CODE_HOT_INERT;
    static HotCode codes[N];
    ZfPool *pool = zf_pool_new(NULL);
    HotCode main_code = {ZF_CODE_HOT_INERT, NULL};
    uint64_t asked = 0;
    void *main_frame;
    ZfStats s;
    int i, round;

    main_code.zf = zf_code_new_with_hot(pool, 480, &main_code.hot);
    CHECK(main_code.zf != NULL);
    main_frame = hot_enter(&main_code);
    for (i = 0; i < N; i++) {
        size_t frame = 400 + 8 * (size_t)(i % 26);
        codes[i].hot = inert;
        codes[i].zf = zf_code_new_with_hot(pool, frame, &codes[i].hot);
        CHECK(codes[i].zf != NULL);
        asked += ZF_HEADER_BYTES + (frame + 15) / 16 * 16;
    }
    CHECK(asked > ZF_AUTO_BOUND_FLOOR); /* past the floor's slack */
    for (round = 0; round < ROUNDS; round++)
        for (i = 0; i < N; i++)
            hot_leave(&codes[i], hot_enter(&codes[i]));
    s = within_bound(pool);
    CHECK(s.bound_bytes > asked); /* the blocks, rounded up to their classes */
    CHECK_EQ(s.fresh_allocs, N + 1);
    CHECK_EQ(s.zombie_hits, (uint64_t)N * (ROUNDS - 1));
    CHECK_EQ(s.evicted_frees, 0);
    CHECK_EQ(s.cached_frames, N);
    hot_leave(&main_code, main_frame);
    for (i = 0; i < N; i++)
        zf_code_free(codes[i].zf);
    zf_code_free(main_code.zf);
    zf_pool_free(pool);
}

int main(void)
{
    the_default_bound_follows_the_program();
    a_budget_set_by_the_caller_is_a_hard_cap();
    a_full_collection_reports_the_frames_it_trims();
    the_frames_reentries_leave_are_room(10, 4096 - ZF_HEADER_BYTES);
    the_frames_reentries_leave_are_room(60, 4096 - ZF_HEADER_BYTES);
    the_frames_reentries_leave_are_room(100, 2100);
    a_loop_over_many_codes_keeps_each_ones_zombie();
    return check_done();
}

/*
 * A code whose inline state the caller keeps (zf_code_new_with_hot), as
 * glue that holds it inside its code object does: the hit and the cached
 * release on that state (zf_hot_hit, zf_hot_give), the exported functions
 * on the ZfCode, with the counts of a code from zf_code_new. The ZfCode's
 * own state stays inert. After zf_code_free, the caller's state is inert
 * and the library never reads or writes it again: here it is overwritten
 * with a marker, and the code's late frames go through the exported
 * functions. A debug or legacy pool keeps it inert (every call reaches
 * the library), and a debug pool still checks each; NULL and a misaligned
 * state are refused.
 */
#include "check.h"

enum { DEPTH = 20, CALLS = 1000 };

/* A code object of an interpreter, holding the library's state inline
 * (after a field of its own: the state is not at the object's start). */
typedef struct {
    int id;
    ZfCodeHot hot;
    ZfCode *zf;
} Code;

static void *call(Code *co)
{
    void *f = zf_hot_hit(&co->hot);
    if (f == NULL)
        f = zf_frame_acquire_slow(co->zf, NULL);
    CHECK(f != NULL);
    return f;
}

static void ret(Code *co, void *frame)
{
    if (!zf_hot_give(&co->hot, frame))
        zf_frame_release_slow(co->zf, frame);
}

static int inert(const ZfCodeHot *hot)
{
    return hot->slot == (void *)ZF_SLOT_SHUT && hot->top == NULL && hot->room == 0 && hot->hits == 0;
}

/* Counts a code from zf_code_new gets for the same calls: the caller's
 * state changes where the inline pair works, not what it decides. */
static ZfStats run(const ZfConfig *cfg, int with_hot, Code *co, ZfPool **pool_out)
{
    ZfPool *pool = zf_pool_new(cfg);
    void *frames[DEPTH];
    int i, d;
    co->hot = (ZfCodeHot)ZF_CODE_HOT_INERT;
    co->hot.hits = 99; /* garbage the call must replace */
    co->zf = with_hot ? zf_code_new_with_hot(pool, 400, &co->hot) : zf_code_new(pool, 400);
    CHECK(co->zf != NULL);
    if (with_hot)
        CHECK(inert(&co->hot));
    for (i = 0; i < CALLS; i++) {
        void *f = with_hot ? call(co) : zf_frame_acquire_fast(co->zf, NULL);
        if (with_hot)
            ret(co, f);
        else
            zf_frame_release_fast(co->zf, f);
    }
    for (d = 0; d < DEPTH; d++)
        frames[d] = with_hot ? call(co) : zf_frame_acquire_fast(co->zf, NULL);
    for (d = DEPTH - 1; d >= 0; d--) {
        if (with_hot)
            ret(co, frames[d]);
        else
            zf_frame_release_fast(co->zf, frames[d]);
    }
    *pool_out = pool;
    return stats_of(pool);
}

/* A plain pool works on the caller's state; a legacy one (every call
 * watched) leaves it inert. Either way the counts are zf_code_new's. */
static void test_same_counts(int legacy)
{
    ZfConfig cfg;
    Code own, kept;
    ZfPool *p1, *p2;
    ZfStats a, b;
    void *f, *live;
    int zombie = -1;
    zf_config_default(&cfg);
    cfg.policy = legacy ? ZF_POLICY_LEGACY : ZF_POLICY_PER_CODE;
    a = run(&cfg, 0, &own, &p1);
    b = run(&cfg, 1, &kept, &p2);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    CHECK_EQ(b.acquires, CALLS + DEPTH);
    CHECK(b.zombie_hits >= CALLS - 1);
    /* The ZfCode's own state never hits; the exported acquire finds the
     * zombie wherever the pool keeps it. */
    CHECK(zf_frame_hit_fast(kept.zf) == NULL);
    CHECK(legacy ? inert(&kept.hot) : kept.hot.slot != NULL && kept.hot.slot != (void *)ZF_SLOT_SHUT);
    f = zf_frame_acquire(kept.zf, &zombie);
    CHECK_EQ(zombie, 1);
    live = zf_frame_acquire(kept.zf, NULL);
    zf_frame_release(kept.zf, f);
    /* Freed with a zombie cached and a frame live: the caller's state is
     * inert, and the library never reads or writes it again, though the
     * live frame's release and the pool's later work reach the code. */
    zf_code_free(kept.zf);
    CHECK(inert(&kept.hot));
    memset(&kept.hot, 0x5a, sizeof kept.hot);
    zf_frame_release(kept.zf, live);
    zf_pool_collect(p2, 2);
    zf_pool_clear(p2);
    b = stats_of(p2);
    CHECK_EQ(b.codes, 0);
    CHECK_EQ(b.live_frames, 0);
    CHECK_EQ(b.cached_frames, 0);
    CHECK_EQ(b.frees, b.fresh_allocs);
    CHECK(kept.hot.hits == 0x5a5a5a5a5a5a5a5aull && kept.hot.room == 0x5a5a5a5a);
    zf_code_free(own.zf);
    zf_pool_free(p1);
    zf_pool_free(p2);
}

/* Freed while a frame is live, and after its pool: the late frame goes
 * through the exported release, and the state stays as the caller left it. */
static void test_late_frames(void)
{
    ZfPool *pool = zf_pool_new(NULL);
    Code co;
    void *a, *b;
    co.zf = zf_code_new_with_hot(pool, 256, &co.hot);
    a = call(&co);
    ret(&co, a);
    a = call(&co); /* the zombie, inline */
    b = call(&co);
    zf_pool_free(pool); /* the code outlives it: its zombies go now */
    CHECK(inert(&co.hot));
    ret(&co, b);        /* uncached: freed */
    CHECK(inert(&co.hot));
    zf_code_free(co.zf);
    memset(&co.hot, 0x5a, sizeof co.hot);
    zf_frame_release(co.zf, a); /* the last frame frees the code and the pool */
    CHECK(co.hot.hits == 0x5a5a5a5a5a5a5a5aull && co.hot.slot == (void *)0x5a5a5a5a5a5a5a5aull);
}

/* A debug pool watches every call: the caller's state stays inert, so each
 * call reaches the library, which still catches a double release. */
static int reports;
static void count_report(void *ctx, int kind, const char *message)
{
    (void)ctx;
    (void)message;
    reports += kind == ZF_ERR_DOUBLE_RELEASE;
}

static void test_debug_pool(void)
{
    ZfConfig cfg;
    ZfPool *pool;
    Code co;
    void *f;
    int i;
    zf_config_default(&cfg);
    cfg.flags |= ZF_FLAG_DEBUG;
    pool = zf_pool_new(&cfg);
    zf_set_error_handler(pool, count_report, NULL);
    co.zf = zf_code_new_with_hot(pool, 128, &co.hot);
    for (i = 0; i < 10; i++) {
        f = call(&co);
        CHECK(inert(&co.hot));
        ret(&co, f);
        CHECK(inert(&co.hot));
    }
    CHECK_EQ(stats_of(pool).zombie_hits, 9);
    f = call(&co);
    ret(&co, f);
    ret(&co, f);
    CHECK_EQ(reports, 1);
    zf_code_free(co.zf);
    zf_pool_free(pool);
}

static void test_null(void)
{
    ZfPool *pool = zf_pool_new(NULL);
    ZfCodeHot hot;
    CHECK(zf_code_new_with_hot(pool, 64, NULL) == NULL);
    CHECK(contains(zf_last_error(), "zf_code_new_with_hot") && contains(zf_last_error(), "hot"));
    CHECK(zf_code_new_with_hot(NULL, 64, &hot) == NULL);
    CHECK(contains(zf_last_error(), "pool"));
    CHECK(zf_code_new_with_hot(pool, 0, &hot) == NULL);
    /* A misaligned state is refused, and left as it was. */
    {
        union {
            ZfCodeHot hot[2];
            char bytes[2 * sizeof(ZfCodeHot)];
        } buf;
        memset(&buf, 0x5a, sizeof buf);
        CHECK(zf_code_new_with_hot(pool, 64, (ZfCodeHot *)(void *)(buf.bytes + 4)) == NULL);
        CHECK(contains(zf_last_error(), "aligned"));
        CHECK(buf.bytes[4] == 0x5a && buf.bytes[4 + sizeof(ZfCodeHot) - 1] == 0x5a);
    }
    CHECK_EQ(stats_of(pool).codes, 0);
    zf_pool_free(pool);
}

int main(void)
{
    test_same_counts(0);
    test_same_counts(1);
    test_late_frames();
    test_debug_pool();
    test_null();
    return check_done();
}

/*
 * ZF_FLAG_FRAME_PREFIX, as CPython's glue uses it: each frame starts
 * `prefix_bytes` before the pointer the library hands out (the GC head
 * before the object): ZF_HEADER_BYTES when the flag comes alone (3.9's
 * head), and 32 (2.7's). Through the inline pair and the exported pair:
 * every byte of a zombie but the word before its pointer comes back as
 * the caller left it; a per-code pool's block is the frame's own size
 * class, with no header, and starts where the frame does; a legacy pool
 * and a debug pool keep theirs in front, with the link in it, so every
 * byte comes back, and debug mode checks them all, the prefix's words
 * included; a frame smaller than its prefix is refused; the hooks get
 * every byte back.
 */
#define _POSIX_C_SOURCE 200809L /* posix_memalign */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "zombie_frames.h"

#define FRAME 504 /* CPython 2.7's frame of a small function: 512 in pymalloc */
static int prefix; /* each test runs with both: see main */

static long blocks, bytes_out, last_size;
static void *last_block;

static void *heap_alloc(void *ctx, size_t size)
{
    void *p = NULL;
    (void)ctx;
    if (posix_memalign(&p, 16, size) != 0)
        return NULL;
    blocks++;
    bytes_out += (long)size;
    last_size = (long)size;
    last_block = p;
    return p;
}

static void heap_dealloc(void *ctx, void *p, size_t size)
{
    (void)ctx;
    blocks--;
    bytes_out -= (long)size;
    free(p);
}

static ZfPool *pool_with(uint32_t policy, uint32_t flags)
{
    ZfConfig cfg;
    zf_config_default(&cfg);
    cfg.policy = policy;
    cfg.flags = ZF_FLAG_FRAME_PREFIX | flags;
    cfg.prefix_bytes = prefix == ZF_HEADER_BYTES ? 0 : (uint32_t)prefix;
    cfg.alloc = heap_alloc;
    cfg.dealloc = heap_dealloc;
    return zf_pool_new(&cfg);
}

/* The frame's first byte: `prefix` before the pointer. */
static unsigned char *start(void *p)
{
    return (unsigned char *)p - prefix;
}

static void fill(void *p, unsigned char seed)
{
    for (int i = 0; i < FRAME; i++)
        start(p)[i] = (unsigned char)(seed + i * 31);
}

/* Every byte as `fill` left it, but the word before `p` if `skip_link`
 * (a plain per-code pool's link while it held the frame). */
static int holds_but(void *p, unsigned char seed, int skip_link)
{
    for (int i = 0; i < FRAME; i++) {
        int link = skip_link && i >= prefix - (int)sizeof(void *) && i < prefix;
        if (!link && start(p)[i] != (unsigned char)(seed + i * 31))
            return 0;
    }
    return 1;
}

static int holds(void *p, unsigned char seed)
{
    return holds_but(p, seed, 1);
}

static void test_per_code_blocks_are_the_frames_own(void)
{
    ZfPool *pool = pool_with(ZF_POLICY_PER_CODE, 0);
    ZfCode *code = zf_code_new(pool, FRAME);
    void *f[3], *again[3];
    int zombie = -1;
    ZfStats s;
    CHECK(pool != NULL && code != NULL);
    /* Three deep: each a block of its own, the frame starting at it. */
    for (int i = 0; i < 3; i++) {
        long before = blocks;
        f[i] = zf_frame_acquire_fast(code, &zombie);
        CHECK(f[i] != NULL && (uintptr_t)f[i] % ZF_FRAME_ALIGN == 0);
        CHECK_EQ(zombie, 0);
        CHECK_EQ(blocks, before + 1);
        CHECK_EQ(last_size, 512); /* no header: 504 bytes take pymalloc's 512 */
        CHECK(f[i] != NULL && start(f[i]) == (unsigned char *)last_block);
        if (f[i] == NULL)
            return;
        fill(f[i], (unsigned char)(7 * i + 1));
    }
    for (int i = 2; i >= 0; i--)
        zf_frame_release_fast(code, f[i]); /* the library grants the slots */
    zf_pool_stats(pool, &s);
    CHECK_EQ(s.cached_frames, 3);
    CHECK_EQ(s.cached_bytes, 3 * 512);
    /* Now all inline: the slot's zombie and two pops of the stack, then
     * one release into the slot and two pushes, whose links go in the
     * word before each frame; then the same again, checking the bytes. */
    for (int round = 0; round < 2; round++) {
        for (int n = 0; n < 3; n++) {
            void *p = zf_frame_hit_fast(code);
            int i = p == f[0] ? 0 : p == f[1] ? 1 : p == f[2] ? 2 : -1;
            CHECK(i >= 0);
            if (i >= 0)
                CHECK(holds(p, (unsigned char)(7 * i + 1)));
            again[n] = p;
        }
        for (int n = 2; n >= 0; n--)
            CHECK_EQ(zf_frame_give_fast(code, again[n]), 1);
    }
    for (int n = 0; n < 3; n++) {
        again[n] = zf_frame_acquire_fast(code, &zombie);
        CHECK_EQ(zombie, 1);
    }
    /* The exported pair, through the reserve: a second code of the class
     * takes the first one's frames once that code is gone. */
    for (int i = 0; i < 3; i++)
        zf_frame_release(code, again[i]);
    zf_code_free(code);
    code = zf_code_new(pool, FRAME + 8);
    f[0] = zf_frame_acquire(code, &zombie);
    CHECK(f[0] != NULL);
    CHECK_EQ(zombie, 0);
    zf_pool_stats(pool, &s);
    CHECK_EQ(s.shared_hits, 1);
    zf_frame_release(code, f[0]);
    zf_code_free(code);
    zf_pool_free(pool);
    CHECK_EQ(blocks, 0);
    CHECK_EQ(bytes_out, 0);
}

static void test_legacy_keeps_a_header_in_front(void)
{
    ZfPool *pool = pool_with(ZF_POLICY_LEGACY, 0);
    ZfCode *a = zf_code_new(pool, FRAME), *b = zf_code_new(pool, 100);
    int zombie = -1;
    void *f = zf_frame_acquire(a, &zombie), *g;
    ZfStats s;
    CHECK(f != NULL && (uintptr_t)f % ZF_FRAME_ALIGN == 0);
    /* The header, then the prefix, then the pointer. */
    CHECK((unsigned char *)f - ZF_HEADER_BYTES - prefix == (unsigned char *)last_block);
    CHECK_EQ(last_size, ZF_HEADER_BYTES + 512);
    if (f == NULL)
        return;
    fill(f, 3);
    zf_frame_release(a, f);
    CHECK(zf_frame_acquire(a, &zombie) == f);
    CHECK_EQ(zombie, 1);
    CHECK(holds_but(f, 3, 0));
    /* Two of a's frames: the second goes to the free list, where b takes
     * it whatever its size, as CPython's does; its link was in the
     * header, so every byte of it comes back. */
    g = zf_frame_acquire(a, NULL);
    CHECK(g != NULL);
    if (g == NULL)
        return;
    fill(g, 5);
    /* Through the inline pair too: legacy's inert inline state sends both
     * calls to the library. */
    zf_frame_release_fast(a, f);
    zf_frame_release_fast(a, g);
    zf_pool_stats(pool, &s);
    CHECK_EQ(s.cached_bytes, 2 * (ZF_HEADER_BYTES + 512)); /* a header, then 504 rounded to 16 */
    CHECK(zf_frame_acquire_fast(b, &zombie) == g);
    CHECK_EQ(zombie, 0);
    CHECK(holds_but(g, 5, 0));
    zf_frame_release(b, g);
    zf_code_free(a);
    zf_code_free(b);
    zf_pool_free(pool);
    CHECK_EQ(blocks, 0);
    CHECK_EQ(bytes_out, 0);
}

typedef struct Report {
    int count, kind;
} Report;

static void on_misuse(void *ctx, int kind, const char *message)
{
    Report *r = ctx;
    (void)message;
    r->count++;
    r->kind = kind;
}

static void test_debug_checks_the_frames_bytes(void)
{
    ZfPool *pool = pool_with(ZF_POLICY_PER_CODE, ZF_FLAG_DEBUG);
    ZfCode *code = zf_code_new(pool, FRAME);
    Report rep = {0, 0};
    unsigned char *f;
    int zombie = -1;
    CHECK(pool != NULL && code != NULL);
    zf_set_error_handler(pool, on_misuse, &rep);
    /* The prefix and every byte after it are the caller's while live. */
    f = zf_frame_acquire(code, NULL);
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fill(f, 9);
    zf_frame_release(code, f);
    CHECK_EQ(rep.count, 0);
    CHECK((unsigned char *)zf_frame_acquire(code, NULL) == f);
    CHECK(holds_but(f, 9, 0));
    /* One byte past the frame's end: the guard. */
    start(f)[FRAME] ^= 1;
    zf_frame_release(code, f);
    CHECK_EQ(rep.count, 1);
    CHECK_EQ(rep.kind, ZF_ERR_OVERRUN);
    /* A write to a zombie's bytes, past the pointer or in the prefix's
     * first and last words (3.9's _gc_next, then the _gc_prev a plain pool
     * links through; 2.7's gc_next and the padding after gc_refs), of a
     * zombie alone in the slot or on the stack over
     * another: found when an acquire reaches it, and the zombie under it
     * comes back whole. Through the inline pair, which a debug pool's
     * inert inline state sends to the library every time. */
    const int at[] = {40, -prefix, -(int)sizeof(void *)};
    for (int stacked = 0; stacked < 2; stacked++) {
        for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
            unsigned char *slot = NULL, *under = NULL;
            if (stacked) {
                slot = zf_frame_acquire_fast(code, NULL);
                under = zf_frame_acquire_fast(code, NULL);
                CHECK(slot != NULL && under != NULL);
                if (slot == NULL || under == NULL)
                    return;
                fill(under, 11);
            }
            rep.count = 0;
            f = zf_frame_acquire_fast(code, NULL);
            CHECK(f != NULL);
            if (f == NULL)
                return;
            if (stacked) {
                zf_frame_release_fast(code, slot);  /* the slot */
                zf_frame_release_fast(code, under); /* the stack */
            }
            zf_frame_release_fast(code, f); /* the slot, or over `under` */
            f[at[i]] ^= 1;
            if (stacked) {
                CHECK((unsigned char *)zf_frame_acquire_fast(code, &zombie) == slot && zombie == 1);
                CHECK((unsigned char *)zf_frame_acquire_fast(code, &zombie) == under && zombie == 1);
                CHECK(holds_but(under, 11, 0));
                f = under; /* f itself was freed */
            } else {
                f = zf_frame_acquire_fast(code, &zombie);
                CHECK_EQ(zombie, 0); /* freed, not handed out */
            }
            CHECK_EQ(rep.count, 1);
            CHECK_EQ(rep.kind, ZF_ERR_WRITE_AFTER_RELEASE);
            zf_frame_release_fast(code, f);
            if (stacked)
                zf_frame_release_fast(code, slot);
        }
    }
    zf_code_free(code);
    zf_pool_free(pool);
    CHECK_EQ(blocks, 0);
    CHECK_EQ(bytes_out, 0);
}

static void test_a_frame_holds_its_prefix(void)
{
    ZfPool *pool = pool_with(ZF_POLICY_PER_CODE, 0);
    char expected[32];
    snprintf(expected, sizeof expected, "expected %d to", prefix);
    CHECK(zf_code_new(pool, (size_t)prefix - 1) == NULL);
    CHECK(contains(zf_last_error(), expected));
    ZfCode *code = zf_code_new(pool, (size_t)prefix);
    CHECK(code != NULL);
    zf_code_free(code);
    zf_pool_free(pool);
    CHECK_EQ(blocks, 0);
}

int main(void)
{
    for (prefix = ZF_HEADER_BYTES; prefix <= 32; prefix += 16) {
        test_per_code_blocks_are_the_frames_own();
        test_legacy_keeps_a_header_in_front();
        test_debug_checks_the_frames_bytes();
        test_a_frame_holds_its_prefix();
    }
    return check_done();
}

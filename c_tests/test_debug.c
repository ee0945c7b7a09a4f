/*
 * Debug mode (ZF_FLAG_DEBUG), one section per kind of misuse. Each commits
 * the misuse on purpose with a handler that records instead of aborting,
 * checks what was reported (kind and message), then that the pool still
 * works and that the allocator hooks got every byte back. The last section
 * checks the default handler: one line on stderr, then abort().
 * The messages are printed, for the README's table.
 */
#define _POSIX_C_SOURCE 200809L /* posix_memalign, pthreads, fork */

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "zombie_frames.h"

/* ---- allocator hooks that count, and can stop one thread inside ------ */

typedef struct Heap {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    long blocks, bytes;   /* outstanding */
    size_t last;          /* the size of the latest block asked for */
    int stop_next;        /* the next alloc waits, inside the pool, until released */
    int stopped, release; /* handshake with the other thread */
} Heap;

static void *heap_alloc(void *ctx, size_t size)
{
    Heap *h = ctx;
    void *p = NULL;
    pthread_mutex_lock(&h->lock);
    if (h->stop_next) {
        h->stop_next = 0;
        h->stopped = 1;
        pthread_cond_broadcast(&h->changed);
        while (!h->release)
            pthread_cond_wait(&h->changed, &h->lock);
    }
    h->last = size;
    if (posix_memalign(&p, 16, size) == 0) {
        h->blocks++;
        h->bytes += (long)size;
    }
    pthread_mutex_unlock(&h->lock);
    return p;
}

static void heap_dealloc(void *ctx, void *ptr, size_t size)
{
    Heap *h = ctx;
    pthread_mutex_lock(&h->lock);
    h->blocks--;
    h->bytes -= (long)size;
    pthread_mutex_unlock(&h->lock);
    free(ptr);
}

/* ---- a handler that records ---------------------------------------------- */

typedef struct Reports {
    int calls, kind;
    char message[512];
} Reports;

static void record(void *ctx, int kind, const char *message)
{
    Reports *r = ctx;
    r->calls++;
    r->kind = kind;
    snprintf(r->message, sizeof r->message, "%s", message);
    printf("  reported: %s\n", message);
}

/* A debug pool whose every byte comes from `heap` and goes back through
 * `dealloc` (heap_dealloc, or a hook that does more), and whose reports go
 * to `rep`; with `prefix` bytes of the caller's before each frame (0: none)
 * and the legacy policy if `legacy`. */
static ZfPool *debug_pool_with(Heap *heap, Reports *rep, unsigned prefix, int legacy, ZfDeallocFn dealloc)
{
    ZfConfig cfg;
    ZfPool *pool;
    memset(heap, 0, sizeof *heap);
    pthread_mutex_init(&heap->lock, NULL);
    pthread_cond_init(&heap->changed, NULL);
    memset(rep, 0, sizeof *rep);
    zf_config_default(&cfg);
    cfg.flags = ZF_FLAG_DEBUG | (prefix ? ZF_FLAG_FRAME_PREFIX : 0);
    cfg.prefix_bytes = prefix;
    cfg.policy = legacy ? ZF_POLICY_LEGACY : ZF_POLICY_PER_CODE;
    cfg.alloc = heap_alloc;
    cfg.dealloc = dealloc;
    cfg.alloc_ctx = heap;
    pool = zf_pool_new(&cfg);
    CHECK(pool != NULL);
    zf_set_error_handler(pool, record, rep);
    return pool;
}

static ZfPool *debug_pool(Heap *heap, Reports *rep)
{
    return debug_pool_with(heap, rep, 0, 0, heap_dealloc);
}

static ZfPool *debug_pool_of(Heap *heap, Reports *rep, unsigned prefix, int legacy)
{
    return debug_pool_with(heap, rep, prefix, legacy, heap_dealloc);
}

/* The pool still works: a round trip on `code` reports nothing and the
 * zombie comes back with its bytes. */
static void check_usable(ZfCode *code, size_t bytes, const Reports *rep)
{
    int calls = rep->calls, z = -1;
    unsigned char *f = zf_frame_acquire(code, NULL);
    CHECK(f != NULL);
    memset(f, 0x5A, bytes);
    zf_frame_release(code, f);
    CHECK(zf_frame_acquire(code, &z) == f);
    CHECK_EQ(z, 1);
    CHECK(f[0] == 0x5A && f[bytes - 1] == 0x5A);
    zf_frame_release(code, f);
    CHECK_EQ(rep->calls, calls);
}

/* Frees the pool and its codes; the hooks must have every byte back. */
static void finish(ZfPool *pool, ZfCode **codes, int n, Heap *heap, const Reports *rep)
{
    int calls = rep->calls, i;
    zf_pool_free(pool);
    for (i = 0; i < n; i++)
        zf_code_free(codes[i]);
    CHECK_EQ(rep->calls, calls);
    CHECK_EQ(heap->blocks, 0);
    CHECK_EQ(heap->bytes, 0);
}

/* ---- the kinds --------------------------------------------------------------- */

static void test_double_release(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *code = zf_code_new(pool, 100);
    void *f = zf_frame_acquire(code, NULL), *g, *h;

    puts("double release");
    zf_frame_release(code, f);
    zf_frame_release(code, f);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_DOUBLE_RELEASE);
    CHECK(contains(rep.message, "double release") && contains(rep.message, "released again"));
    CHECK(contains(rep.message, "code #1 (100 bytes)"));
    /* The second release was ignored: one zombie, handed out once. */
    CHECK_EQ(stats_of(pool).releases, 1);
    CHECK_EQ(stats_of(pool).cached_frames, 1);
    g = zf_frame_acquire(code, NULL);
    h = zf_frame_acquire(code, NULL);
    CHECK(g == f && h != f);
    zf_frame_release(code, g);
    /* Through the header's inline release: caught all the same, and told
     * as the exported function it calls (docs/API.md, Debug mode). */
    zf_frame_release_fast(code, h);
    zf_frame_release_fast(code, h);
    CHECK_EQ(rep.calls, 2);
    CHECK_EQ(rep.kind, ZF_ERR_DOUBLE_RELEASE);
    CHECK(contains(rep.message, "zf_frame_release_slow: frame"));
    CHECK_EQ(stats_of(pool).cached_frames, 2);
    check_usable(code, 100, &rep);
    finish(pool, &code, 1, &heap, &rep);
}

static void test_wrong_code(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *codes[2];
    void *f;
    int z = -1;

    puts("release to the wrong code");
    codes[0] = zf_code_new(pool, 100);
    codes[1] = zf_code_new(pool, 200);
    f = zf_frame_acquire(codes[0], NULL);
    zf_frame_release(codes[1], f);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_WRONG_CODE);
    CHECK(contains(rep.message, "code #1 (100 bytes) was released to code #2 (200 bytes)"));
    /* It went to its own code. */
    CHECK(zf_frame_acquire(codes[0], &z) == f);
    CHECK_EQ(z, 1);
    zf_frame_release(codes[0], f);
    f = zf_frame_acquire(codes[1], &z);
    CHECK(f != NULL && z == 0);
    CHECK_EQ(stats_of(pool).live_frames, 1);
    zf_frame_release(codes[1], f);
    check_usable(codes[0], 100, &rep);
    check_usable(codes[1], 200, &rep);
    CHECK_EQ(rep.calls, 1);
    finish(pool, codes, 2, &heap, &rep);
}

static void test_foreign_pointer(void)
{
    Heap heap, heap2;
    Reports rep, rep2;
    ZfPool *pool = debug_pool(&heap, &rep), *other = debug_pool(&heap2, &rep2);
    ZfCode *code = zf_code_new(pool, 64), *code2 = zf_code_new(other, 64);
    unsigned char *f = zf_frame_acquire(code, NULL), *g = zf_frame_acquire(code2, NULL);
    void *mine = malloc(64);

    puts("foreign pointer");
    /* Never mapped: reading a header 16 bytes before it would crash. */
    zf_frame_release(code, (void *)(uintptr_t)16);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_FOREIGN_POINTER);
    CHECK(contains(rep.message, "not a frame of this pool"));
    /* The caller's own memory (AddressSanitizer would see a read before it). */
    zf_frame_release(code, mine);
    /* Another pool's frame, and a pointer inside one of ours. */
    zf_frame_release(code, g);
    zf_frame_release(code, f + 16);
    CHECK_EQ(rep.calls, 4);
    CHECK_EQ(rep.kind, ZF_ERR_FOREIGN_POINTER);
    CHECK_EQ(rep2.calls, 0);
    CHECK_EQ(stats_of(pool).releases, 0);
    CHECK_EQ(stats_of(pool).live_frames, 1);
    zf_frame_release(code, f);
    zf_frame_release(code2, g);
    free(mine);
    check_usable(code, 64, &rep);
    CHECK_EQ(rep.calls, 4);
    finish(pool, &code, 1, &heap, &rep);
    finish(other, &code2, 1, &heap2, &rep2);
}

static void test_write_after_release(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *code = zf_code_new(pool, 100);
    unsigned char *f = zf_frame_acquire(code, NULL), *g;
    int z = -1;
    ZfStats s;

    puts("write after release");
    memset(f, 1, 100);
    zf_frame_release(code, f);
    CHECK_EQ(rep.calls, 0);
    f[42] = 2; /* into the zombie */
    g = zf_frame_acquire(code, &z);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_WRITE_AFTER_RELEASE);
    CHECK(contains(rep.message, "code #1 (100 bytes)") && contains(rep.message, "changed after its release"));
    /* The zombie was freed, not handed out: a fresh frame instead. */
    CHECK(g != NULL);
    CHECK_EQ(z, 0);
    s = stats_of(pool);
    CHECK_EQ(s.zombie_hits, 0);
    CHECK_EQ(s.fresh_allocs, 2);
    CHECK_EQ(s.frees, 1);
    CHECK_EQ(s.cached_frames, 0);
    CHECK_EQ(s.cached_bytes, 0);
    zf_frame_release(code, g);
    check_usable(code, 100, &rep);
    CHECK_EQ(rep.calls, 1);
    finish(pool, &code, 1, &heap, &rep);
}

/* A zombie written after its release that is freed, not handed out again
 * (a clear, a retired frame drained, the pool freed): reported as it
 * goes, once. */
static void test_write_then_freed(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *a = zf_code_new(pool, 100), *b = zf_code_new(pool, 64), *c = zf_code_new(pool, 80);
    unsigned char *f = zf_frame_acquire(a, NULL), *g = zf_frame_acquire(b, NULL);

    puts("write after release, then freed");
    zf_frame_release(a, f);
    zf_frame_release(b, g);
    f[3] ^= 1;
    zf_pool_clear(pool);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_WRITE_AFTER_RELEASE);
    CHECK(contains(rep.message, "code #1 (100 bytes): its bytes changed after its release; freed"));
    /* Found deep in the call's work, the report names the call. */
    CHECK(contains(rep.message, "write after release: zf_pool_clear: frame 0x"));
    g = zf_frame_acquire(b, NULL);
    zf_frame_release(b, g);
    g[0] ^= 1;
    f = zf_frame_acquire(c, NULL);
    zf_frame_release(c, f);
    f[79] ^= 1; /* its last byte */
    zf_code_free(b); /* its zombie retires, or is freed */
    zf_pool_free(pool);
    CHECK_EQ(rep.calls, 3);
    CHECK(contains(rep.message, "changed after its release; freed"));
    CHECK(contains(rep.message, "write after release: zf_pool_free: frame 0x"));
    zf_code_free(a);
    zf_code_free(c);
    CHECK_EQ(heap.blocks, 0);
    CHECK_EQ(heap.bytes, 0);
}

static void test_overrun(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *code = zf_code_new(pool, 100);
    unsigned char *f = zf_frame_acquire(code, NULL);

    puts("write past the end of a frame");
    memset(f, 3, 100); /* every byte it owns: fine */
    zf_frame_release(code, f);
    CHECK_EQ(rep.calls, 0);
    CHECK(zf_frame_acquire(code, NULL) == f);
    f[100] = 0; /* one byte past the end */
    zf_frame_release(code, f);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_OVERRUN);
    CHECK(contains(rep.message, "code #1 (100 bytes)") && contains(rep.message, "byte 100 (past its end)"));
    CHECK(!contains(rep.message, "damaged"));
    CHECK(zf_frame_acquire(code, NULL) == f); /* the guard is filled again */
    f[115] = 0;                               /* the far end of the guard, its block's last byte */
    zf_frame_release(code, f);
    CHECK_EQ(rep.calls, 2);
    CHECK(contains(rep.message, "byte 115"));
    CHECK(!contains(rep.message, "damaged"));
    {
        /* A second frame, live with the first: a block of its own, the
         * frame at its header's end (ZF_HEADER_BYTES). A write of its
         * block's last byte may have gone further. */
        unsigned char *g = zf_frame_acquire(code, NULL), *h = zf_frame_acquire(code, NULL);
        size_t end = heap.last - ZF_HEADER_BYTES - 1;
        CHECK(end >= 115 && end < 200);
        h[end] = 0;
        zf_frame_release(code, h);
        CHECK_EQ(rep.calls, 3);
        CHECK(contains(rep.message, "(past its end) was written, up to its block's end"));
        CHECK(contains(rep.message, "the heap past it may be damaged"));
        zf_frame_release(code, g);
    }
    check_usable(code, 100, &rep);
    finish(pool, &code, 1, &heap, &rep);

    /* With a prefix, the byte is counted from the pointer the report
     * names, as the caller indexes it: a frame of 200 bytes with a
     * 16-byte prefix ends 184 bytes past its pointer. */
    pool = debug_pool_of(&heap, &rep, 16, 0);
    code = zf_code_new(pool, 200);
    f = zf_frame_acquire(code, NULL);
    memset(f - 16, 1, 200);
    f[184] = 0;
    zf_frame_release(code, f);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_OVERRUN);
    CHECK(contains(rep.message, "byte 184 (past its end)"));
    finish(pool, &code, 1, &heap, &rep);
}

/* The 16 bytes before a frame are the pool's header, which sizes its
 * block: a write there, as glue that forgot ZF_FLAG_FRAME_PREFIX would
 * make, is reported at the release and repaired; while a zombie, it is a
 * write after release. Nothing is ever sized by the written words (under
 * ASan or valgrind, no access past a block). */
static void test_underrun(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *code = zf_code_new(pool, 64);
    unsigned char *f = zf_frame_acquire(code, NULL), *g;
    int z = -1;

    puts("write before the start of a frame");
    memset(f - 16, 0x41, 8); /* the header's size words: a huge block now */
    zf_frame_release(code, f);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_UNDERRUN);
    CHECK(contains(rep.message, "write before the start of a frame: zf_frame_release: frame 0x"));
    CHECK(contains(rep.message, "code #1 (64 bytes): the 16 bytes before it (the pool's header) were written"));
    CHECK(zf_frame_acquire(code, &z) == f); /* repaired: a zombie as any other */
    CHECK_EQ(z, 1);
    f[-1] = 0x41; /* the header's last byte: its link word, unused while live */
    zf_frame_release(code, f);
    CHECK_EQ(rep.calls, 2);
    CHECK_EQ(rep.kind, ZF_ERR_UNDERRUN);
    CHECK(zf_frame_acquire(code, &z) == f); /* repaired again */
    CHECK_EQ(z, 1);
    zf_frame_release(code, f);
    CHECK_EQ(rep.calls, 2);
    f[-16] ^= 0xFF; /* into the zombie's header */
    g = zf_frame_acquire(code, &z);
    CHECK_EQ(rep.calls, 3);
    CHECK_EQ(rep.kind, ZF_ERR_WRITE_AFTER_RELEASE);
    CHECK(contains(rep.message, "changed after its release; freed, not handed out"));
    CHECK(g != NULL);
    CHECK_EQ(z, 0);
    zf_frame_release(code, g);
    check_usable(code, 64, &rep);
    finish(pool, &code, 1, &heap, &rep);

    /* With a prefix (a GC head), the header sits before it: the message
     * sends the reader there, not to the caller's own 16 bytes. */
    pool = debug_pool_of(&heap, &rep, 16, 0);
    code = zf_code_new(pool, 80);
    f = zf_frame_acquire(code, NULL);
    memset(f - 16, 0x42, 16); /* the prefix: the caller's, not reported */
    memset(f - 32, 0x41, 8);  /* the header's size words */
    zf_frame_release(code, f);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_UNDERRUN);
    CHECK(contains(rep.message, "(80 bytes): the pool's header, the 16 bytes before its 16-byte prefix, was written"));
    f = zf_frame_acquire(code, NULL);
    f[-17] = 0x41; /* the byte just before the prefix: the header's link word */
    zf_frame_release(code, f);
    CHECK_EQ(rep.calls, 2);
    CHECK_EQ(rep.kind, ZF_ERR_UNDERRUN);
    check_usable(code, 64, &rep); /* the bytes after the prefix */
    finish(pool, &code, 1, &heap, &rep);
}

/* Zombies are linked through the word just before each frame: a write
 * after release there must not lead the pool out of its own blocks. The
 * list is cut where its link is wrong, and the frames under the cut leave
 * the cache, not freed (nothing safe leads to them): here, the stack's
 * second, which the test frees itself. */
static void overwritten_link(unsigned prefix)
{
    static void *bogus[32];
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool_of(&heap, &rep, prefix, 0);
    ZfCode *code = zf_code_new(pool, 64 + prefix);
    unsigned char *f[3], *g[3], *h[3];
    ZfStats st;
    int i;

    printf("a zombie list's link overwritten (prefix %u)\n", prefix);
    for (i = 0; i < 3; i++)
        f[i] = zf_frame_acquire(code, NULL);
    for (i = 0; i < 3; i++)
        zf_frame_release(code, f[i]); /* the slot, then a stack of two */
    for (i = 1; i < 3; i++) /* the stack's (the slot's: test_slot_link_written) */
        ((void **)(f[i] - prefix))[-1] = bogus + 8; /* the header's last word */
    for (i = 0; i < 3; i++) {
        g[i] = zf_frame_acquire(code, NULL);
        CHECK(g[i] != NULL && (void *)g[i] != (void *)(bogus + 8));
        memset(g[i] - prefix, i, 64 + prefix);
    }
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_WRITE_AFTER_RELEASE);
    CHECK(contains(rep.message, "heads a zombie list cut"));
    CHECK(contains(rep.message, "heads a zombie list cut after 1 of its frames"));
    CHECK(contains(rep.message, "1 frame under the cut left the cache, not freed"));
    CHECK(g[0] == f[0] && g[1] == f[2]); /* the slot's, the stack's top, then a fresh one */
    zf_pool_stats(pool, &st); /* f[1] is no longer counted as cached */
    CHECK_EQ(st.cached_frames, 0);
    CHECK_EQ(st.cached_bytes, 0);
    for (i = 0; i < 3; i++)
        zf_frame_release(code, g[i]);
    zf_pool_stats(pool, &st);
    CHECK_EQ(st.cached_frames, 3);
    check_usable(code, 64, &rep);
    /* A link that leads to the frame cut off: that frame is in no list
     * any more, so this cut takes the stack's second (g[1]) too. */
    ((void **)(g[2] - prefix))[-1] = f[1];
    for (i = 0; i < 3; i++)
        h[i] = zf_frame_acquire(code, NULL);
    CHECK(h[0] == g[0] && h[1] == g[2]);
    CHECK(h[2] != NULL && h[2] != f[1] && h[2] != g[1]);
    CHECK_EQ(rep.calls, 2);
    CHECK(contains(rep.message, "heads a zombie list cut after 1 of its frames"));
    zf_pool_stats(pool, &st);
    CHECK_EQ(st.cached_frames, 0);
    for (i = 0; i < 3; i++)
        zf_frame_release(code, h[i]);
    zf_pool_free(pool);
    zf_code_free(code);
    CHECK_EQ(rep.calls, 2);
    CHECK_EQ(heap.blocks, 2); /* f[1] and g[1], cut off: a block starts at its header */
    heap_dealloc(&heap, f[1] - prefix - 16, (size_t)heap.bytes / 2);
    heap_dealloc(&heap, g[1] - prefix - 16, (size_t)heap.bytes);
    CHECK_EQ(heap.bytes, 0);
}

/* The same under ZF_FLAG_FRAME_PREFIX, as the kits run (the header, and
 * its link, before the caller's prefix). */
static void test_overwritten_link(void)
{
    overwritten_link(0);
    overwritten_link(16);
    overwritten_link(32);
}

/* More writes into zombies' headers, each where a list or a free would
 * have trusted it: the last link of a stack (here a cycle), a link that
 * zf_pool_clear follows, a reserve link into another code's slot, and a
 * zombie's size words when it is freed. Each is one report; no frame is
 * handed out twice or freed at a size it was not allocated at. */
static void test_zombie_headers(void)
{
    static void *bogus[32];
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *x = zf_code_new(pool, 64), *y = zf_code_new(pool, 64), *z;
    unsigned char *s = zf_frame_acquire(x, NULL), *a = zf_frame_acquire(x, NULL), *b = zf_frame_acquire(x, NULL);
    unsigned char *got[3], *yz, *lost;
    ZfStats st;
    int i;

    puts("zombies' headers written");
    zf_frame_release(x, s); /* the slot */
    zf_frame_release(x, b);
    zf_frame_release(x, a); /* the stack: a, then b */
    ((void **)b)[-1] = a;   /* the last link: a cycle */
    for (i = 0; i < 3; i++)
        got[i] = zf_frame_acquire(x, NULL);
    CHECK(got[0] != got[1] && got[1] != got[2] && got[0] != got[2]);
    CHECK_EQ(rep.calls, 1);
    CHECK(contains(rep.message, "heads a zombie list cut after 2 of its frames"));
    CHECK(contains(rep.message, "0 frames under the cut left the cache"));
    for (i = 2; i >= 0; i--)
        zf_frame_release(x, got[i]); /* the slot, then the stack: got[0], got[1] */
    ((void **)got[0])[-1] = bogus + 8;
    CHECK(zf_pool_clear(pool) > 0); /* it follows no link it did not check */
    CHECK_EQ(rep.calls, 2);
    zf_pool_stats(pool, &st); /* nor counts what it cut off as cached */
    CHECK_EQ(st.cached_frames, 0);
    CHECK_EQ(st.cached_bytes, 0);
    CHECK(contains(rep.message, "after 1 of its frames"));
    CHECK(contains(rep.message, "1 frame under the cut left the cache"));
    lost = got[1];

    /* The reserve: x's zombie retires there when x dies; its link then
     * names y's slot zombie, which no acquire of z may take. */
    got[0] = zf_frame_acquire(x, NULL);
    yz = zf_frame_acquire(y, NULL);
    zf_frame_release(y, yz);
    zf_frame_release(x, got[0]);
    zf_code_free(x);
    z = zf_code_new(pool, 64);
    ((void **)got[0])[-1] = yz;
    CHECK(zf_frame_acquire(z, NULL) == got[0]);
    got[1] = zf_frame_acquire(z, NULL);
    CHECK(got[1] != yz);
    CHECK_EQ(rep.calls, 3);
    CHECK(contains(rep.message, "of the reserve: heads a zombie list cut"));
    CHECK(zf_frame_acquire(y, NULL) == yz); /* still y's own */
    zf_pool_stats(pool, &st);
    CHECK_EQ(st.cached_frames, 0);
    CHECK_EQ(st.cached_bytes, 0);
    zf_frame_release(y, yz);
    zf_frame_release(z, got[0]);
    zf_frame_release(z, got[1]);

    /* A zombie's size words: nothing that frees it trusts them. */
    memset(yz - 16, 0x7F, 8);
    zf_pool_clear(pool);
    CHECK_EQ(rep.calls, 4);
    CHECK(contains(rep.message, "its header changed after its release; repaired"));
    check_usable(z, 64, &rep);
    zf_pool_free(pool);
    zf_code_free(y);
    zf_code_free(z);
    CHECK_EQ(rep.calls, 4);
    CHECK_EQ(heap.blocks, 1); /* the frame cut off the stack; every other block back at its size */
    heap_dealloc(&heap, lost - 16, (size_t)heap.bytes);
    CHECK_EQ(heap.bytes, 0);
}

/* The reserve keeps a list per size class: a link written to lead from
 * one class's list into another's must not be followed either, or the
 * frame would be handed out by both (and to codes of the wrong size). */
static void test_reserve_link_across_classes(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *x = zf_code_new(pool, 64), *x2 = zf_code_new(pool, 64), *w = zf_code_new(pool, 512);
    ZfCode *z = zf_code_new(pool, 64), *v = zf_code_new(pool, 512);
    unsigned char *a = zf_frame_acquire(x, NULL), *b = zf_frame_acquire(x2, NULL), *c = zf_frame_acquire(w, NULL);
    unsigned char *got[3];
    ZfStats st;

    puts("a reserve link into another class's list");
    zf_frame_release(x, a);
    zf_frame_release(x2, b);
    zf_frame_release(w, c);
    zf_code_free(x);
    zf_code_free(x2);
    zf_code_free(w); /* the reserve: b then a for 64 bytes, c for 512 */
    ((void **)b)[-1] = c;
    got[0] = zf_frame_acquire(z, NULL);
    got[1] = zf_frame_acquire(z, NULL);
    got[2] = zf_frame_acquire(v, NULL);
    CHECK(got[0] == b);
    CHECK(got[1] != c && got[1] != a); /* a is cut off; a fresh frame */
    CHECK(got[2] == c);                /* still the 512-byte list's */
    CHECK_EQ(rep.calls, 1);
    CHECK(contains(rep.message, "of the reserve: heads a zombie list cut"));
    CHECK(contains(rep.message, "1 frame under the cut left the cache"));
    zf_pool_stats(pool, &st);
    CHECK_EQ(st.cached_frames, 0);
    CHECK_EQ(st.cached_bytes, 0);
    zf_frame_release(z, got[0]);
    zf_frame_release(z, got[1]);
    zf_frame_release(v, got[2]);
    zf_pool_free(pool);
    zf_code_free(z);
    zf_code_free(v);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(heap.blocks, 1); /* a, cut off */
    heap_dealloc(&heap, a - 16, (size_t)heap.bytes);
    CHECK_EQ(heap.bytes, 0);
}

typedef struct Inside {
    ZfCode *code;
    void *frame;
} Inside;

static void *acquire_in_thread(void *arg)
{
    Inside *in = arg;
    in->frame = zf_frame_acquire(in->code, NULL);
    return NULL;
}

/* Starts a thread that acquires on in->code and waits inside the pool
 * (in the alloc hook) until let_go. */
static void hold_inside(Heap *heap, pthread_t *thread, Inside *in)
{
    heap->stop_next = 1;
    CHECK(pthread_create(thread, NULL, acquire_in_thread, in) == 0);
    pthread_mutex_lock(&heap->lock);
    while (!heap->stopped)
        pthread_cond_wait(&heap->changed, &heap->lock);
    pthread_mutex_unlock(&heap->lock);
}

static void let_go(Heap *heap, pthread_t thread)
{
    pthread_mutex_lock(&heap->lock);
    heap->release = 1;
    pthread_cond_broadcast(&heap->changed);
    pthread_mutex_unlock(&heap->lock);
    CHECK(pthread_join(thread, NULL) == 0);
}

/* Every other call that reads or writes the pool is refused too, while
 * another thread is inside: reported, and the caller gets its failure
 * value and a message (zf_code_free of a live pool frees nothing, nor
 * does zf_pool_free, and the handler stays). */
static void refused_while_inside(ZfPool *pool, ZfCode *code, const Reports *rep)
{
    int calls = rep->calls;
    ZfStats s;
    memset(&s, 0xFF, sizeof s);
    zf_set_error_handler(pool, NULL, NULL); /* refused: reports still reach rep */
    CHECK(contains(zf_last_error(), "zf_set_error_handler: another thread"));
    zf_pool_free(pool);
    CHECK(contains(zf_last_error(), "zf_pool_free: another thread"));
    CHECK(zf_code_new(pool, 64) == NULL);
    CHECK(contains(zf_last_error(), "zf_code_new: another thread"));
    zf_code_free(code);
    CHECK_EQ(zf_pool_collect(pool, 2), 0);
    CHECK(contains(zf_last_error(), "zf_pool_collect: another thread"));
    CHECK_EQ(zf_pool_clear(pool), 0);
    zf_pool_stats(pool, &s);
    CHECK_EQ(s.acquires, 0); /* all zeros, as for a NULL pool */
    CHECK_EQ(zf_pool_print_stats(pool, 1), -1);
    CHECK(contains(zf_last_error(), "zf_pool_print_stats: another thread"));
    CHECK_EQ(rep->calls, calls + 8);
    CHECK_EQ(rep->kind, ZF_ERR_CONCURRENT_USE);
}

static void test_concurrent_use(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *codes[2];
    Inside in;
    pthread_t thread;
    void *f;

    puts("concurrent use");
    codes[0] = zf_code_new(pool, 100);
    codes[1] = zf_code_new(pool, 100);
    f = zf_frame_acquire(codes[1], NULL); /* also makes the record */
    /* Another thread acquires, and waits inside the pool (in the alloc hook). */
    in.code = codes[0];
    hold_inside(&heap, &thread, &in);
    /* This thread comes in meanwhile: refused, and reported. */
    CHECK(zf_frame_acquire(codes[1], NULL) == NULL);
    CHECK(contains(zf_last_error(), "another thread"));
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_CONCURRENT_USE);
    CHECK(contains(rep.message, "zf_frame_acquire on code #2 (100 bytes)"));
    zf_frame_release(codes[1], f); /* refused too: f stays live */
    CHECK_EQ(rep.calls, 2);
    CHECK(contains(rep.message, "zf_frame_release"));
    refused_while_inside(pool, codes[1], &rep);
    let_go(&heap, thread);
    CHECK(in.frame != NULL);
    CHECK_EQ(stats_of(pool).live_frames, 2);
    /* One at a time, the pool works from either thread. */
    zf_frame_release(codes[0], in.frame);
    zf_frame_release(codes[1], f);
    CHECK_EQ(rep.calls, 10);
    check_usable(codes[0], 100, &rep);
    finish(pool, codes, 2, &heap, &rep);
}

/* Once the pool is freed, zf_code_free still claims it: a second thread
 * inside (an acquire of another code, uncached) has it refused, where it
 * once went ahead and could free the pool under that call. */
static void test_concurrent_after_pool_free(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *codes[2];
    Inside in;
    pthread_t thread;

    puts("concurrent use after zf_pool_free");
    codes[0] = zf_code_new(pool, 100);
    codes[1] = zf_code_new(pool, 64);
    zf_frame_release(codes[0], zf_frame_acquire(codes[0], NULL)); /* makes the record */
    zf_pool_free(pool);
    in.code = codes[0];
    hold_inside(&heap, &thread, &in);
    zf_code_free(codes[1]);
    CHECK(contains(zf_last_error(), "another thread"));
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_CONCURRENT_USE);
    let_go(&heap, thread);
    CHECK(in.frame != NULL);
    zf_frame_release(codes[0], in.frame);
    zf_code_free(codes[1]); /* refused before: freed now */
    zf_code_free(codes[0]); /* the last: the pool's memory goes with it */
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(heap.blocks, 0);
}

/* A code used after zf_code_free: its struct stays readable while the
 * pool is open, so a second free or an acquire is reported, not a use
 * after free; its live frames still go back through it. */
static void test_freed_code(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *a = zf_code_new(pool, 100), *b = zf_code_new(pool, 48);
    void *g = zf_frame_acquire(b, NULL);

    puts("use of a freed code");
    zf_frame_release(a, zf_frame_acquire(a, NULL));
    zf_code_free(a);
    CHECK_EQ(rep.calls, 0);
    zf_code_free(a); /* no frame left: its struct would be gone */
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_FREED_CODE);
    CHECK(contains(rep.message, "zf_code_free(code #1 (100 bytes)): the code was freed already"));
    zf_code_free(b); /* with g live: allowed */
    zf_code_free(b);
    CHECK_EQ(rep.calls, 2);
    CHECK_EQ(stats_of(pool).codes, 0); /* each code counted out once */
    CHECK(zf_frame_acquire(b, NULL) == NULL);
    CHECK_EQ(rep.calls, 3);
    CHECK(contains(rep.message, "zf_frame_acquire(code #2 (48 bytes))"));
    CHECK(contains(zf_last_error(), "its code was freed"));
    /* The slow half, as the inline pair calls it: reported under its name. */
    CHECK(zf_frame_acquire_slow(b, NULL) == NULL);
    CHECK_EQ(rep.calls, 4);
    CHECK(contains(rep.message, "zf_frame_acquire_slow(code #2 (48 bytes))"));
    CHECK(contains(zf_last_error(), "zf_frame_acquire_slow: its code was freed"));
    zf_frame_release_slow(b, g); /* its last frame goes back as usual */
    CHECK_EQ(rep.calls, 4);
    CHECK_EQ(stats_of(pool).live_frames, 0);
    zf_code_free(b);
    CHECK_EQ(rep.calls, 5);
    finish(pool, NULL, 0, &heap, &rep);
}

/* The kits' order: the pool freed first, then the codes. A code freed
 * twice there is reported too, while another code keeps the pool's memory:
 * its struct stays with that memory, so the second free neither reads
 * freed memory nor frees the code a new pool made in its place. */
static void test_freed_code_after_pool_free(void)
{
    Heap heap, heap2;
    Reports rep, rep2;
    ZfPool *pool = debug_pool(&heap, &rep), *other;
    ZfCode *a = zf_code_new(pool, 64), *b = zf_code_new(pool, 64), *x;
    void *f;

    puts("a code freed twice after zf_pool_free");
    zf_pool_free(pool);
    zf_code_free(a);
    CHECK_EQ(rep.calls, 0);
    other = debug_pool(&heap2, &rep2);
    x = zf_code_new(other, 64);
    CHECK(x != NULL && x != a);
    zf_code_free(a);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_FREED_CODE);
    CHECK(contains(rep.message, "zf_code_free(code #1 (64 bytes)): the code was freed already"));
    f = zf_frame_acquire(x, NULL); /* the other pool's code is untouched */
    CHECK(f != NULL);
    zf_frame_release(x, f);
    CHECK_EQ(rep2.calls, 0);
    zf_code_free(b); /* the last: the pool's memory goes, a's struct with it */
    CHECK_EQ(heap.blocks, 0);
    CHECK_EQ(heap.bytes, 0);
    finish(other, &x, 1, &heap2, &rep2);
}

/* A handler that clears the pool at its first report: what the clear finds
 * deep in its work is named as the clear's, not left unnamed. */
typedef struct Clearer {
    ZfPool *pool;
    Reports rep;
    char first[512];
} Clearer;

static void clear_on_first(void *ctx, int kind, const char *message)
{
    Clearer *c = ctx;
    if (c->rep.calls == 0) {
        snprintf(c->first, sizeof c->first, "%s", message);
        record(&c->rep, kind, message);
        zf_pool_clear(c->pool);
        return;
    }
    record(&c->rep, kind, message);
}

static void test_handler_call_names_its_finds(void)
{
    Heap heap;
    Reports unused;
    Clearer c;
    ZfPool *pool = debug_pool(&heap, &unused);
    ZfCode *a = zf_code_new(pool, 100), *b = zf_code_new(pool, 64);
    unsigned char *f = zf_frame_acquire(a, NULL), *g = zf_frame_acquire(a, NULL);

    puts("a handler's call names what its work finds");
    zf_frame_release(a, g);
    zf_frame_release(a, f);
    f[10] = 0x77; /* written after its release: the clear will find it */
    memset(&c, 0, sizeof c);
    c.pool = pool;
    zf_set_error_handler(pool, clear_on_first, &c);
    zf_frame_release(b, g); /* g is a zombie: a double release, first */
    CHECK_EQ(c.rep.calls, 2);
    CHECK(contains(c.first, "zf_frame_release: frame"));
    CHECK_EQ(c.rep.kind, ZF_ERR_WRITE_AFTER_RELEASE);
    CHECK(contains(c.rep.message, "zf_pool_clear: frame"));
    zf_set_error_handler(pool, record, &unused);
    check_usable(a, 100, &unused);
    finish(pool, (ZfCode *[]){a, b}, 2, &heap, &unused);
}

/* zf_pool_free on a pool freed already: reported and refused. */
static void check_freed_again(ZfPool *pool, Reports *rep)
{
    int calls = rep->calls;
    zf_pool_free(pool);
    CHECK_EQ(rep->calls, calls + 1);
    CHECK_EQ(rep->kind, ZF_ERR_FREED_POOL);
    CHECK(contains(rep->message, "zf_pool_free: the pool was freed (zf_pool_free); ignored"));
}

/* A pool used after zf_pool_free while a code keeps its memory: every call
 * that takes the pool is reported and does nothing; the code still works,
 * and the pool goes with it. */
static void test_freed_pool(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *code = zf_code_new(pool, 64);
    ZfStats s;

    puts("use of a freed pool");
    zf_pool_free(pool);
    CHECK_EQ(rep.calls, 0);
    check_freed_again(pool, &rep);
    CHECK(zf_code_new(pool, 64) == NULL);
    CHECK_EQ(rep.calls, 2);
    CHECK(contains(zf_last_error(), "zf_code_new: the pool was freed"));
    CHECK_EQ(zf_pool_collect(pool, 2), 0);
    CHECK_EQ(zf_pool_print_stats(pool, 2), -1);
    zf_pool_stats(pool, &s);
    CHECK_EQ(rep.calls, 5);
    CHECK_EQ(s.codes, 0); /* refused: all zeros */
    zf_frame_release(code, zf_frame_acquire(code, NULL)); /* uncached, unreported */
    CHECK_EQ(rep.calls, 5);
    zf_code_free(code); /* the pool's memory goes with it */
    CHECK_EQ(heap.blocks, 0);
    CHECK_EQ(heap.bytes, 0);
}

/* A debug pool on the C library's allocator (no hooks) keeps its memory a
 * while after it goes unused, the latest eight, so a second zf_pool_free,
 * the commonest slip, is reported where it would use freed memory; more
 * pools freed after it let the oldest go (valgrind and ASan see that no
 * byte is used after it is freed, nor lost). A pool with hooks gives its
 * memory back when the caller expects: test_freed_pool's last check. */
static Reports gone_rep; /* outlives the kept pools, as a handler's ctx must */

static void test_pool_freed_twice(void)
{
    ZfConfig cfg;
    ZfPool *pool, *last = NULL;
    ZfCode *code;
    ZfStats s;

    puts("a pool freed twice, its memory gone from the caller's view");
    zf_config_default(&cfg);
    cfg.flags = ZF_FLAG_DEBUG;
    memset(&gone_rep, 0, sizeof gone_rep);
    pool = zf_pool_new(&cfg);
    zf_set_error_handler(pool, record, &gone_rep);
    zf_pool_free(pool); /* no code: unused at once */
    CHECK_EQ(gone_rep.calls, 0);
    check_freed_again(pool, &gone_rep);
    CHECK(zf_code_new(pool, 64) == NULL);
    zf_pool_stats(pool, &s);
    CHECK_EQ(gone_rep.calls, 3);
    CHECK_EQ(s.acquires, 0);

    /* Unused once its last code goes. */
    pool = zf_pool_new(&cfg);
    zf_set_error_handler(pool, record, &gone_rep);
    code = zf_code_new(pool, 64);
    zf_frame_release(code, zf_frame_acquire(code, NULL));
    zf_pool_free(pool);
    zf_code_free(code);
    check_freed_again(pool, &gone_rep);

    /* Nine more: the first two go back to the C library. */
    for (int i = 0; i < 9; i++) {
        last = zf_pool_new(&cfg);
        CHECK(last != NULL);
        zf_set_error_handler(last, record, &gone_rep);
        zf_pool_free(last);
    }
    check_freed_again(last, &gone_rep);
    CHECK_EQ(gone_rep.calls, 5);
}

/* A handler that answers a freed pool's report by freeing the pool again
 * is not told of its own refused call: told, it would call again, and did,
 * until its stack ran out. The message is left for zf_last_error(). */
typedef struct Retrier {
    ZfPool *pool;
    int calls;
} Retrier;

static void free_again(void *ctx, int kind, const char *message)
{
    Retrier *r = ctx;
    (void)message;
    if (kind == ZF_ERR_FREED_POOL && ++r->calls < 100)
        zf_pool_free(r->pool);
}

static void test_handler_repeats_refused_call(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *code = zf_code_new(pool, 64);
    Retrier r = {pool, 0};

    puts("a handler repeating a refused call");
    zf_set_error_handler(pool, free_again, &r);
    zf_pool_free(pool);
    zf_pool_free(pool); /* reported once; the handler's own call is not */
    CHECK_EQ(r.calls, 1);
    CHECK(contains(zf_last_error(), "zf_pool_free: the pool was freed"));
    zf_code_free(code);
    CHECK_EQ(heap.blocks, 0);
}

/* Threads refused at the same moment write nothing of the pool's: each
 * keeps its own message. (Once, they shared one slot for it, and 3 or
 * more threads freed it twice.) */
static int refusals;

static void count_refusal(void *ctx, int kind, const char *message)
{
    (void)ctx;
    (void)message;
    if (kind == ZF_ERR_CONCURRENT_USE)
        __atomic_fetch_add(&refusals, 1, __ATOMIC_RELAXED);
}

#define REFUSED_THREADS 6
#define REFUSED_CALLS 2000

static void *refused_in_thread(void *arg)
{
    ZfCode *code = arg;
    long bad = 0;
    for (int i = 0; i < REFUSED_CALLS; i++) {
        if (zf_frame_acquire(code, NULL) != NULL || !contains(zf_last_error(), "another thread"))
            bad++;
        zf_frame_release(code, &bad); /* refused before it is looked at */
    }
    return (void *)bad;
}

static void test_many_threads_refused(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *codes[2] = { zf_code_new(pool, 100), zf_code_new(pool, 200) };
    pthread_t inside, others[REFUSED_THREADS];
    Inside in = { codes[0], NULL };
    void *bad;

    puts("many threads refused at once");
    zf_set_error_handler(pool, count_refusal, NULL);
    hold_inside(&heap, &inside, &in);
    for (int i = 0; i < REFUSED_THREADS; i++)
        CHECK(pthread_create(&others[i], NULL, refused_in_thread, codes[1]) == 0);
    for (int i = 0; i < REFUSED_THREADS; i++) {
        CHECK(pthread_join(others[i], &bad) == 0);
        CHECK_EQ((long)bad, 0);
    }
    CHECK_EQ(refusals, 2 * REFUSED_THREADS * REFUSED_CALLS);
    let_go(&heap, inside);
    CHECK(in.frame != NULL);
    zf_set_error_handler(pool, record, &rep);
    zf_frame_release(codes[0], in.frame);
    check_usable(codes[1], 200, &rep);
    CHECK_EQ(rep.calls, 0);
    finish(pool, codes, 2, &heap, &rep);
}

static void test_leak(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *a = zf_code_new(pool, 100), *b = zf_code_new(pool, 48);
    void *f = zf_frame_acquire(a, NULL), *g = zf_frame_acquire(b, NULL);

    puts("leak");
    zf_frame_release(a, zf_frame_acquire(a, NULL)); /* released: not a leak */
    zf_code_free(b); /* with g still live */
    CHECK_EQ(rep.calls, 0);
    zf_pool_free(pool);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_LEAK);
    CHECK(contains(rep.message, "2 frames are still live"));
    CHECK(contains(rep.message, "of code #1 (100 bytes)"));
    CHECK(contains(rep.message, "of code #2 (48 bytes), code freed"));
    /* Both frames and code a still work, uncached, and go back in full. */
    memset(f, 1, 100);
    memset(g, 1, 48);
    zf_frame_release(a, f);
    zf_frame_release(b, g);
    zf_frame_release(a, zf_frame_acquire(a, NULL));
    zf_code_free(a);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(heap.blocks, 0);
    CHECK_EQ(heap.bytes, 0);
}

/* A handler may call back into its pool (same thread: not concurrent
 * use). One that releases the reported frame itself, as glue "fixing up"
 * a release to the wrong code might, makes a second release of it: that
 * is reported as one, and the frame is cached once. (Once, the record
 * still held the frame live while the handler ran: the outer release
 * then cached it a second time, a debug build panicked on the code's
 * live count, and a release build handed the frame out twice or cut
 * the code's list, reported as a write after release.) */
typedef struct CallBack {
    Reports rep;
    ZfCode *own;
    void *frame;
    int kinds[3];
} CallBack;

static void release_it_again(void *ctx, int kind, const char *message)
{
    CallBack *cb = ctx;
    record(&cb->rep, kind, message);
    if (cb->rep.calls <= 3)
        cb->kinds[cb->rep.calls - 1] = kind;
    if (kind != ZF_ERR_DOUBLE_RELEASE)
        zf_frame_release(cb->own, cb->frame);
}

/* A handler that answers each double release by releasing the frame
 * again hears of its own call's misuse once, not of its answer's: told
 * each time, it recursed until its stack ran out. */
static void release_again_always(void *ctx, int kind, const char *message)
{
    CallBack *cb = ctx;
    record(&cb->rep, kind, message);
    if (cb->rep.calls < 100)
        zf_frame_release(cb->own, cb->frame);
}

static void test_handler_repeats_misuse(void)
{
    Heap heap;
    Reports unused;
    CallBack cb;
    ZfPool *pool = debug_pool(&heap, &unused);
    ZfCode *code = zf_code_new(pool, 100);

    puts("a handler that answers a double release with another");
    memset(&cb, 0, sizeof cb);
    cb.own = code;
    cb.frame = zf_frame_acquire(code, NULL);
    zf_frame_release(code, cb.frame);
    zf_set_error_handler(pool, release_again_always, &cb);
    zf_frame_release(code, cb.frame);
    CHECK_EQ(cb.rep.calls, 2);
    CHECK_EQ(cb.rep.kind, ZF_ERR_DOUBLE_RELEASE);
    CHECK_EQ(stats_of(pool).cached_frames, 1);
    zf_set_error_handler(pool, record, &unused);
    check_usable(code, 100, &unused);
    finish(pool, &code, 1, &heap, &unused);
}

static void test_handler_calls_back(void)
{
    Heap heap;
    Reports unused;
    CallBack cb;
    ZfPool *pool = debug_pool(&heap, &unused);
    ZfCode *codes[2];
    unsigned char *f, *g, *h;
    int misuse;
    uint64_t releases;

    puts("a handler that releases the reported frame");
    codes[0] = zf_code_new(pool, 100);
    codes[1] = zf_code_new(pool, 100);
    memset(&cb, 0, sizeof cb);
    cb.own = codes[0];
    zf_set_error_handler(pool, release_it_again, &cb);
    /* Each misuse a release reports: to the wrong code, over the guard,
     * over the header. */
    for (misuse = 0; misuse < 3; misuse++) {
        f = zf_frame_acquire(codes[0], NULL);
        cb.frame = f;
        cb.rep.calls = 0;
        releases = stats_of(pool).releases;
        if (misuse == 1)
            f[100] = 0;
        if (misuse == 2)
            f[-4] = 0x55;
        zf_frame_release(misuse == 0 ? codes[1] : codes[0], f);
        CHECK_EQ(cb.rep.calls, 2);
        CHECK_EQ(cb.kinds[0], misuse == 0 ? ZF_ERR_WRONG_CODE : misuse == 1 ? ZF_ERR_OVERRUN : ZF_ERR_UNDERRUN);
        CHECK_EQ(cb.kinds[1], ZF_ERR_DOUBLE_RELEASE);
        CHECK_EQ(stats_of(pool).live_frames, 0);
        CHECK_EQ(stats_of(pool).releases, releases + 1);
        /* One zombie, handed out once. */
        g = zf_frame_acquire(codes[0], NULL);
        h = zf_frame_acquire(codes[0], NULL);
        CHECK(g == f && h != f);
        CHECK_EQ(cb.rep.calls, 2);
        zf_frame_release(codes[0], h);
        zf_frame_release(codes[0], g);
        CHECK_EQ(cb.rep.calls, 2);
    }
    zf_set_error_handler(pool, record, &unused);
    check_usable(codes[0], 100, &unused);
    finish(pool, codes, 2, &heap, &unused);
}

/* A handler or hook may call back, but not free the pool or a code from
 * inside another call on the pool, which goes on using them: refused.
 * From an allocator hook, that is reported as concurrent use; from the
 * handler, it is left as the handler's own error (a report to it would
 * only have it call again). (Once, a handler that freed the pool when
 * told of misuse in zf_code_free freed the pool's memory under that call,
 * which then wrote to it; one that freed the code being freed freed it
 * twice: a panic in a debug build, a double free in a release build.) */
typedef struct Freeing {
    Reports rep;
    ZfPool *pool;
    ZfCode *code; /* NULL: free the pool */
    char error[512];
} Freeing;

static void free_when_told(Freeing *fr)
{
    if (fr->code != NULL)
        zf_code_free(fr->code);
    else
        zf_pool_free(fr->pool);
    snprintf(fr->error, sizeof fr->error, "%s", zf_last_error() != NULL ? zf_last_error() : "");
}

static void free_on_report(void *ctx, int kind, const char *message)
{
    record(&((Freeing *)ctx)->rep, kind, message);
    free_when_told(ctx);
}

static Freeing *free_from_hook; /* the dealloc hook frees it, once */

static void dealloc_and_free(void *ctx, void *ptr, size_t size)
{
    Freeing *fr = free_from_hook;
    heap_dealloc(ctx, ptr, size);
    if (fr != NULL) {
        free_from_hook = NULL;
        free_when_told(fr);
    }
}

static void test_freed_from_inside(void)
{
    Heap heap;
    Reports unused;
    Freeing fr;
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *codes[2];
    unsigned char *f;
    int round;

    puts("a handler or hook that frees the pool or a code");
    for (round = 0; round < 4; round++) {
        memset(&fr, 0, sizeof fr);
        pool = debug_pool(&heap, &unused);
        if (round >= 2) {
            zf_pool_free(pool);
            zf_config_default(&cfg);
            cfg.flags = ZF_FLAG_DEBUG;
            cfg.alloc = heap_alloc;
            cfg.dealloc = dealloc_and_free;
            cfg.alloc_ctx = &heap;
            pool = zf_pool_new(&cfg);
            zf_set_error_handler(pool, record, &fr.rep);
        } else {
            zf_set_error_handler(pool, free_on_report, &fr);
        }
        codes[0] = zf_code_new(pool, 100);
        codes[1] = zf_code_new(pool, 64);
        fr.pool = pool;
        fr.code = round % 2 == 1 ? codes[0] : NULL;
        f = zf_frame_acquire(codes[0], NULL);
        zf_frame_release(codes[0], f);
        if (round < 2) {
            /* The zombie's header: reported as zf_code_free takes it out. */
            f[-16] ^= 1;
            zf_code_free(codes[0]);
            CHECK_EQ(fr.rep.calls, 1);
            CHECK_EQ(fr.rep.kind, ZF_ERR_WRITE_AFTER_RELEASE);
        } else {
            /* The hook's call comes as the zombie is freed. */
            free_from_hook = &fr;
            zf_pool_clear(pool);
            CHECK_EQ(fr.rep.calls, 1);
            CHECK_EQ(fr.rep.kind, ZF_ERR_CONCURRENT_USE);
            CHECK(contains(fr.rep.message, round == 2 ? "zf_pool_free: called from inside another call"
                                                      : "zf_code_free: called from inside another call"));
            CHECK(contains(fr.rep.message, "; ignored"));
            zf_code_free(codes[0]);
        }
        CHECK(contains(fr.error, round % 2 == 0 ? "zf_pool_free: called from inside another call on this pool"
                                               : "zf_code_free: called from inside another call on this pool"));
        /* Refused: the pool is open, and the code was freed once. */
        CHECK(heap.blocks > 0);
        if (heap.blocks == 0)
            continue; /* the pool is gone: nothing more to look at */
        CHECK_EQ(stats_of(pool).codes, 1);
        CHECK_EQ(stats_of(pool).live_frames, 0);
        zf_set_error_handler(pool, record, &unused);
        check_usable(codes[1], 64, &unused);
        finish(pool, codes + 1, 1, &heap, &unused);
    }
}

/* After zf_pool_free, codes work on uncached and their blocks still go
 * through the hooks: a hook that frees a code then is inside a call on
 * the pool all the same, and refused. (Once, zf_code_free on a freed pool
 * claimed nothing: a dealloc hook freeing the last code freed it and the
 * pool under the release that called the hook.) Round 0 frees the other
 * code, round 1 the releasing one, the last. */
static void test_hook_frees_after_pool_free(void)
{
    Heap heap;
    Freeing fr;
    ZfPool *pool;
    ZfCode *codes[2];
    void *f;
    int round;

    puts("a hook that frees a code after zf_pool_free");
    for (round = 0; round < 2; round++) {
        memset(&fr, 0, sizeof fr);
        pool = debug_pool_with(&heap, &fr.rep, 0, 0, dealloc_and_free);
        codes[0] = zf_code_new(pool, 100);
        codes[1] = zf_code_new(pool, 64);
        zf_pool_free(pool);
        if (round == 1)
            zf_code_free(codes[1]);
        fr.code = codes[1 - round];
        f = zf_frame_acquire(codes[0], NULL); /* uncached: a block of its own */
        free_from_hook = &fr;
        zf_frame_release(codes[0], f); /* the block goes to the hook, which frees a code */
        CHECK(free_from_hook == NULL);
        CHECK_EQ(fr.rep.calls, 1);
        CHECK_EQ(fr.rep.kind, ZF_ERR_CONCURRENT_USE);
        CHECK(contains(fr.rep.message, "zf_code_free: called from inside another call on this pool (by an allocator hook"));
        CHECK(contains(fr.error, "zf_code_free: called from inside another call on this pool"));
        /* Refused: the codes still work, and the pool goes with the last. */
        zf_frame_release(codes[0], zf_frame_acquire(codes[0], NULL));
        zf_code_free(codes[0]);
        if (round == 0)
            zf_code_free(codes[1]);
        CHECK_EQ(fr.rep.calls, 1);
        CHECK_EQ(heap.blocks, 0);
        CHECK_EQ(heap.bytes, 0);
    }
}

/* The handler may not free a code or the pool under the call it
 * interrupts, after zf_pool_free either: not zf_code_free (round 0),
 * nor the release of a freed code's last frame, which may leave the pool
 * unused, with no call left to free it (round 1, told of the acquire on
 * that code; round 2, of
 * zf_pool_stats on the freed pool). Both are refused, left as the
 * handler's error. (Once, round 0 freed the code and the pool under the
 * acquire, which went on using them, and rounds 1 and 2 freed the pool
 * under the call, which then wrote to it.) */
typedef struct Releasing {
    Freeing fr;
    int when; /* the kind to release the frame at */
    void *frame;
} Releasing;

static void release_when_told(void *ctx, int kind, const char *message)
{
    Releasing *r = ctx;
    record(&r->fr.rep, kind, message);
    if (kind != r->when)
        return;
    zf_frame_release(r->fr.code, r->frame);
    snprintf(r->fr.error, sizeof r->fr.error, "%s", zf_last_error() != NULL ? zf_last_error() : "");
}

static void test_handler_frees_after_pool_free(void)
{
    Heap heap;
    Reports unused;
    Releasing r;
    ZfPool *pool;
    ZfCode *a, *b;
    ZfStats s;
    void *f;
    int round;

    puts("a handler that frees after zf_pool_free");
    for (round = 0; round < 3; round++) {
        memset(&r, 0, sizeof r);
        pool = debug_pool(&heap, &unused);
        a = zf_code_new(pool, 100);
        b = zf_code_new(pool, 64);
        r.fr.pool = pool;
        r.fr.code = a;
        if (round == 0) {
            zf_set_error_handler(pool, free_on_report, &r.fr);
            zf_pool_free(pool);
            zf_code_free(b);
            ((ZfCodeHot *)(void *)a)->hits = 1; /* a's inline state, written */
            f = zf_frame_acquire(a, NULL);
            CHECK_EQ(r.fr.rep.kind, ZF_ERR_CODE_HOT);
            CHECK(contains(r.fr.error, "zf_code_free: called from inside another call on this pool"));
            CHECK(f != NULL);
            zf_frame_release(a, f);
            zf_code_free(a);
        } else {
            r.when = round == 1 ? ZF_ERR_FREED_CODE : ZF_ERR_FREED_POOL;
            zf_set_error_handler(pool, release_when_told, &r);
            r.frame = zf_frame_acquire(a, NULL);
            zf_code_free(a);
            zf_code_free(b);
            zf_pool_free(pool); /* a leak: a's frame keeps a, and a the pool */
            CHECK_EQ(r.fr.rep.kind, ZF_ERR_LEAK);
            if (round == 1)
                CHECK(zf_frame_acquire(a, NULL) == NULL);
            else
                zf_pool_stats(pool, &s);
            CHECK_EQ(r.fr.rep.kind, r.when);
            CHECK(contains(r.fr.error, "zf_frame_release: called from inside another call on this pool"));
            CHECK(heap.blocks > 0);
            zf_frame_release(a, r.frame); /* the last of them: the pool goes */
        }
        CHECK_EQ(r.fr.rep.calls, round == 0 ? 1 : 2);
        CHECK_EQ(heap.blocks, 0);
        CHECK_EQ(heap.bytes, 0);
    }
}

/* zf_pool_free frees a zombie written after its release and tells the
 * handler, which releases a live frame of another code: the pool, still
 * open, caches it (its code's slot, or the reserve), and it goes too, with
 * every block back. (Once it went to the reserve, already emptied: a
 * block lost, and in a build with debug assertions an abort.) */
static void test_handler_releases_as_pool_closes(void)
{
    Heap heap;
    Releasing r;
    ZfPool *pool;
    ZfCode *a, *b;
    unsigned char *fa;
    void *b2;

    puts("a handler that releases a frame as zf_pool_free clears");
    memset(&r, 0, sizeof r);
    pool = debug_pool(&heap, &r.fr.rep);
    a = zf_code_new(pool, 200);
    b = zf_code_new(pool, 200);
    fa = zf_frame_acquire(a, NULL);
    zf_frame_release(a, fa); /* a's zombie */
    r.frame = zf_frame_acquire(b, NULL);
    b2 = zf_frame_acquire(b, NULL);
    zf_frame_release(b, b2); /* b's zombie; r.frame stays live */
    r.fr.code = b;
    r.when = ZF_ERR_WRITE_AFTER_RELEASE;
    zf_set_error_handler(pool, release_when_told, &r);
    fa[8] ^= 0xff; /* written after its release */
    zf_pool_free(pool);
    CHECK_EQ(r.fr.rep.calls, 1); /* no leak to report: the release went through */
    CHECK_EQ(r.fr.rep.kind, ZF_ERR_WRITE_AFTER_RELEASE);
    zf_code_free(a);
    zf_code_free(b);
    CHECK_EQ(heap.blocks, 0);
    CHECK_EQ(heap.bytes, 0);
}

/* A handler told of leaks at zf_pool_free may release those frames and
 * free their codes (the last ones): the pool's memory goes when
 * zf_pool_free returns, not under it. (Once, releasing the last frame
 * of a freed code freed the pool inside zf_pool_free, which then wrote
 * to it and freed it again.) */
typedef struct Leaks {
    Reports rep;
    ZfCode *codes[2];
    void *frames[2];
} Leaks;

static void release_the_leaks(void *ctx, int kind, const char *message)
{
    Leaks *l = ctx;
    record(&l->rep, kind, message);
    if (kind != ZF_ERR_LEAK)
        return;
    zf_frame_release(l->codes[0], l->frames[0]);
    zf_frame_release(l->codes[1], l->frames[1]);
    zf_code_free(l->codes[1]);
}

static void test_leak_handler_releases(void)
{
    Heap heap;
    Reports unused;
    Leaks l;
    ZfPool *pool = debug_pool(&heap, &unused);

    puts("a handler that releases the leaked frames");
    memset(&l, 0, sizeof l);
    zf_set_error_handler(pool, release_the_leaks, &l);
    l.codes[0] = zf_code_new(pool, 100);
    l.codes[1] = zf_code_new(pool, 48);
    l.frames[0] = zf_frame_acquire(l.codes[0], NULL);
    l.frames[1] = zf_frame_acquire(l.codes[1], NULL);
    zf_code_free(l.codes[0]); /* its frame lives on */
    zf_pool_free(pool);
    CHECK_EQ(l.rep.calls, 1);
    CHECK_EQ(l.rep.kind, ZF_ERR_LEAK);
    CHECK(contains(l.rep.message, "2 frames are still live"));
    /* Everything went back, the pool last. */
    CHECK_EQ(heap.blocks, 0);
    CHECK_EQ(heap.bytes, 0);
}

/* An allocator hook must not call the library on its pool (the pool may
 * be mid-update): a debug pool refuses any such call, reported as
 * concurrent use. (Once, every call but the two frees went through
 * unseen; an acquire from the hook took the room the outer acquire had
 * made in the debug record, a debug build's assertion.) */
static ZfPool *call_back_pool; /* the dealloc hook calls back into it, once */
static ZfCode *call_back_code;

static void dealloc_and_call_back(void *ctx, void *ptr, size_t size)
{
    ZfPool *pool = call_back_pool;
    ZfStats s;
    heap_dealloc(ctx, ptr, size);
    if (pool == NULL)
        return;
    call_back_pool = NULL;
    CHECK(zf_frame_acquire(call_back_code, NULL) == NULL);
    CHECK(contains(zf_last_error(), "zf_frame_acquire: called from inside another call on this pool"));
    zf_frame_release(call_back_code, zf_frame_acquire(call_back_code, NULL));
    CHECK_EQ(zf_pool_collect(pool, 2), 0);
    zf_pool_stats(pool, &s);
    CHECK_EQ(s.codes, 0);
}

static void test_hook_calls_back(void)
{
    Heap heap;
    Reports rep;
    ZfConfig cfg;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *code;
    void *f;

    puts("an allocator hook that calls back");
    zf_pool_free(pool);
    zf_config_default(&cfg);
    cfg.flags = ZF_FLAG_DEBUG;
    cfg.alloc = heap_alloc;
    cfg.dealloc = dealloc_and_call_back;
    cfg.alloc_ctx = &heap;
    pool = zf_pool_new(&cfg);
    zf_set_error_handler(pool, record, &rep);
    code = zf_code_new(pool, 100);
    f = zf_frame_acquire(code, NULL);
    zf_frame_release(code, f);
    call_back_pool = pool;
    call_back_code = code;
    zf_pool_clear(pool); /* the hook runs as the zombie is freed */
    CHECK(call_back_pool == NULL);
    CHECK_EQ(rep.calls, 4); /* the two acquires, the collection, the stats */
    CHECK_EQ(rep.kind, ZF_ERR_CONCURRENT_USE);
    CHECK(contains(rep.message, "zf_pool_stats: called from inside another call on this pool (by an allocator hook"));
    CHECK_EQ(stats_of(pool).live_frames, 0);
    CHECK_EQ(stats_of(pool).cached_frames, 0);
    rep.calls = 0;
    check_usable(code, 100, &rep);
    finish(pool, &code, 1, &heap, &rep);
}

/* The same hook, run by a call the handler makes: still a hook's call,
 * refused, not the handler's own. (Once, anything inside a call by the
 * handler was taken for the handler's.) */
static void clear_on_report(void *ctx, int kind, const char *message)
{
    record(ctx, kind, message);
    if (kind == ZF_ERR_DOUBLE_RELEASE)
        zf_pool_clear(call_back_pool);
}

static void test_hook_inside_handler_call(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool;
    ZfCode *code;
    void *f;

    puts("an allocator hook that calls back, inside the handler's call");
    pool = debug_pool_with(&heap, &rep, 0, 0, dealloc_and_call_back);
    zf_set_error_handler(pool, clear_on_report, &rep);
    code = zf_code_new(pool, 100);
    f = zf_frame_acquire(code, NULL);
    zf_frame_release(code, f);
    call_back_pool = pool;
    call_back_code = code;
    zf_frame_release(code, f); /* the handler clears; the hook runs as the zombie goes */
    CHECK(call_back_pool == NULL);
    CHECK_EQ(rep.calls, 5); /* the double release, then the hook's four */
    CHECK_EQ(rep.kind, ZF_ERR_CONCURRENT_USE);
    CHECK(contains(rep.message, "zf_pool_stats: called from inside another call on this pool (by an allocator hook"));
    CHECK_EQ(stats_of(pool).live_frames, 0);
    CHECK_EQ(stats_of(pool).cached_frames, 0);
    zf_set_error_handler(pool, record, &rep);
    rep.calls = 0;
    check_usable(code, 100, &rep);
    finish(pool, &code, 1, &heap, &rep);
}

/* A debug pool keeps every code's inline state (ZfCodeHot) inert, so
 * that each acquire and release reaches its checks. Glue that writes over
 * its own ZfCodeHot after zf_code_new_with_hot (zeroes its code object,
 * say) would have zf_hot_give and zf_hot_hit take frames unchecked: at the
 * code's next call into the library that is reported, and the state made
 * inert again (what it held is lost to the cache). (Once, nothing looked:
 * a frame given to the zeroed state and then released through
 * zf_frame_release_slow was handed out twice.) */
static void test_code_hot_written(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCodeHot hot;
    ZfCode *code = zf_code_new_with_hot(pool, 64, &hot), *plain = zf_code_new(pool, 48);
    void *f = zf_frame_acquire(code, NULL), *g, *h;

    puts("a code's inline state written");
    memset(&hot, 0, sizeof hot);
    /* A double release: the first into the zeroed slot, unseen; the
     * second reaches the library. */
    if (!zf_hot_give(&hot, f))
        zf_frame_release_slow(code, f);
    CHECK_EQ(rep.calls, 0);
    if (!zf_hot_give(&hot, f))
        zf_frame_release_slow(code, f);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_CODE_HOT);
    CHECK(contains(rep.message, "inline state written: zf_frame_release_slow(code #1 (64 bytes)): its ZfCodeHot"));
    /* Inert again: the frame is one zombie, handed out once. */
    if ((g = zf_hot_hit(&hot)) == NULL)
        g = zf_frame_acquire_slow(code, NULL);
    if ((h = zf_hot_hit(&hot)) == NULL)
        h = zf_frame_acquire_slow(code, NULL);
    CHECK(g == f && h != f);
    zf_frame_release(code, g);
    zf_frame_release(code, h);
    CHECK_EQ(rep.calls, 1);
    /* The state at the start of a ZfCode from zf_code_new, written. */
    f = zf_frame_acquire(plain, NULL);
    ((ZfCodeHot *)(void *)plain)->slot = NULL;
    zf_frame_release_fast(plain, f); /* taken inline, unchecked */
    g = zf_frame_acquire_slow(plain, NULL);
    CHECK_EQ(rep.calls, 2);
    CHECK(contains(rep.message, "zf_frame_acquire_slow(code #2 (48 bytes)): its ZfCodeHot"));
    CHECK(g != NULL && g != f);
    zf_frame_release(plain, f); /* still live to the pool: released once */
    zf_frame_release(plain, g);
    /* And at zf_code_free. */
    hot.hits = 1;
    zf_code_free(code);
    CHECK_EQ(rep.calls, 3);
    CHECK(contains(rep.message, "zf_code_free(code #1 (64 bytes)): its ZfCodeHot"));
    CHECK_EQ(stats_of(pool).live_frames, 0);
    check_usable(plain, 48, &rep);
    finish(pool, &plain, 1, &heap, &rep);
}

/* A zombie in its code's slot links to nothing: its link word (the
 * header's last word, before any prefix) stays NULL while it is cached,
 * as while it was live. A write there after its release is seen as the
 * zombie would be handed out again (it is freed instead) or as it is
 * freed. (Once, the word was cleared as the zombie was handed out, and
 * such a write went unseen.) */
static void slot_link_written(unsigned prefix)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool_of(&heap, &rep, prefix, 0);
    ZfCode *code = zf_code_new(pool, 64 + prefix);
    unsigned char *f = zf_frame_acquire(code, NULL), *g;
    int z = -1;
    ZfStats s;

    printf("a slot zombie's link written (prefix %u)\n", prefix);
    zf_frame_release(code, f); /* into the slot */
    ((void **)(f - prefix))[-1] = f;
    g = zf_frame_acquire(code, &z);
    CHECK_EQ(rep.calls, 1);
    CHECK_EQ(rep.kind, ZF_ERR_WRITE_AFTER_RELEASE);
    CHECK(contains(rep.message, "changed after its release; freed, not handed out"));
    CHECK(g != NULL);
    CHECK_EQ(z, 0);
    s = stats_of(pool);
    CHECK_EQ(s.zombie_hits, 0);
    CHECK_EQ(s.frees, 1);
    zf_frame_release(code, g); /* the slot again */
    ((void **)(g - prefix))[-1] = (void *)16;
    CHECK(zf_pool_clear(pool) > 0);
    CHECK_EQ(rep.calls, 2);
    CHECK(contains(rep.message, "its header changed after its release"));
    check_usable(code, 64, &rep);
    finish(pool, &code, 1, &heap, &rep);
}

static void test_slot_link_written(void)
{
    slot_link_written(0);
    slot_link_written(16);
}

/* Correct use, however it goes, is never reported. */
static void test_silent_on_correct_use(void)
{
    Heap heap;
    Reports rep;
    ZfPool *pool = debug_pool(&heap, &rep);
    ZfCode *codes[3];
    void *frames[300];
    int i, round;

    puts("correct use");
    codes[0] = zf_code_new(pool, 1);
    codes[1] = zf_code_new(pool, 16);
    codes[2] = zf_code_new(pool, 1000);
    for (round = 0; round < 3; round++) {
        for (i = 0; i < 300; i++) {
            frames[i] = zf_frame_acquire(codes[i % 3], NULL);
            memset(frames[i], i, i % 3 == 0 ? 1 : i % 3 == 1 ? 16 : 1000);
        }
        for (i = 299; i >= 0; i -= 2)
            zf_frame_release(codes[i % 3], frames[i]);
        for (i = 0; i < 300; i += 2)
            zf_frame_release(codes[i % 3], frames[i]);
        zf_pool_collect(pool, round);
    }
    CHECK_EQ(rep.calls, 0);
    CHECK_EQ(stats_of(pool).live_frames, 0);
    finish(pool, codes, 3, &heap, &rep);
}

/* Without a handler: one line on stderr naming the misuse, then abort(). */
static void test_default_handler(void)
{
    int pipefd[2], status = 0;
    char line[512] = "";
    ssize_t n;
    size_t size;
    pid_t pid;

    puts("the default handler");
    fflush(stdout);
    CHECK(pipe(pipefd) == 0);
    pid = fork();
    if (pid == 0) {
        ZfConfig cfg;
        ZfPool *pool;
        ZfCode *code;
        void *f;
        dup2(pipefd[1], 2);
        zf_config_default(&cfg);
        cfg.flags = ZF_FLAG_DEBUG;
        pool = zf_pool_new(&cfg);
        code = zf_code_new(pool, 100);
        f = zf_frame_acquire(code, NULL);
        zf_frame_release(code, f);
        zf_frame_release(code, f);
        _exit(0); /* not reached */
    }
    close(pipefd[1]);
    for (size = 0; size < sizeof line - 1; size += (size_t)n)
        if ((n = read(pipefd[0], line + size, sizeof line - 1 - size)) <= 0)
            break;
    line[size] = '\0';
    close(pipefd[0]);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strncmp(line, "zombie-frames: double release: zf_frame_release: frame 0x", 57) == 0);
    CHECK(strchr(line, '\n') == line + strlen(line) - 1); /* one line */
    CHECK(contains(line, "of code #1 (100 bytes) was released again"));
    CHECK(contains(line, "(no handler set: abort)\n"));
    printf("  stderr: %s", line);
}

int main(void)
{
    test_default_handler(); /* first: the child it forks has no thread's leftovers */
    test_double_release();
    test_wrong_code();
    test_foreign_pointer();
    test_write_after_release();
    test_write_then_freed();
    test_overrun();
    test_underrun();
    test_overwritten_link();
    test_zombie_headers();
    test_reserve_link_across_classes();
    test_concurrent_use();
    test_concurrent_after_pool_free();
    test_many_threads_refused();
    test_freed_code();
    test_freed_code_after_pool_free();
    test_handler_call_names_its_finds();
    test_freed_pool();
    test_pool_freed_twice();
    test_handler_repeats_refused_call();
    test_leak();
    test_leak_handler_releases();
    test_handler_calls_back();
    test_handler_repeats_misuse();
    test_freed_from_inside();
    test_hook_frees_after_pool_free();
    test_handler_frees_after_pool_free();
    test_handler_releases_as_pool_closes();
    test_hook_calls_back();
    test_hook_inside_handler_call();
    test_code_hot_written();
    test_slot_link_written();
    test_silent_on_correct_use();
    return check_done();
}

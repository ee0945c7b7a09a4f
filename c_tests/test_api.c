/*
 * The C API itself, function by function: NULL handles, bad sizes and
 * configs, the environment, the report, odd free orders, debug-mode leak
 * reports, alignment and the allocator hooks. No minipy here: these are
 * the calls an interpreter makes, made directly.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, pipe, posix_memalign */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "zombie_frames.h"

/* ---- a counting allocator for the hooks -------------------------------- */

enum { MAX_BLOCKS = 4096 };

typedef struct Counting {
    uint64_t allocs, deallocs, bytes_allocated, bytes_freed;
    uint64_t wrong_size, unknown_ptr; /* dealloc calls that lie */
    int fail_next;                    /* the next alloc returns NULL */
    int misalign_next;                /* the next alloc returns a pointer 8 bytes off */
    size_t live;
    struct { char *given, *real; size_t size; } block[MAX_BLOCKS];
} Counting;

static void *counting_alloc(void *ctx, size_t size)
{
    Counting *c = ctx;
    void *real;
    size_t off = c->misalign_next ? 8 : 0;
    if (c->fail_next) {
        c->fail_next = 0;
        return NULL;
    }
    if (c->live == MAX_BLOCKS || posix_memalign(&real, 16, size + off) != 0)
        return NULL;
    c->misalign_next = 0;
    c->block[c->live].real = real;
    c->block[c->live].given = (char *)real + off;
    c->block[c->live].size = size;
    c->allocs++;
    c->bytes_allocated += size;
    return c->block[c->live++].given;
}

static void counting_dealloc(void *ctx, void *ptr, size_t size)
{
    Counting *c = ctx;
    size_t i;
    for (i = 0; i < c->live && c->block[i].given != (char *)ptr; i++)
        continue;
    if (i == c->live) {
        c->unknown_ptr++;
        return;
    }
    c->wrong_size += c->block[i].size != size;
    free(c->block[i].real);
    c->block[i] = c->block[--c->live];
    c->deallocs++;
    c->bytes_freed += size;
}

static void use_hooks(ZfConfig *cfg, Counting *c)
{
    zf_config_default(cfg);
    cfg->alloc = counting_alloc;
    cfg->dealloc = counting_dealloc;
    cfg->alloc_ctx = c;
}

/* Everything the hooks handed out came back, with the sizes it was given for. */
static void check_all_returned(const Counting *c)
{
    CHECK(c->allocs > 0);
    CHECK_EQ(c->live, 0);
    CHECK_EQ(c->allocs, c->deallocs);
    CHECK_EQ(c->bytes_allocated, c->bytes_freed);
    CHECK_EQ(c->wrong_size, 0);
    CHECK_EQ(c->unknown_ptr, 0);
}

/* ---- a recording error handler ----------------------------------------- */

typedef struct Recorder {
    int calls, kind;
    char message[512];
} Recorder;

static void record(void *ctx, int kind, const char *message)
{
    Recorder *r = ctx;
    r->calls++;
    r->kind = kind;
    snprintf(r->message, sizeof r->message, "%s", message != NULL ? message : "(null)");
}

/* ---- the tests ---------------------------------------------------------- */

static void test_version(void)
{
    char text[64];
    CHECK(zf_version() != NULL && strcmp(zf_version(), ZF_VERSION_STRING) == 0);
    snprintf(text, sizeof text, "%d.%d.%d", ZF_VERSION_MAJOR, ZF_VERSION_MINOR, ZF_VERSION_PATCH);
    CHECK(strcmp(text, ZF_VERSION_STRING) == 0);
    CHECK_EQ(ZF_VERSION_NUMBER, ZF_VERSION_MAJOR * 10000 + ZF_VERSION_MINOR * 100 + ZF_VERSION_PATCH);
#if ZF_VERSION_NUMBER != ZF_VERSION_MAJOR * 10000 + ZF_VERSION_MINOR * 100 + ZF_VERSION_PATCH
#error "ZF_VERSION_NUMBER does not match its parts"
#endif
    CHECK_EQ(ZF_FRAME_ALIGN, 16);
    CHECK_EQ(ZF_HEADER_BYTES, 16);
}

static void test_null_handles(void)
{
    ZfStats s;
    ZfPool *pool;
    ZfCode *code;
    void *f;
    int z = 7;

    /* The header's one rule: free and release take NULL as a no-op; every
     * other function refuses it, and zf_last_error() names the argument. */
    zf_config_default(NULL);
    CHECK(contains(zf_last_error(), "zf_config_default: out is NULL"));
    CHECK_EQ(zf_config_from_env(NULL), -1);
    CHECK(contains(zf_last_error(), "zf_config_from_env: cfg is NULL"));
    zf_pool_free(NULL);
    zf_code_free(NULL);
    CHECK(contains(zf_last_error(), "zf_config_from_env")); /* no-ops leave no message */
    zf_set_error_handler(NULL, record, NULL);
    CHECK(contains(zf_last_error(), "zf_set_error_handler: pool is NULL"));
    CHECK(zf_code_new(NULL, 64) == NULL);
    CHECK(contains(zf_last_error(), "zf_code_new") && contains(zf_last_error(), "pool"));
    CHECK(zf_frame_acquire(NULL, &z) == NULL);
    CHECK(contains(zf_last_error(), "zf_frame_acquire") && contains(zf_last_error(), "code"));
    zf_frame_release(NULL, NULL);
    CHECK(contains(zf_last_error(), "zf_frame_acquire")); /* a NULL frame: no-op */
    CHECK_EQ(zf_pool_collect(NULL, 0), 0);
    CHECK(contains(zf_last_error(), "zf_pool_collect: pool is NULL"));
    CHECK_EQ(zf_pool_clear(NULL), 0);
    CHECK(contains(zf_last_error(), "zf_pool_clear: pool is NULL"));
    CHECK_EQ(zf_pool_print_stats(NULL, 1), -1);
    CHECK(contains(zf_last_error(), "zf_pool_print_stats: pool is NULL"));
    memset(&s, 0xff, sizeof s);
    zf_pool_stats(NULL, &s);
    CHECK_EQ(s.acquires + s.frees + s.cached_bytes + s.codes + s.evicted_frees, 0);
    CHECK(contains(zf_last_error(), "zf_pool_stats: pool is NULL"));

    /* NULL cfg is the defaults; a NULL frame is a no-op; a NULL out or code is refused. */
    pool = zf_pool_new(NULL);
    CHECK(pool != NULL);
    zf_pool_stats(pool, NULL);
    CHECK(contains(zf_last_error(), "zf_pool_stats: out is NULL"));
    code = zf_code_new(pool, 64);
    f = zf_frame_acquire(code, NULL);
    CHECK(f != NULL);
    zf_frame_release(code, NULL);
    zf_frame_release(NULL, f); /* refused: f stays live */
    CHECK(contains(zf_last_error(), "zf_frame_release"));
    s = stats_of(pool);
    CHECK_EQ(s.releases, 0);
    CHECK_EQ(s.live_frames, 1);
    zf_frame_release(code, f);
    CHECK_EQ(zf_pool_collect(pool, -1), 0);
    CHECK(contains(zf_last_error(), "negative"));
    CHECK_EQ(stats_of(pool).sweeps, 0);
    zf_code_free(code);
    zf_pool_free(pool);
}

static void test_frame_bytes(void)
{
    static const size_t sizes[] = {1, 15, 16, 17, 100, 440, 4096};
    ZfPool *pool = zf_pool_new(NULL);
    size_t i;

    CHECK(zf_code_new(pool, 0) == NULL);
    CHECK(contains(zf_last_error(), "frame_bytes 0"));
    CHECK(zf_code_new(pool, (size_t)ZF_MAX_FRAME_BYTES + 1) == NULL);
    CHECK(contains(zf_last_error(), "ZF_MAX_FRAME_BYTES"));
    CHECK(zf_code_new(pool, SIZE_MAX) == NULL);
    CHECK(zf_last_error() != NULL);
    CHECK_EQ(stats_of(pool).codes, 0);

    /* The largest size is accepted (never acquired here: 1 GiB). */
    zf_code_free(zf_code_new(pool, ZF_MAX_FRAME_BYTES));
    CHECK_EQ(stats_of(pool).codes_created, 1);

    /* Each zombie takes a whole block: header + frame rounded up to 16. */
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ZfCode *code = zf_code_new(pool, sizes[i]);
        void *f = zf_frame_acquire(code, NULL);
        CHECK(f != NULL && (uintptr_t)f % ZF_FRAME_ALIGN == 0);
        memset(f, 0xab, sizes[i]); /* the whole frame is ours */
        zf_frame_release(code, f);
        CHECK_EQ(stats_of(pool).cached_bytes, BLOCK_BYTES(sizes[i]));
        zf_code_free(code); /* its zombie retires to the reserve */
        CHECK_EQ(zf_pool_clear(pool), BLOCK_BYTES(sizes[i]));
        CHECK_EQ(stats_of(pool).cached_bytes, 0);
    }
    zf_pool_free(pool);
}

/* zf_pool_new(cfg) fails and the message names the function and `field`. */
static void check_refused(const ZfConfig *cfg, const char *field)
{
    char want[128];
    snprintf(want, sizeof want, "zf_pool_new: invalid ZfConfig: field %s ", field);
    CHECK(zf_pool_new(cfg) == NULL);
    if (!contains(zf_last_error(), want))
        printf("  expected \"%s\" in: %s\n", want, zf_last_error() ? zf_last_error() : "(null)");
    CHECK(contains(zf_last_error(), want));
}

static void test_bad_configs(void)
{
    ZfConfig cfg;
    zf_config_default(&cfg);
    CHECK_EQ(cfg.struct_size, sizeof(ZfConfig));
    CHECK_EQ(cfg.policy, ZF_POLICY_PER_CODE);
    CHECK_EQ(cfg.per_code_max, ZF_DEFAULT_PER_CODE_MAX);
    CHECK_EQ(cfg.budget_bytes, ZF_DEFAULT_BUDGET_BYTES);
    CHECK_EQ(cfg.sweep_every, ZF_DEFAULT_SWEEP_EVERY);
    CHECK_EQ(cfg.reserve_max, ZF_DEFAULT_RESERVE_MAX);
    CHECK_EQ(cfg.sweep_generation, ZF_DEFAULT_SWEEP_GENERATION);
    CHECK(cfg.trace_path == NULL);
    CHECK_EQ(cfg.flags, 0);
    CHECK_EQ(cfg.prefix_bytes, 0);
    CHECK(cfg.alloc == NULL && cfg.dealloc == NULL);

    cfg.struct_size = 8;
    check_refused(&cfg, "struct_size");
    cfg.struct_size = sizeof(ZfConfig) + 8;
    check_refused(&cfg, "struct_size");
    /* The other function that takes one names itself. */
    CHECK_EQ(zf_config_from_env(&cfg), -1);
    CHECK(contains(zf_last_error(), "zf_config_from_env: invalid ZfConfig: field struct_size "));
    zf_config_default(&cfg);
    cfg.policy = 7;
    check_refused(&cfg, "policy");
    zf_config_default(&cfg);
    cfg.flags = 0x80;
    check_refused(&cfg, "flags");
    zf_config_default(&cfg);
    cfg.prefix_bytes = 32; /* a length without the flag */
    check_refused(&cfg, "prefix_bytes");
    cfg.flags = ZF_FLAG_FRAME_PREFIX;
    cfg.prefix_bytes = 40;
    check_refused(&cfg, "prefix_bytes");
    cfg.prefix_bytes = ZF_MAX_PREFIX_BYTES + 16;
    check_refused(&cfg, "prefix_bytes");
    zf_config_default(&cfg);
    cfg.alloc = counting_alloc;
    check_refused(&cfg, "alloc");
    cfg.alloc = NULL;
    cfg.dealloc = counting_dealloc;
    check_refused(&cfg, "alloc");
}

/* Field by field: the padding of a ZfConfig is never written, so memcmp
 * would compare uninitialised bytes. */
static int same_config(const ZfConfig *a, const ZfConfig *b)
{
    return a->struct_size == b->struct_size && a->policy == b->policy &&
           a->per_code_max == b->per_code_max && a->budget_bytes == b->budget_bytes &&
           a->sweep_every == b->sweep_every && a->flags == b->flags && a->alloc == b->alloc &&
           a->dealloc == b->dealloc && a->alloc_ctx == b->alloc_ctx &&
           a->prefix_bytes == b->prefix_bytes;
}

static void unset_all(void)
{
    unsetenv("ZF_POLICY");
    unsetenv("ZF_PER_CODE_MAX");
    unsetenv("ZF_BUDGET");
    unsetenv("ZF_SWEEP_EVERY");
    unsetenv("ZF_DEBUG");
}

/* Sets `var`=`value` (and ZF_PER_CODE_MAX=5, a good one, beside it):
 * zf_config_from_env must fail, name both, and change nothing. */
static void check_env_refused(const char *var, const char *value)
{
    ZfConfig cfg, before;
    zf_config_default(&cfg);
    cfg.budget_bytes = 12345;
    before = cfg;
    setenv("ZF_PER_CODE_MAX", "5", 1);
    setenv(var, value, 1);
    CHECK_EQ(zf_config_from_env(&cfg), -1);
    CHECK(contains(zf_last_error(), var) && contains(zf_last_error(), value));
    CHECK(same_config(&cfg, &before));
    unset_all();
}

/* A variable whose name is one slip from a setting's is refused, the
 * message naming both, nothing changed; another ZF_ name is left alone. */
static void check_env_slips(void)
{
    static const char *const slips[][2] = {
        {"ZF_BUGDET", "ZF_BUDGET"},   {"ZF_BUDGETS", "ZF_BUDGET"},         {"zf_debug", "ZF_DEBUG"},
        {"ZF_TRACR", "ZF_TRACE"},     {"ZF_PER_COD_MAX", "ZF_PER_CODE_MAX"}, {"ZF_POLICYY", "ZF_POLICY"},
        {"ZF_RESERVEMAX", "ZF_RESERVE_MAX"},
    };
    ZfConfig cfg, before;
    size_t i;
    for (i = 0; i < sizeof slips / sizeof slips[0]; i++) {
        zf_config_default(&cfg);
        cfg.budget_bytes = 12345;
        before = cfg;
        setenv("ZF_PER_CODE_MAX", "5", 1);
        setenv(slips[i][0], "1", 1);
        CHECK_EQ(zf_config_from_env(&cfg), -1);
        CHECK(contains(zf_last_error(), slips[i][0]) && contains(zf_last_error(), slips[i][1]));
        CHECK(same_config(&cfg, &before));
        unsetenv(slips[i][0]);
        unset_all();
    }
    setenv("ZF_CPY_EAGER", "1", 1);
    setenv("ZF_BUDGET_NOTE", "mine", 1); /* five letters past ZF_BUDGET: not the library's */
    setenv("ZF_PER_CODE_MAX", "5", 1);
    zf_config_default(&cfg);
    CHECK_EQ(zf_config_from_env(&cfg), 0);
    CHECK_EQ(cfg.per_code_max, 5);
    unsetenv("ZF_CPY_EAGER");
    unsetenv("ZF_BUDGET_NOTE");
    unset_all();
}

static void test_env(void)
{
    ZfConfig cfg, before;
    ZfPool *pool;

    unset_all();
    zf_config_default(&cfg);
    before = cfg;
    CHECK_EQ(zf_config_from_env(&cfg), 0); /* nothing set: nothing changes */
    CHECK(same_config(&cfg, &before));

    setenv("ZF_POLICY", "per-code", 1);
    setenv("ZF_PER_CODE_MAX", "7", 1);
    setenv("ZF_BUDGET", "4M", 1);
    setenv("ZF_SWEEP_EVERY", "0", 1);
    setenv("ZF_DEBUG", "1", 1);
    CHECK_EQ(zf_config_from_env(&cfg), 0);
    CHECK_EQ(cfg.policy, ZF_POLICY_PER_CODE);
    CHECK_EQ(cfg.per_code_max, 7);
    CHECK_EQ(cfg.budget_bytes, 4u << 20);
    CHECK_EQ(cfg.sweep_every, 0);
    CHECK_EQ(cfg.flags, ZF_FLAG_DEBUG);
    setenv("ZF_BUDGET", "512K", 1);
    setenv("ZF_DEBUG", "0", 1);
    CHECK_EQ(zf_config_from_env(&cfg), 0);
    CHECK_EQ(cfg.budget_bytes, 512u << 10);
    CHECK_EQ(cfg.flags, 0);
    setenv("ZF_BUDGET", "1G", 1);
    CHECK_EQ(zf_config_from_env(&cfg), 0);
    CHECK_EQ(cfg.budget_bytes, 1u << 30);
    setenv("ZF_BUDGET", "65536", 1);
    CHECK_EQ(zf_config_from_env(&cfg), 0);
    CHECK_EQ(cfg.budget_bytes, 65536);
    unset_all();

    check_env_refused("ZF_BUDGET", "12Q");
    check_env_refused("ZF_BUDGET", "-1");
    check_env_refused("ZF_BUDGET", "99999999999G"); /* written right, but past what a size_t holds */
    CHECK(contains(zf_last_error(), "under 16 EiB"));
    check_env_refused("ZF_PER_CODE_MAX", "-3");
    check_env_refused("ZF_SWEEP_EVERY", "often");
    check_env_refused("ZF_DEBUG", "maybe");
    check_env_refused("ZF_POLICY", "fast");
    check_env_slips();

    /* ZF_POLICY=legacy makes a legacy pool. */
    setenv("ZF_POLICY", "legacy", 1);
    zf_config_default(&cfg);
    CHECK_EQ(zf_config_from_env(&cfg), 0);
    CHECK_EQ(cfg.policy, ZF_POLICY_LEGACY);
    unset_all();
    pool = zf_pool_new(&cfg);
    CHECK(pool != NULL);
    zf_pool_free(pool);
}

/* A zombie is the same block with every byte as released, for any size. */
static void test_zombie_bytes(void)
{
    static const size_t sizes[] = {1, 24, 100, 333, 1000};
    ZfPool *pool = zf_pool_new(NULL);
    unsigned char pattern[1000];
    size_t i, k;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ZfCode *code = zf_code_new(pool, sizes[i]);
        int z = -1;
        unsigned char *f = zf_frame_acquire(code, &z), *again;
        CHECK_EQ(z, 0);
        for (k = 0; k < sizes[i]; k++)
            pattern[k] = f[k] = (unsigned char)(k * 7 + i);
        zf_frame_release(code, f);
        again = zf_frame_acquire(code, &z);
        CHECK(again == f);
        CHECK_EQ(z, 1);
        CHECK(memcmp(again, pattern, sizes[i]) == 0);
        zf_frame_release(code, again);
        zf_code_free(code);
    }
    zf_pool_free(pool);
}

/* Every frame handed out is aligned to 16, fresh or zombie, any size. */
static void test_alignment(void)
{
    enum { SIZES = 64, EACH = 3 };
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *code[SIZES];
    void *f[SIZES][EACH];
    uint64_t misaligned = 0;
    int i, k, round;
    zf_config_default(&cfg);
    cfg.budget_bytes = 1 << 20; /* room for every frame: the second round is all zombies */
    pool = zf_pool_new(&cfg);
    for (i = 0; i < SIZES; i++)
        code[i] = zf_code_new(pool, (size_t)(1 + i * 13));
    for (round = 0; round < 2; round++) { /* fresh, then zombies */
        for (i = 0; i < SIZES; i++)
            for (k = 0; k < EACH; k++)
                misaligned += (uintptr_t)(f[i][k] = zf_frame_acquire(code[i], NULL)) % 16 != 0;
        for (i = 0; i < SIZES; i++)
            for (k = 0; k < EACH; k++)
                zf_frame_release(code[i], f[i][k]);
    }
    CHECK_EQ(misaligned, 0);
    CHECK_EQ(stats_of(pool).zombie_hits, SIZES * EACH);
    for (i = 0; i < SIZES; i++)
        zf_code_free(code[i]);
    zf_pool_free(pool);
}

/* per_code_max and budget_bytes bound the cache; CLOCK evicts idle lists. */
static void test_limits(void)
{
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *a, *b, *c;
    void *fa, *fb, *fc;
    int z;

    zf_config_default(&cfg);
    cfg.per_code_max = 0; /* with no reserve either, nothing is ever cached */
    cfg.reserve_max = 0;
    pool = zf_pool_new(&cfg);
    a = zf_code_new(pool, 64);
    zf_frame_release(a, zf_frame_acquire(a, NULL));
    CHECK_EQ(stats_of(pool).cached_frames, 0);
    CHECK_EQ(stats_of(pool).frees, 1);
    zf_code_free(a);
    zf_pool_free(pool);

    zf_config_default(&cfg);
    cfg.budget_bytes = BLOCK_BYTES(64) - 1; /* not even one block */
    pool = zf_pool_new(&cfg);
    a = zf_code_new(pool, 64);
    zf_frame_release(a, zf_frame_acquire(a, NULL));
    CHECK_EQ(stats_of(pool).cached_bytes, 0);
    CHECK_EQ(stats_of(pool).frees, 1);
    zf_code_free(a);
    zf_pool_free(pool);

    /* Room for two blocks; three codes release one frame each. Both cached
     * lists were used since the hand last passed, so it spares each once,
     * comes round, and evicts the first list in the ring: a's. */
    cfg.budget_bytes = 2 * BLOCK_BYTES(64);
    pool = zf_pool_new(&cfg);
    a = zf_code_new(pool, 64);
    b = zf_code_new(pool, 64);
    c = zf_code_new(pool, 64);
    fa = zf_frame_acquire(a, NULL);
    fb = zf_frame_acquire(b, NULL);
    fc = zf_frame_acquire(c, NULL);
    zf_frame_release(a, fa);
    zf_frame_release(b, fb);
    zf_frame_release(c, fc);
    CHECK_EQ(stats_of(pool).evicted_frees, 1);
    CHECK_EQ(stats_of(pool).cached_bytes, 2 * BLOCK_BYTES(64));
    zf_frame_release(a, zf_frame_acquire(a, &z));
    CHECK_EQ(z, 0); /* a's zombie was the one evicted */
    zf_frame_release(c, zf_frame_acquire(c, &z));
    CHECK_EQ(z, 1);
    CHECK(stats_of(pool).cached_bytes <= cfg.budget_bytes);
    zf_code_free(a);
    zf_code_free(b);
    zf_code_free(c);
    zf_pool_free(pool);
}

/* The size classes: the library's answer equals check.h's own reckoning,
 * and a per-code pool charges exactly that per zombie. */
static void test_block_bytes(void)
{
    size_t n;
    for (n = 1; n < 70000; n += n < 2048 ? 1 : 61)
        CHECK_EQ(zf_frame_block_bytes(n), BLOCK_BYTES(n));
    /* Blocks fall on the classes' steps: one that fits 512 bytes stays
     * within 512 (CPython's small-object limit). */
    CHECK_EQ(zf_frame_block_bytes(448), 464);
    CHECK_EQ(zf_frame_block_bytes(464), 480);
    CHECK_EQ(zf_frame_block_bytes(465), 496);
    CHECK_EQ(zf_frame_block_bytes(496), 512);
    CHECK_EQ(zf_frame_block_bytes(497), 544);
    CHECK_EQ(zf_frame_block_bytes(1009), 1088);
    CHECK_EQ(zf_frame_block_bytes(1), 32);
    CHECK_EQ(zf_frame_block_bytes(0), 0);
    CHECK_EQ(zf_frame_block_bytes((size_t)ZF_MAX_FRAME_BYTES + 1), 0);
    ZfPool *pool = zf_pool_new(NULL);
    ZfCode *code = zf_code_new(pool, 300);
    zf_frame_release(code, zf_frame_acquire(code, NULL));
    CHECK_EQ(stats_of(pool).cached_bytes, zf_frame_block_bytes(300));
    zf_code_free(code);
    zf_pool_free(pool);
}

static void test_clear(void)
{
    ZfPool *pool = zf_pool_new(NULL);
    ZfCode *a = zf_code_new(pool, 100), *b = zf_code_new(pool, 300);
    void *f1 = zf_frame_acquire(a, NULL), *f2 = zf_frame_acquire(a, NULL);
    void *f3 = zf_frame_acquire(b, NULL);
    zf_frame_release(a, f1);
    zf_frame_release(a, f2);
    zf_frame_release(b, f3);
    CHECK_EQ(zf_pool_clear(pool), 2 * BLOCK_BYTES(100) + BLOCK_BYTES(300));
    CHECK_EQ(stats_of(pool).cached_frames, 0);
    CHECK_EQ(stats_of(pool).frees, 3);
    CHECK_EQ(zf_pool_clear(pool), 0);
    zf_code_free(a);
    zf_code_free(b);
    zf_pool_free(pool);
}

/* Reads what zf_pool_print_stats writes into a pipe. */
static int report_of(const ZfPool *pool, char *text, size_t size)
{
    int fds[2], rc;
    ssize_t n;
    size_t got = 0;
    if (pipe(fds) != 0)
        return -1;
    rc = zf_pool_print_stats(pool, fds[1]); /* a small report: fits the pipe */
    close(fds[1]);
    while (got + 1 < size && (n = read(fds[0], text + got, size - 1 - got)) > 0)
        got += (size_t)n;
    text[got] = '\0';
    close(fds[0]);
    return rc;
}

/* The report's list names each code's frames at the size it asked for,
 * in debug mode too (whose blocks carry a guard past the frame). */
static void check_reported_size(unsigned flags)
{
    static char text[8192];
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *a;

    zf_config_default(&cfg);
    cfg.flags = flags;
    pool = zf_pool_new(&cfg);
    a = zf_code_new(pool, 100);
    zf_frame_release(a, zf_frame_acquire(a, NULL));
    CHECK_EQ(report_of(pool, text, sizeof text), 0);
    CHECK(contains(text, "1 zombie  of 100 bytes"));
    if (check_failed)
        printf("the report (flags %u) was:\n%s", flags, text);
    zf_code_free(a);
    zf_pool_free(pool);
}

static void test_print_stats(void)
{
    static char text[8192];
    ZfPool *pool = zf_pool_new(NULL);
    ZfCode *a = zf_code_new(pool, 100), *b = zf_code_new(pool, 200);
    void *f[3];
    int i;
    const char *first, *second;

    check_reported_size(0);
    check_reported_size(ZF_FLAG_DEBUG);

    /* a: 3 zombies, b: 1; 5 acquires, 1 zombie hit: 20%. */
    for (i = 0; i < 3; i++)
        f[i] = zf_frame_acquire(a, NULL);
    for (i = 0; i < 3; i++)
        zf_frame_release(a, f[i]);
    zf_frame_release(a, zf_frame_acquire(a, NULL));
    zf_frame_release(b, zf_frame_acquire(b, NULL));
    CHECK_EQ(report_of(pool, text, sizeof text), 0);
    CHECK(contains(text, ZF_VERSION_STRING));
    CHECK(contains(text, "hit") && contains(text, "20.0"));
    CHECK(contains(text, "codes holding the most zombies"));
    first = strstr(text, "code #1 ");
    second = strstr(text, "code #2 ");
    CHECK(first != NULL && second != NULL && first < second); /* a holds more */
    CHECK(first != NULL && contains(first, "3 zombies"));
    if (check_failed)
        printf("the report was:\n%s", text);

    CHECK_EQ(zf_pool_print_stats(pool, -1), -1);
    CHECK(contains(zf_last_error(), "zf_pool_print_stats") && contains(zf_last_error(), "-1"));
    zf_code_free(a);
    zf_code_free(b);
    zf_pool_free(pool);
}

/* zf_pool_free with codes alive: zombies go, codes keep working uncached,
 * and the pool's own memory goes with the last code. */
static void test_pool_freed_first(void)
{
    Counting *c = calloc(1, sizeof *c);
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *a, *b;
    void *live, *f;
    int z = -1;

    use_hooks(&cfg, c);
    pool = zf_pool_new(&cfg);
    a = zf_code_new(pool, 64);
    b = zf_code_new(pool, 96);
    zf_frame_release(a, zf_frame_acquire(a, NULL)); /* a: one zombie */
    live = zf_frame_acquire(b, NULL);
    CHECK_EQ(c->live, 5); /* pool, a, b, a's zombie, b's live frame */

    zf_pool_free(pool);
    CHECK_EQ(c->live, 4); /* the zombie went at once */

    f = zf_frame_acquire(a, &z); /* works, uncached: a fresh block */
    CHECK(f != NULL && z == 0);
    memset(f, 1, 64);
    zf_frame_release(a, f); /* freed, not cached */
    CHECK_EQ(c->live, 4);
    zf_frame_release(b, live);
    CHECK_EQ(c->live, 3);
    zf_code_free(a);
    CHECK_EQ(c->live, 2); /* the pool waits for b */
    zf_code_free(b);
    check_all_returned(c);
    free(c);
}

/* With ZF_FLAG_DEBUG, freeing a pool with a live frame reports ZF_ERR_LEAK;
 * the frame and its code stay usable. Without live frames, or without the
 * flag, nothing is reported. */
static void test_leak_report(void)
{
    Counting *c = calloc(1, sizeof *c);
    Recorder rec = {0, 0, ""};
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *code;
    void *f;

    use_hooks(&cfg, c);
    cfg.flags = ZF_FLAG_DEBUG;
    pool = zf_pool_new(&cfg);
    zf_set_error_handler(pool, record, &rec);
    code = zf_code_new(pool, 80);
    f = zf_frame_acquire(code, NULL);
    zf_pool_free(pool);
    CHECK_EQ(rec.calls, 1);
    CHECK_EQ(rec.kind, ZF_ERR_LEAK);
    CHECK(contains(rec.message, "1 frame is still live"));
    memset(f, 2, 80);
    zf_frame_release(code, f);
    zf_code_free(code);
    check_all_returned(c);

    rec.calls = 0;
    pool = zf_pool_new(&cfg); /* debug, codes alive but no live frame */
    zf_set_error_handler(pool, record, &rec);
    code = zf_code_new(pool, 80);
    zf_frame_release(code, zf_frame_acquire(code, NULL));
    zf_pool_free(pool);
    zf_code_free(code);
    CHECK_EQ(rec.calls, 0);

    cfg.flags = 0; /* not debug: a live frame is not reported */
    pool = zf_pool_new(&cfg);
    zf_set_error_handler(pool, record, &rec);
    code = zf_code_new(pool, 80);
    f = zf_frame_acquire(code, NULL);
    zf_pool_free(pool);
    CHECK_EQ(rec.calls, 0);
    zf_frame_release(code, f);
    zf_code_free(code);
    check_all_returned(c);
    free(c);
}

static void test_alloc_hooks(void)
{
    Counting *c = calloc(1, sizeof *c);
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *a, *b;
    void *f, *g;
    int z;

    use_hooks(&cfg, c);
    c->fail_next = 1; /* the pool's own struct */
    CHECK(zf_pool_new(&cfg) == NULL);
    CHECK(contains(zf_last_error(), "zf_pool_new: out of memory"));
    pool = zf_pool_new(&cfg);
    CHECK(pool != NULL);
    c->fail_next = 1;
    CHECK(zf_code_new(pool, 64) == NULL);
    CHECK(contains(zf_last_error(), "zf_code_new: out of memory"));
    CHECK_EQ(stats_of(pool).codes, 0);
    a = zf_code_new(pool, 64);
    b = zf_code_new(pool, 200);

    /* No zombie anywhere: a failing hook fails the acquire, once. */
    c->fail_next = 1;
    CHECK(zf_frame_acquire(a, &z) == NULL);
    CHECK(contains(zf_last_error(), "zf_frame_acquire: out of memory"));
    CHECK_EQ(stats_of(pool).acquires, 0);
    CHECK_EQ(stats_of(pool).live_frames, 0);
    f = zf_frame_acquire(a, &z);
    CHECK(f != NULL && z == 0);

    /* A misaligned block from the hook is given back and refused. */
    c->misalign_next = 1;
    CHECK(zf_frame_acquire(b, &z) == NULL);
    CHECK(contains(zf_last_error(), "zf_frame_acquire: the alloc hook returned"));

    /* The inline pair's slow half names itself (a code that has run,
     * nothing else due: the plain lane's miss, which a debugger shows). */
    c->fail_next = 1;
    CHECK(zf_frame_acquire_slow(a, &z) == NULL);
    CHECK(contains(zf_last_error(), "zf_frame_acquire_slow: out of memory"));
    CHECK_EQ(c->unknown_ptr, 0);

    /* With zombies cached, the pool frees them and tries again. */
    zf_frame_release(a, f);
    c->fail_next = 1;
    g = zf_frame_acquire(b, &z);
    CHECK(g != NULL && z == 0);
    CHECK_EQ(stats_of(pool).cached_frames, 0);
    zf_frame_release(b, g);

    zf_code_free(a);
    zf_code_free(b);
    zf_pool_free(pool);
    check_all_returned(c);
    free(c);
}

/* zf_pool_new(cfg), with what it wrote on stderr in `line`. */
static ZfPool *pool_new_stderr(const ZfConfig *cfg, char *line, size_t size)
{
    int pipefd[2], saved;
    ssize_t n;
    ZfPool *pool;

    fflush(stderr);
    CHECK(pipe(pipefd) == 0);
    saved = dup(2);
    dup2(pipefd[1], 2);
    pool = zf_pool_new(cfg);
    dup2(saved, 2);
    close(saved);
    close(pipefd[1]);
    n = read(pipefd[0], line, size - 1);
    close(pipefd[0]);
    line[n > 0 ? n : 0] = '\0';
    return pool;
}

/* A trace file that cannot be made: one line on stderr naming the field
 * (set from C here, not from ZF_TRACE) and the file; the pool works on. */
static void test_trace_unwritable(void)
{
    char line[256] = "";
    ZfConfig cfg;
    ZfPool *pool;

    zf_config_default(&cfg);
    cfg.trace_path = "/nonexistent-zf-dir/t.zft";
    pool = pool_new_stderr(&cfg, line, sizeof line);
    CHECK(pool != NULL);
    CHECK(contains(line, "zombie-frames: trace_path (ZF_TRACE) /nonexistent-zf-dir/t.zft: "));
    CHECK(contains(line, "; no trace is recorded\n"));
    zf_pool_free(pool);
}

/* An empty trace_path is no trace, as an empty ZF_TRACE is: nothing on
 * stderr, and the pool is a plain one (a traced pool's inline state never
 * holds a zombie). */
static void test_trace_empty(void)
{
    char line[256] = "";
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *code;
    void *f;

    zf_config_default(&cfg);
    cfg.trace_path = "";
    pool = pool_new_stderr(&cfg, line, sizeof line);
    CHECK(pool != NULL);
    CHECK_EQ(strlen(line), 0);
    code = zf_code_new(pool, 64);
    f = zf_frame_acquire(code, NULL);
    zf_frame_release(code, f);
    CHECK(zf_frame_hit_fast(code) == f);
    zf_frame_release(code, f);
    zf_code_free(code);
    zf_pool_free(pool);
}

int main(void)
{
    /* Before anything has failed on this thread. */
    CHECK(zf_last_error() == NULL);
    test_version();
    test_null_handles();
    test_frame_bytes();
    test_bad_configs();
    test_env();
    test_zombie_bytes();
    test_alignment();
    test_limits();
    test_block_bytes();
    test_clear();
    test_print_stats();
    test_pool_freed_first();
    test_leak_report();
    test_alloc_hooks();
    test_trace_unwritable();
    test_trace_empty();
    return check_done();
}

/* Contender: the library, called the way an interpreter calls it. Built
 * into two shared objects: one with libzombie_frames.a linked in and its
 * symbols hidden (calls are direct, as in an interpreter linked with the
 * static archive), one against libzombie_frames.so (calls go through the
 * PLT). */
#include <stdlib.h>
#include "bench.h"
#include "zombie_frames.h"

/* ZF_BENCH_FAST: the header's inline pair (its acquire is zf_frame_hit_fast,
 * then zf_frame_acquire_slow, as the CPython kits call them). */
#ifdef ZF_BENCH_FAST
#define ACQUIRE zf_frame_acquire_fast
#define RELEASE zf_frame_release_fast
#else
#define ACQUIRE zf_frame_acquire
#define RELEASE zf_frame_release
#endif

static inline void *b_acquire(void *bench, void *code, int *warm)
{
    void *f = ACQUIRE(code, warm);
    (void)bench;
    if (f == NULL)
        abort();
    return f;
}

static inline void b_release(void *bench, void *code, void *frame)
{
    (void)bench;
    RELEASE(code, frame);
}

static inline void *b_new(const BenchCfg *cfg)
{
    ZfConfig c;
    zf_config_default(&c);
    c.policy = cfg->policy;
    c.per_code_max = cfg->per_code_max;
    c.budget_bytes = cfg->budget_bytes;
    c.sweep_every = cfg->sweep_every;
    ZfPool *pool = zf_pool_new(&c);
    if (pool == NULL)
        abort();
    return pool;
}

static inline void b_free(void *bench) { zf_pool_free(bench); }

static inline void *b_code_new(void *bench, size_t frame_bytes)
{
    ZfCode *code = zf_code_new(bench, frame_bytes);
    if (code == NULL)
        abort();
    return code;
}

static inline void b_code_free(void *bench, void *code)
{
    (void)bench;
    zf_code_free(code);
}

static inline size_t b_collect(void *bench, int generation) { return zf_pool_collect(bench, generation); }

/* Where this object's zf_frame_acquire resolved: lets the harness check
 * that the "shared" build really calls into libzombie_frames.so. */
void *bench_acquire_address(void) { return (void *)&zf_frame_acquire; }

#include "patterns.h"

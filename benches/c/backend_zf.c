/* Contender: the library, called the way an interpreter calls it. Built
 * into two shared objects: one with libzombie_frames.a linked in and its
 * symbols hidden (calls are direct, as in an interpreter linked with the
 * static archive), one against libzombie_frames.so (calls go through the
 * PLT). */
#include <stdlib.h>
#include "bench.h"
#include "zombie_frames.h"

/* ZF_BENCH_FAST: the header's inline pair (zf_frame_hit_fast, then
 * zf_frame_acquire_slow on a miss; zf_frame_give_fast, then
 * zf_frame_release_slow). ZF_BENCH_HOT: the CPython kits' glue, the same
 * halves on a ZfCodeHot the code object holds (zf_code_new_with_hot), so
 * a code handle is that object. An interpreter has its code objects
 * anyway: they come from a free list of this file's, so that the code
 * lives count the library, not glibc's heap. */
#ifdef ZF_BENCH_FAST
#define ACQUIRE zf_frame_acquire_fast
#define RELEASE zf_frame_release_fast
#else
#define ACQUIRE zf_frame_acquire
#define RELEASE zf_frame_release
#endif

#ifdef ZF_BENCH_HOT
typedef struct CodeObject {
    ZfCodeHot hot;
    ZfCode *zf;
    struct CodeObject *next_free;
} CodeObject;

static CodeObject *free_code_objects;

static CodeObject *code_object_new(void)
{
    CodeObject *co = free_code_objects;
    if (co != NULL) {
        free_code_objects = co->next_free;
        return co;
    }
    co = malloc(sizeof *co);
    if (co == NULL)
        abort();
    return co;
}

static void code_object_free(CodeObject *co)
{
    co->next_free = free_code_objects;
    free_code_objects = co;
}

static inline void *b_acquire(void *bench, void *code, int *warm)
{
    CodeObject *co = code;
    void *f = zf_hot_hit(&co->hot);
    int zombie = 0; /* the slow call's own flag: `warm` stays in a register */
    (void)bench;
    if (f != NULL) {
        *warm = 1;
        return f;
    }
    f = zf_frame_acquire_slow(co->zf, &zombie);
    if (f == NULL)
        abort();
    *warm = zombie;
    return f;
}

static inline void b_release(void *bench, void *code, void *frame)
{
    CodeObject *co = code;
    (void)bench;
    if (!zf_hot_give(&co->hot, frame))
        zf_frame_release_slow(co->zf, frame);
}
#else
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
#endif

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
#ifdef ZF_BENCH_HOT
    CodeObject *co = code_object_new();
    if ((co->zf = zf_code_new_with_hot(bench, frame_bytes, &co->hot)) == NULL)
        abort();
    return co;
#else
    ZfCode *code = zf_code_new(bench, frame_bytes);
    if (code == NULL)
        abort();
    return code;
#endif
}

static inline void b_code_free(void *bench, void *code)
{
    (void)bench;
#ifdef ZF_BENCH_HOT
    zf_code_free(((CodeObject *)code)->zf);
    code_object_free(code);
#else
    zf_code_free(code);
#endif
}

static inline size_t b_collect(void *bench, int generation) { return zf_pool_collect(bench, generation); }

/* Where this object's zf_frame_acquire resolved: lets the harness check
 * that the "shared" build really calls into libzombie_frames.so. */
void *bench_acquire_address(void) { return (void *)&zf_frame_acquire; }

#include "patterns.h"

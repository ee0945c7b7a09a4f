/* Contender: no cache at all, glibc malloc and free of the same size. */
#include <stdlib.h>
#include "bench.h"

typedef struct Code {
    size_t frame_bytes;
} Code;

static inline void *b_acquire(void *bench, void *code, int *warm)
{
    void *f = malloc(((Code *)code)->frame_bytes);
    (void)bench;
    if (f == NULL)
        abort();
    *warm = 0;
    return f;
}

static inline void b_release(void *bench, void *code, void *frame)
{
    (void)bench;
    (void)code;
    free(frame);
}

static inline void *b_new(const BenchCfg *cfg)
{
    static char nothing;
    (void)cfg;
    return &nothing;
}

static inline void b_free(void *bench) { (void)bench; }

static inline void *b_code_new(void *bench, size_t frame_bytes)
{
    Code *co = malloc(sizeof *co);
    (void)bench;
    if (co == NULL)
        abort();
    co->frame_bytes = frame_bytes;
    return co;
}

static inline void b_code_free(void *bench, void *code)
{
    (void)bench;
    free(code);
}

static inline size_t b_collect(void *bench, int generation)
{
    (void)bench;
    (void)generation;
    return 0;
}

#include "patterns.h"

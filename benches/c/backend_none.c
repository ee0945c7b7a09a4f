/* Contender: no allocator at all, only for callgrind.sh: every acquire
 * returns the same static buffer and a release does nothing, so what it
 * costs is the loop's own work, which callgrind.sh subtracts from every
 * other contender to give the cost of acquire + release alone. */
#include <stdint.h>
#include "bench.h"

static char slots[64];

static inline void *b_acquire(void *bench, void *code, int *warm)
{
    (void)bench;
    (void)code;
    *warm = 1;
    return slots;
}

static inline void b_release(void *bench, void *code, void *frame)
{
    (void)bench;
    (void)code;
    (void)frame;
}

static inline void *b_new(const BenchCfg *cfg)
{
    (void)cfg;
    return slots;
}

static inline void b_free(void *bench) { (void)bench; }

static inline void *b_code_new(void *bench, size_t frame_bytes)
{
    (void)bench;
    return (void *)(uintptr_t)frame_bytes;
}

static inline void b_code_free(void *bench, void *code)
{
    (void)bench;
    (void)code;
}

static inline size_t b_collect(void *bench, int generation)
{
    (void)bench;
    (void)generation;
    return 0;
}

#include "patterns.h"

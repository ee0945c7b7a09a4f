/* The benchmark loops, written once against the backend's operations
 * (b_new, b_free, b_code_new, b_code_free, b_acquire, b_release,
 * b_collect), which the including backend_*.c defines as static inline. */
#include "bench.h"
#include <stdlib.h>

/* What the interpreter does with a frame it gets: one store (f_lasti, say)
 * and a read of the warm flag. The empty asm makes the frame escape, so the
 * compiler cannot drop a malloc/free pair or hoist anything out of a loop.
 * The flag passes through an empty asm too, so reading it costs the same
 * whatever its value: else a path known to give 0 (CPython's free list)
 * would drop the add that a path giving 1 (a zombie) pays. */
static inline uint64_t use_frame(void *f, int warm, uint64_t i)
{
    ((uint64_t *)f)[3] = i;
    __asm__ volatile("" : "+r"(warm) : "r"(f) : "memory");
    return (uint64_t)warm;
}

void *bench_new(const BenchCfg *cfg) { return b_new(cfg); }
void bench_free(void *bench) { b_free(bench); }
void *bench_code_new(void *bench, size_t frame_bytes) { return b_code_new(bench, frame_bytes); }
void bench_code_free(void *bench, void *code) { b_code_free(bench, code); }
size_t bench_collect(void *bench, int generation) { return b_collect(bench, generation); }

uint64_t bench_hit(void *bench, void *code, uint64_t n)
{
    uint64_t warm_sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        int warm;
        void *f = b_acquire(bench, code, &warm);
        warm_sum += use_frame(f, warm, i);
        b_release(bench, code, f);
    }
    return warm_sum;
}

uint64_t bench_recursion(void *bench, void *const *codes, size_t ncodes, size_t depth, uint64_t reps)
{
    void **stack = malloc(depth * sizeof *stack);
    uint64_t warm_sum = 0;
    if (stack == NULL)
        abort();
    /* The code of level i is codes[i % ncodes], kept as a wrapping index:
     * a division per call would cost more than some contenders. */
    size_t top = (depth - 1) % ncodes;
    for (uint64_t r = 0; r < reps; r++) {
        size_t k = 0;
        for (size_t i = 0; i < depth; i++) {
            int warm;
            stack[i] = b_acquire(bench, codes[k], &warm);
            warm_sum += use_frame(stack[i], warm, i);
            if (++k == ncodes)
                k = 0;
        }
        k = top;
        for (size_t i = depth; i-- > 0;) {
            b_release(bench, codes[k], stack[i]);
            k = k == 0 ? ncodes - 1 : k - 1;
        }
    }
    free(stack);
    return warm_sum;
}

uint64_t bench_round_robin(void *bench, void *const *codes, size_t ncodes, uint64_t n, size_t *cursor)
{
    uint64_t warm_sum = 0;
    size_t at = *cursor;
    for (uint64_t i = 0; i < n; i++) {
        int warm;
        void *f = b_acquire(bench, codes[at], &warm);
        warm_sum += use_frame(f, warm, i);
        b_release(bench, codes[at], f);
        if (++at == ncodes)
            at = 0;
    }
    *cursor = at;
    return warm_sum;
}

void bench_touch(void *bench, void *const *codes, size_t ncodes)
{
    bench_round_robin(bench, codes, ncodes, ncodes, &(size_t){0});
}

uint64_t bench_replay(const BenchCfg *cfg, const BenchEvent *events, size_t nevents, size_t ncodes, size_t nslots)
{
    void *bench = b_new(cfg);
    void **codes = calloc(ncodes ? ncodes : 1, sizeof *codes);
    void **frames = calloc(nslots ? nslots : 1, sizeof *frames);
    uint64_t warm_sum = 0;
    if (bench == NULL || codes == NULL || frames == NULL)
        abort();
    for (size_t i = 0; i < nevents; i++) {
        const BenchEvent *e = &events[i];
        int warm;
        switch (e->op) {
        case 'c':
            codes[e->a] = b_code_new(bench, e->b);
            break;
        case 'a':
            frames[e->b] = b_acquire(bench, codes[e->a], &warm);
            warm_sum += use_frame(frames[e->b], warm, i);
            break;
        case 'r':
            b_release(bench, codes[e->a], frames[e->b]);
            break;
        case 'd':
            b_code_free(bench, codes[e->a]);
            codes[e->a] = NULL;
            break;
        case 's':
            b_collect(bench, (int)e->a);
            break;
        default:
            abort();
        }
    }
    /* The end of the run: frames still live and codes still alive go too
     * (the harness adds a release event for each frame still live). */
    for (size_t c = 0; c < ncodes; c++)
        if (codes[c] != NULL)
            b_code_free(bench, codes[c]);
    b_free(bench);
    free(frames);
    free(codes);
    return warm_sum;
}

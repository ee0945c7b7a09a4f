/* What every contender exports to the Rust benchmarks (benches/support).
 *
 * Each backend_*.c defines a Bench, a code handle and five static inline
 * operations, then includes patterns.h, which turns them into these
 * functions. So every pattern is one C loop, compiled once per contender,
 * and the only thing that differs between contenders is what a frame
 * acquire and release cost (a call into the library, static or through
 * the PLT; CPython 3.9's inline free list; or malloc/free). */
#ifndef ZF_BENCH_H
#define ZF_BENCH_H
#include <stddef.h>
#include <stdint.h>

/* The library's settings (other contenders ignore them), all explicit:
 * the harness starts from the library's defaults. */
typedef struct BenchCfg {
    uint32_t policy;       /* ZF_POLICY_PER_CODE or ZF_POLICY_LEGACY */
    uint32_t per_code_max;
    size_t budget_bytes;
    uint32_t sweep_every;
} BenchCfg;

/* One replayed trace event; the trace's frame names are mapped to slots
 * (reused once released) so the live-frame table stays small. */
typedef struct BenchEvent {
    uint32_t op;  /* 'c', 'a', 'r', 'd', 's' as in TRACE_FORMAT.md */
    uint32_t a;   /* c, a, r, d: code index; s: generation */
    uint32_t b;   /* c: frame bytes; a, r: frame slot */
} BenchEvent;

void *bench_new(const BenchCfg *cfg);
void bench_free(void *bench);
void *bench_code_new(void *bench, size_t frame_bytes);
void bench_code_free(void *bench, void *code);
size_t bench_collect(void *bench, int generation);

/* n acquire+release pairs on one code. */
uint64_t bench_hit(void *bench, void *code, uint64_t n);
/* reps times: acquire `depth` frames (level i uses codes[i % ncodes]),
 * then release them innermost first. */
uint64_t bench_recursion(void *bench, void *const *codes, size_t ncodes, size_t depth, uint64_t reps);
/* n pairs, on codes[*cursor], codes[*cursor + 1], ... wrapping at ncodes. */
uint64_t bench_round_robin(void *bench, void *const *codes, size_t ncodes, uint64_t n, size_t *cursor);
/* One pair on each code: every list holds a zombie it has just dipped into. */
void bench_touch(void *bench, void *const *codes, size_t ncodes);
/* Replays a whole trace on a fresh bench made with cfg, then frees everything. */
uint64_t bench_replay(const BenchCfg *cfg, const BenchEvent *events, size_t nevents, size_t ncodes, size_t nslots);

#endif

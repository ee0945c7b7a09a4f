/* A driver for callgrind: runs one pattern of patterns.h n times on one
 * contender, so that (instructions at 2n - instructions at n) / n is the
 * exact cost of one repetition, free of set-up and of machine noise.
 * benches/callgrind.sh builds and runs it. Usage: count PATTERN N
 * (PATTERN: hit, rec10, rec100, rec1000, two20: two codes recursing 20
 * deep in turn, life: a code made, called three times and freed, close:
 * 50 codes run once, the pool freed, then the codes) [legacy|per-code [PER_CODE_MAX]]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#ifdef ZF_DEFAULTS
#include "zombie_frames.h"
#endif

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *pattern = argv[1];
    uint64_t n = strtoull(argv[2], NULL, 10);
    BenchCfg cfg = {0, 0, 0, 0};
#ifdef ZF_DEFAULTS /* the library's defaults, as the benchmarks use them */
    ZfConfig d;
    zf_config_default(&d);
    cfg = (BenchCfg){d.policy, d.per_code_max, d.budget_bytes, d.sweep_every};
#endif
    if (argc > 3 && strcmp(argv[3], "legacy") == 0)
        cfg.policy = 1;
    if (argc > 4) { /* per_code_max, with a budget that holds them all */
        cfg.per_code_max = (uint32_t)atoi(argv[4]);
        cfg.budget_bytes = (size_t)1 << 30;
    }
    void *bench = bench_new(&cfg);
    /* Frames whose block is a whole size class (480 and 512 bytes): the
     * automatic bound's room for recursion, counted at the size asked,
     * then holds the whole recursion, as it may not for a frame whose
     * block rounds up to its class (504 bytes: a block of 544). */
    void *code = bench_code_new(bench, 464);
    void *other = bench_code_new(bench, 496);
    uint64_t sum = 0, r;
    size_t depth = strncmp(pattern, "rec", 3) == 0 ? strtoull(pattern + 3, NULL, 10) : 0;
    if (strcmp(pattern, "two20") == 0) {
        for (r = 0; r < n + 1; r++) {
            sum += bench_recursion(bench, &code, 1, 20, 1);
            sum += bench_recursion(bench, &other, 1, 20, 1);
        }
    } else if (strcmp(pattern, "life") == 0) {
        /* A code's whole life: made, called three times, gone (a lambda
         * or exec'd function): what a code costs beyond its calls. */
        for (r = 0; r < n + 1; r++) {
            void *c = bench_code_new(bench, 464);
            sum += bench_hit(bench, c, 3);
            bench_code_free(bench, c);
        }
    } else if (strcmp(pattern, "close") == 0) {
        /* An interpreter's exit: 50 codes that ran once each, the pool
         * freed first (the kits free it before the modules go), then the
         * codes: what a code costs at exit. */
        for (r = 0; r < n + 1; r++) {
            void *p = bench_new(&cfg), *cs[50];
            for (int i = 0; i < 50; i++) {
                cs[i] = bench_code_new(p, 64 + 16 * (size_t)i);
                sum += bench_hit(p, cs[i], 1);
            }
            bench_free(p);
            for (int i = 0; i < 50; i++)
                bench_code_free(p, cs[i]);
        }
    } else if (depth == 0) {
        sum += bench_hit(bench, code, 1);
        sum += bench_hit(bench, code, n);
    } else {
        sum += bench_recursion(bench, &code, 1, depth, 1);
        sum += bench_recursion(bench, &code, 1, depth, n);
    }
    bench_code_free(bench, other);
    bench_code_free(bench, code);
    bench_free(bench);
    printf("%llu\n", (unsigned long long)sum);
    return 0;
}

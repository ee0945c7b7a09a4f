/* A stack deep through many functions at once: 50 codes of 100 to 2,060
 * bytes, each call a random one of them, the stack wandering up to 300
 * deep, a collection every 5,000 steps (generation 2 every 20,000). Not a
 * corpus trace (no interpreter made it); the case README.md names where
 * the automatic bound does far worse than CPython's scheme. Record it and
 * replay it:
 *
 *   cargo build --release
 *   cc -O2 -Iinclude traces/workloads/mixed_stack.c target/release/libzombie_frames.a -o /tmp/mixed_stack
 *   ZF_TRACE=/tmp/mixed_stack.zft /tmp/mixed_stack
 *   cargo run --release -p zf-replay -- /tmp/mixed_stack.zft
 */
#include <stdio.h>
#include <stdlib.h>
#include <zombie_frames.h>

enum { CODES = 50, DEPTH = 300, STEPS = 200000 };

int main(void)
{
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *codes[CODES], *on[DEPTH];
    void *frames[DEPTH];
    int depth = 0, warm, i, step;

    zf_config_default(&cfg);
    if (zf_config_from_env(&cfg) < 0 || (pool = zf_pool_new(&cfg)) == NULL) {
        fprintf(stderr, "%s\n", zf_last_error());
        return 1;
    }
    srand(1);
    for (i = 0; i < CODES; i++)
        codes[i] = zf_code_new(pool, 100 + 40 * i);
    for (step = 0; step < STEPS; step++) {
        /* A call a little more often than a return: the stack climbs to
         * DEPTH and wanders below it. */
        if (depth == 0 || (rand() % 100 < 52 && depth < DEPTH)) {
            on[depth] = codes[rand() % CODES];
            frames[depth] = zf_frame_acquire_fast(on[depth], &warm);
            if (frames[depth++] == NULL) {
                fprintf(stderr, "%s\n", zf_last_error());
                return 1;
            }
        }
        else {
            depth--;
            zf_frame_release_fast(on[depth], frames[depth]);
        }
        if (step % 5000 == 0)
            zf_pool_collect(pool, step % 20000 == 0 ? 2 : 0);
    }
    while (depth > 0) {
        depth--;
        zf_frame_release_fast(on[depth], frames[depth]);
    }
    zf_pool_print_stats(pool, 1);
    for (i = 0; i < CODES; i++)
        zf_code_free(codes[i]);
    zf_pool_free(pool);
    return 0;
}

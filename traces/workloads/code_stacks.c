/* Stacks 0 to 59 deep through 300 codes of 48 to 672 bytes, each code on
 * a stack about once, now and then twice (a leaf call of the next code),
 * a fifth of the codes made again each round and a collection after it
 * (generation 2 every third): an interpreter's glue (zf_code_new_with_hot,
 * the inline halves, a 16-byte prefix) running many functions that call
 * each other, none recursing. A newcomer's program; not a corpus trace
 * (no interpreter made it). The case README.md names where the automatic
 * bound does worst against CPython's scheme. Record it and replay it:
 *
 *   cargo build --release
 *   cc -O2 -Iinclude traces/workloads/code_stacks.c target/release/libzombie_frames.a -lpthread -ldl -lm -o /tmp/code_stacks
 *   ZF_TRACE=/tmp/code_stacks.zft /tmp/code_stacks
 *   cargo run --release -p zf-replay -- --prefix /tmp/code_stacks.zft
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zombie_frames.h>

enum { CODES = 300, ROUNDS = 20, STACKS = 2000 };

typedef struct Code {
    ZfCodeHot hot;
    ZfCode *zf;
    size_t bytes;
} Code;

static Code *codes[CODES];

static void *frame_new(Code *co)
{
    void *f = zf_hot_hit(&co->hot);
    int warm;
    if (f == NULL && (f = zf_frame_acquire_slow(co->zf, &warm)) == NULL) {
        fprintf(stderr, "%s\n", zf_last_error());
        exit(1);
    }
    return f;
}

static void frame_free(Code *co, void *f)
{
    if (!zf_hot_give(&co->hot, f))
        zf_frame_release_slow(co->zf, f);
}

/* A call of code `which` that calls depth more below it. */
static void run(int which, int depth)
{
    void *f = frame_new(codes[which]);
    if (depth > 0)
        run((which * 7 + depth) % CODES, depth - 1);
    if (depth > 0 && depth % 3 == 0)
        run((which + 1) % CODES, 0);
    frame_free(codes[which], f);
}

static void make_code(ZfPool *pool, int i)
{
    static const ZfCodeHot inert = ZF_CODE_HOT_INERT;
    Code *co = malloc(sizeof(Code));
    if (co == NULL)
        exit(1);
    co->hot = inert;
    co->bytes = 48 + 16 * (size_t)((i * 13) % 40);
    if ((co->zf = zf_code_new_with_hot(pool, co->bytes, &co->hot)) == NULL) {
        fprintf(stderr, "%s\n", zf_last_error());
        exit(1);
    }
    codes[i] = co;
}

static void free_code(int i)
{
    zf_code_free(codes[i]->zf);
    free(codes[i]);
}

int main(void)
{
    ZfConfig cfg;
    ZfPool *pool;
    int i, round, k;

    zf_config_default(&cfg);
    cfg.flags |= ZF_FLAG_FRAME_PREFIX;
    cfg.prefix_bytes = 16;
    if (zf_config_from_env(&cfg) < 0 || (pool = zf_pool_new(&cfg)) == NULL) {
        fprintf(stderr, "%s\n", zf_last_error());
        return 1;
    }
    for (round = 0; round < ROUNDS; round++) {
        for (i = 0; i < CODES; i++) {
            if (round == 0) {
                make_code(pool, i);
            } else if ((i + round) % 5 == 0) {
                free_code(i);
                make_code(pool, i);
            }
        }
        for (k = 0; k < STACKS; k++)
            run(k % CODES, (k * 31) % 60);
        zf_pool_collect(pool, round % 3);
    }
    zf_pool_print_stats(pool, 1);
    for (i = 0; i < CODES; i++)
        free_code(i);
    zf_pool_free(pool);
    return 0;
}

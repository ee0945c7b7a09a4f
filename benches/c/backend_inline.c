/* Contender: CPython 3.9's frame cache, inline, as Objects/frameobject.c
 * does it. Each code keeps one zombie (co_zombieframe); other released
 * frames go to one global free list of at most PyFrame_MAXFREELIST (200),
 * linked through f_back, handed to any code on a miss and resized when too
 * small; a generation-2 collection empties that list. Misses and frees go
 * to malloc (CPython's pymalloc would serve frames of <= 512 bytes; the hit
 * path never reaches it). No call leaves this file on a hit. */
#include <stdlib.h>
#include "bench.h"

#define PyFrame_MAXFREELIST 200

typedef struct Frame {
    size_t size;           /* bytes of this block (CPython: ob_size) */
    struct Frame *f_back;  /* the free-list link while on the list */
} Frame;

typedef struct Code {
    size_t frame_bytes;
    Frame *co_zombieframe;
} Code;

static Frame *free_list;
static int numfree;

static inline Frame *frame_alloc(size_t bytes)
{
    Frame *f = malloc(bytes);
    if (f == NULL)
        abort();
    f->size = bytes;
    return f;
}

static inline void *b_acquire(void *bench, void *code, int *warm)
{
    Code *co = code;
    Frame *f = co->co_zombieframe;
    (void)bench;
    if (f != NULL) {
        co->co_zombieframe = NULL;
        *warm = 1;
        return f;
    }
    *warm = 0;
    if (free_list == NULL)
        return frame_alloc(co->frame_bytes);
    --numfree;
    f = free_list;
    free_list = free_list->f_back;
    if (f->size < co->frame_bytes) {
        f = realloc(f, co->frame_bytes);
        if (f == NULL)
            abort();
        f->size = co->frame_bytes;
    }
    return f;
}

static inline void b_release(void *bench, void *code, void *frame)
{
    Code *co = code;
    Frame *f = frame;
    (void)bench;
    if (co->co_zombieframe == NULL)
        co->co_zombieframe = f;
    else if (numfree < PyFrame_MAXFREELIST) {
        ++numfree;
        f->f_back = free_list;
        free_list = f;
    } else
        free(f);
}

/* PyFrame_ClearFreeList */
static size_t clear_free_list(void)
{
    size_t freed = 0;
    while (free_list != NULL) {
        Frame *f = free_list;
        free_list = free_list->f_back;
        freed += f->size;
        free(f);
        --numfree;
    }
    return freed;
}

static inline void *b_new(const BenchCfg *cfg)
{
    static char one_per_process;
    (void)cfg;
    return &one_per_process; /* the state is global, as in CPython */
}

static inline void b_free(void *bench)
{
    (void)bench;
    clear_free_list();
}

static inline void *b_code_new(void *bench, size_t frame_bytes)
{
    Code *co = malloc(sizeof *co);
    (void)bench;
    if (co == NULL)
        abort();
    co->frame_bytes = frame_bytes;
    co->co_zombieframe = NULL;
    return co;
}

static inline void b_code_free(void *bench, void *code)
{
    Code *co = code;
    (void)bench;
    free(co->co_zombieframe);
    free(co);
}

static inline size_t b_collect(void *bench, int generation)
{
    (void)bench;
    return generation >= 2 ? clear_free_list() : 0;
}

#include "patterns.h"

/*
 * check.h: the smallest test framework that does the job.
 *
 * CHECK(cond) counts one pass or one failure (printing where and what);
 * CHECK_EQ(a, b) does the same for two integers and prints both values.
 * check_done() prints the last line every program ends with,
 * "N passed, M failed", and gives main() its exit status.
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdint.h>
#include "zombie_frames.h"

#include <stdio.h>
#include <string.h>

static unsigned check_passed, check_failed;

static inline void check_record(int ok, const char *file, int line, const char *what)
{
    if (ok) {
        check_passed++;
        return;
    }
    check_failed++;
    fprintf(stdout, "FAIL %s:%d: %s\n", file, line, what);
    fflush(stdout);
}

static inline void check_record_eq(uint64_t a, uint64_t b, const char *file, int line,
                                   const char *sa, const char *sb)
{
    if (a == b) {
        check_passed++;
        return;
    }
    check_failed++;
    fprintf(stdout, "FAIL %s:%d: %s == %s: %llu != %llu\n", file, line, sa, sb,
            (unsigned long long)a, (unsigned long long)b);
    fflush(stdout);
}

/* Whether `text` (may be NULL) contains `part`. */
static inline int contains(const char *text, const char *part)
{
    return text != NULL && strstr(text, part) != NULL;
}

#define CHECK(cond) check_record((cond) ? 1 : 0, __FILE__, __LINE__, #cond)
#define CHECK_EQ(a, b) \
    check_record_eq((uint64_t)(a), (uint64_t)(b), __FILE__, __LINE__, #a, #b)

/* The block a frame of `frame_bytes` occupies in a per-code pool, by the
 * library's rule, worked out here independently: the frame rounded up to
 * ZF_FRAME_ALIGN, plus ZF_HEADER_BYTES, then rounded up to its size class,
 * a multiple of a sixteenth of its power of two (at least ZF_FRAME_ALIGN). */
static inline uint64_t block_bytes_of(uint64_t frame_bytes)
{
    uint64_t block = (frame_bytes + ZF_FRAME_ALIGN - 1) / ZF_FRAME_ALIGN * ZF_FRAME_ALIGN + ZF_HEADER_BYTES;
    uint64_t power = 1, step;
    while (power * 2 <= block)
        power *= 2;
    step = power / 16 < ZF_FRAME_ALIGN ? ZF_FRAME_ALIGN : power / 16;
    return (block + step - 1) / step * step;
}
#define BLOCK_BYTES(frame_bytes) block_bytes_of((uint64_t)(frame_bytes))

/* The pool's counters now. */
static inline ZfStats stats_of(const ZfPool *pool)
{
    ZfStats s;
    zf_pool_stats(pool, &s);
    return s;
}

/* minipy's audit (see minipy.h) found nothing wrong. */
#define CHECK_AUDIT_CLEAN()                 \
    do {                                    \
        CHECK(audit.pool_checks > 0);       \
        CHECK_EQ(audit.over_budget, 0);     \
        CHECK_EQ(audit.bad_counts, 0);      \
        CHECK_EQ(audit.bad_zombies, 0);     \
        CHECK_EQ(audit.bad_locals, 0);      \
    } while (0)

static inline int check_done(void)
{
    printf("%u passed, %u failed\n", check_passed, check_failed);
    return check_failed != 0;
}

#endif /* CHECK_H */

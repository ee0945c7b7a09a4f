/*
 * consumer.c: a C program that uses an installed zombie-frames, as an
 * interpreter would, and checks what it sees. It knows the library only
 * through pkg-config (see the Makefile and CMakeLists.txt beside it).
 *
 * Exit status 0 and a last line "consumer: ok" when every check passed.
 */
#include <stdio.h>
#include <string.h>

#include <zombie_frames.h>

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "consumer: FAILED: %s\n", what);
        failures++;
    }
}

int main(void)
{
    /* The header and the library must come from the same release. */
    printf("header %s (%d), library %s\n", ZF_VERSION_STRING, ZF_VERSION_NUMBER, zf_version());
    check(strcmp(zf_version(), ZF_VERSION_STRING) == 0, "zf_version() == ZF_VERSION_STRING");

    /* One pool per interpreter, configured from ZF_* variables. */
    ZfConfig cfg;
    zf_config_default(&cfg);
    if (zf_config_from_env(&cfg) != 0) {
        fprintf(stderr, "consumer: %s\n", zf_last_error());
        return 1;
    }
    ZfPool *pool = zf_pool_new(&cfg);
    if (pool == NULL) {
        fprintf(stderr, "consumer: %s\n", zf_last_error());
        return 1;
    }

    /* One ZfCode per code object; its frames are 256 bytes. */
    ZfCode *code = zf_code_new(pool, 256);
    check(code != NULL, "zf_code_new");

    /* A call: the first frame is fresh memory; the interpreter fills it. */
    int warm = -1;
    char *frame = zf_frame_acquire(code, &warm);
    check(frame != NULL && warm == 0, "first acquire gives a fresh frame");
    memset(frame, 'z', 256);
    zf_frame_release(code, frame); /* the return: the frame becomes a zombie */

    /* The next call of the same code gets that zombie back, bytes intact. */
    char *again = zf_frame_acquire(code, &warm);
    check(again == frame && warm == 1, "second acquire gives the zombie back");
    check(again[0] == 'z' && again[255] == 'z', "the zombie kept its bytes");
    zf_frame_release(code, again);

    /* The header's inline pair does the same without a call on a hit. */
#ifndef ZF_HAVE_FAST_PATH
#error "the installed header has no inline fast path"
#endif
    char *fast = zf_frame_acquire_fast(code, &warm);
    check(fast == frame && warm == 1, "the inline acquire gives the zombie back");
    zf_frame_release_fast(code, fast);

    ZfStats stats;
    zf_pool_stats(pool, &stats);
    check(stats.acquires == 3 && stats.zombie_hits == 2 && stats.fresh_allocs == 1, "stats");

    /* Errors: NULL, and a message for this thread. */
    check(zf_code_new(pool, 0) == NULL && zf_last_error() != NULL, "a 0-byte code is refused");

    fflush(stdout); /* the report is written to the fd, past stdio */
    zf_pool_print_stats(pool, 1);
    zf_code_free(code);
    zf_pool_free(pool);

    if (failures)
        return 1;
    printf("consumer: ok\n");
    return 0;
}

/*
 * A traced pool across fork(): the child holds a copy of the pool, of its
 * recorder and of the events the parent had not written yet. The child
 * records nothing, so the parent's file stays one valid trace of the
 * parent's own events. (With ZF_TRACE=...%p the child once wrote into its
 * parent's file: two headers, and the parent's early events twice.)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* Lines of the file at `path` that start with `prefix`; -1 if unreadable. */
static int count_lines(const char *path, const char *prefix)
{
    char line[256];
    int n = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    fclose(f);
    return n;
}

int main(void)
{
    char pattern[] = "/tmp/zf-test-trace-fork-%p.zft", path[64];
    ZfConfig cfg;
    ZfPool *pool;
    ZfCode *code;
    void *f, *g;
    pid_t child;
    int status = -1, i;

    zf_config_default(&cfg);
    cfg.trace_path = pattern;
    pool = zf_pool_new(&cfg);
    CHECK(pool != NULL);
    code = zf_code_new(pool, 200);
    f = zf_frame_acquire(code, NULL);
    CHECK(f != NULL);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        /* Past one 64 KiB buffer of events, then everything freed. */
        for (i = 0; i < 20000; i++) {
            g = zf_frame_acquire(code, NULL);
            zf_frame_release(code, g);
        }
        zf_frame_release(code, f);
        zf_code_free(code);
        zf_pool_free(pool);
        _exit(0);
    }
    CHECK(child > 0);
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    zf_frame_release(code, f);
    zf_code_free(code);
    zf_pool_free(pool);

    /* The parent's trace: one header, and its own four events. */
    snprintf(path, sizeof path, "/tmp/zf-test-trace-fork-%ld.zft", (long)getpid());
    CHECK_EQ(count_lines(path, "zftrace 1"), 1);
    CHECK_EQ(count_lines(path, "c "), 1);
    CHECK_EQ(count_lines(path, "a "), 1);
    CHECK_EQ(count_lines(path, "r "), 1);
    CHECK_EQ(count_lines(path, "d "), 1);
    remove(path);
    /* And the child made no file of its own. */
    snprintf(path, sizeof path, "/tmp/zf-test-trace-fork-%ld.zft", (long)child);
    CHECK_EQ(count_lines(path, "zftrace 1"), -1);
    return check_done();
}

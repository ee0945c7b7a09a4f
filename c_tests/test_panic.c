/*
 * No Rust panic unwinds into C. A panic inside the library ends the
 * process with abort() right there: the C caller never sees the call
 * return, and no C frame is unwound through.
 *
 * The panic is provoked by a misuse the contract forbids and a build with
 * overflow checks catches (the test builds have them): releasing a frame
 * to a code that has no live frame, without ZF_FLAG_DEBUG, underflows that
 * code's live count. Release builds (panic = "abort", no overflow checks)
 * do not panic here; whatever panics in them aborts the same way.
 */
#define _POSIX_C_SOURCE 200809L /* fork, pipe */

#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "zombie_frames.h"

/* Runs `misuse` in a child with stderr and stdout captured into `out`;
 * returns its wait status. */
static int run_child(void (*misuse)(void), char *out, size_t size)
{
    int pipefd[2], status = 0;
    size_t used = 0;
    ssize_t n;
    pid_t pid;

    fflush(stdout);
    if (pipe(pipefd) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        setenv("RUST_BACKTRACE", "0", 1); /* the message alone */
        misuse();
        _exit(0);
    }
    close(pipefd[1]);
    while (used < size - 1 && (n = read(pipefd[0], out + used, size - 1 - used)) > 0)
        used += (size_t)n;
    out[used] = '\0';
    close(pipefd[0]);
    waitpid(pid, &status, 0);
    return status;
}

/* The panic messages in `text`: its unindented lines that mention `word` or "overflow" (not the backtrace). */
static void print_lines_with(char *text, const char *word)
{
    char *line;
    for (line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n"))
        if (line[0] != ' ' && (contains(line, word) || contains(line, "overflow")))
            printf("  child: %s\n", line);
}

static void release_to_an_idle_code(void)
{
    ZfPool *pool = zf_pool_new(NULL);
    ZfCode *a = zf_code_new(pool, 64), *b = zf_code_new(pool, 64);
    void *f = zf_frame_acquire(a, NULL);
    zf_frame_release(b, f); /* panics inside the library */
    printf("zf_frame_release returned to C\n");
    fflush(stdout);
}

int main(void)
{
    char out[4096];
    int status = run_child(release_to_an_idle_code, out, sizeof out);

    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(contains(out, "panicked") && contains(out, "overflow"));
    CHECK(!contains(out, "returned to C"));
    print_lines_with(out, "panic");
    return check_done();
}

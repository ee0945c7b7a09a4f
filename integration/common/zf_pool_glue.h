/* zombie-frames: the half of a kit's glue that no CPython version changes
 * (copied to Objects/zf_pool_glue.h and included once, by the kit's
 * Objects/zf_frames.c; it holds definitions, not declarations).
 *
 * One pool for the process, made at the first code that needs it with ZF_*
 * settings from the environment (a bad one exits, status 1, naming it), and
 * freed as the interpreter finalizes: before its modules go (per-code), or
 * at its frame finalization (legacy, a trace). Codes that outlive it and
 * have a ZfCode take their frames straight from the heap through it, as
 * the library's lifetime rules allow; codes made after, from the GC
 * allocator. Every byte goes through PyObject_Malloc/PyObject_Free; the
 * GC's generation-0 count follows the frame blocks as the GC allocator's
 * count follows the frames it makes and frees: a block given back counts
 * -1 at once, the blocks an acquire took count after it, with the
 * collection the GC allocator would run after its allocation (one call;
 * a block taken and given back within one acquire, a legacy resize,
 * counts nothing, as CPython's resize does not).
 *
 * The including file first provides, for its version: the GC header type
 * PyGC_Head (the frames' prefix: the pool hands out the object's address,
 * the head before it, and links zombies through the head's last word, which
 * the header checks an untracked object never reads), PyCodeObject's co_zf
 * (NULL until the code has a ZfCode) and co_zf_hot (zf_glue.h), and
 * these statics: void gc_head_init(PyGC_Head *), the GC header of an untracked
 * object as the GC allocator leaves it; PyFrameObject *frame_init(void *,
 * PyCodeObject *), a fresh frame's object header as PyObject_INIT_VAR
 * sets it; void gc_frames_taken(int n), the GC's count of n more objects
 * and the collection its allocator would run then, and void
 * gc_frame_freed(void), its count of one fewer, as PyObject_GC_Del counts
 * (each kit's patch adds _PyObject_GC_FramesTaken to gcmodule.c for the
 * collection; 2.7's, pointers to its generation 0's count and threshold).
 *
 * Both kits' zf_frames.c include it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

static ZfPool *pool;
static int finalized;
static int every_code;           /* legacy or a trace: every code's frames, and every collection, go to the pool */
/* ZF_CPY_EAGER=1: a ZfCode per code at creation. Nonzero until read (the
 * first code's _PyZf_CodeMade reads it), so that the check inlined in
 * PyCode_New is one test, and only the first code makes a call. */
int _PyZf_eager = -1;
static int final_stats = -1;     /* ZF_CPY_FINAL_STATS=1, read once (see read_process_switches) */
static pid_t final_stats_pid;    /* the process it was set for */
static char *trace_file;         /* ZF_TRACE without %p, taken out of the environment (read_process_switches) */
static int frames_uncounted;      /* frame blocks taken, not yet in the GC's count */

/* Blocks at least this big hold frames; a ZfCode is smaller and is not a GC
 * object, so it is not counted. (The pool's own struct, about 5 KiB, made
 * once, counts as one while it lives: a stray count of one; a debug or
 * traced pool's frame table, a few more.) */
#define FRAME_BLOCK_MIN (sizeof(PyGC_Head) + sizeof(PyFrameObject) - sizeof(PyObject *))

/* A ZF_* value the library refuses is the user's mistake, not the
 * program's: said on stderr, and the interpreter exits with status 1
 * (Py_FatalError would abort and dump core). */
static void
config_error(const char *message)
{
    fprintf(stderr, "zombie-frames: %s\n", message);
    exit(1);
}

/* One of the kit's own switches, ZF_CPY_*: on or off, in the words the
 * library's ZF_DEBUG takes (any case, the ASCII spaces the library trims
 * around ignored: BLANKS); any other value is config_error's. Under -E
 * (and 3.9's -I) the interpreter ignores its PYTHON* variables: the ZF_*
 * ones too, the library's and the kit's. */
#define BLANKS " \t\n\f\r"

/* The variable's value without the blanks around it, and its length in
 * *len; NULL when it is unset or the environment is ignored. */
static const char *
env_value(const char *name, size_t *len)
{
    const char *v = Py_IgnoreEnvironmentFlag ? NULL : getenv(name);
    if (v == NULL) {
        return NULL;
    }
    v += strspn(v, BLANKS);
    for (*len = strlen(v); *len > 0 && strchr(BLANKS, v[*len - 1]) != NULL; (*len)--) {
    }
    return v;
}

static int
env_switch(const char *name)
{
    static const char *const words[] = {"0", "no", "false", "off", "1", "yes", "true", "on"};
    char shown[41], message[160];
    size_t len, i;
    const char *v = env_value(name, &len);
    if (v == NULL || len == 0) {
        return 0;
    }
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strlen(words[i]) == len && strncasecmp(v, words[i], len) == 0) {
            return i >= 4;
        }
    }
    /* As the library quotes a value: one line, a control character as '?'
     * (here cut at 40 characters). */
    for (i = 0; i < len && i < sizeof(shown) - 1; i++) {
        shown[i] = iscntrl((unsigned char)v[i]) ? '?' : v[i];
    }
    shown[i] = '\0';
    snprintf(message, sizeof(message), "invalid %s=\"%s\": expected 1, yes, true, on, or 0, no, false, off",
             name, shown);
    config_error(message);
    return 0;
}

/* Whether `name` (len bytes) is `setting` but for one slip, as the
 * library reads its own ZF_* names: its case, or one letter wrong,
 * missing, extra, or swapped with the next; never `setting` itself. */
static int
one_slip(const char *name, size_t n, const char *setting)
{
    size_t s = strlen(setting), start = 0, end = 0, a, b;
    if ((n > s ? n - s : s - n) > 1 || (n == s && strncmp(name, setting, n) == 0)) {
        return 0;
    }
#define SAME(i, j) (toupper((unsigned char)name[i]) == toupper((unsigned char)setting[j]))
    while (start < n && start < s && SAME(start, start)) {
        start++;
    }
    while (end < (n < s ? n : s) - start && SAME(n - 1 - end, s - 1 - end)) {
        end++;
    }
    a = n - start - end;
    b = s - start - end;
    return (a <= 1 && b <= 1) || (a == 2 && b == 2 && SAME(start, start + 1) && SAME(start + 1, start));
#undef SAME
}

/* A variable one slip from one of the kit's switches would be ignored,
 * and the switch left off: refused, as the library refuses a ZF_* name one
 * slip from its settings (config_error, naming both). */
static void
refuse_slipped_switches(void)
{
    static const char *const switches[] = {"ZF_CPY_EAGER", "ZF_CPY_FINAL_STATS"};
    extern char **environ;
    char **e, shown[41], message[160];
    size_t i, j, n;
    if (Py_IgnoreEnvironmentFlag) {
        return;
    }
    for (e = environ; *e != NULL; e++) {
        n = strcspn(*e, "=");
        for (i = 0; i < sizeof(switches) / sizeof(switches[0]); i++) {
            if (!one_slip(*e, n, switches[i])) {
                continue;
            }
            /* One line, as env_switch quotes a value (n is at most 19). */
            for (j = 0; j < n && j < sizeof(shown) - 1; j++) {
                shown[j] = iscntrl((unsigned char)(*e)[j]) ? '?' : (*e)[j];
            }
            shown[j] = '\0';
            snprintf(message, sizeof(message), "unknown variable %s: not a setting; %s is", shown, switches[i]);
            config_error(message);
        }
    }
}

/* ZF_CPY_FINAL_STATS=1 asks for the pool's report on stderr as the pool
 * closes, from the process it was set for and from no other: a diagnostic
 * must not change what a program sees, and a child whose stderr a test
 * reads must stay silent. So the setting is read once, at the first code
 * object (before the interpreter copies the environment into os.environ),
 * and taken out of the environment, so the processes this one starts do not
 * inherit it; a fork that finalizes has another pid, and stays silent too.
 * A ZF_TRACE without %p goes the same way: it names one file, which a
 * Python child inheriting it would open again, truncating this process's
 * trace; with %p each process records its own. */
static void
read_process_switches(void)
{
    const char *trace;
    size_t len;
    if (final_stats < 0) {
        refuse_slipped_switches();
        final_stats = env_switch("ZF_CPY_FINAL_STATS");
        if (final_stats) {
            final_stats_pid = getpid();
            (void)unsetenv("ZF_CPY_FINAL_STATS");
        }
        /* Trimmed as the library trims it; empty is no trace, left alone. */
        trace = env_value("ZF_TRACE", &len);
        if (trace != NULL && len > 0 && strstr(trace, "%p") == NULL &&
            (trace_file = strndup(trace, len)) != NULL) {
            (void)unsetenv("ZF_TRACE");
        }
    }
}

static void *
heap_alloc(void *ctx, size_t size)
{
    void *p = PyObject_Malloc(size);
    (void)ctx;
    if (p != NULL && size >= FRAME_BLOCK_MIN) {
        frames_uncounted++;   /* counted by the acquire that asked (_PyZf_FrameNew) */
    }
    return p;
}

static void
heap_dealloc(void *ctx, void *p, size_t size)
{
    (void)ctx;
    if (size >= FRAME_BLOCK_MIN) {
        if (frames_uncounted > 0) {
            frames_uncounted--;   /* a resize: taken and given back within one acquire */
        }
        else {
            gc_frame_freed();
        }
    }
    PyObject_Free(p);
}

/* Debug-mode reports. CPython leaves objects alive at exit (daemon threads'
 * frames, uncollectable cycles), so frames live when the pool closes are
 * not the library's misuse: ZF_ERR_LEAK is not fatal. Every other kind is. */
static void
on_misuse(void *ctx, int kind, const char *message)
{
    (void)ctx;
    if (kind == ZF_ERR_LEAK) {
        return;
    }
    Py_FatalError(message);
}

static ZfPool *
get_pool(void)
{
    ZfConfig cfg;
    if (pool != NULL) {
        return pool;
    }
    if (finalized) {
        /* None while the interpreter finalizes; a new one once an
         * embedder initializes it again (3.9 says so only at the end of
         * its initialization: frames before that are uncached). */
        if (!Py_IsInitialized()) {
            return NULL;
        }
        finalized = 0;
    }
    read_process_switches();
    zf_config_default(&cfg);
    if (!Py_IgnoreEnvironmentFlag && zf_config_from_env(&cfg) < 0) {
        config_error(zf_last_error());
    }
    if (trace_file != NULL) {
        cfg.trace_path = trace_file;
    }
    cfg.alloc = heap_alloc;
    cfg.dealloc = heap_dealloc;
    cfg.flags |= ZF_FLAG_FRAME_PREFIX;   /* the GC head (see the header) */
    cfg.prefix_bytes = sizeof(PyGC_Head);
    /* CPython's own scheme, and a trace of it, see every frame. */
    every_code = cfg.policy == ZF_POLICY_LEGACY || cfg.trace_path != NULL;
    pool = zf_pool_new(&cfg);
    if (pool == NULL) {
        config_error(zf_last_error());   /* or out of memory, which the message says */
    }
    zf_set_error_handler(pool, on_misuse, NULL);
    return pool;
}

/* The code's ZfCode, made now if it has none, its inline state in the code
 * object; NULL if none can be made. */
static ZfCode *
make_zf_code(PyCodeObject *co)
{
    ZfPool *p = get_pool();
    ZfCode *zc;
    if (co->co_zf != NULL) {
        return co->co_zf;
    }
    if (p == NULL || (zc = zf_code_new_with_hot(p, _PyZf_FrameBytes(co), _PyZf_HOT(co))) == NULL) {
        return NULL;
    }
    co->co_zf = zc;
    return zc;
}

/* Which codes get a ZfCode: those of functions (CO_OPTIMIZED: lambdas,
 * comprehensions and generators included). A module or class body, or
 * code given to exec or eval, runs once in nearly every program: a ZfCode
 * for it would cost its making, a miss, a slow release and its freeing
 * (about 680 instructions in the library: BENCHMARKS.md's `life`, less its
 * hits; stock's whole frame work is 150 to 250 a frame) and keep a block
 * for a frame that never comes back.
 * Its frames come from the GC allocator instead, as after the pool is
 * finalized: co_zf stays NULL, so their release frees them the same way.
 * Under the legacy policy or ZF_TRACE every code gets one: CPython's
 * scheme, and the traces recorded of it, hold every frame. */
static int
wants_zf_code(PyCodeObject *co)
{
    return (co->co_flags & CO_OPTIMIZED) != 0 || (get_pool() != NULL && every_code);
}

/* Sets *out to the code's ZfCode, made now if it has none and wants one;
 * or to NULL when it gets none (the pool is finalized, or wants_zf_code
 * says no). -1 with MemoryError set when memory runs out. */
static int
code_get(PyCodeObject *co, ZfCode **out)
{
    *out = co->co_zf;
    if (*out == NULL && wants_zf_code(co)) {
        *out = make_zf_code(co);
        if (*out == NULL && !finalized) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

PyFrameObject *
_PyZf_FrameNew(PyCodeObject *co, int *warm)
{
    ZfCode *zc;
    PyFrameObject *f;

    *warm = 0;
    if (code_get(co, &zc) < 0) {
        return NULL;
    }
    if (zc == NULL) {
        return PyObject_GC_NewVar(PyFrameObject, &PyFrame_Type, _PyZf_FrameSlots(co));
    }
    f = zf_frame_acquire_slow(zc, warm);   /* _PyZf_Zombie found none inline */
    if (f == NULL) {
        frames_uncounted = 0;   /* no frame: nothing for the GC to count */
        return (PyFrameObject *)PyErr_NoMemory();
    }
    if (*warm) {
        _Py_NewReference((PyObject *)f);
        return f;
    }
    gc_head_init(_Py_AS_GC(f));
    if (frames_uncounted > 0) {
        /* As the GC allocator counts, and collects, after taking memory. */
        int n = frames_uncounted;
        frames_uncounted = 0;
        gc_frames_taken(n);
    }
    return frame_init(f, co);
}

void
_PyZf_CodeMadeSlow(PyCodeObject *co)
{
    read_process_switches();
    if (_PyZf_eager < 0) {
        _PyZf_eager = env_switch("ZF_CPY_EAGER");
    }
    if (_PyZf_eager) {
        (void)make_zf_code(co);   /* on failure, the first frame tries again */
    }
}

void
_PyZf_CodeFree(PyCodeObject *co)
{
    zf_code_free(co->co_zf);   /* co_zf_hot is inert again */
    co->co_zf = NULL;
}

void
_PyZf_Collected(int generation)
{
    /* No pool yet (no function has run) or no more: nothing to age. Nor
     * while the interpreter finalizes, as the pool goes with it; but
     * CPython's scheme, and a trace of it, see every collection. */
    if (pool != NULL && (Py_IsInitialized() || every_code)) {
        zf_pool_collect(pool, generation);
    }
}

void
_PyZf_Fini(void)
{
    /* ZF_CPY_FINAL_STATS=1: the report as the pool closes, the moment a
     * ZF_TRACE recording ends, so a replay can be checked against it; only
     * in the process the setting was made for (read_process_switches). */
    if (pool != NULL && final_stats == 1 && getpid() == final_stats_pid) {
        fflush(stderr);
        (void)zf_pool_print_stats(pool, 2);
    }
    zf_pool_free(pool);
    pool = NULL;
    finalized = 1;
}

void
_PyZf_Finalizing(void)
{
    /* The modules go next, and their codes nearly all at once: closing the
     * pool now frees every zombie in one pass, and each code's freeing is
     * then plain (its late frames, if any, come straight from the heap).
     * CPython's scheme, and a trace of it, see every frame to the end. */
    if (!every_code) {
        _PyZf_Fini();
    }
}

void
_PyZf_DebugMallocStats(FILE *out)
{
    fflush(out);
    if (pool == NULL || zf_pool_print_stats(pool, fileno(out)) < 0) {
        fprintf(out, "zombie-frames: no pool\n");
    }
}

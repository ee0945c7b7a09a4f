/*
 * minipy.c: CPython 3.9's frame allocation (Objects/frameobject.c,
 * Objects/codeobject.c) on top of zombie-frames.
 *
 * CPython 3.9 caches one "zombie" frame per code object (co_zombieframe)
 * plus a global free_list of up to 200 frames of any code. Here each code
 * has a ZfCode instead and the pool decides what to keep. Every library
 * call is followed by check_pool(), which verifies the pool's counters
 * (the budget bound above all) so that scenarios check it after every
 * operation without saying so.
 */
#include "minipy.h"

#include <stdio.h>
#include <stdlib.h>

ZfPool *interp_pool;
MiniAudit audit;

static size_t budget_bytes;        /* a budget the scenario set: the bound check_pool() expects */
static int fixed_budget;           /* per-code with budget_bytes set (not ZF_BUDGET_AUTO) */
static unsigned long next_serial;  /* for co_serial */

/* Prints the first few problems; the counts say how many there were. */
static void complain(uint64_t *counter, const char *what, const char *where)
{
    if (++*counter <= 5) {
        printf("minipy: %s (after %s)\n", what, where);
        fflush(stdout);
    }
}

/* Called after every library call: the budget is a hard bound, and the
 * counters must agree with each other and with what minipy saw. */
static void check_pool(const char *where)
{
    ZfStats s;
    zf_pool_stats(interp_pool, &s);
    audit.pool_checks++;
    if (s.cached_bytes + s.allowance_bytes > s.bound_bytes)
        complain(&audit.over_budget, "cached_bytes + allowance_bytes > bound_bytes", where);
    if (fixed_budget && (s.bound_bytes != budget_bytes || s.peak_cached_bytes > budget_bytes))
        complain(&audit.over_budget, "a set budget_bytes is not the bound", where);
    if (s.acquires != s.zombie_hits + s.shared_hits + s.fresh_allocs || s.reallocs != 0)
        complain(&audit.bad_counts, "acquires != zombie_hits + shared_hits + fresh_allocs", where);
    /* Every block ever allocated is live, cached, or given back. */
    if (s.fresh_allocs != s.live_frames + s.cached_frames + s.frees)
        complain(&audit.bad_counts, "fresh_allocs != live + cached + frees", where);
    if (s.acquires != s.releases + s.live_frames)
        complain(&audit.bad_counts, "acquires != releases + live_frames", where);
    /* minipy's fresh frames: the system's, or another code's (is_zombie 0). */
    if (s.zombie_hits != audit.zombies || s.fresh_allocs + s.shared_hits != audit.fresh ||
        s.live_frames != audit.live)
        complain(&audit.bad_counts, "pool counters differ from what minipy saw", where);
}

void scenario_config(ZfConfig *cfg)
{
    zf_config_default(cfg);
    cfg->per_code_max = 32;
    cfg->budget_bytes = 512 * 1024;
    cfg->reserve_max = 0;
    cfg->sweep_generation = 0;
}

int minipy_init(const ZfConfig *cfg)
{
    static const MiniAudit zero;
    ZfConfig scenario;
    if (cfg == NULL) {
        scenario_config(&scenario);
        cfg = &scenario;
    }
    audit = zero;
    interp_pool = zf_pool_new(cfg);
    if (interp_pool == NULL) {
        printf("minipy: zf_pool_new failed: %s\n", zf_last_error());
        return -1;
    }
    budget_bytes = cfg->budget_bytes;
    fixed_budget = cfg->policy == ZF_POLICY_PER_CODE && budget_bytes != ZF_BUDGET_AUTO;
    check_pool("zf_pool_new");
    return 0;
}

void minipy_fini(void)
{
    zf_pool_free(interp_pool);
    interp_pool = NULL;
}

ZfStats pool_stats(void)
{
    ZfStats s;
    zf_pool_stats(interp_pool, &s);
    return s;
}

void print_summary(const char *name)
{
    ZfStats s = pool_stats();
    double pct = s.acquires != 0 ? 100.0 * (double)s.zombie_hits / (double)s.acquires : 0.0;
    printf("%s: acquires %llu, zombie hits %.2f%%, peak cached %llu bytes\n", name,
           (unsigned long long)s.acquires, pct, (unsigned long long)s.peak_cached_bytes);
}

/* ---- codeobject.c ------------------------------------------------------ */

/* Slots in f_localsplus: CPython's "extras" in _PyFrame_New_NoTrack. */
static size_t code_slots(const PyCodeObject *co)
{
    return (size_t)co->co_stacksize + (size_t)co->co_nlocals + (size_t)co->co_ncells +
           (size_t)co->co_nfrees;
}

size_t code_frame_bytes(const PyCodeObject *co)
{
    return sizeof(PyFrameObject) + sizeof(PyObject *) * code_slots(co);
}

/* CPython's PyCode_NewWithPosOnlyArgs sets co_zombieframe = NULL; here the
 * code gets its own free list, sized once for all its frames. */
PyCodeObject *code_new(const char *name, int nlocals, int stacksize, int ncells, int nfrees)
{
    PyCodeObject *co = malloc(sizeof *co);
    if (co == NULL)
        return NULL;
    co->co_name = name;
    co->co_nlocals = nlocals;
    co->co_stacksize = stacksize;
    co->co_ncells = ncells;
    co->co_nfrees = nfrees;
    co->co_firstlineno = 1;
    co->co_serial = ++next_serial;
    co->co_zf = zf_code_new(interp_pool, code_frame_bytes(co));
    check_pool("zf_code_new");
    if (co->co_zf == NULL) {
        printf("minipy: zf_code_new(%s) failed: %s\n", name, zf_last_error());
        free(co);
        return NULL;
    }
    return co;
}

/* CPython's code_dealloc: "if (co->co_zombieframe != NULL)
 * PyObject_GC_Del(co->co_zombieframe);". zf_code_free frees every zombie
 * and keeps the ZfCode valid for frames of this code still live. */
void code_dealloc(PyCodeObject *co)
{
    if (co == NULL)
        return;
    zf_code_free(co->co_zf);
    check_pool("zf_code_free");
    free(co);
}

/* ---- frameobject.c ----------------------------------------------------- */

/* CPython asserts f->f_code == code on a zombie; minipy also checks the
 * other fields the zombie path relies on instead of re-initialising. */
static void check_zombie(const PyFrameObject *f, PyCodeObject *code)
{
    size_t extras = (size_t)code->co_nlocals + (size_t)code->co_ncells + (size_t)code->co_nfrees;
    if (f->f_code != code)
        complain(&audit.bad_zombies, "zombie: f_code is another code", code->co_name);
    else if (f->f_zf != code->co_zf || f->ob_size != (ptrdiff_t)code_slots(code))
        complain(&audit.bad_zombies, "zombie: f_zf or ob_size lost", code->co_name);
    else if (f->f_valuestack != f->f_localsplus + extras)
        complain(&audit.bad_zombies, "zombie: f_valuestack lost", code->co_name);
}

/* _PyFrame_New_NoTrack, minus globals, builtins and tracing. */
PyFrameObject *PyFrame_New(PyCodeObject *code, PyFrameObject *back)
{
    int is_zombie = 0;
    PyFrameObject *f = zf_frame_acquire(code->co_zf, &is_zombie);
    if (f != NULL) {
        audit.live++;
        *(is_zombie ? &audit.zombies : &audit.fresh) += 1;
    }
    check_pool("zf_frame_acquire");
    if (f == NULL)
        return NULL; /* CPython: PyErr_NoMemory() */
    if ((uintptr_t)f % ZF_FRAME_ALIGN != 0)
        complain(&audit.bad_zombies, "frame not aligned to ZF_FRAME_ALIGN", code->co_name);
    if (is_zombie) {
        /* "if (code->co_zombieframe != NULL) { f = code->co_zombieframe; ..." */
        check_zombie(f, code);
    } else {
        /* The fresh path: PyObject_GC_NewVar set ob_size; the rest is set
         * here once and kept by every later zombie of this code. */
        size_t extras = (size_t)code->co_nlocals + (size_t)code->co_ncells + (size_t)code->co_nfrees;
        size_t i;
        f->ob_size = (ptrdiff_t)code_slots(code);
        f->f_code = code;
        f->f_zf = code->co_zf;
        f->f_valuestack = f->f_localsplus + extras;
        for (i = 0; i < extras; i++)
            f->f_localsplus[i] = NULL;
    }
    /* Both paths, as after the if/else in CPython. */
    f->f_zombie = is_zombie;
    f->f_stacktop = f->f_valuestack;
    f->f_back = back;
    f->f_lasti = -1;
    f->f_lineno = code->co_firstlineno;
    return f;
}

/* CPython's frame_dealloc: kill the locals, then keep the frame as its
 * code's zombie. CPython reads co = f->f_code there, safely because a
 * frame owns a reference to its code. minipy frames borrow their code, and
 * code_dealloc may run while one is live: so the frame keeps its ZfCode,
 * which the library keeps valid until this release. */
void frame_dealloc(PyFrameObject *f)
{
    PyObject **p;
    for (p = f->f_localsplus; p < f->f_valuestack; p++)
        *p = NULL; /* Py_CLEAR(*p) */
    /* The value stack is only Py_XDECREF'd: its slots keep their values. */
    audit.live--;
    zf_frame_release(f->f_zf, f);
    check_pool("zf_frame_release");
}

/* ---- gcmodule.c -------------------------------------------------------- */

/* Where CPython 3.9's collect() called clear_freelists() after a
 * generation-2 collection: every collection ages the zombie lists. */
size_t gc_collect(int generation)
{
    size_t freed = zf_pool_collect(interp_pool, generation);
    check_pool("zf_pool_collect");
    return freed;
}

/* ---- ceval.c (the part that touches frames) ---------------------------- */

/* What a call stores in local i: distinct for every live frame. */
static PyObject *local_tag(const PyFrameObject *f, size_t i)
{
    return (PyObject *)((uintptr_t)f + 2 * i + 1);
}

/* What a frame of `co` leaves in stack slot i: only frames of `co` write
 * it, so a zombie holding it has been a frame of `co`. */
static PyObject *stack_tag(const PyCodeObject *co, size_t i)
{
    return (PyObject *)(uintptr_t)((co->co_serial << 12) + i + 1);
}

/* A zombie's locals were cleared by frame_dealloc and its stack still
 * holds what the last call of the same code pushed. */
static void check_zombie_contents(const PyFrameObject *f, const PyCodeObject *co)
{
    PyObject *const *p;
    size_t i;
    for (p = f->f_localsplus; p < f->f_valuestack; p++)
        if (*p != NULL)
            complain(&audit.bad_zombies, "zombie: a local was not NULL", co->co_name);
    for (i = 0; i < (size_t)co->co_stacksize; i++)
        if (f->f_valuestack[i] != stack_tag(co, i))
            complain(&audit.bad_zombies, "zombie: value stack lost its bytes", co->co_name);
}

PyFrameObject *call_enter(PyCodeObject *co, PyFrameObject *back)
{
    PyFrameObject *f = PyFrame_New(co, back);
    size_t i;
    if (f == NULL)
        return NULL;
    if (f->f_zombie)
        check_zombie_contents(f, co);
    for (i = 0; f->f_localsplus + i < f->f_valuestack; i++)
        f->f_localsplus[i] = local_tag(f, i); /* LOAD_CONST; STORE_FAST */
    for (i = 0; i < (size_t)co->co_stacksize; i++)
        *f->f_stacktop++ = stack_tag(co, i); /* the deepest the code pushes */
    f->f_lasti = 0;
    return f;
}

/* Reads only the frame, never f_code: the code may be gone already. */
int frame_locals_intact(const PyFrameObject *f)
{
    size_t i;
    for (i = 0; f->f_localsplus + i < f->f_valuestack; i++)
        if (f->f_localsplus[i] != local_tag(f, i))
            return 0;
    return 1;
}

void call_leave(PyFrameObject *f)
{
    if (!frame_locals_intact(f))
        complain(&audit.bad_locals, "a live frame's locals changed", "a call");
    f->f_stacktop = f->f_valuestack; /* RETURN_VALUE pops everything */
    frame_dealloc(f);
}

void call_recursive(PyCodeObject *co, PyFrameObject *back, int depth)
{
    PyFrameObject *f = call_enter(co, back);
    if (depth > 1)
        call_recursive(co, f, depth - 1);
    call_leave(f);
}

/*
 * minipy.h: a miniature of CPython 3.9's Objects/codeobject.c and
 * Objects/frameobject.c, with zombie-frames where CPython kept
 * co_zombieframe and the frame free_list.
 *
 * Only the fields the frame allocator cares about are modelled. Locals and
 * stack slots hold tags, not objects: they are compared, never dereferenced.
 */
#ifndef MINIPY_H
#define MINIPY_H

#include <stddef.h>
#include <stdint.h>

#include "zombie_frames.h"

/* Built with -DZF_TEST_FAST, minipy and the scenarios call the header's
 * inline pair wherever they name the exported one (the acquire is the
 * kits' zf_frame_hit_fast, then zf_frame_acquire_slow): tests/c_programs.rs
 * runs every scenario both ways. */
#ifdef ZF_TEST_FAST
#define zf_frame_acquire(code, is_zombie) zf_frame_acquire_fast(code, is_zombie)
#define zf_frame_release(code, frame) zf_frame_release_fast(code, frame)
#endif

typedef struct _object PyObject; /* opaque: minipy never makes one */

typedef struct PyCodeObject {
    const char *co_name;
    int co_nlocals;
    int co_stacksize;
    int co_ncells;         /* CPython: PyTuple_GET_SIZE(co_cellvars) */
    int co_nfrees;         /* CPython: PyTuple_GET_SIZE(co_freevars) */
    int co_firstlineno;
    unsigned long co_serial; /* minipy: unique per code, tags what its frames hold */
    ZfCode *co_zf;         /* CPython 3.9: void *co_zombieframe */
} PyCodeObject;

typedef struct _frame {
    ptrdiff_t ob_size;         /* PyObject_VAR_HEAD: slots in f_localsplus */
    struct _frame *f_back;
    PyCodeObject *f_code;      /* borrowed: see frame_dealloc */
    ZfCode *f_zf;              /* the free list this frame goes back to */
    PyObject **f_valuestack;   /* points after the last local */
    PyObject **f_stacktop;
    int f_lasti;
    int f_lineno;
    int f_zombie;              /* minipy: 1 when PyFrame_New reused a zombie */
    PyObject *f_localsplus[];  /* locals + cells + frees, then the value stack */
} PyFrameObject;

/* The interpreter: one pool, as CPython 3.9 keeps one frame free list per
 * interpreter (struct _Py_frame_state). */
extern ZfPool *interp_pool;
/* The configuration these scenarios were written for: per-code lists seen
 * alone (no reserve), 32 zombies per code, a 512 KiB budget, a sweep at
 * every collection. test_reserve.c covers the reserve and the defaults. */
void scenario_config(ZfConfig *cfg);
int minipy_init(const ZfConfig *cfg); /* NULL: scenario_config. 0, or -1 */
void minipy_fini(void);

/* codeobject.c */
PyCodeObject *code_new(const char *name, int nlocals, int stacksize, int ncells, int nfrees);
void code_dealloc(PyCodeObject *co);
size_t code_frame_bytes(const PyCodeObject *co);

/* frameobject.c */
PyFrameObject *PyFrame_New(PyCodeObject *co, PyFrameObject *back);
void frame_dealloc(PyFrameObject *f);

/* gcmodule.c: the end of a collection of this generation */
size_t gc_collect(int generation);

/* ceval.c, reduced to what a call does to its frame: enter writes a
 * pattern into the locals and fills the value stack; leave checks the
 * locals still hold that pattern, pops the stack and deallocates. */
PyFrameObject *call_enter(PyCodeObject *co, PyFrameObject *back);
int frame_locals_intact(const PyFrameObject *f);
void call_leave(PyFrameObject *f);
/* `depth` nested calls of `co` under `back`, then their returns. */
void call_recursive(PyCodeObject *co, PyFrameObject *back, int depth);

/* What minipy verified on every call into the library and every frame it
 * handed out. Every "bad" count must stay 0; the first few are printed. */
typedef struct MiniAudit {
    uint64_t pool_checks;  /* times the pool's counters were checked */
    uint64_t over_budget;  /* cached_bytes > budget_bytes seen after a call */
    uint64_t bad_counts;   /* counters contradicting each other or minipy */
    uint64_t fresh, zombies, live; /* as minipy saw them */
    uint64_t bad_zombies;  /* a zombie lacking its code's fields (or misaligned) */
    uint64_t bad_locals;   /* locals changed under a live frame */
} MiniAudit;
extern MiniAudit audit;

/* Stats of interp_pool. */
ZfStats pool_stats(void);
/* Prints "<name>: acquires N, zombie hits P%, peak cached B bytes". */
void print_summary(const char *name);

#endif /* MINIPY_H */

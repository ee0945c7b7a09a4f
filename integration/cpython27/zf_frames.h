/* zombie-frames glue for CPython 2.7 (copied to Include/zf_frames.h).
 *
 * The interpreter's frames come from one zombie-frames pool: each code
 * object holds a ZfCode * (co_zf, where co_zombieframe was) and the pool
 * decides which released frames to keep. A frame's memory is laid out as
 * 2.7's GC allocation lays it out (the PyGC_Head union, then the object),
 * inside a block of the pool.
 *
 * The library is called in one place for acquire and one for release (the
 * two inlines below): its inline fast path when the header has one
 * (ZF_HAVE_FAST_PATH), the exported functions otherwise.
 */
#ifndef Py_ZF_FRAMES_H
#define Py_ZF_FRAMES_H

#include "code.h"
#include "frameobject.h"
#include "zombie_frames.h"

/* Sets *out to the code's ZfCode, made now if it has none; or to NULL
 * when the code gets none: the pool is finalized, or the code is not a
 * function's (a module or class body, exec or eval code: it runs once, see
 * zf_pool_glue.h). Frames of that code then come from the GC allocator
 * directly, and co_zf stays NULL. -1 with MemoryError set when memory runs
 * out. */
int _PyZf_CodeGet(PyCodeObject *co, struct ZfCode **out);

/* PyCode_New's hook (ZF_CPY_EAGER=1): integration/common/zf_code_hook.h. */
#include "zf_code_hook.h"

/* code_dealloc: frees the code's zombies (and its ZfCode, once no frame of
 * it is live). */
void _PyZf_CodeFree(PyCodeObject *co);

/* The count of frame blocks the pool has taken from the heap. */
extern unsigned long _PyZf_frame_blocks_taken;

/* Runs a collection if the GC's thresholds call for one. */
void _PyZf_AfterFrameBlockTaken(void);

/* gcmodule.c: frame blocks the pool takes (+1) or gives back (-1) count in
 * generation 0 as GC objects do; the collection an allocation may run. */
void _PyObject_GC_CountFrames(int delta);
void _PyObject_GC_MaybeCollect(void);

/* The slots after the fixed part of a frame of `co` (PyFrame_New's extras). */
static inline Py_ssize_t
_PyZf_FrameExtras(PyCodeObject *co)
{
    return co->co_stacksize + co->co_nlocals +
           PyTuple_GET_SIZE(co->co_cellvars) + PyTuple_GET_SIZE(co->co_freevars);
}

/* A frame of `co` (whose ZfCode is `zc`), set up as _PyObject_GC_NewVar
 * sets one up: untracked, type, size, one reference. Or a zombie of `co`
 * (*warm = 1), whose per-code fields (f_code, f_valuestack, cleared locals,
 * f_locals, f_trace and f_exc_*) are still valid. NULL with MemoryError
 * set. Inline: it runs at every call. */
static inline PyFrameObject *
_PyZf_FrameAcquire(struct ZfCode *zc, PyCodeObject *co, int *warm)
{
    unsigned long taken = _PyZf_frame_blocks_taken;
#ifdef ZF_HAVE_FAST_PATH
    PyGC_Head *g = (PyGC_Head *)zf_frame_acquire_fast(zc, warm);
#else
    PyGC_Head *g = (PyGC_Head *)zf_frame_acquire(zc, warm);
#endif
    PyFrameObject *f;
    if (g == NULL) {
        return (PyFrameObject *)PyErr_NoMemory();
    }
    f = (PyFrameObject *)(g + 1);
    if (*warm) {
        _Py_NewReference((PyObject *)f);
        return f;
    }
    g->gc.gc_refs = _PyGC_REFS_UNTRACKED;
    if (taken != _PyZf_frame_blocks_taken) {
        /* As _PyObject_GC_Malloc does after taking memory for an object. */
        _PyZf_AfterFrameBlockTaken();
    }
    return (PyFrameObject *)PyObject_INIT_VAR(f, &PyFrame_Type, _PyZf_FrameExtras(co));
}

/* frame_dealloc, in place of caching or PyObject_GC_Del: the frame is
 * untracked and its references are dropped. */
static inline void
_PyZf_FrameRelease(struct ZfCode *zc, PyFrameObject *f)
{
#ifdef ZF_HAVE_FAST_PATH
    zf_frame_release_fast(zc, _Py_AS_GC(f));
#else
    zf_frame_release(zc, _Py_AS_GC(f));
#endif
}

/* The GC finished a collection of this generation. */
void _PyZf_Collected(int generation);

/* Drop every zombie (PyFrame_ClearFreeList); returns the frames freed. */
int _PyZf_Clear(void);

/* PyFrame_Fini: free the pool; later frames use the GC allocator. */
void _PyZf_Fini(void);

/* sys._debugmallocstats(): the pool's report. */
void _PyZf_DebugMallocStats(FILE *out);

#endif /* !Py_ZF_FRAMES_H */

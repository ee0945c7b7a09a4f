/* zombie-frames glue for CPython 3.9 (Objects/zf_frames.c).
 *
 * The interpreter's frames come from one zombie-frames pool: each code
 * object holds a ZfCode * (co_zf, where co_zombieframe was) and the pool
 * decides which released frames to keep. A frame's memory is laid out as
 * CPython's GC allocation lays it out (PyGC_Head, then the object), inside
 * a block of the pool.
 */
#ifndef Py_INTERNAL_ZF_FRAMES_H
#define Py_INTERNAL_ZF_FRAMES_H

#include "frameobject.h"
#include "pycore_gc.h"
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

/* Frame blocks the pool has taken from the heap (zf_pool_glue.h). */
extern unsigned long _PyZf_frame_blocks_taken;

/* Runs a collection if the GC's thresholds call for one. */
void _PyZf_AfterFrameBlockTaken(void);

/* A frame that is not a zombie, set up as _PyObject_GC_NewVar sets one up
 * for `co`: GC header cleared, type, size, one reference; and a
 * collection if the GC's thresholds call for one after a block was taken
 * from the heap. Out of line: the hit path stays short. */
PyFrameObject *_PyZf_FrameInit(PyGC_Head *g, PyCodeObject *co);

/* A frame of `co` (whose ZfCode is `zc`): a zombie of `co` (*warm = 1),
 * whose per-code fields (f_code, f_valuestack, cleared locals) are still
 * valid, or a frame set up by _PyZf_FrameInit. NULL with MemoryError set.
 * Inline, with the library's inline fast path: a zombie hit never leaves
 * the caller. `zc` is never NULL here. */
static inline PyFrameObject *
_PyZf_FrameAcquire(struct ZfCode *zc, PyCodeObject *co, int *warm)
{
    PyGC_Head *g = (PyGC_Head *)zf_frame_acquire_fast(zc, warm);
    if (g == NULL) {
        return (PyFrameObject *)PyErr_NoMemory();
    }
    if (*warm) {
        PyFrameObject *f = (PyFrameObject *)(g + 1);
        _Py_NewReference((PyObject *)f);
        return f;
    }
    return _PyZf_FrameInit(g, co);
}

/* frame_dealloc, in place of caching or PyObject_GC_Del: the frame is
 * untracked and its references are dropped. */
static inline void
_PyZf_FrameRelease(struct ZfCode *zc, PyFrameObject *f)
{
    zf_frame_release_fast(zc, _Py_AS_GC(f));
}

/* The GC finished a collection of this generation. */
void _PyZf_Collected(int generation);

/* Drop every zombie (_PyFrame_ClearFreeList). */
void _PyZf_Clear(void);

/* _PyFrame_Fini: free the pool; later frames use the GC allocator. */
void _PyZf_Fini(void);

/* sys._debugmallocstats(): the pool's report. */
void _PyZf_DebugMallocStats(FILE *out);

#endif /* !Py_INTERNAL_ZF_FRAMES_H */

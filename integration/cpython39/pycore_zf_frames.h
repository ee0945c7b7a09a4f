/* zombie-frames glue for CPython 3.9 (copied to
 * Include/internal/pycore_zf_frames.h; its functions are Objects/zf_frames.c's).
 *
 * The interpreter's frames come from one zombie-frames pool: each code
 * object holds a ZfCode * (co_zf, where co_zombieframe was; NULL until it
 * gets one), with its inline state beside it (co_zf_hot), and the pool
 * decides which released frames to keep.
 * A frame's memory is laid out as CPython's GC allocation lays it out
 * (PyGC_Head, then the object): the pool's frames carry that head as their
 * prefix (ZF_FLAG_FRAME_PREFIX, prefix_bytes), so the pointer it hands out
 * is the object's, and a per-code pool's block is exactly the frame.
 */
#ifndef Py_INTERNAL_ZF_FRAMES_H
#define Py_INTERNAL_ZF_FRAMES_H

#include "frameobject.h"
#include "pycore_gc.h"
#include "zombie_frames.h"

/* PyCode_New's hook (ZF_CPY_EAGER=1): integration/common/zf_code_hook.h. */
#include "zf_code_hook.h"

/* A per-code pool's link, the head's last word, is _gc_prev, which an
 * untracked object never reads (_gc_next says whether it is tracked);
 * under legacy, ZF_TRACE or ZF_DEBUG the link is in the library's header. */
typedef char _PyZf_check_prefix[
    sizeof(PyGC_Head) % ZF_FRAME_ALIGN == 0 &&
    offsetof(PyGC_Head, _gc_prev) == sizeof(PyGC_Head) - sizeof(void *) ? 1 : -1];

/* code_dealloc: frees the code's zombies (and its ZfCode, once no frame of
 * it is live). */
void _PyZf_CodeFree(PyCodeObject *co);

/* A zombie of `co` from the pool's inline state, with one reference; its
 * per-code fields (f_code, f_valuestack, cleared locals) are still valid.
 * NULL when the inline state holds none: then _PyZf_FrameNew. Inline: the
 * hit costs CPython's zombie plus the library's count. */
static inline PyFrameObject *
_PyZf_Zombie(PyCodeObject *co)
{
    PyFrameObject *f = zf_hot_hit(_PyZf_HOT(co));
    if (f != NULL) {
        _Py_NewReference((PyObject *)f);
    }
    return f;
}

/* Any other frame of `co`, out of line: a zombie all the same (*warm = 1),
 * or a frame set up as _PyObject_GC_NewVar sets one up (*warm = 0): from
 * the pool, making the code's ZfCode if it has none, or from the GC
 * allocator for a code that gets no ZfCode (the pool is finalized, or the
 * code is not a function's: zf_pool_glue.h). NULL with MemoryError set. */
PyFrameObject *_PyZf_FrameNew(PyCodeObject *co, int *warm);

/* frame_dealloc, in place of caching or PyObject_GC_Del: the frame is
 * untracked and its references are dropped. Inline: the cached release,
 * and the call of the library's release, or of the GC allocator's for a
 * code without a ZfCode (one call, where CPython's own makes one). */
static inline void
_PyZf_FrameRelease(PyCodeObject *co, PyFrameObject *f)
{
    if (!zf_hot_give(_PyZf_HOT(co), f)) {
        if (co->co_zf != NULL) {
            zf_frame_release_slow(co->co_zf, f);
        }
        else {
            PyObject_GC_Del(f);
        }
    }
}

/* The GC finished a collection of this generation. */
void _PyZf_Collected(int generation);

/* Drop every zombie (_PyFrame_ClearFreeList). */
void _PyZf_Clear(void);

/* Py_Finalize, before the modules go: a per-code pool closes now. */
void _PyZf_Finalizing(void);

/* _PyFrame_Fini: free the pool; later frames use the GC allocator. */
void _PyZf_Fini(void);

/* sys._debugmallocstats(): the pool's report. */
void _PyZf_DebugMallocStats(FILE *out);

#endif /* !Py_INTERNAL_ZF_FRAMES_H */

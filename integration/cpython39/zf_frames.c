/* zombie-frames glue for CPython 3.9 (copied to Objects/zf_frames.c).
 *
 * One pool for the process, as 3.9's frame free list is one for the
 * process (subinterpreters share the GIL). The pool's life, its allocator
 * hooks, the code hooks and the frames that are not inline hits are
 * integration/common/zf_pool_glue.h, shared with the 2.7 kit; this file
 * gives it 3.9's GC header and count, and the clearing of the cache
 * behind _PyFrame_ClearFreeList (an internal function since 3.9 dropped
 * PyFrame_ClearFreeList, which nothing in the patched interpreter calls
 * any more: the pool ages at collections instead; it stays, clearing the
 * pool, for whatever still calls it).
 */
#include "Python.h"
#include "pycore_gc.h"
#include "pycore_interp.h"       // PyInterpreterState.gc
#include "pycore_object.h"
#include "pycore_pystate.h"      // _PyThreadState_GET()
#include "pycore_zf_frames.h"

/* An untracked object's GC header, as _PyObject_GC_Alloc leaves it. */
static void
gc_head_init(PyGC_Head *g)
{
    g->_gc_next = 0;
    g->_gc_prev = 0;
}

/* A fresh frame's object header, as PyObject_INIT_VAR sets it, less its
 * test for a heap type (a call of PyType_GetFlags): PyFrame_Type is
 * static, so its reference count is never taken. */
static PyFrameObject *
frame_init(void *op, PyCodeObject *co)
{
    PyFrameObject *f = (PyFrameObject *)op;
    Py_SET_SIZE(f, _PyZf_FrameSlots(co));
    Py_SET_TYPE(f, &PyFrame_Type);
    _Py_NewReference((PyObject *)f);
    return f;
}

/* The GC's count of generation 0, kept as _PyObject_GC_Alloc and
 * PyObject_GC_Del keep it, here: gcmodule.c's function (the patch's) only
 * for a collection. */
static void
gc_frames_taken(int n)
{
    struct gc_generation *young = &_PyThreadState_GET()->interp->gc.generations[0];
    if (young->count + n > young->threshold) {
        _PyObject_GC_FramesTaken(n);   /* counts, then collects if due */
    }
    else {
        young->count += n;
    }
}

static void
gc_frame_freed(void)
{
    PyThreadState *tstate = _PyThreadState_GET();
    if (tstate == NULL) {
        return;   /* at exit, after the thread state is gone */
    }
    struct gc_generation *young = &tstate->interp->gc.generations[0];
    if (young->count > 0) {
        young->count--;
    }
}

#include "zf_pool_glue.h"

void
_PyZf_Clear(void)
{
    /* No pool yet, or none any more (finalization's collections). */
    if (pool != NULL) {
        zf_pool_clear(pool);
    }
}

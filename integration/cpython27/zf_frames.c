/* zombie-frames glue for CPython 2.7 (copied to Objects/zf_frames.c).
 *
 * 2.7 keeps one interpreter's worth of globals (its frame free list, the
 * GC's generations), all under the GIL: one pool for the process, as in
 * integration/common/zf_pool_glue.h, which holds everything here that is
 * not 2.7's own. Frames go through pymalloc (2.7 has no tracemalloc).
 */
#include "Python.h"
#include "zf_frames.h"

/* An untracked object's GC header, as _PyObject_GC_Malloc leaves it. */
static void
gc_head_init(PyGC_Head *g)
{
    g->gc.gc_refs = _PyGC_REFS_UNTRACKED;
}

/* A fresh frame's object header (2.7's PyObject_INIT_VAR calls nothing). */
static PyFrameObject *
frame_init(void *op, PyCodeObject *co)
{
    return (PyFrameObject *)PyObject_INIT_VAR((PyObject *)op, &PyFrame_Type, _PyZf_FrameSlots(co));
}

/* The GC's count of generation 0, kept as _PyObject_GC_Malloc and
 * PyObject_GC_Del keep it, here, through the patch's pointers to
 * gcmodule.c's own: its function only for a collection. */
static void
gc_frames_taken(int n)
{
    if (*_PyObject_GC_YoungCount + n > *_PyObject_GC_YoungThreshold) {
        _PyObject_GC_FramesTaken(n);   /* counts, then collects if due */
    }
    else {
        *_PyObject_GC_YoungCount += n;
    }
}

static void
gc_frame_freed(void)
{
    if (*_PyObject_GC_YoungCount > 0) {
        (*_PyObject_GC_YoungCount)--;
    }
}

#include "zf_pool_glue.h"

int
_PyZf_Clear(void)
{
    ZfStats before, after;
    if (pool == NULL) {
        return 0;
    }
    zf_pool_stats(pool, &before);
    zf_pool_clear(pool);
    zf_pool_stats(pool, &after);
    return (int)(before.cached_frames - after.cached_frames);
}

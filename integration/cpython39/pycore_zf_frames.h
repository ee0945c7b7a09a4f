/* zombie-frames glue for CPython 3.9 (copied to
 * Include/internal/pycore_zf_frames.h; its functions are Objects/zf_frames.c's).
 *
 * The interpreter's frames come from one zombie-frames pool: each code
 * object holds a ZfCode * (co_zf, where co_zombieframe was; NULL until it
 * gets one), and its inline state last (co_zf_hot, after every stock
 * field, whose offsets stay stock's), and the pool decides which released
 * frames to keep.
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

/* What both lines share: integration/common/zf_glue.h. */
#include "zf_glue.h"

/* A per-code pool's link, the head's last word, is _gc_prev, which an
 * untracked object never reads (_gc_next says whether it is tracked);
 * under legacy, ZF_TRACE or ZF_DEBUG the link is in the library's header. */
typedef char _PyZf_check_prefix[
    sizeof(PyGC_Head) % ZF_FRAME_ALIGN == 0 &&
    offsetof(PyGC_Head, _gc_prev) == sizeof(PyGC_Head) - sizeof(void *) ? 1 : -1];

/* Drop every zombie (_PyFrame_ClearFreeList). */
void _PyZf_Clear(void);

#endif /* !Py_INTERNAL_ZF_FRAMES_H */

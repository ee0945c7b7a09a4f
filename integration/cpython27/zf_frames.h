/* zombie-frames glue for CPython 2.7 (copied to Include/zf_frames.h).
 *
 * The interpreter's frames come from one zombie-frames pool: each code
 * object holds a ZfCode * (co_zf, where co_zombieframe was; NULL until it
 * gets one), and its inline state last (co_zf_hot, after every stock
 * field, whose offsets stay stock's), and the pool decides which released
 * frames to keep.
 * A frame's memory is laid out as 2.7's GC allocation lays it out (the
 * PyGC_Head union, then the object): the pool's frames carry that head as
 * their prefix (ZF_FLAG_FRAME_PREFIX, prefix_bytes), so the pointer it
 * hands out is the object's, and a per-code pool's block is exactly the
 * frame.
 */
#ifndef Py_ZF_FRAMES_H
#define Py_ZF_FRAMES_H

#include "code.h"
#include "frameobject.h"
#include "zombie_frames.h"

/* What both lines share: integration/common/zf_glue.h. */
#include "zf_glue.h"

/* A per-code pool's link, the head's last word, is the padding after
 * gc_refs (the union's long double makes the head 32 bytes on LP64), which
 * nothing reads. Under legacy, ZF_TRACE or ZF_DEBUG the link is in the
 * library's header. */
typedef char _PyZf_check_prefix[
    sizeof(PyGC_Head) % ZF_FRAME_ALIGN == 0 &&
    offsetof(PyGC_Head, gc.gc_refs) + sizeof(Py_ssize_t) <= sizeof(PyGC_Head) - sizeof(void *) ? 1 : -1];

/* gcmodule.c: frame blocks the pool took (n, then the collection an
 * allocation may run) or gave back count in generation 0 as GC objects do
 * (zf_frames.c: gc_frames_taken, gc_frame_freed). */
void _PyObject_GC_FramesTaken(int n);
extern int *const _PyObject_GC_YoungCount;
extern const int *const _PyObject_GC_YoungThreshold;

/* Drop every zombie (PyFrame_ClearFreeList); returns the frames freed. */
int _PyZf_Clear(void);

#endif /* !Py_ZF_FRAMES_H */

/* zombie-frames glue, both CPython lines: the header each kit's frame
 * header includes after the Python headers (3.9: pycore_zf_frames.h, 2.7:
 * zf_frames.h, which add what is their line's own). It holds a code
 * object's inline state and PyCode_New's hook, the frames' inline hit and
 * release, and the hooks the patch calls; their bodies are
 * zf_pool_glue.h's.
 *
 * With ZF_CPY_EAGER=1, a code's ZfCode is made at PyCode_New (every
 * code's). The setting is read at the first code, so after it this is one
 * test of _PyZf_eager: start-up makes hundreds of codes. */
#ifndef ZF_GLUE_H
#define ZF_GLUE_H

/* The code's ZfCodeHot, held in the code object (co_zf_hot) so that the
 * inline hit and release read it with no load of co_zf first. Inert (it
 * never hits and takes no frame) until zf_code_new_with_hot is given it,
 * and again after zf_code_free: only the glue's slow paths look at co_zf. */
#define _PyZf_HOT(co) ((ZfCodeHot *)(void *)(co)->co_zf_hot)
typedef char _PyZf_check_hot[
    sizeof(((PyCodeObject *)0)->co_zf_hot) == sizeof(ZfCodeHot) ? 1 : -1];

extern int _PyZf_eager;
void _PyZf_CodeMadeSlow(PyCodeObject *co);
static inline void
_PyZf_CodeMade(PyCodeObject *co)
{
    static const ZfCodeHot inert = ZF_CODE_HOT_INERT;
    *_PyZf_HOT(co) = inert;
    if (_PyZf_eager) {
        _PyZf_CodeMadeSlow(co);
    }
}

/* Slots of f_localsplus a frame of `co` needs (its ob_size). */
static inline Py_ssize_t
_PyZf_FrameSlots(PyCodeObject *co)
{
    return co->co_stacksize + co->co_nlocals + PyTuple_GET_SIZE(co->co_cellvars) +
           PyTuple_GET_SIZE(co->co_freevars);
}

/* Bytes of one frame of `co`: the GC header, then the object with its
 * f_localsplus, exactly what _PyObject_GC_NewVar would allocate. */
static inline size_t
_PyZf_FrameBytes(PyCodeObject *co)
{
    return sizeof(PyGC_Head) + _PyObject_VAR_SIZE(&PyFrame_Type, _PyZf_FrameSlots(co));
}

/* code_dealloc: frees the code's zombies (and its ZfCode, once no frame of
 * it is live). */
void _PyZf_CodeFree(PyCodeObject *co);

/* A zombie of `co` from the pool's inline state, with one reference; the
 * fields CPython's own zombie keeps are still valid (f_code, f_valuestack,
 * cleared locals; 2.7's f_locals, f_trace and f_exc_* too). NULL when the
 * inline state holds none: then _PyZf_FrameNew. Inline: the hit costs
 * CPython's zombie plus the library's count. */
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

/* Py_Finalize, before the modules go: a per-code pool closes now. */
void _PyZf_Finalizing(void);

/* (_)PyFrame_Fini: free the pool; codes with a ZfCode then take frames
 * straight from the heap, the others from the GC allocator. */
void _PyZf_Fini(void);

/* sys._debugmallocstats(): the pool's report. */
void _PyZf_DebugMallocStats(FILE *out);

#endif /* !ZF_GLUE_H */

/* zombie-frames glue, both CPython lines: a code object's inline state and
 * PyCode_New's hook (included by the kit's frame header after the Python
 * headers).
 *
 * With ZF_CPY_EAGER=1, a code's ZfCode is made at PyCode_New (every
 * code's). The setting is read at the first code, so after it this is one
 * test of _PyZf_eager: start-up makes hundreds of codes. */
#ifndef ZF_CODE_HOOK_H
#define ZF_CODE_HOOK_H

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

#endif /* !ZF_CODE_HOOK_H */

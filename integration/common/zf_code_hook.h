/* zombie-frames glue, both CPython lines: what PyCode_New sets co_zf to,
 * and its hook (included by the kit's frame header after the Python
 * headers).
 *
 * With ZF_CPY_EAGER=1, a code's ZfCode is made at PyCode_New (every
 * code's). The setting is read at the first code, so after it this is one
 * test of _PyZf_eager: start-up makes hundreds of codes. */
#ifndef ZF_CODE_HOOK_H
#define ZF_CODE_HOOK_H

/* co_zf of a code without a ZfCode: an inert ZfCodeHot, which the inline
 * pair never hits and never gives a frame to, so the hit and the release
 * test nothing else; only the glue's slow paths look for it. */
extern ZfCodeHot _PyZf_none;
#define _PyZf_NONE ((struct ZfCode *)(void *)&_PyZf_none)

extern int _PyZf_eager;
void _PyZf_CodeMadeSlow(PyCodeObject *co);
static inline void
_PyZf_CodeMade(PyCodeObject *co)
{
    if (_PyZf_eager) {
        _PyZf_CodeMadeSlow(co);
    }
}

#endif /* !ZF_CODE_HOOK_H */

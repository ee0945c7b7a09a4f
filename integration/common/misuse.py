"""A write into a zombie frame, as a buggy C extension could commit it.

With ZF_DEBUG=1 the pool sees it at the frame's next acquire and the glue
makes it a fatal error naming it; without, the interpreter runs on a
corrupted frame. Run by both kits' smoke stage, which expects the former.
"""
import ctypes
import sys


def f():
    return id(sys._getframe())


# f_trace (NULL in a zombie) on x86-64: after the object's head (24
# bytes), f_back, f_code, f_builtins, f_globals, f_locals, f_valuestack,
# and 2.7's f_stacktop.
F_TRACE = 80 if sys.version_info[0] == 2 else 72

addr = f()                              # f's frame is now a zombie of f's code
ctypes.memset(addr + F_TRACE, 0x41, 8)
f()                               # its next acquire
print("not detected")

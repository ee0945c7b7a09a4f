"""A write into a zombie frame, as a buggy C extension could commit it.

With ZF_DEBUG=1 the pool sees it at the frame's next acquire and the glue
makes it a fatal error naming it; without, the interpreter runs on a
corrupted frame. Run by the 2.7 kit's smoke stage, which expects the
former.
"""
import ctypes
import sys


def f():
    return id(sys._getframe())


addr = f()                        # f's frame is now a zombie of f's code
ctypes.memset(addr + 80, 0x41, 8)  # f_trace (NULL in a zombie) on x86-64
f()                               # its next acquire
print("not detected")

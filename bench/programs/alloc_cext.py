"""Allocation-heavy: C code allocating outside Python's object allocator.

libc malloc/free called through ctypes (memory no Python allocator sees),
plus zlib, whose C state and output buffers are allocated by the extension.
"""
import ctypes
import ctypes.util
import zlib

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.free.argtypes = [ctypes.c_void_p]
_PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, compressible


def work(loops):
    for _ in range(loops):
        held = [_libc.malloc(64 + (i % 64) * 1024) for i in range(2000)]
        for p in held:
            _libc.free(p)
        for level in (1, 6):
            zlib.decompress(zlib.compress(_PAYLOAD, level))
    return None

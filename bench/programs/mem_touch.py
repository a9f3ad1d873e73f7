"""Allocate 512 MiB once and touch a fraction of it (BENCH_TOUCH_FRACTION, 0..1).

bytes(n) comes from calloc, so untouched pages never become resident; the
touch writes through a ctypes pointer. An allocation profiler should report a
512 MiB peak whatever the touched fraction; an RSS-based one reports the
touched part.
"""
import ctypes
import os

SIZE = 512 * 1024 * 1024


def work(loops):
    fraction = float(os.environ.get("BENCH_TOUCH_FRACTION", "1"))
    buf = bytes(SIZE)
    touched = int(SIZE * fraction)
    if touched:
        address = ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p).value
        ctypes.memset(address, 1, touched)
    del buf
    return {"allocated": SIZE, "touched": touched}

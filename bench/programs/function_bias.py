"""The function-bias pair: one loop calls a helper, its twin has the body inlined.

Both do the same arithmetic; the helper version also pays for a call per
iteration, which is real time that belongs to it. The driver times each call
with thread_time (CPU time) and returns the true shares, so a profiler that
over- or under-counts function calls shows as an error in percentage points.
"""
import time

N = 20000  # iterations per call: a few ms each


def helper_step(x, i):
    return (x * 31 + i) % 1000003


def with_helper(n):
    x = 0
    for i in range(n):
        x = helper_step(x, i)
    return x


def inlined(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def work(loops):
    spent = {"with_helper": 0.0, "inlined": 0.0}
    clock = time.thread_time  # CPU time: immune to waiting for a core on a shared machine
    for _ in range(loops):
        t0 = clock()
        with_helper(N)
        t1 = clock()
        inlined(N)
        t2 = clock()
        spent["with_helper"] += t1 - t0
        spent["inlined"] += t2 - t1
    total = sum(spent.values())
    return {"shares": {name: t / total for name, t in spent.items()}}

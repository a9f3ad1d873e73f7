"""Four functions that take known shares of the CPU: about 10/20/30/40%.

Each function runs the same pure-Python loop for a number of iterations in
proportion to its share. The driver times every call with thread_time (CPU
time), so the true shares of this very run are known; they are returned as
{"shares": {function name: fraction}} for the harness to compare with what
each profiler attributes to these functions (inclusive).
"""
import time

UNIT = 2000  # iterations per share point: one round is about 10 ms


def share_10(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def share_20(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def share_30(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def share_40(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


FUNCTIONS = [(share_10, 10), (share_20, 20), (share_30, 30), (share_40, 40)]


def work(loops):
    spent = {f.__name__: 0.0 for f, _ in FUNCTIONS}
    clock = time.thread_time  # CPU time: immune to waiting for a core on a shared machine
    for _ in range(loops):
        for func, points in FUNCTIONS:
            t0 = clock()
            func(UNIT * points)
            spent[func.__name__] += clock() - t0
    total = sum(spent.values())
    return {"shares": {name: t / total for name, t in spent.items()}}

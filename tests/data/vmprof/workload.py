"""Deterministic CPU-bound workload used to produce the vmprof fixtures.

Usage: python workload.py MODE OUTFILE
MODE is one of cpu, real_time, lines, memory, native.  Profiling is done in-process
with the vmprof Python API (or PyPy's builtin _vmprof when the vmprof
package is not importable).
"""
import sys
import threading

PERIOD = 0.002  # seconds


def leaf(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s


def middle(n):
    t = 0
    for _ in range(20):
        t += leaf(n)
    return t


def outer(rounds, n):
    total = 0
    for _ in range(rounds):
        total += middle(n)
    return total


def worker(mode, results):
    if mode == "real_time":
        import vmprof
        vmprof.insert_real_time_thread()
    results.append(outer(ROUNDS_WORKER, 20000))


ROUNDS_MAIN = 24
ROUNDS_WORKER = 12


def main():
    mode, out = sys.argv[1], sys.argv[2]
    kw = dict(memory=(mode == "memory"), lines=(mode == "lines"),
              real_time=(mode == "real_time"))
    if "__pypy__" in sys.builtin_module_names:
        global ROUNDS_MAIN, ROUNDS_WORKER
        ROUNDS_MAIN, ROUNDS_WORKER = 600, 300  # the JIT is much faster
    f = open(out, "w+b")  # must be readable too: vmprof.disable() re-reads it
    try:
        import vmprof
        vmprof.enable(f.fileno(), period=PERIOD, native=(mode == "native"), **kw)
        disable = vmprof.disable
    except ImportError:  # PyPy without the vmprof package
        import _vmprof
        _vmprof.enable(f.fileno(), PERIOD, kw["memory"], kw["lines"],
                       mode == "native",
                       kw["real_time"])
        disable = _vmprof.disable
    results = []
    th = threading.Thread(target=worker, args=(mode, results), name="worker")
    th.start()
    results.append(outer(ROUNDS_MAIN, 20000))
    th.join()
    disable()
    f.close()
    print(mode, sorted(results))


if __name__ == "__main__":
    main()

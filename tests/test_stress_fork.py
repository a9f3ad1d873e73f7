"""fork() under sampling and under allocation tracking: parent and every child
exit normally (no hang, no crash, status 0), and every file left behind is
readable."""
import re

import pytest

from stress_util import profile_run, require_alloc, require_run, summarize, write

FORKER = """
    import os, sys, time

    def burn(seconds):
        end = time.process_time() + seconds
        x = 0
        while time.process_time() < end:
            x += 1
        return x

    n = int(sys.argv[1])
    pids = []
    for i in range(n):
        pid = os.fork()
        if pid == 0:
            burn(0.02)
            keep = [bytearray(100) for _ in range(200)]
            os.write(1, f"child {i} done\\n".encode())   # one write: children share the pipe
            sys.exit(0)                 # a normal interpreter exit, atexit included
        pids.append(pid)
        burn(0.002)
    bad = []
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            bad.append(status)
    print("parent done", len(pids), "bad", bad, flush=True)
    sys.exit(1 if bad else 0)
"""


def forks(tmp_path, n, **kw):
    script = write(tmp_path, "forker.py", FORKER)
    proc, out = profile_run(tmp_path, script, n, timeout=600, **kw)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert f"parent done {n} bad []" in proc.stdout
    finished = set(re.findall(r"child (\d+) done", proc.stdout))
    assert len(finished) == n, f"children that did not finish: {sorted(set(map(str, range(n))) - finished)}"
    assert summarize(out)["samples"] > 0
    # Whatever else the children left next to the output must be readable too.
    for extra in sorted(tmp_path.iterdir()):
        if extra != out and extra.name.startswith(out.name):
            summarize(extra)


def test_20_forks_under_sampling(tmp_path):
    require_run()
    forks(tmp_path, 20, rate=10000)


def test_20_forks_under_tracking(tmp_path):
    require_alloc()
    forks(tmp_path, 20, alloc=True)


@pytest.mark.heavy
@pytest.mark.parametrize("mode", ["cpu", "wall"])
def test_100_forks_under_sampling(tmp_path, mode):
    require_run()
    forks(tmp_path, 100, mode=mode, rate=10000)


@pytest.mark.heavy
def test_100_forks_under_tracking(tmp_path):
    require_alloc()
    forks(tmp_path, 100, alloc=True)

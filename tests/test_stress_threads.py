"""Thread churn: hundreds of threads started and stopped while sampling at
10 kHz, and while tracking allocations. The program must finish with its own
result, and the file must be readable."""
import pytest

from stress_util import profile_run, require_alloc, require_run, summarize, write

CHURN = """
    import sys, threading
    rounds, n = int(sys.argv[1]), int(sys.argv[2])

    def work(i, out):
        s = 0
        for k in range(3000):
            s += k * i
        out[i] = [s] * 10          # allocations too, for the tracker

    for r in range(rounds):
        out = [None] * n
        threads = [threading.Thread(target=work, args=(i, out), name=f"churn-{r}-{i}") for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(v is not None for v in out)
    print("threads ok", rounds * n)
"""


def churn(tmp_path, rounds, **kw):
    script = write(tmp_path, "churn.py", CHURN)
    proc, out = profile_run(tmp_path, script, rounds, 200, timeout=600, **kw)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"threads ok {rounds * 200}" in proc.stdout
    s = summarize(out)
    assert s["samples"] > 0
    return s


@pytest.mark.parametrize("mode", ["cpu", "wall"])
def test_200_threads_under_10khz_sampling(tmp_path, mode):
    require_run()
    s = churn(tmp_path, 3, mode=mode, rate=10000)
    assert len(s["threads"]) > 1, "samples from the churned threads are missing"


def test_200_threads_under_allocation_tracking(tmp_path):
    require_alloc()
    s = churn(tmp_path, 3, alloc=True)
    assert s["unit"] == "bytes"


@pytest.mark.heavy
@pytest.mark.parametrize("mode", ["cpu", "wall"])
def test_200_threads_many_rounds_under_10khz_sampling(tmp_path, mode):
    require_run()
    churn(tmp_path, 25, mode=mode, rate=10000)


@pytest.mark.heavy
def test_200_threads_many_rounds_under_allocation_tracking(tmp_path):
    require_alloc()
    churn(tmp_path, 25, alloc=True)

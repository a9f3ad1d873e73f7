"""asyncio with 10,000 tasks under sampling (CPU and wall) and under allocation
tracking: same output as without the profiler, and a readable profile."""
import pytest

from stress_util import plain_run, profile_run, require_alloc, require_run, summarize, write

TASKS = """
    import asyncio

    async def task(i):
        await asyncio.sleep(0)
        s = sum(range(i % 200))
        await asyncio.sleep(0.001 * (i % 3))
        return s

    async def main():
        results = await asyncio.gather(*(task(i) for i in range(10000)))
        print("tasks", len(results), sum(results))

    asyncio.run(main())
"""


@pytest.mark.parametrize("mode", ["cpu", "wall"])
def test_asyncio_10000_tasks(tmp_path, mode):
    require_run()
    script = write(tmp_path, "tasks.py", TASKS)
    expected = plain_run(tmp_path, script)
    assert expected.returncode == 0
    proc, out = profile_run(tmp_path, script, mode=mode, rate=1000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == expected.stdout
    assert summarize(out)["samples"] > 0


def test_asyncio_10000_tasks_under_tracking(tmp_path):
    require_alloc()
    script = write(tmp_path, "tasks.py", TASKS)
    expected = plain_run(tmp_path, script)
    proc, out = profile_run(tmp_path, script, alloc=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == expected.stdout
    assert summarize(out)["total_weight"] > 0

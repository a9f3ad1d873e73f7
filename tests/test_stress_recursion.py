"""Recursion 5,000 deep under sampling: the program finishes, the profile is
readable, and the deep stacks are either kept whole or visibly marked as
truncated (a silently cut stack would credit the wrong root)."""
import pytest

from stress_util import profile_run, require_alloc, require_run, summarize, write

RECURSE = """
    import sys, time
    sys.setrecursionlimit(20000)

    def rec(n):
        if n == 0:
            end = time.process_time() + 0.5
            keep = []
            while time.process_time() < end:
                keep.append(bytearray(64))
                if len(keep) > 1000:
                    keep.clear()
            return 0
        return rec(n - 1) + 1

    print("depth", rec(5000))
"""


@pytest.mark.parametrize("mode", ["cpu", "wall"])
def test_recursion_5000_deep(tmp_path, mode):
    require_run()
    script = write(tmp_path, "rec.py", RECURSE)
    proc, out = profile_run(tmp_path, script, mode=mode, rate=1000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "depth 5000" in proc.stdout
    s = summarize(out)
    assert s["samples"] > 0
    names = {f[0] for f in s["functions"]}
    assert "rec" in names
    truncated = any("trunc" in n.lower() for n in names)
    assert s["max_depth"] >= 5000 or truncated, \
        f"deepest stack has {s['max_depth']} frames and no truncation marker"


def test_recursion_5000_deep_under_tracking(tmp_path):
    require_alloc()
    script = write(tmp_path, "rec.py", RECURSE)
    proc, out = profile_run(tmp_path, script, alloc=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "depth 5000" in proc.stdout
    assert summarize(out)["total_weight"] > 0

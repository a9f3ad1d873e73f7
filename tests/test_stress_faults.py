"""Faults around the profiled process: kill -9 mid-run, and a full disk
(a file-size limit, as `ulimit -f` sets). What was flushed before the fault
stays readable; the program keeps running through a full disk and pyrometer
stops recording with one warning."""
import os
import resource
import signal
import subprocess
import sys
import time

import pytest

from conftest import cli_env
from stress_util import require_alloc, require_run, summarize, write

FOREVER = """
    import time
    print("started", flush=True)
    keep = []
    while True:
        keep.append(bytearray(256))
        if len(keep) > 2000:
            keep = keep[1000:]
        sum(range(1000))
"""


def start(tmp_path, alloc, mode=None):
    script = write(tmp_path, "forever.py", FOREVER)
    out = tmp_path / ("out.cap" if alloc else "out.prof")
    cmd = [sys.executable, "-m", "pyrometer", "run", "-o", str(out)]
    cmd += ["--alloc"] if alloc else ["-r", "1000"] + (["--mode", mode] if mode else [])
    proc = subprocess.Popen(cmd + [str(script)], cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, out


def wait_for_flushed_data(proc, out, min_bytes=2048, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the program ended early ({proc.returncode}): {proc.stderr.read()[-2000:]}")
        if out.exists() and out.stat().st_size >= min_bytes:
            return out.stat().st_size
        time.sleep(0.1)
    raise AssertionError(f"nothing flushed to {out.name} after {timeout}s "
                         f"({out.stat().st_size if out.exists() else 'no'} bytes): a kill would lose everything")


@pytest.mark.parametrize("alloc", [False, True], ids=["profile", "capture"])
def test_kill_9_mid_run_leaves_a_readable_file(tmp_path, alloc):
    require_alloc() if alloc else require_run()
    proc, out = start(tmp_path, alloc)
    try:
        wait_for_flushed_data(proc, out)
        time.sleep(1.0)  # let a few more flushes happen, so the kill lands mid-stream
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    s = summarize(out)
    assert s["total_weight"] > 0, "nothing readable before the kill"


BOUNDED = """
    import sys, time
    end = time.process_time() + float(sys.argv[1])
    keep, x = [], 0
    while time.process_time() < end:
        keep.append(bytearray(512))
        if len(keep) > 5000:
            keep = keep[2500:]
        x += 1
    print("program finished", flush=True)
"""

LIMIT = 64 * 1024


def limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


@pytest.mark.parametrize("alloc", [False, True], ids=["profile", "capture"])
def test_full_disk_program_keeps_running(tmp_path, alloc):
    require_alloc() if alloc else require_run()
    script = write(tmp_path, "bounded.py", BOUNDED)
    out = tmp_path / ("out.cap" if alloc else "out.prof")
    cmd = [sys.executable, "-m", "pyrometer", "run", "-o", str(out)]
    cmd += ["--alloc"] if alloc else ["-r", "10000"]
    proc = subprocess.run(cmd + [str(script), "3"], cwd=tmp_path, env=cli_env(), capture_output=True, text=True,
                          timeout=300, preexec_fn=limit_file_size)
    assert "program finished" in proc.stdout, f"the program did not run to its end: {proc.stderr[-2000:]}"
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.stat().st_size <= LIMIT
    assert out.stat().st_size >= LIMIT // 2, "the run was too short to fill the limit; the test proves nothing"
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert len(lines) == 1, f"expected exactly one warning, got {len(lines)} lines:\n" + "\n".join(lines[:20])
    s = summarize(out)
    assert s["total_weight"] > 0, "what was written before the disk filled up is not readable"

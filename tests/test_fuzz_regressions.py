"""Replays every input the fuzzers ever found (tests/fuzz/regressions/<target>/)
so each fix stays fixed.

Two ways: through the fuzz target itself, rebuilt without libFuzzer but with
ASan+UBSan (tests/fuzz/Makefile `replay`), which also re-checks the target's
invariants; and through the CLI a user would run on such a file, which must
answer with one line and exit status 0 or 2, never a crash or a traceback."""
import os
import sys
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

FUZZ = ROOT / "tests" / "fuzz"
REGRESSIONS = FUZZ / "regressions"


def regression_inputs():
    return sorted(p for p in REGRESSIONS.glob("*/*") if p.is_file())


def clean_env():
    # The replay binaries carry their own (clang) sanitizer runtime; a
    # preloaded one from scripts/test-sanitized would clash with it.
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    return env


@pytest.fixture(scope="module")
def replay_targets():
    proc = subprocess.run(["make", "-s", "-C", str(FUZZ), "replay"], capture_output=True, text=True,
                          env=clean_env(), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = subprocess.run(["make", "-s", "-C", str(FUZZ), "list"], capture_output=True, text=True,
                            check=True).stdout.split()
    return listed


def test_every_regression_directory_is_a_target(replay_targets):
    for d in REGRESSIONS.iterdir():
        if d.is_dir() and any(d.iterdir()):
            assert d.name in replay_targets, f"regressions/{d.name} has no fuzz target to replay it"


@pytest.mark.parametrize("path", regression_inputs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_target_replays_cleanly(replay_targets, path):
    binary = FUZZ / "build" / f"replay_{path.parent.name}"
    proc = subprocess.run([str(binary), str(path)], capture_output=True, text=True, env=clean_env(),
                          timeout=120)
    assert proc.returncode == 0, f"{path.name}:\n{proc.stderr[-3000:]}"
    assert "runtime error" not in proc.stderr and "Sanitizer" not in proc.stderr, proc.stderr[-3000:]


@pytest.mark.parametrize("path", [p for p in regression_inputs() if p.parent.name.endswith("_read")],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_cli_answers_in_one_line(path):
    proc = run_cli("show", path, "tree")
    assert proc.returncode in (0, 2), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    if proc.returncode == 2:
        assert proc.stderr.count("\n") == 1 and str(path) in proc.stderr, proc.stderr


@pytest.mark.parametrize("path", [p for p in regression_inputs() if p.parent.name.endswith("_read")],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_loader_reads_or_raises_usage_error(path):
    code = ("import sys\nfrom pyrometer.loader import load\nfrom pyrometer.errors import UsageError\n"
            "try:\n    load(sys.argv[1])\nexcept UsageError as e:\n    print('usage-error', e)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]

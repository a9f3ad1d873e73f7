"""Shared test helpers: run the CLI as a user would, and find third-party tools.

Under CI=true a missing third-party tool is a failure, never a skip."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
DATA = Path(__file__).resolve().parent / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def cli_env(extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONSTARTUP", None)
    if extra:
        env.update(extra)
    return env


def run_cli(*args, cwd=None, timeout=120, input=None, env=None, check=False):
    """Runs `python -m pyrometer ARGS` in a subprocess and returns the CompletedProcess."""
    proc = subprocess.run(
        [sys.executable, "-m", "pyrometer", *map(str, args)],
        cwd=cwd, env=cli_env(env), capture_output=True, text=True, timeout=timeout, input=input,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"pyrometer {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def require_tool(name, path=None):
    """The path of a third-party tool; skips locally when missing, fails in CI."""
    found = path if path and os.path.exists(path) else shutil.which(name)
    if found:
        return found
    if IN_CI:
        pytest.fail(f"required tool {name!r} is not installed (CI=true: scripts/setup must install it)")
    pytest.skip(f"{name} not installed; run scripts/setup")


def require_module(name):
    """Imports a third-party Python module; skips locally when missing, fails in CI."""
    try:
        return __import__(name)
    except ImportError:
        if IN_CI:
            pytest.fail(f"required Python module {name!r} is not installed (CI=true)")
        pytest.skip(f"{name} not installed; run scripts/setup")


@pytest.fixture
def cli():
    return run_cli

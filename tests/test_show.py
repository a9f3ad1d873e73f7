"""`pyrometer show`: tree, flat and lines views of any profile."""
import os
import pty
import subprocess
import sys
import textwrap

import pytest

from conftest import DATA, cli_env, run_cli

PROGRAM = """
import threading, time
def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        x = sum(range(300))
def heavy(): spin(0.3)
def light(): spin(0.1)
def main():
    heavy()
    light()
t = threading.Thread(target=light, name="bg")
t.start(); main(); t.join()
"""


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("show")
    script = tmp / "prog.py"
    script.write_text(textwrap.dedent(PROGRAM))
    out = tmp / "prog.prof"
    proc = run_cli("run", "-q", "--lines", "-o", out, script)
    assert proc.returncode == 0, proc.stderr
    return out


def test_tree_view(profile):
    proc = run_cli("show", profile, "tree")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "samples (cpu, period 1000 µs" in lines[0] and "0 dropped" in lines[0] and "2 threads" in lines[0]
    assert lines[1].startswith("threads: ") and "MainThread" in lines[1] and "bg" in lines[1]
    body = lines[2:]
    module = next(i for i, line in enumerate(body) if line.split()[1] == "<module>")
    assert body[module].split()[2].endswith("prog.py:1")
    heavy = next(line for line in body if " heavy " in line)
    light = next(line for line in body if "  light " in line and "prog.py:8" in line)
    # children are indented under their parents, heaviest first
    assert body.index(heavy) < body.index(light)
    assert 50 < float(heavy.split("%")[0]) < 90
    assert "\033[" not in proc.stdout  # no colour when not a terminal


def test_prune_options(profile):
    full = run_cli("show", profile).stdout.splitlines()
    pruned = run_cli("show", profile, "--prune-percent", "30").stdout.splitlines()
    assert len(pruned) < len(full)
    for line in pruned[2:]:
        assert float(line.split("%")[0]) >= 30.0
    shallow = run_cli("show", profile, "--prune-level", "2").stdout.splitlines()[2:]
    indents = {len(line.split("%", 1)[1]) - len(line.split("%", 1)[1].lstrip()) for line in shallow}
    assert len(indents) == 2


def test_flat_view(profile):
    proc = run_cli("show", profile, "flat")
    rows = proc.stdout.splitlines()[3:]
    spin = next(r for r in rows if r.split()[3] == "spin")
    assert float(spin.split("%")[0]) > 90  # spin holds nearly all self time
    module = next(r for r in rows if r.split()[3] == "<module>")
    assert float(module.split()[1].rstrip("%")) > 50
    totals = [float(r.split()[1].rstrip("%")) for r in rows]
    assert max(totals) <= 100.0


def test_lines_view_shows_source(profile):
    proc = run_cli("show", profile, "lines")
    assert proc.returncode == 0, proc.stderr
    assert "spin" in proc.stdout and "x = sum(range(300))" in proc.stdout


def test_lines_view_without_line_data(tmp_path):
    proc = run_cli("show", DATA / "vmprof" / "cpython311_vmprof0418_cpu.prof", "lines")
    assert proc.returncode == 2 and "no per-line data" in proc.stderr


def test_thread_filter(profile):
    import pyrometer
    stats = pyrometer.read_profile(profile)
    bg = next(t for t in stats.threads if t.name == "bg")
    proc = run_cli("show", profile, "--thread", bg.id)
    assert proc.returncode == 0
    assert " heavy " not in proc.stdout and "light" in proc.stdout
    bad = run_cli("show", profile, "--thread", "12345678")
    assert bad.returncode == 2 and "no thread 12345678" in bad.stderr


def test_colour_only_on_a_terminal(profile):
    controller, terminal = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "pyrometer", "show", str(profile)], stdout=terminal,
                          stderr=subprocess.PIPE, env=cli_env(), timeout=60)
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert proc.returncode == 0
    assert b"\x1b[" in output
    proc = subprocess.run([sys.executable, "-m", "pyrometer", "show", str(profile), "--no-color"],
                          stdout=subprocess.PIPE, env=cli_env(), timeout=60)
    assert b"\x1b[" not in proc.stdout


def test_shows_vmprof_and_pypy_profiles():
    for name in ("cpython311_vmprof0418_real_time.prof", "pypy39_cli_cpu.prof", "ffconv_multithread_example.prof.gz"):
        proc = run_cli("show", DATA / "vmprof" / name, "flat")
        assert proc.returncode == 0, proc.stderr
        assert "%" in proc.stdout


@pytest.mark.parametrize("args, message", [
    (["--prune-percent", "150"], "--prune-percent must be between 0 and 100"),
    (["--prune-level", "0"], "--prune-level must be at least 1"),
    (["sideways"], "invalid choice"),
])
def test_bad_options(profile, args, message):
    proc = run_cli("show", profile, *args)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_names_with_terminal_controls_are_escaped(tmp_path):
    script = tmp_path / "evil.py"
    script.write_text(textwrap.dedent("""
        import time
        def f():
            end = time.thread_time() + 0.2
            while time.thread_time() < end:
                pass
        f.__code__ = f.__code__.replace(co_name="evil\\x1b]0;pwned\\x07\\x1b[2J\\x00")
        f()
    """))
    out = tmp_path / "evil.prof"
    assert run_cli("run", "-q", "-o", out, script).returncode == 0
    for view in ("tree", "flat"):
        proc = run_cli("show", out, view)
        assert proc.returncode == 0
        assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout and "\x00" not in proc.stdout
        assert "evil\\x1b]0;pwned\\x07\\x1b[2J\\x00" in proc.stdout

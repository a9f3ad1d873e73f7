"""`pyrometer run`: the program sees what plain python gives it, and the profile is always written."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import cli_env, run_cli

import pyrometer


def write(tmp_path, name, source, prelude=""):
    path = tmp_path / name
    path.write_text(prelude + textwrap.dedent(source))
    return path


SPIN = """
import time
def spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        sum(range(200))
"""


def test_script_sees_argv_name_path_and_stdin(tmp_path):
    script = write(tmp_path, "prog.py", """
        import sys
        data = sys.stdin.read()
        print(__name__, sys.argv, sys.path[0], data.strip())
    """)
    out = tmp_path / "p.prof"
    proc = run_cli("run", "-q", "-o", out, script, "a", "--flag", cwd=tmp_path, input="hello\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"__main__ {[str(script), 'a', '--flag']} {tmp_path} hello"
    assert out.exists() and out.stat().st_size > 0


def test_module_form_sees_python_semantics(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "tool.py").write_text("import sys\nprint(__name__, sys.argv[1:], sys.path[0])\n")
    proc = run_cli("run", "-q", "-o", tmp_path / "m.prof", "-m", "pkg.tool", "x", "-v", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"__main__ ['x', '-v'] {tmp_path}"


def test_code_form_and_exit_status(tmp_path):
    proc = run_cli("run", "-q", "-o", tmp_path / "c.prof", "-c",
                   "import sys; print(__name__, sys.argv, repr(sys.path[0])); sys.exit(7)", "arg", cwd=tmp_path)
    assert proc.returncode == 7
    assert proc.stdout.strip() == "__main__ ['-c', 'arg'] ''"
    assert pyrometer.read_profile(tmp_path / "c.prof").getmeta("mode") == "cpu"


def test_sys_exit_with_message_and_none(tmp_path):
    proc = run_cli("run", "-q", "-o", tmp_path / "a.prof", "-c", "import sys; sys.exit('bye')", cwd=tmp_path)
    assert proc.returncode == 1 and "bye" in proc.stderr
    proc = run_cli("run", "-q", "-o", tmp_path / "b.prof", "-c", "import sys; sys.exit()", cwd=tmp_path)
    assert proc.returncode == 0


def test_uncaught_exception_prints_traceback_and_writes_profile(tmp_path):
    script = write(tmp_path, "boom.py", prelude=SPIN, source="""
        def fail():
            spin(0.2)
            raise ValueError("boom")
        fail()
    """)
    out = tmp_path / "boom.prof"
    proc = run_cli("run", "-o", out, script, cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback (most recent call last):" in proc.stderr
    assert 'raise ValueError("boom")' in proc.stderr and "ValueError: boom" in proc.stderr
    assert "pyrometer/" not in proc.stderr.split("Traceback")[1].split("ValueError")[0]
    stats = pyrometer.read_profile(out)
    assert stats.sample_count > 50
    assert stats.get_tree()["fail"]["spin"].count > 50


def test_sigint_still_writes_profile(tmp_path):
    script = write(tmp_path, "loop.py", prelude=SPIN, source="""
        import sys
        print("ready", flush=True)
        while True:
            spin(0.05)
    """)
    out = tmp_path / "int.prof"
    # A CI shell may start us with SIGINT ignored (background jobs are);
    # python keeps an ignored SIGINT ignored, so give the child the default.
    proc = subprocess.Popen([sys.executable, "-m", "pyrometer", "run", "-o", str(out), str(script)],
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGINT  # as python dies of an uncaught KeyboardInterrupt
    assert "KeyboardInterrupt" in err
    stats = pyrometer.read_profile(out)
    assert stats.warning == ""
    assert stats.get_tree()["spin"].count > 20


def test_default_output_name_and_summary(tmp_path):
    script = write(tmp_path, "work.py", "spin(0.3)\n", prelude=SPIN)
    proc = run_cli("run", script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    produced = list(tmp_path.glob("work.*.prof"))
    assert len(produced) == 1
    pid = produced[0].name.split(".")[1]
    assert pid.isdigit()
    assert f"written to {produced[0].name}" in proc.stderr
    # the top-functions summary, as vmprof prints it
    assert "self%" in proc.stderr and "total%" in proc.stderr
    summary = [line for line in proc.stderr.splitlines() if line.rstrip().endswith("work.py:3")]
    assert summary and float(summary[0].split("%")[1]) > 90.0


def test_quiet_and_output_print_nothing(tmp_path):
    script = write(tmp_path, "q.py", "print('only this')\n")
    proc = run_cli("run", "-q", "-o", tmp_path / "q.prof", script)
    assert proc.returncode == 0 and proc.stdout == "only this\n" and proc.stderr == ""


@pytest.mark.parametrize("args, expected_period_us", [
    (["-p", "0.002"], 2000), (["-r", "250"], 4000), (["--rate=5000"], 200), ([], 1000),
])
def test_period_and_rate_options(tmp_path, args, expected_period_us):
    out = tmp_path / "r.prof"
    proc = run_cli("run", "-q", "-o", out, *args, "-c", "pass")
    assert proc.returncode == 0, proc.stderr
    stats = pyrometer.read_profile(out)
    assert stats.profile.period_us == expected_period_us


def test_config_file_and_command_line_wins(tmp_path):
    cfg = tmp_path / "p.ini"
    cfg.write_text("[global]\nperiod = 0.005\nmode = wall\nlines = true\n")
    out = tmp_path / "cfg.prof"
    assert run_cli("run", "-q", "--config", cfg, "-o", out, "-c", "pass").returncode == 0
    stats = pyrometer.read_profile(out)
    assert stats.profile.period_us == 5000 and stats.getmeta("mode") == "wall" and stats.profile.mode & 2
    assert run_cli("run", "-q", "--config", cfg, "-p", "0.001", "--mode", "cpu", "-o", out, "-c", "pass").returncode == 0
    stats = pyrometer.read_profile(out)
    assert stats.profile.period_us == 1000 and stats.getmeta("mode") == "cpu"


@pytest.mark.parametrize("args, message", [
    (["run"], "no program to run"),
    (["run", "missing.py"], "cannot run 'missing.py': no such file"),
    (["run", "-m", "no_such_module_xyz"], "no module named 'no_such_module_xyz'"),
    (["run", "-r", "0", "-c", "pass"], "--rate must be positive"),
    (["run", "-p", "-1", "-c", "pass"], "--period must be positive"),
    (["run", "-p", "x", "-c", "pass"], "invalid float value"),
    (["run", "--mode", "gpu", "-c", "pass"], "invalid choice"),
    (["run", "--config", "nope.ini", "-c", "pass"], "nope.ini: no such config file"),
    (["run", "-o", "/nonexistent-dir/x.prof", "-c", "pass"], "cannot write the profile"),
    (["run", "--native", "-c", "pass"], "--native applies to allocation tracking"),
    (["nosuchcommand"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyrometer: error:") and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_config_values(tmp_path):
    cfg = tmp_path / "bad.ini"
    cfg.write_text("[global]\nperiod = fast\n")
    proc = run_cli("run", "--config", cfg, "-c", "pass")
    assert proc.returncode == 2 and "option 'period' must be a number" in proc.stderr
    cfg.write_text("[other]\n")
    proc = run_cli("run", "--config", cfg, "-c", "pass")
    assert proc.returncode == 2 and "no [global] section" in proc.stderr


def test_fork_child_is_unprofiled_and_parent_file_intact(tmp_path):
    script = write(tmp_path, "forker.py", prelude=SPIN, source="""
        import os
        for i in range(5):
            pid = os.fork()
            if pid == 0:
                spin(0.05)
                if i % 2:
                    os._exit(0)
                break  # even children fall off the end of the script, like a careless program
            else:
                os.waitpid(pid, 0)
                spin(0.05)
        print("done", os.getpid())
    """)
    out = tmp_path / "fork.prof"
    proc = run_cli("run", "-o", out, script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    parent_lines = [line for line in proc.stdout.splitlines() if line.startswith("done")]
    assert len(parent_lines) == 4  # the parent and the three children that returned
    assert proc.stderr.count("written to") == 1  # only the parent reports, and writes
    stats = pyrometer.read_profile(out)
    assert stats.warning == ""
    assert stats.getmeta("pid") == str(stats.getmeta("pid"))
    assert stats.get_tree()["spin"].count > 100


def test_python_dash_m_and_console_entry_are_the_same_cli(tmp_path):
    proc = run_cli("--help")
    assert proc.returncode == 0 and "run" in proc.stdout and "show" in proc.stdout

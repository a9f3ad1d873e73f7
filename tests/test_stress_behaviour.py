"""The profiled program behaves exactly as without the profiler.

- Wall mode never surfaces EINTR: blocking calls in Python (sleep, select,
  socket, subprocess wait, Event.wait, os.read) and in C code that does not
  retry (libc nanosleep/select/poll/read through ctypes, as a C extension
  would call them) return as they do without pyrometer, in the main thread
  and in other threads, while another thread burns CPU.
- Exit status, death by signal, stdout, stderr, stdin and sys.argv are the
  same as under plain `python` (pyrometer may add its own lines, which start
  with "pyrometer", on stderr)."""
import json
import sys

import pytest

from stress_util import plain_run, profile_run, require_run, summarize, write

BLOCKING = """
    import ctypes, json, os, select, socket, subprocess, sys, threading, time

    libc = ctypes.CDLL(None, use_errno=True)

    class timespec(ctypes.Structure):
        _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

    class timeval(ctypes.Structure):
        _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]

    D = 0.3
    problems = []

    def later(fn):
        t = threading.Timer(D, fn)
        t.start()
        return t

    def check(label, fn, c_level=False):
        start = time.monotonic()
        try:
            ok = fn()
        except Exception as exc:  # InterruptedError is what we look for
            problems.append(f"{label}: {type(exc).__name__}: {exc}")
            return
        if ok is not True:
            problems.append(f"{label}: {ok}")
        elif time.monotonic() - start < D * 0.9:
            problems.append(f"{label}: returned early after {time.monotonic() - start:.3f}s")

    def py_read():
        r, w = os.pipe()
        later(lambda: os.write(w, b"x"))
        return os.read(r, 1) == b"x" or "wrong data"

    def py_socket():
        a, b = socket.socketpair()
        later(lambda: b.send(b"x"))
        return a.recv(1) == b"x" or "wrong data"

    def py_event():
        ev = threading.Event()
        later(ev.set)
        return ev.wait() is True or "wait() returned False"

    def c_nanosleep():
        ts = timespec(0, int(D * 1e9))
        rc = libc.nanosleep(ctypes.byref(ts), None)
        return rc == 0 or f"nanosleep -> {rc}, errno {os.strerror(ctypes.get_errno())}"

    def c_select():
        tv = timeval(0, int(D * 1e6))
        rc = libc.select(0, None, None, None, ctypes.byref(tv))
        return rc == 0 or f"select -> {rc}, errno {os.strerror(ctypes.get_errno())}"

    def c_poll():
        rc = libc.poll(None, 0, int(D * 1000))
        return rc == 0 or f"poll -> {rc}, errno {os.strerror(ctypes.get_errno())}"

    def c_read():
        r, w = os.pipe()
        later(lambda: os.write(w, b"x"))
        buf = ctypes.create_string_buffer(1)
        rc = libc.read(r, buf, 1)
        return rc == 1 or f"read -> {rc}, errno {os.strerror(ctypes.get_errno())}"

    def suite(tag, c_level):
        check(f"{tag} time.sleep", lambda: time.sleep(D) is None)
        check(f"{tag} select.select", lambda: select.select([], [], [], D) == ([], [], []) or "not empty")
        check(f"{tag} os.read", py_read)
        check(f"{tag} socket.recv", py_socket)
        check(f"{tag} subprocess wait", lambda: subprocess.run(["sleep", str(D)]).returncode == 0 or "status")
        check(f"{tag} Event.wait(timeout)", lambda: threading.Event().wait(D) is False or "True")
        check(f"{tag} Event.wait()", py_event)
        if c_level:
            for fn in (c_nanosleep, c_select, c_poll, c_read):
                check(f"{tag} libc {fn.__name__[2:]}", fn)

    c_level = sys.argv[1] == "c"
    stop = False

    def burner():
        x = 0
        while not stop:
            x += 1

    b = threading.Thread(target=burner)
    b.start()
    w = threading.Thread(target=suite, args=("thread", c_level))
    w.start()
    suite("main", c_level)
    w.join()
    stop = True
    b.join()
    print(json.dumps(problems))
"""


# "c" makes the blocking calls through ctypes (raw libc, no PEP 475 retry):
# any signal the profiler sent would surface there as EINTR.
@pytest.mark.parametrize("mode,level", [("wall", "c"), ("wall", "py"), ("cpu", "c"), ("cpu", "py")])
def test_blocking_calls_never_see_eintr(tmp_path, mode, level):
    require_run()
    script = write(tmp_path, "blocking.py", BLOCKING)
    baseline = plain_run(tmp_path, script, level)
    assert baseline.returncode == 0 and json.loads(baseline.stdout) == [], baseline.stdout + baseline.stderr
    proc, out = profile_run(tmp_path, script, level, mode=mode, rate=10000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    problems = json.loads(proc.stdout.strip().splitlines()[-1])
    assert problems == [], f"{mode} mode changed blocking calls:\n" + "\n".join(problems)
    assert summarize(out)["samples"] > 0


BEHAVE = """
    import os, signal, sys
    what = sys.argv[1]
    print("stdout line", sys.argv[1:], __name__, flush=True)
    print("stderr line", file=sys.stderr, flush=True)
    if what == "exit7":
        sys.exit(7)
    if what == "exit_message":
        sys.exit("fatal: bad things")
    if what == "raise":
        raise ValueError("boom")
    if what == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
    if what == "sigint":
        os.kill(os.getpid(), signal.SIGINT)
    if what == "keyboard_interrupt":
        raise KeyboardInterrupt
    if what == "os_exit":
        os._exit(3)
    if what == "stdin":
        print(sys.stdin.read().upper())
    if what == "argv":
        print(sys.argv, sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
    print("end of script")
"""


def program_stderr(text):
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith("pyrometer"))


def same_behaviour(tmp_path, target, args, mode, stdin=None):
    import subprocess
    from conftest import cli_env
    run = lambda cmd: subprocess.run(cmd, cwd=tmp_path, env=cli_env(), capture_output=True, text=True,
                                     input=stdin, timeout=120)
    plain = run([sys.executable, *target, *args])
    prof = run([sys.executable, "-m", "pyrometer", "run", "--mode", mode, "-o", str(tmp_path / "b.prof"),
                *target, *args])
    assert (prof.returncode, prof.stdout) == (plain.returncode, plain.stdout), \
        f"exit/stdout differ:\nplain {plain.returncode} {plain.stdout!r}\npyrometer {prof.returncode} " \
        f"{prof.stdout!r}\n{prof.stderr[-1500:]}"
    assert program_stderr(prof.stderr) == program_stderr(plain.stderr), \
        f"stderr differs:\nplain:\n{plain.stderr}\npyrometer:\n{prof.stderr}"


@pytest.mark.parametrize("mode", ["cpu", "wall"])
@pytest.mark.parametrize("what", ["normal", "exit7", "exit_message", "raise", "sigterm", "sigint",
                                  "keyboard_interrupt", "os_exit", "argv"])
def test_script_behaviour_unchanged(tmp_path, mode, what):
    require_run()
    script = write(tmp_path, "behave.py", BEHAVE)
    same_behaviour(tmp_path, [str(script)], [what, "extra arg"], mode)


def test_stdin_passes_through(tmp_path):
    require_run()
    script = write(tmp_path, "behave.py", BEHAVE)
    same_behaviour(tmp_path, [str(script)], ["stdin"], "cpu", stdin="hello\nworld\n")


@pytest.mark.parametrize("what", ["exit7", "raise", "argv"])
def test_dash_c_behaviour_unchanged(tmp_path, what):
    require_run()
    code = write(tmp_path, "behave.py", BEHAVE).read_text().replace("__file__", "'.'")
    same_behaviour(tmp_path, ["-c", code], [what, "x"], "cpu")


@pytest.mark.parametrize("what", ["exit7", "raise", "argv"])
def test_dash_m_behaviour_unchanged(tmp_path, what):
    require_run()
    write(tmp_path, "behavemod.py", BEHAVE)
    same_behaviour(tmp_path, ["-m", "behavemod"], [what, "x"], "cpu")

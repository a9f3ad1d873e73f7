"""Shared machinery: the run context, child-process runs, profiler configurations."""
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(BENCH_DIR)
WORKLOAD = os.path.join(HERE, "workload.py")
PROGRAMS = os.path.join(BENCH_DIR, "programs")


def program_path(name):
    return os.path.join(PROGRAMS, name + ".py")


@dataclass
class Context:
    """Everything a table needs to run children and find tools."""
    python: str                 # interpreter with the peers (and pyrometer) installed
    workdir: str                # scratch directory for results and profiles
    quick: bool = True
    self_test: bool = False
    env: dict = field(default_factory=dict)   # extra environment for children
    log: object = sys.stderr
    pyrometer_reason: str = ""  # why pyrometer cannot be used at all ("" = usable)
    _help_cache: dict = field(default_factory=dict)
    expected: dict = field(default_factory=dict)   # program -> unprofiled seconds per run
    _counter: int = 0

    def path(self, stem, ext):
        self._counter += 1
        return os.path.join(self.workdir, f"{self._counter:05d}-{stem}.{ext}")

    def say(self, msg):
        print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=self.log, flush=True)

    def child_env(self, extra=None):
        env = dict(os.environ)
        env.update(self.env)
        env.update(extra or {})
        env.pop("PYTHONSTARTUP", None)
        return env

    def tool(self, name):
        """Path of a console script next to self.python, or None."""
        candidate = os.path.join(os.path.dirname(self.python), name)
        return candidate if os.path.exists(candidate) else None

    def pyrometer_cmd(self):
        return [self.python, "-m", "pyrometer"]

    def help_text(self, argv):
        """`argv --help` output (cached); '' when the command fails."""
        key = tuple(argv)
        if key not in self._help_cache:
            try:
                proc = subprocess.run(list(argv) + ["--help"], capture_output=True, text=True,
                                      timeout=60, env=self.child_env())
                self._help_cache[key] = proc.stdout if proc.returncode == 0 else ""
            except (OSError, subprocess.TimeoutExpired):
                self._help_cache[key] = ""
        return self._help_cache[key]

    def pyrometer_missing(self, subcommand, flags=()):
        """Reason string when `pyrometer SUBCOMMAND` or one of FLAGS is unavailable, else ''."""
        if self.pyrometer_reason:
            return self.pyrometer_reason
        text = self.help_text(self.pyrometer_cmd() + [subcommand])
        if not text:
            return f"no `pyrometer {subcommand}`"
        for flag in flags:
            if flag not in text:
                return f"no `pyrometer {subcommand} {flag}`"
        return ""


@dataclass
class Outcome:
    ok: bool
    reason: str = ""
    result: dict = None        # the workload's JSON result
    wall: float = 0.0          # child process wall time, seconds
    profile: str = None        # profile/capture path written by the profiler
    stderr: str = ""


def short_reason(text, limit=70):
    """Last meaningful line of a child's stderr, trimmed for a table cell."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    line = lines[-1] if lines else "failed"
    for prefix in ("pyrometer: error: ", "error: ", "Error: "):
        if line.startswith(prefix):
            line = line[len(prefix):]
    line = line.replace("|", "/")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def run_group(argv, timeout, env=None, cwd=None):
    """subprocess.run in a new process group, killing the whole group on timeout.

    A wrapper such as py-spy or memray would otherwise leave the profiled python
    running, still burning CPU, after it is killed.
    """
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=cwd, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except BaseException:  # timeout, or ^C: the group is in its own session and must go too
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def exit_reason(returncode, stderr):
    """'exit N: last stderr line', or the signal's name when the child was killed."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"crashed with {name}"
    return f"exit {returncode}: {short_reason(stderr)}"


def run_child(ctx, argv, timeout, env=None, result_path=None, profile=None):
    """Run one child; Outcome.ok only when it exited 0 and wrote its result."""
    t0 = time.perf_counter()
    try:
        proc = run_group(argv, timeout, env=ctx.child_env(env), cwd=ctx.workdir)
    except subprocess.TimeoutExpired:
        return Outcome(False, f"timed out after {timeout:.0f}s", wall=time.perf_counter() - t0)
    except OSError as exc:
        return Outcome(False, short_reason(str(exc)), wall=time.perf_counter() - t0)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return Outcome(False, exit_reason(proc.returncode, proc.stderr), wall=wall,
                       stderr=proc.stderr)
    result = None
    if result_path is not None:
        try:
            with open(result_path) as f:
                result = json.load(f)
        except (OSError, ValueError):
            return Outcome(False, "no result written: " + short_reason(proc.stderr), wall=wall,
                           stderr=proc.stderr)
    if profile is not None and not os.path.exists(profile):
        return Outcome(False, "no profile written: " + short_reason(proc.stderr), wall=wall,
                       stderr=proc.stderr)
    return Outcome(True, result=result, wall=wall, profile=profile, stderr=proc.stderr)


# --------------------------------------------------------------------------------------------
# Profiler configurations
# --------------------------------------------------------------------------------------------

@dataclass
class Config:
    """One way of running a workload: a wrapper command and/or an in-process profiler.

    kind says how to read what it wrote: none, pyrometer, vmprof, pyspy, pyinstrument,
    cprofile, pyrometer-alloc, memray.
    """
    name: str
    kind: str
    wrapper: object = None      # callable(ctx, out_path) -> argv prefix before `python workload.py`
    inproc: str = "none"
    ext: str = "prof"
    hz: float = 0.0
    requires: object = None     # callable(ctx) -> '' or reason it cannot run
    env: dict = None

    def unavailable(self, ctx):
        return self.requires(ctx) if self.requires else ""

    def argv(self, ctx, program, loops, result, out):
        base = [WORKLOAD, program, str(loops), result]
        if self.inproc != "none":
            base += ["--inproc", self.inproc, "--prof-out", out]
        if self.wrapper is None:
            return [ctx.python] + base
        return self.wrapper(ctx, out) + base


def _pyro_run(flags):
    def wrapper(ctx, out):
        return ctx.pyrometer_cmd() + ["run"] + flags + ["-o", out]
    return wrapper


def _pyro_requires(flags):
    def requires(ctx):
        return ctx.pyrometer_missing("run", [f for f in flags if f.startswith("--")])
    return requires


def _module_requires(module):
    def requires(ctx):
        probe = subprocess.run([ctx.python, "-c", f"import {module}"], capture_output=True,
                               text=True, env=ctx.child_env())
        return "" if probe.returncode == 0 else f"{module} not installed"
    return requires


def _pyspy(hz):
    def wrapper(ctx, out):
        return [ctx.tool("py-spy") or "py-spy", "record", "-r", str(hz), "-f", "raw", "-o", out,
                "--", ctx.python]
    return wrapper


def _pyspy_requires(ctx):
    return "" if ctx.tool("py-spy") else "py-spy not installed"


def _memray(flags):
    def wrapper(ctx, out):
        return [ctx.python, "-m", "memray", "run", "-q", "-f"] + flags + ["-o", out]
    return wrapper


def pyrometer_cpu(name, mode, hz):
    flags = ["--mode", mode, "-r", str(hz)]
    return Config(name, "pyrometer", _pyro_run(flags), hz=hz, requires=_pyro_requires(flags))


def pyrometer_alloc(name, flags):
    flags = ["--alloc"] + flags
    return Config(name, "pyrometer-alloc", _pyro_run(flags), ext="cap", requires=_pyro_requires(flags))


def memray(name, flags):
    return Config(name, "memray", _memray(flags), ext="bin", requires=_module_requires("memray"))


NONE = Config("none", "none")


def cpu_configs(self_test=False):
    """Table 1's configurations, in the order of the table's columns."""
    if self_test:
        return [NONE, pyrometer_cpu("pyrometer cpu 1k", "cpu", 1000),
                Config("cProfile", "cprofile", inproc="cprofile")]
    return [
        NONE,
        pyrometer_cpu("pyrometer cpu 100", "cpu", 100),
        pyrometer_cpu("pyrometer cpu 1k", "cpu", 1000),
        pyrometer_cpu("pyrometer cpu 10k", "cpu", 10000),
        pyrometer_cpu("pyrometer wall 1k", "wall", 1000),
        pyrometer_cpu("pyrometer wall 10k", "wall", 10000),
        Config("vmprof cpu 1k", "vmprof", inproc="vmprof-cpu:1000", hz=1000,
               requires=_module_requires("vmprof")),
        Config("vmprof real 1k", "vmprof", inproc="vmprof-real:1000", hz=1000,
               requires=_module_requires("vmprof")),
        Config("vmprof real 10k", "vmprof", inproc="vmprof-real:10000", hz=10000,
               requires=_module_requires("vmprof")),
        Config("py-spy 100", "pyspy", _pyspy(100), ext="txt", hz=100, requires=_pyspy_requires),
        Config("py-spy 1k", "pyspy", _pyspy(1000), ext="txt", hz=1000, requires=_pyspy_requires),
        Config("pyinstrument", "pyinstrument", inproc="pyinstrument", ext="json",
               requires=_module_requires("pyinstrument")),
        Config("cProfile", "cprofile", inproc="cprofile", ext="pstats"),
    ]


def alloc_configs():
    """Table 2's configurations: pyrometer --alloc modes and memray's matching ones."""
    return [
        NONE,
        pyrometer_alloc("pyrometer alloc", []),
        pyrometer_alloc("pyrometer alloc --native", ["--native"]),
        pyrometer_alloc("pyrometer alloc --trace-python-allocators", ["--trace-python-allocators"]),
        memray("memray", []),
        memray("memray --native", ["--native"]),
        memray("memray --trace-python-allocators", ["--trace-python-allocators"]),
    ]


def run_config(ctx, config, program, loops, timeout, env=None, stem=None):
    """Run PROGRAM under CONFIG once; Outcome with the workload's result and profile path."""
    reason = config.unavailable(ctx)
    if reason:
        return Outcome(False, reason)
    stem = stem or (os.path.basename(program).replace(".py", "").replace(":", "_") + "-"
                    + config.name.replace(" ", "_").replace("-", ""))
    result = ctx.path(stem, "json")
    out = ctx.path(stem, config.ext) if config.kind != "none" else None
    argv = config.argv(ctx, program, loops, result, out)
    merged = dict(config.env or {})
    merged.update(env or {})
    outcome = run_child(ctx, argv, timeout, env=merged, result_path=result, profile=out)
    if not outcome.ok and ctx.log and outcome.stderr:
        ctx.say(f"{config.name} on {program}: {outcome.reason}")
    return outcome


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def quote(argv):
    return " ".join(shlex.quote(a) for a in argv)

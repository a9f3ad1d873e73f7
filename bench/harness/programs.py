"""Load a benchmark program as a `work(loops)` callable, inside the measured process.

A program spec is either `pyperf:NAME` (a benchmark shipped in the pyperformance
package data, `bm_NAME/run_benchmark.py`) or a path to a file in bench/programs
that defines `work(loops)`.

pyperformance benchmarks register their work with `pyperf.Runner` under
`if __name__ == "__main__"` and normally run it in worker processes. We run the
file as __main__ with a stand-in Runner that only records what was registered,
then call the recorded functions directly, so every profiler sees the same
in-process work.
"""
import argparse
import importlib.util
import os
import runpy
import sys


class _RecordingRunner:
    """Stands in for pyperf.Runner: parses no command line, records benchmarks."""

    registered = []

    def __init__(self, *args, **kwargs):
        self.argparser = argparse.ArgumentParser(add_help=False)
        self.metadata = {}
        self.args = None

    def parse_args(self, args=None):
        self.args = self.argparser.parse_args([])
        return self.args

    def bench_func(self, name, func, *args, **kwargs):
        _RecordingRunner.registered.append(("func", name, func, args))

    def bench_time_func(self, name, func, *args, **kwargs):
        _RecordingRunner.registered.append(("time_func", name, func, args))

    def bench_async_func(self, name, func, *args, **kwargs):
        _RecordingRunner.registered.append(("async_func", name, func, args))

    def bench_command(self, name, command):
        raise RuntimeError("command benchmarks are not in-process work")


def pyperformance_dir():
    """Directory holding pyperformance's bm_* benchmark folders."""
    spec = importlib.util.find_spec("pyperformance")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyperformance is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], "data-files", "benchmarks")


def _load_pyperf(name):
    import pyperf

    path = os.path.join(pyperformance_dir(), "bm_" + name, "run_benchmark.py")
    if not os.path.exists(path):
        raise RuntimeError(f"no pyperformance benchmark {name!r}")
    real_runner = pyperf.Runner
    _RecordingRunner.registered = []
    pyperf.Runner = _RecordingRunner
    saved_argv = sys.argv
    sys.argv = [path]
    sys.path.insert(0, os.path.dirname(path))
    try:
        runpy.run_path(path, run_name="__main__")
    finally:
        pyperf.Runner = real_runner
        sys.argv = saved_argv
    registered = list(_RecordingRunner.registered)
    if not registered:
        raise RuntimeError(f"{name}: registered no benchmark")

    def work(loops):
        import asyncio
        for kind, _name, func, args in registered:
            if kind == "time_func":
                func(loops, *args)
            elif kind == "func":
                for _ in range(loops):
                    func(*args)
            else:
                for _ in range(loops):
                    asyncio.run(func(*args))
        return None

    return work


def _load_file(path):
    spec = importlib.util.spec_from_file_location("bench_program", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_program"] = module
    spec.loader.exec_module(module)
    return module.work


def load(spec):
    """Return work(loops) for a program spec (see module docstring)."""
    if spec.startswith("pyperf:"):
        return _load_pyperf(spec[len("pyperf:"):])
    return _load_file(spec)

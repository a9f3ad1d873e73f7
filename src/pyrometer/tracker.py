"""pyrometer.Tracker: record every allocation of this process into a capture file.

    with pyrometer.Tracker("out.alloc"):
        work()

The hooks are installed in-process (GOT patching plus a dlopen hook), so no
LD_PRELOAD or re-exec is needed. Only one tracker can be active per process;
starting a second raises RuntimeError. The capture is streamed by a background
thread and can be read up to its last flush even if the process is killed."""
import atexit
import os
import shlex
import sys
import warnings

from pyrometer import _native

__all__ = ["Tracker"]


class Tracker:
    """Tracks allocations into `path` between start() and stop() (or a with block).

    native: add C frames (libunwind) to each stack, merged with the Python ones.
    trace_python_allocators: also record pymalloc's own allocations (all three
        PyMem domains); otherwise only allocator calls below pymalloc are seen.
    follow_fork: forked children keep tracking into `path.<pid>`.
    aggregate: write only per-stack totals at the peak and at exit (a small file;
        events are spooled to a temporary file next to `path` during the run).
        Children followed with follow_fork write full captures (`path.<pid>`).
    rss_interval: seconds between RSS samples (and writer flushes).
    stop_code: a code object whose frame and its callers are left out of every
        stack (`pyrometer run` passes its launcher's).
    """

    def __init__(self, path, native=False, trace_python_allocators=False, follow_fork=False,
                 aggregate=False, rss_interval=0.01, stop_code=None):
        self.path = os.fspath(path)
        self.native = bool(native)
        self.trace_python_allocators = bool(trace_python_allocators)
        self.follow_fork = bool(follow_fork)
        self.aggregate = bool(aggregate)
        self.rss_interval = float(rss_interval)
        self.stop_code = stop_code
        self._active = False
        self._pid = None
        self._spool = None
        #: after stop(): None, or why the capture is incomplete (a write failed:
        #: full disk, file size limit; recording stopped there, the program ran on)
        self.write_error = None

    def start(self):
        if self._active:
            raise RuntimeError("this Tracker is already started")
        if _native.alloc_active():
            raise RuntimeError("an allocation tracker is already active in this process; "
                               "stop it before starting another")
        target = self.path
        if self.aggregate:
            self._spool = f"{self.path}.events.{os.getpid()}"
            target = self._spool
        command_line = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
        _native.alloc_start(target, native=self.native, trace_python_allocators=self.trace_python_allocators,
                            follow_fork=self.follow_fork, rss_interval=self.rss_interval,
                            command_line=command_line, stop_code=self.stop_code, fork_path=self.path)
        self._active = True
        self._pid = os.getpid()
        atexit.register(self._stop_at_exit)
        return self

    def stop(self):
        """Finishes the capture. A write failure during the run does not raise
        (the program's work is done): it is in `write_error` and a
        RuntimeWarning."""
        if not self._active:
            return
        self._active = False
        atexit.unregister(self._stop_at_exit)
        if os.getpid() != self._pid:
            # A forked child: its own capture (follow_fork) ends at its exit.
            _native.alloc_stop()
            return
        self.write_error = _native.alloc_stop()
        if self.write_error is not None:
            warnings.warn(self.write_error, RuntimeWarning, stacklevel=2)
            if self._spool is not None:
                os.unlink(self._spool)
                self._spool = None
            return
        if self._spool is not None:
            try:
                _native.capture_aggregate(self._spool, self.path)
            finally:
                os.unlink(self._spool)
                self._spool = None

    def _stop_at_exit(self):
        try:
            self.stop()
        except Exception:  # noqa: BLE001 - nothing to report to at interpreter exit
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

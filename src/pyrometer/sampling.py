"""The CPU sampler's Python API, with vmprof's names.

    pyrometer.enable(fileno, period=0.001, memory=False, lines=False, native=False, real_time=False)
    pyrometer.disable()
    pyrometer.is_enabled()
    pyrometer.start_sampling() / stop_sampling()   # pause and resume recording
    with pyrometer.Profiler("out.prof") as p: ...; p.stats

All per-sample work happens in the C core; this module validates arguments,
records thread names and hands over the file descriptor."""
import os
import sys
import tempfile
import threading

from pyrometer import _native

# Periods below this are beyond what the kernel timers deliver here.
MIN_PERIOD = 0.00002
MAX_PERIOD = 3600.0

# What the last completed run delivered (samples, dropped, delivered_hz, ...).
last_run = None

_original_set_native_id = None


def _start_naming_threads():
    """Records each thread's name when it starts, and the living ones now.

    Thread._set_native_id runs first thing in every new thread, so wrapping
    it names the thread (and arms its CPU timer) without leaving a frame of
    ours on the thread's stack."""
    global _original_set_native_id
    for thread in threading.enumerate():
        if thread.native_id is not None:
            _native.note_thread_name(thread.native_id, thread.name)
    if _original_set_native_id is None:
        _original_set_native_id = threading.Thread._set_native_id

        def _set_native_id(self):
            _original_set_native_id(self)
            try:
                _native.sampler_watch_current_thread()
                _native.note_thread_name(self.native_id, self.name)
            except Exception:  # noqa: BLE001 - naming must never break a thread
                pass

        threading.Thread._set_native_id = _set_native_id


def _stop_naming_threads():
    global _original_set_native_id
    for thread in threading.enumerate():  # names may have changed since start
        if thread.native_id is not None:
            _native.note_thread_name(thread.native_id, thread.name)
    if _original_set_native_id is not None:
        threading.Thread._set_native_id = _original_set_native_id
        _original_set_native_id = None


def enable(fileno, period=0.001, memory=False, lines=False, native=False, real_time=False, *, extra_meta=(),
           stop_code=None):
    """Starts sampling into the open, writable file descriptor `fileno`.

    period: seconds between samples (of process CPU time, or of wall time
    with real_time=True). Raises ValueError for a bad descriptor or period
    and RuntimeError if sampling is already on."""
    if not isinstance(fileno, int) or isinstance(fileno, bool):
        raise ValueError(f"fileno must be an int file descriptor, not {type(fileno).__name__}")
    try:
        os.fstat(fileno)
    except OSError:
        raise ValueError(f"bad file descriptor: {fileno}") from None
    try:
        period = float(period)
    except (TypeError, ValueError):
        raise ValueError(f"period must be a number of seconds, not {period!r}") from None
    if not period > 0:
        raise ValueError(f"period must be positive, got {period}")
    if period < MIN_PERIOD or period > MAX_PERIOD:
        raise ValueError(f"period {period} s is outside {MIN_PERIOD}..{MAX_PERIOD} s (rates up to 50 kHz)")
    if native:
        raise ValueError("native frames are not supported by pyrometer's CPU sampler yet (use native=False)")
    if _native.sampler_is_running():
        raise RuntimeError("pyrometer is already sampling; call pyrometer.disable() first")
    meta = [
        ("mode", "wall" if real_time else "cpu"),
        ("python_version", sys.version.split()[0]),
        ("argv", " ".join(sys.argv)),
        ("pid", str(os.getpid())),
        ("sampler", "pyrometer"),
    ]
    meta.extend(extra_meta)
    period_us = max(1, int(round(period * 1e6)))
    # The sample buffer's size; an environment knob for tests and for
    # programs with very many threads (default 16 MiB).
    ring_bytes = int(os.environ.get("PYROMETER_RING_BYTES", "0") or 0)
    _start_naming_threads()
    try:
        _native.sampler_start(fileno, period_us, bool(real_time), bool(lines), bool(memory), meta, stop_code,
                              ring_bytes)
    except RuntimeError as exc:
        _stop_naming_threads()
        raise RuntimeError(str(exc)) from None


def disable():
    """Stops sampling and finishes the file (the descriptor stays open).
    Returns a dict of what the run delivered."""
    global last_run
    if not _native.sampler_is_running():
        raise RuntimeError("pyrometer is not sampling")
    _stop_naming_threads()
    last_run = _native.sampler_stop()
    return last_run


def is_enabled():
    return bool(_native.sampler_is_running())


def stop_sampling():
    """Pauses recording (the file stays open); start_sampling() resumes."""
    _native.sampler_pause()


def start_sampling():
    _native.sampler_resume()


class Profiler:
    """Profiles a block:

        with pyrometer.Profiler("out.prof", period=0.001) as p:
            work()
        print(p.stats.get_tree())

    With path=None the profile goes to a temporary file."""

    def __init__(self, path=None, period=0.001, memory=False, lines=False, native=False, real_time=False):
        self.path = path
        self.options = dict(period=period, memory=memory, lines=lines, native=native, real_time=real_time)
        self.stats = None
        self.run_info = None
        self._file = None

    def __enter__(self):
        if self.path is None:
            fd, self.path = tempfile.mkstemp(prefix="pyrometer-", suffix=".prof")
            self._file = os.fdopen(fd, "wb")
        else:
            self._file = open(self.path, "wb")
        try:
            enable(self._file.fileno(), **self.options)
        except BaseException:
            self._file.close()
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.run_info = disable()
        finally:
            self._file.close()
        from pyrometer.stats import read_profile
        self.stats = read_profile(self.path)
        return False

    # vmprof's spelling
    def measure(self):
        return self

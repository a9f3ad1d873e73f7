"""Opens any file pyrometer reads, choosing the reader by the file's first bytes.

- vmprof profiles (plain or gzipped): CPU samples, from pyrometer, vmprof or PyPy.
- allocation captures (magic CAPTURE_MAGIC): reduced to one weighted-stack view
  (peak, leaks or temporary allocations) by the C core.

Both come back as a pyrometer._native.Profile, so every view and exporter works
on either."""
import os

from pyrometer import _native
from pyrometer.errors import UsageError

CAPTURE_MAGIC = b"PYROMALC"


def file_kind(path):
    """'capture' or 'vmprof'; raises UsageError naming the file when it cannot be opened."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(CAPTURE_MAGIC))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory") from None
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None
    if not head:
        raise UsageError(f"{path}: empty file")
    return "capture" if head == CAPTURE_MAGIC else "vmprof"


def load(path, view="peak", temporary_threshold=1):
    """The profile at path as a _native.Profile. `view` applies to allocation
    captures: 'peak', 'leaks' or 'temporary'. Errors name the file."""
    path = os.fspath(path)
    kind = file_kind(path)
    try:
        if kind == "capture":
            if not hasattr(_native, "read_capture"):
                raise UsageError(f"{path}: allocation captures are not supported by this build")
            return _native.read_capture(path, view, temporary_threshold)
        return _native.read_profile(path)
    except _native.ProfileError as exc:
        raise UsageError(f"{path}: {exc}") from None

"""Shared by `pyrometer summary` and `pyrometer stats`: opening an allocation
capture's report (totals and per-location rows computed in C) and formatting
byte sizes. Locations are (function, file, line) of the allocating frame."""
import os

from pyrometer import _native, loader
from pyrometer.errors import UsageError
from pyrometer.textsafe import printable

# Fields of one row of capture_report()["locations"].
FIELDS = ("function", "file", "line", "own_bytes", "own_count", "peak_own_bytes", "peak_total_bytes",
          "leaked_bytes", "kind")


def load_report(path):
    """capture_report(path) with rows as dicts; UsageError for anything but a readable capture."""
    path = os.fspath(path)
    if loader.file_kind(path) != "capture":
        raise UsageError(f"{path}: not an allocation capture (this command reads `pyrometer run --alloc` output)")
    try:
        report = _native.capture_report(path)
    except _native.ProfileError as exc:
        raise UsageError(f"{path}: {exc}") from None
    report["locations"] = [dict(zip(FIELDS, row)) for row in report["locations"]]
    return report


def location_name(row):
    """The row's place for a terminal, control characters made visible."""
    where = os.path.basename(row["file"]) if row["file"] else ""
    if row["kind"] == 0 and where:
        return printable(f"{row['function']} ({where}:{row['line']})")
    if where:
        return printable(f"{row['function']} ({where})")
    return printable(row["function"])


def human(n):
    """1536 -> '1.5 KiB'; exact below 1 KiB."""
    n = int(n)
    if abs(n) < 1024:
        return f"{n} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024.0
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"
    return f"{n:.1f} TiB"


def size_formatter(exact):
    return (lambda n: str(int(n))) if exact else human


def warn(report, path, stream):
    if report.get("warning"):
        print(f"pyrometer: warning: {path}: {report['warning']}", file=stream)

"""A profile is untrusted input. Whatever names, file names and META values it
holds (code, shell syntax, markup, terminal escapes), no command runs any of
it, text output does not pass raw terminal control bytes through, and JSON
exports stay valid JSON."""
import json
import struct
from pathlib import Path

import pytest

from conftest import run_cli

MARKER = "pyrometer-security-marker"


def hostile_names(marker_dir):
    marker = Path(marker_dir) / MARKER
    return [
        f"__import__('os').system('touch {marker}')",
        f"$(touch {marker})`touch {marker}`;touch {marker}",
        f"</script><script>require('child_process').execSync('touch {marker}')</script>",
        "\x1b]0;owned title\x07\x1b[2J\x1b[31mred",
        "line\nbreak;semi\"quote'\\back\x00nul",
        "\udcff-invalid-utf8-".encode("utf-8", "surrogateescape").decode("latin-1"),
    ]


def hostile_profile(path, marker_dir):
    """A vmprof v6 file whose functions, files and META hold the strings above."""
    names = hostile_names(marker_dir)
    out = struct.pack("<5q", 0, 3, 0, 1000, 0) + b"\x05" + struct.pack(">H", 6) + bytes([0, 7]) + b"cpython"

    def meta(k, v):
        return b"\x07" + struct.pack("<q", len(k)) + k + struct.pack("<q", len(v)) + v

    out += meta(b"command", names[1].encode("latin-1")) + meta(b"argv", names[0].encode("latin-1"))
    addrs = [0x1000 + 16 * i for i in range(len(names))]
    for i in range(len(names)):
        stack = addrs[: i + 1][::-1]  # leaf first
        out += b"\x01" + struct.pack("<2q", 1, len(stack)) + struct.pack(f"<{len(stack)}q", *stack)
        out += struct.pack("<q", 7)
    for addr, name in zip(addrs, names):
        text = f"py:{name}:1:{name}.py".encode("latin-1")
        out += b"\x02" + struct.pack("<qq", addr, len(text)) + text
    out += b"\x03" + bytes(24)
    path.write_bytes(out)
    return path


@pytest.fixture
def hostile(tmp_path):
    return hostile_profile(tmp_path / "hostile.prof", tmp_path)


@pytest.mark.parametrize("view", ["tree", "flat"])
def test_show_runs_nothing_from_the_profile(tmp_path, hostile, view):
    proc = run_cli("show", hostile, view, "--no-color")
    assert proc.returncode == 0, proc.stderr
    assert_no_marker(tmp_path)


def assert_no_marker(tmp_path):
    assert not (tmp_path / MARKER).exists(), "a command executed code taken from the profile"


@pytest.mark.parametrize("view", ["tree", "flat"])
def test_show_runs_nothing_and_escapes_terminal_controls(tmp_path, hostile, view):
    proc = run_cli("show", hostile, view, "--no-color")
    assert proc.returncode == 0, proc.stderr
    assert_no_marker(tmp_path)
    assert "\x1b" not in proc.stdout, "a raw ESC from a function name reached the terminal"
    assert "\x07" not in proc.stdout and "\x00" not in proc.stdout


@pytest.mark.parametrize("fmt", ["collapsed", "speedscope", "gecko", "pprof", "callgrind", "pstats", "chrome"])
def test_exports_run_nothing_and_json_stays_valid(tmp_path, hostile, fmt):
    out = tmp_path / f"out.{fmt}"
    proc = run_cli("export", "--format", fmt, "-o", out, hostile)
    assert proc.returncode == 0, proc.stderr
    assert_no_marker(tmp_path)
    data = out.read_bytes()
    if fmt in ("speedscope", "gecko", "chrome"):
        json.loads(data.decode("utf-8"))
    if fmt == "collapsed":
        for line in data.decode("utf-8", "replace").splitlines():
            frames, _, count = line.rpartition(" ")
            assert count.isdigit() and frames, f"malformed collapsed line {line!r}"


def test_flamegraph_runs_nothing(tmp_path, hostile):
    out = tmp_path / "fg.html"
    proc = run_cli("flamegraph", "-o", out, hostile)
    assert proc.returncode == 0, proc.stderr
    assert_no_marker(tmp_path)
    html = out.read_text("utf-8", "replace")
    assert "</script><script>require" not in html, "a name closed the data <script> element"

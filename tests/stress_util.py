"""Helpers for the stress and fault tests (tests/test_stress_*.py).

They drive the product as users do: `python -m pyrometer run ...` in a
subprocess, and read what it wrote in another subprocess (so a reader crash
is a failed test, not a dead test run). A test file-parser independent of
pyrometer's reader (raw_vmprof) gives samples in file order, which the call
tree cannot."""
import json
import os
import re
import struct
import subprocess
import sys
import textwrap

import pytest

from conftest import SRC, cli_env, run_cli

RUN_COMMAND = SRC / "pyrometer" / "commands" / "run.py"


def require_run():
    """`pyrometer run` is part of the product: its absence is a failure."""
    assert RUN_COMMAND.exists(), "`pyrometer run` is missing from this tree"


def require_alloc():
    """Allocation tracking (`run --alloc`, pyrometer.Tracker) is part of the product."""
    require_run()
    init = (SRC / "pyrometer" / "__init__.py")
    assert "--alloc" in RUN_COMMAND.read_text() and "Tracker" in init.read_text(), \
        "allocation tracking is missing from this tree"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def profile_run(tmp_path, target, *args, mode=None, rate=None, alloc=False, out=None, timeout=300,
                env=None, preexec_fn=None, name="out"):
    """Runs `pyrometer run [opts] -o OUT TARGET ARGS` and returns (proc, out_path).
    target is a script path, or a list such as ["-c", code] / ["-m", module]."""
    out = out or tmp_path / (f"{name}.cap" if alloc else f"{name}.prof")
    opts = ["run"]
    if mode:
        opts += ["--mode", mode]
    if rate:
        opts += ["-r", str(rate)]
    if alloc:
        opts += ["--alloc"]
    opts += ["-o", str(out)]
    target = list(target) if isinstance(target, (list, tuple)) else [str(target)]
    cmd = [sys.executable, "-m", "pyrometer", *opts, *target, *map(str, args)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=cli_env(env), capture_output=True, text=True, timeout=timeout,
                          preexec_fn=preexec_fn)
    return proc, out


def plain_run(tmp_path, target, *args, timeout=300, env=None, preexec_fn=None):
    """The same program without the profiler (the baseline behaviour)."""
    target = list(target) if isinstance(target, (list, tuple)) else [str(target)]
    return subprocess.run([sys.executable, *target, *map(str, args)], cwd=tmp_path, env=cli_env(env),
                          capture_output=True, text=True, timeout=timeout, preexec_fn=preexec_fn)


_SUMMARY = r"""
import json, sys
import pyrometer
s = pyrometer.read_profile(sys.argv[1])
depth, stack = 0, [(s.get_tree(), 1)]
while stack:
    node, d = stack.pop()
    depth = max(depth, d)
    stack.extend((c, d + 1) for c in node.children)
print(json.dumps({
    "samples": s.sample_count,
    "total_weight": s.total_weight,
    "unit": s.value_unit,
    "warning": s.warning,
    "threads": [[t.id, t.name, t.samples] for t in s.threads],
    "functions": [[f.name, f.file, f.line] for f in s.functions],
    "max_depth": depth,
}))
"""


def summarize(path, timeout=120):
    """What pyrometer.read_profile makes of path, as a dict; fails the test
    (with the reader's message) when the file cannot be read."""
    proc = subprocess.run([sys.executable, "-c", _SUMMARY, str(path)], env=cli_env(), capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"{path} is not readable:\n{proc.stderr[-2000:]}"
    return json.loads(proc.stdout)


def assert_cli_reads(path):
    """`pyrometer show` (or summary) reads the file: exit 0, no traceback."""
    for cmd in (["show", path, "tree"], ["summary", path]):
        proc = run_cli(*cmd)
        if "invalid choice" in proc.stderr:
            continue
        assert proc.returncode == 0, f"pyrometer {' '.join(map(str, cmd))}: {proc.stderr[-2000:]}"
        return


def raw_vmprof(path):
    """Parses a 64-bit vmprof file (versions 1-7) without pyrometer's reader.
    Returns (samples, names): samples in file order as (leaf-first addresses,
    thread id), and names {address: [every name recorded for it]}."""
    data = open(path, "rb").read()
    if data[:2] == b"\x1f\x8b":
        import gzip
        data = gzip.decompress(data)
    words = struct.unpack_from("<5q", data, 0)
    assert words[:3] == (0, 3, 0), f"{path}: not a 64-bit vmprof file"
    pos, version, mode = 40, 0, 0
    samples, names = [], {}
    while pos < len(data):
        tag = data[pos]
        pos += 1
        if tag == 0x05:
            version = struct.unpack_from(">H", data, pos)[0]
            pos += 2
            if version >= 4:
                mode = data[pos]
                pos += 1
            pos += 1 + data[pos]
        elif tag == 0x01:
            count, depth = struct.unpack_from("<2q", data, pos)
            pos += 16
            if pos + depth * 8 > len(data):
                break
            addrs = list(struct.unpack_from(f"<{depth}Q", data, pos))
            pos += depth * 8
            if mode & 2:  # lines mode: [line, code] pairs
                addrs = addrs[1::2]
            thread = struct.unpack_from("<Q", data, pos)[0] if version >= 1 else 0
            pos += 8 if version >= 1 else 0
            pos += 8 if mode & 1 else 0
            pos += 8 if version >= 7 else 0
            samples.append((addrs, thread))
        elif tag in (0x02, 0x08):
            addr, n = struct.unpack_from("<Qq", data, pos)
            pos += 16
            names.setdefault(addr, []).append(data[pos:pos + n].decode("utf-8", "replace"))
            pos += n
        elif tag == 0x07:
            for _ in range(2):
                n = struct.unpack_from("<q", data, pos)[0]
                pos += 8 + n
        elif tag == 0x06:
            pos += 24
        elif tag == 0x03:
            break
        else:
            raise AssertionError(f"{path}: unknown tag {tag:#x} at byte {pos - 1}")
    return samples, names


GEN_NAME = re.compile(r"gen_fn_(\d+)_lines_(\d+)")

#!/usr/bin/env python3
"""Builds the seed corpora for the fuzz targets: real profiles, freshly written.

    python3 tests/fuzz/make_corpus.py OUTDIR

writes OUTDIR/vmprof/ (CPU profiles) and OUTDIR/capture/ (allocation captures):
  - the checked-in fixtures of tests/data (vmprof-python 0.4/0.6, PyPy);
  - profiles vmprof-python writes now (cpu, real_time, lines, memory, native);
  - a profile PyPy's built-in _vmprof writes now (Debian pypy3);
  - profiles and captures pyrometer itself writes (`pyrometer run`, `run --alloc [--native]`),
    once those commands exist in this tree;
  - small hand-built files for layouts real writers rarely produce here
    (32-bit words, Win64, versions 0-5, rpython tags), so every branch of the
    reader has a seed.
Each source that is missing is reported and skipped; the seeds are a start
for the fuzzer, not a test. Sizes are kept small (short runs) so the fuzzer
mutates them quickly."""
import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"

WORKLOAD = r'''
import sys, threading, time

def leaf(n):
    return sum(i * i % 7 for i in range(n))

def branch(n):
    return [leaf(n) for _ in range(5)]

def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        branch(2000)
        time.sleep(0.0005)

def main(seconds):
    t = threading.Thread(target=spin, args=(seconds,), name="worker")
    t.start()
    spin(seconds)
    t.join()
'''

VMPROF_DRIVER = WORKLOAD + r'''
mode, out = sys.argv[1], sys.argv[2]
f = open(out, "w+b")
try:
    import vmprof
    vmprof.enable(f.fileno(), period=0.001, memory=mode == "memory", lines=mode == "lines",
                  native=mode == "native", real_time=mode == "real_time")
    if mode == "real_time":
        vmprof.insert_real_time_thread()
    disable = vmprof.disable
except ImportError:
    import _vmprof
    _vmprof.enable(f.fileno(), 0.001, mode == "memory", mode == "lines", False, mode == "real_time")
    disable = _vmprof.disable
main(0.3)
disable()
f.close()
'''


def note(msg):
    print(f"make_corpus: {msg}", file=sys.stderr)


def copy_fixtures(out):
    for path in sorted((DATA / "vmprof").glob("*.prof*")):
        if path.suffix in (".json",):
            continue
        shutil.copy(path, out / f"fixture_{path.name}")
    for path in sorted(DATA.glob("**/*")):
        if path.is_file() and path.read_bytes()[:8] == b"PYROMALC":
            shutil.copy(path, out.parent / "capture" / f"fixture_{path.name}")


def run_quiet(cmd, **kw):
    try:
        return subprocess.run(cmd, capture_output=True, timeout=120, **kw).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def write_vmprof_python(out, tmp):
    driver = tmp / "vmprof_driver.py"
    driver.write_text(VMPROF_DRIVER)
    for mode in ("cpu", "real_time", "lines", "memory", "native"):
        target = out / f"vmprof_python_{mode}.prof"
        if not run_quiet([sys.executable, str(driver), mode, str(target)]):
            note(f"vmprof-python ({mode}) failed or is not installed; skipped")
            target.unlink(missing_ok=True)
    cpu = out / "vmprof_python_cpu.prof"
    if cpu.exists():
        (out / "vmprof_python_cpu.prof.gz").write_bytes(gzip.compress(cpu.read_bytes()))


def write_pypy(out, tmp):
    pypy = shutil.which("pypy3")
    if not pypy:
        note("pypy3 not installed; skipped")
        return
    driver = tmp / "vmprof_driver.py"
    for mode in ("cpu", "real_time"):
        target = out / f"pypy_{mode}.prof"
        if not run_quiet([pypy, str(driver), mode, str(target)]):
            note(f"pypy3 _vmprof ({mode}) failed; skipped")
            target.unlink(missing_ok=True)


def write_pyrometer(out, capture_out, tmp):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    script = tmp / "workload.py"
    script.write_text(WORKLOAD + "\nmain(0.3)\n")
    runs = {
        "pyrometer_cpu.prof": ["run", "-o", "{out}", str(script)],
        "pyrometer_wall.prof": ["run", "--mode", "wall", "-o", "{out}", str(script)],
        "pyrometer_10khz.prof": ["run", "-r", "10000", "-o", "{out}", str(script)],
    }
    for name, args in runs.items():
        target = out / name
        cmd = [sys.executable, "-m", "pyrometer"] + [a.format(out=target) for a in args]
        if not run_quiet(cmd, env=env):
            note(f"pyrometer {' '.join(args[:3])} not available yet; skipped {name}")
            target.unlink(missing_ok=True)
    for name, flags in (("pyrometer_alloc.cap", []), ("pyrometer_native.cap", ["--native"])):
        # --native: deep stacks, so NODES and TABLES records of real size
        target = capture_out / name
        cmd = [sys.executable, "-m", "pyrometer", "run", "--alloc", *flags, "-o", str(target), str(script)]
        if not run_quiet(cmd, env=env) or not target.exists():
            note(f"pyrometer run --alloc {' '.join(flags)} not available yet; skipped")
            target.unlink(missing_ok=True)
    tracker = tmp / "tracker.py"
    tracker.write_text(WORKLOAD + (
        "\nimport pyrometer\nwith pyrometer.Tracker(sys.argv[1]):\n"
        "    keep = [bytearray(1000 + i) for i in range(200)]\n    main(0.1)\n    del keep[::2]\n"))
    target = capture_out / "pyrometer_tracker.cap"
    if not run_quiet([sys.executable, str(tracker), str(target)], env=env) or not target.exists():
        note("pyrometer.Tracker not available yet; skipped")
        target.unlink(missing_ok=True)


def synthetic(out):
    """Small files in layouts the writers on this machine do not produce."""
    def prologue(word, period=1000, win64=False):
        return struct.pack(f"<5{word}", 0, 3, 0, period, 1 if win64 else 0)

    def header(version, mode, name=b"cpython"):
        body = struct.pack(">H", version)
        if version >= 4:
            body += bytes([mode])
        return b"\x05" + body + bytes([len(name)]) + name

    def stack(word, addr, frames, thread=7, rss=None):
        rec = b"\x01" + struct.pack(f"<2{word}", 1, len(frames)) + struct.pack(f"<{len(frames)}{addr}", *frames)
        rec += struct.pack(f"<{addr}", thread)
        if rss is not None:
            rec += struct.pack(f"<{addr}", rss)
        return rec

    def symbol(word, addr, a, text, tag=b"\x02"):
        return tag + struct.pack(f"<{addr}{word}", a, len(text)) + text

    def meta(word, k, v):
        return b"\x07" + struct.pack(f"<{word}", len(k)) + k + struct.pack(f"<{word}", len(v)) + v

    times = b"\x06" + struct.pack("<qq8x", 1700000000, 5)
    trailer = b"\x03" + struct.pack("<qq8x", 1700000001, 7)
    files = {}
    for label, word, addr, win64 in (("64", "q", "q", False), ("32", "i", "i", False), ("win64", "i", "q", True)):
        body = prologue(word, win64=win64) + header(6, 0) + times + meta(word, b"os", b"linux")
        body += stack(word, addr, [0x20, 0x10]) + stack(word, addr, [0x31, 0x10], thread=8)
        body += symbol(word, addr, 0x10, b"py:main:1:/tmp/x.py") + symbol(word, addr, 0x20, b"py:f:5:C:\\a:b.py")
        body += symbol(word, addr, 0x31, b"n:malloc:0:-", tag=b"\x08")
        files[f"synthetic_{label}.prof"] = body + trailer
    q = "q"
    files["synthetic_lines.prof"] = (prologue(q) + header(6, 2) + stack(q, q, [-12, 0x10, -3, 0x20])
                                     + symbol(q, q, 0x10, b"py:a:10:a.py") + symbol(q, q, 0x20, b"py:b:1:a.py") + trailer)
    files["synthetic_memory.prof"] = (prologue(q) + header(6, 1) + stack(q, q, [0x10], rss=12345)
                                      + symbol(q, q, 0x10, b"py:m:1:m.py") + trailer)
    files["synthetic_rpython.prof"] = (prologue(q) + header(6, 8, b"pypy") + stack(q, q, [1, 0x10, 3, 0, 7, 0x40, 5, 0], thread=0)
                                       + symbol(q, q, 0x10, b"py:r:1:r.py") + trailer)
    for version in range(0, 6):
        body = prologue(q)
        if version > 0:
            body += header(version, 0)
        frames = struct.pack("<2q", 1, 1) + struct.pack("<q", 0x10)
        rec = b"\x01" + frames + (struct.pack("<q", 3) if version >= 1 else b"")
        files[f"synthetic_v{version}.prof"] = body + rec + symbol(q, q, 0x10, b"py:v:1:v.py") + trailer
    files["synthetic_no_trailer.prof"] = prologue(q) + header(6, 0) + stack(q, q, [0x10]) + stack(q, q, [0x10])[:9]
    for name, data in files.items():
        (out / name).write_bytes(data)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = Path(sys.argv[1])
    out, capture_out = root / "vmprof", root / "capture"
    out.mkdir(parents=True, exist_ok=True)
    capture_out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        copy_fixtures(out)
        write_vmprof_python(out, tmp)
        write_pypy(out, tmp)
        write_pyrometer(out, capture_out, tmp)
        synthetic(out)
    for d in (out, capture_out):
        files = list(d.iterdir())
        note(f"{d}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()

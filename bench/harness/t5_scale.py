"""Table 5: a 1M-sample profile: reader speed, export time per format, flame graph size."""
import os
import re
import subprocess
import sys
import time

from core import run_group, BENCH_DIR, exit_reason, short_reason
import tables

KNOWN_FORMATS = ("collapsed", "pprof", "speedscope", "gecko", "firefox", "callgrind", "pstats",
                 "chrome")

READ_PYROMETER = ("import sys, time, pyrometer\n"
                  "if hasattr(pyrometer, 'read_profile'): read = pyrometer.read_profile\n"
                  "else: from pyrometer import _native; read = _native.read_profile\n"
                  "name = read.__module__ + '.' + read.__name__\n"
                  "t = time.perf_counter(); s = read(sys.argv[1])\n"
                  "dt = time.perf_counter() - t\n"
                  "n = getattr(s, 'sample_count', None); n = n() if callable(n) else n\n"
                  "print(dt, n, name)\n")
READ_VMPROF = ("import sys, time, vmprof\n"
               "t = time.perf_counter(); s = vmprof.read_profile(sys.argv[1])\n"
               "dt = time.perf_counter() - t\n"
               "print(dt, len(s.profiles), 'vmprof.read_profile')\n")


def _run(ctx, argv, timeout=900):
    t0 = time.perf_counter()
    try:
        proc = run_group(argv, timeout, env=ctx.child_env(), cwd=ctx.workdir)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout}s", ""
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        return None, exit_reason(proc.returncode, proc.stderr or proc.stdout), ""
    return elapsed, "", proc.stdout


def export_formats(ctx):
    """Formats `pyrometer export --format` accepts, from its --help; () when unavailable."""
    text = ctx.help_text(ctx.pyrometer_cmd() + ["export"])
    if not text:
        return ()
    probe = subprocess.run([ctx.python, "-c", "from pyrometer import _native; "
                            "print(' '.join(_native.Profile.export_formats()))"],
                           capture_output=True, text=True, env=ctx.child_env(), cwd=ctx.workdir)
    if probe.returncode == 0 and probe.stdout.split():
        return tuple(probe.stdout.split())
    m = re.search(r"--format[^{]*\{([^}]+)\}", text)
    if m:
        return tuple(f.strip() for f in m.group(1).split(",") if f.strip())
    return tuple(f for f in KNOWN_FORMATS if re.search(rf"\b{f}\b", text))


def run(ctx, samples):
    big = os.path.join(ctx.workdir, f"big-{samples}.prof")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, os.path.join(BENCH_DIR, "make_big_profile.py"),
                           big, "--samples", str(samples)], capture_output=True, text=True)
    if proc.returncode != 0:
        return "## 5. Scale\n\nmake_big_profile.py failed: " + short_reason(proc.stderr)
    made = time.perf_counter() - t0
    rows = []
    for label, code in (("pyrometer", READ_PYROMETER), ("vmprof", READ_VMPROF)):
        if ctx.pyrometer_reason and label.startswith("pyrometer"):
            rows.append([label, tables.na(ctx.pyrometer_reason), ""])
            continue
        elapsed, reason, out = _run(ctx, [ctx.python, "-c", code, big])
        if elapsed is None:
            rows.append([label, tables.na(reason), ""])
            continue
        parts = out.split()
        if len(parts) > 2:
            label = f"{label}: `{parts[2]}`"
        rows.append([label, tables.seconds(float(parts[0])), parts[1] if len(parts) > 1 else "?"])
    read_table = tables.markdown(["reader (in-process time)", "read time", "samples read"], rows)

    rows = []
    formats = export_formats(ctx)
    if not formats:
        rows.append(["`pyrometer export`", tables.na(ctx.pyrometer_missing("export")
                                                     or "no formats listed"), ""])
    for fmt in formats:
        out = os.path.join(ctx.workdir, f"big.{fmt}.out")
        elapsed, reason, _ = _run(ctx, ctx.pyrometer_cmd() + ["export", "--format", fmt, "-o", out,
                                                              big])
        if elapsed is None:
            rows.append([f"export --format {fmt}", tables.na(reason), ""])
        else:
            rows.append([f"export --format {fmt}", tables.seconds(elapsed),
                         tables.size(os.path.getsize(out)) if os.path.exists(out) else "?"])
        if os.path.exists(out):
            os.unlink(out)
    html = os.path.join(ctx.workdir, "big.html")
    reason = ctx.pyrometer_missing("flamegraph")
    if reason:
        rows.append(["flamegraph (HTML)", tables.na(reason), ""])
    else:
        elapsed, reason, _ = _run(ctx, ctx.pyrometer_cmd() + ["flamegraph", "-o", html, big])
        if elapsed is None:
            rows.append(["flamegraph (HTML)", tables.na(reason), ""])
        else:
            rows.append(["flamegraph (HTML)", tables.seconds(elapsed),
                         tables.size(os.path.getsize(html)) if os.path.exists(html) else "?"])
        if os.path.exists(html):
            os.unlink(html)
    out_table = tables.markdown(["pyrometer command (CLI wall time)", "time", "output size"], rows)
    size = os.path.getsize(big)
    os.unlink(big)
    return "\n".join([
        "## 5. Scale", "",
        f"A {samples:,}-sample vmprof-format profile from `bench/make_big_profile.py` "
        f"({tables.size(size)}, 3000 functions, stacks 4-28 deep, 4 threads; generated in "
        f"{made:.1f} s).", "", read_table, "", out_table])

"""Table 2: allocation-tracking overhead, capture size and report time: pyrometer vs memray."""
import os
import subprocess
import time

from core import run_group, alloc_configs, exit_reason, median
import t1_cpu
import tables

REPORT_PROGRAM_HINT = "alloc_small"


def _timed(ctx, argv, out=None, timeout=600):
    """(seconds, output bytes or None, reason)"""
    t0 = time.perf_counter()
    try:
        proc = run_group(argv, timeout, env=ctx.child_env(), cwd=ctx.workdir)
    except subprocess.TimeoutExpired:
        return None, None, f"timed out after {timeout}s"
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        return None, None, exit_reason(proc.returncode, proc.stderr or proc.stdout)
    if out is not None:
        if not os.path.exists(out):
            return None, None, "no output written"
        return elapsed, os.path.getsize(out), ""
    return elapsed, len(proc.stdout.encode()), ""


def report_commands(ctx, config, capture):
    """[(label, argv, output path or None)] generating reports from CAPTURE."""
    html = capture + ".html"
    if config.kind == "memray":
        memray = [ctx.python, "-m", "memray"]
        return [("flamegraph", memray + ["flamegraph", "-f", "-o", html, capture], html),
                ("summary", memray + ["summary", capture], None)]
    return [("flamegraph", ctx.pyrometer_cmd() + ["flamegraph", "-o", html, capture], html),
            ("summary", ctx.pyrometer_cmd() + ["summary", capture], None)]


def run(ctx, programs, rounds, target):
    configs = alloc_configs()
    ctx.say(f"table 2: calibrating {len(programs)} programs to ~{target}s")
    loops, errors = t1_cpu.calibrate(ctx, programs, target, timeout=600)
    programs = [p for p in programs if p in loops]
    report_program = next((p for p in programs if REPORT_PROGRAM_HINT in p), programs[-1])
    matrix = t1_cpu.run_matrix(ctx, configs, programs, loops, rounds,
                               timeout_for=t1_cpu.timeout_for(ctx, 60), count_samples=False,
                               keep_for=(report_program,))
    out = ["## 2. Allocation tracking overhead", "",
           f"Work time under allocation tracking divided by the unprofiled time (median of "
           f"{rounds} rounds, round-robin).", "",
           t1_cpu.overhead_table(matrix, configs, programs, with_cost=False), "",
           t1_cpu.baseline_line(matrix, programs, loops), ""]

    name = report_program.split("/")[-1].replace(".py", "")
    headers = ["configuration", "capture (median over programs)", f"capture ({name})",
               "flamegraph time", "HTML size", "summary time"]
    rows = []
    for config in configs:
        if config.name == "none":
            continue
        if config.name in matrix.disabled:
            rows.append([config.name, tables.na(matrix.disabled[config.name])] + [tables.na()] * 4)
            continue
        sizes = [median(matrix.sizes[(config.name, p)]) for p in programs]
        row = [config.name, tables.size(median(sizes)),
               tables.size(median(matrix.sizes[(config.name, report_program)]))]
        capture = matrix.last_profile.get((config.name, report_program))
        if not capture:
            rows.append(row + [tables.na("no capture")] * 3)
            continue
        results = {}
        for label, argv, path in report_commands(ctx, config, capture):
            results[label] = _timed(ctx, argv, path)
        fg_time, fg_size, fg_reason = results["flamegraph"]
        sm_time, _sm_size, sm_reason = results["summary"]
        row += [tables.seconds(fg_time) if fg_time is not None else tables.na(fg_reason),
                tables.size(fg_size) if fg_size is not None else tables.na(),
                tables.seconds(sm_time) if sm_time is not None else tables.na(sm_reason)]
        rows.append(row)
        os.unlink(capture)
        if os.path.exists(capture + ".html"):
            os.unlink(capture + ".html")
    out += [f"Capture size, and report generation from the `{name}` capture (wall time of the "
            "CLI, including interpreter start-up):", "", tables.markdown(headers, rows)]
    if errors:
        out += ["", "Skipped: " + "; ".join(f"{p}: {r}" for p, r in errors.items())]
    return "\n".join(out)

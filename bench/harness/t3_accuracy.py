"""Table 3: attribution accuracy (CPU shares, function bias) and memory peak accuracy."""
import os
import re
import subprocess

from core import NONE, Config, cpu_configs, median, program_path, pyrometer_alloc, memray, run_config
import parse
import t1_cpu
import tables

MIB = 2 ** 20
TOUCH_SIZE = 512 * MIB


def accuracy_configs(self_test=False):
    keep = ("pyrometer cpu 1k", "pyrometer wall 1k", "vmprof cpu 1k", "vmprof real 1k",
            "py-spy 100", "py-spy 1k", "pyinstrument", "cProfile")
    return [c for c in cpu_configs(self_test) if c.name in keep]


def reported_shares(ctx, config, profile, functions):
    """Inclusive share of each function among FUNCTIONS, as the profiler reports it."""
    incl = parse.inclusive(ctx, config.kind, profile)
    total = sum(incl.get(f, 0) for f in functions)
    if not total:
        return None
    return {f: incl.get(f, 0) / total for f in functions}


def measure(ctx, configs, program, loops, reps, timeout):
    """(truth shares, {config: [shares per rep]}, {config: reason})"""
    truth_runs, reported, reasons = [], {c.name: [] for c in configs}, {}
    for _ in range(reps):
        base = run_config(ctx, NONE, program, loops, timeout)
        if base.ok:
            truth_runs.append(base.result["extra"]["shares"])
        for config in configs:
            if config.name in reasons and not reported[config.name]:
                continue
            outcome = run_config(ctx, config, program, loops, timeout)
            if not outcome.ok:
                reasons[config.name] = outcome.reason
                continue
            functions = sorted(outcome.result["extra"]["shares"])
            try:
                shares = reported_shares(ctx, config, outcome.profile, functions)
            except Exception as exc:  # noqa: BLE001 - an unreadable profile is a table note
                reasons[config.name] = f"unreadable: {type(exc).__name__}: {exc}"[:70]
                shares = None
            if shares is None:
                reasons.setdefault(config.name, "functions not in profile")
            else:
                reported[config.name].append(shares)
            os.unlink(outcome.profile)
    if not truth_runs:
        return None, reported, reasons
    names = sorted(truth_runs[0])
    truth = {n: median([t[n] for t in truth_runs]) for n in names}
    return truth, reported, reasons


def cpu_part(ctx, reps, target):
    configs = accuracy_configs(ctx.self_test)
    shares_prog = program_path("accuracy_shares")
    bias_prog = program_path("function_bias")
    loops, errors = t1_cpu.calibrate(ctx, [shares_prog, bias_prog], target, timeout=300)
    if errors:
        return "Accuracy programs failed: " + "; ".join(errors.values())
    timeout = max(30.0, target * 40)
    truth_s, rep_s, why_s = measure(ctx, configs, shares_prog, loops[shares_prog], reps, timeout)
    truth_b, rep_b, why_b = measure(ctx, configs, bias_prog, loops[bias_prog], reps, timeout)
    funcs = sorted(truth_s)
    headers = (["configuration"] + [f"{f} (%)" for f in funcs] + ["mean abs error (pp)"]
               + ["with_helper (%)", "bias error (pp)"])
    rows = [["timers, unprofiled (truth)"] + [f"{truth_s[f] * 100:.1f}" for f in funcs] + [""]
            + [f"{truth_b['with_helper'] * 100:.1f}", ""]]
    for config in configs:
        row = [config.name]
        if rep_s[config.name]:
            per = {f: median([r[f] for r in rep_s[config.name]]) for f in funcs}
            err = median([sum(abs(r[f] - truth_s[f]) for f in funcs) / len(funcs) * 100
                          for r in rep_s[config.name]])
            row += [f"{per[f] * 100:.1f}" for f in funcs] + [f"{err:.1f}"]
        else:
            row += [tables.na()] * len(funcs) + [tables.na(why_s.get(config.name, "no data"))]
        if rep_b[config.name]:
            share = median([r["with_helper"] for r in rep_b[config.name]])
            err = median([abs(r["with_helper"] - truth_b["with_helper"]) * 100
                          for r in rep_b[config.name]])
            row += [f"{share * 100:.1f}", f"{err:.1f}"]
        else:
            row += [tables.na(), tables.na(why_b.get(config.name, "no data"))]
        rows.append(row)
    return "\n".join([
        f"CPU: `accuracy_shares` runs four functions sized for 10/20/30/40% and `function_bias` "
        f"alternates a loop calling a helper with the same loop inlined. Truth = the CPU-time shares "
        f"timed inside the unprofiled run; each profiler's inclusive share of those functions "
        f"(median of {reps} run(s)); error in percentage points.", "",
        tables.markdown(headers, rows)])


def memray_peak(ctx, capture):
    code = ("import sys, memray; print(memray.FileReader(sys.argv[1]).metadata.peak_memory)")
    proc = subprocess.run([ctx.python, "-c", code, capture], capture_output=True, text=True,
                          env=ctx.child_env(), timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "?")
    return int(proc.stdout.strip())


_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30,
          "k": 2 ** 10, "m": 2 ** 20, "g": 2 ** 30}


PEAK_FROM_LOADER = ("import sys\n"
                    "from pyrometer import loader\n"
                    "p = loader.load(sys.argv[1], view='peak')\n"
                    "assert p.value_unit == 'bytes', p.value_unit\n"
                    "print(int(p.total_weight))\n")


def pyrometer_peak(ctx, capture):
    """Peak bytes: the loader's peak view of the capture, else `pyrometer summary`'s peak line."""
    proc = subprocess.run([ctx.python, "-c", PEAK_FROM_LOADER, capture], capture_output=True,
                          text=True, env=ctx.child_env(), timeout=300, cwd=ctx.workdir)
    if proc.returncode == 0 and proc.stdout.strip().isdigit():
        return int(proc.stdout.strip())
    proc = subprocess.run(ctx.pyrometer_cmd() + ["summary", capture], capture_output=True,
                          text=True, env=ctx.child_env(), timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"summary: exit {proc.returncode}")
    for line in proc.stdout.splitlines():
        if "peak" in line.lower():
            m = re.search(r"([0-9][0-9,]*(?:\.[0-9]+)?)\s*([KMG]i?B|[KMG]|B|bytes)?", line.split(
                ":", 1)[-1] if ":" in line else line, re.I)
            if m:
                value = float(m.group(1).replace(",", ""))
                unit = (m.group(2) or "b").lower().replace("bytes", "b")
                return int(value * _UNITS.get(unit, 1))
    raise RuntimeError("no peak in summary")


def memory_part(ctx):
    program = program_path("mem_touch")
    configs = [pyrometer_alloc("pyrometer alloc", []), memray("memray", [])]
    fractions = (0.0, 0.5, 1.0)
    rows = []
    for config in configs:
        row = [config.name]
        for fraction in fractions:
            outcome = run_config(ctx, config, program, 1, 300,
                                 env={"BENCH_TOUCH_FRACTION": str(fraction)})
            if not outcome.ok:
                row.append(tables.na(outcome.reason))
                continue
            try:
                peak = (memray_peak if config.kind == "memray" else pyrometer_peak)(
                    ctx, outcome.profile)
                row.append(f"{peak / MIB:.1f} MiB ({(peak - TOUCH_SIZE) / TOUCH_SIZE * 100:+.1f}%)")
            except Exception as exc:  # noqa: BLE001 - becomes a table note
                row.append(tables.na(str(exc)[:60]))
            os.unlink(outcome.profile)
        rows.append(row)
    headers = ["tool"] + [f"peak, {int(f * 100)}% touched" for f in fractions]
    return "\n".join([
        "Memory: `mem_touch` allocates 512 MiB (calloc-backed `bytes`) and touches 0/50/100% of "
        "it; the reported peak against 512 MiB:", "", tables.markdown(headers, rows)])


def run(ctx, reps, target, with_memory=True):
    parts = ["## 3. Accuracy", "", cpu_part(ctx, reps, target)]
    if with_memory:
        parts += ["", memory_part(ctx)]
    return "\n".join(parts)

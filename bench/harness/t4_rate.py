"""Table 4: requested vs delivered sampling rate, and the cost of one sample."""
import os
import re
import subprocess
import tempfile

from core import NONE, Config, median, program_path, pyrometer_cpu, run_config
import parse
import t1_cpu
import tables

RATES = (1000, 5000, 10000, 20000)


def meta_rate(meta):
    """(key, Hz) of the delivered rate recorded in a profile's META, if a key looks like one.

    Keys naming a delivered/actual/measured rate win; keys naming the requested rate or a
    period are never taken for the delivered one.
    """
    candidates = []
    for key in sorted(meta):
        low = key.lower()
        if "request" in low or "period" in low or not re.search(r"rate|hz", low):
            continue
        m = re.match(r"\s*([0-9]+(?:\.[0-9]+)?)", str(meta[key]))
        if m:
            preferred = re.search(r"deliver|actual|measured|effective|achieved", low) is not None
            candidates.append((0 if preferred else 1, key, float(m.group(1))))
    if not candidates:
        return None, None
    _rank, key, value = min(candidates)
    return key, value


def wake_floor(seconds):
    """Rows (Hz, wakes/s, CPU µs per wake) of bench/programs/wake_floor.c, or an error string."""
    source = os.path.join(os.path.dirname(program_path("busy")), "wake_floor.c")
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "wake_floor")
        build = subprocess.run(["cc", "-O2", "-o", exe, source], capture_output=True, text=True)
        if build.returncode != 0:
            return "could not build wake_floor.c: " + build.stderr.strip()[:200]
        proc = subprocess.run([exe, f"{seconds:g}", *map(str, RATES)], capture_output=True, text=True,
                              timeout=60 + 10 * seconds * len(RATES))
        if proc.returncode != 0:
            return "wake_floor failed: " + proc.stderr.strip()[:200]
    return [line.split() for line in proc.stdout.splitlines()]


def run(ctx, reps, target):
    program = program_path("busy")
    loops, errors = t1_cpu.calibrate(ctx, [program], target, timeout=300)
    if errors:
        return "## 4. Sampling rate\n\nbusy program failed: " + errors[program]
    n = loops[program]
    timeout = max(30.0, target * 40)
    configs = []
    for mode in ("cpu", "wall"):
        for hz in RATES:
            configs.append(pyrometer_cpu(f"pyrometer {mode}", mode, hz))
    configs += [Config(f"vmprof {mode}", "vmprof", inproc=f"vmprof-{mode}:{hz}", hz=hz)
                for mode, hz in (("cpu", 1000), ("real", 1000), ("real", 10000))]
    base_times, base_cpu, rows, meta_keys = [], [], [], set()
    measured = {id(c): [] for c in configs}
    reasons = {}
    for _ in range(reps):
        base = run_config(ctx, NONE, program, n, timeout)
        if base.ok:
            base_times.append(base.result["seconds"])
            base_cpu.append(base.result["cpu_seconds"])
        for config in configs:
            if id(config) in reasons:
                continue
            outcome = run_config(ctx, config, program, n, timeout)
            if not outcome.ok:
                reasons[id(config)] = outcome.reason
                continue
            info = {}
            if config.kind == "pyrometer":
                info = parse.pyrometer_info(outcome.profile)
                meta_keys.update(info.get("meta", {}))
            samples = info.get("samples")
            if samples is None:
                try:
                    samples = parse.sample_count(ctx, "vmprof", outcome.profile)
                except Exception as exc:  # noqa: BLE001
                    reasons[id(config)] = f"unreadable: {exc}"[:70]
                    continue
            _key, delivered_meta = meta_rate(info.get("meta", {}))
            measured[id(config)].append((outcome.result["seconds"], samples, delivered_meta,
                                         outcome.result["cpu_seconds"]))
            os.unlink(outcome.profile)
    base, cpu_base = median(base_times), median(base_cpu)
    for config in configs:
        label = config.name.split(" ")
        runs = measured[id(config)]
        if not runs:
            rows.append([label[0], label[1], f"{config.hz:.0f}",
                         tables.na(reasons.get(id(config), "no data"))] + [tables.na()] * 4)
            continue
        secs = median([r[0] for r in runs])
        samples = median([r[1] for r in runs])
        meta_hz = median([r[2] for r in runs])
        cpu = median([r[3] for r in runs])
        per_sec = samples / secs if secs else None
        cost = (cpu - cpu_base) / samples * 1e6 if cpu_base and samples else None
        rows.append([label[0], label[1], f"{config.hz:.0f}",
                     tables.num(meta_hz, "{:.0f}") if meta_hz is not None else tables.na("no META rate"),
                     tables.num(per_sec, "{:.0f}"), f"{samples:.0f}",
                     tables.ratio(secs / base if base else None), tables.num(cost)])
    headers = ["profiler", "mode", "requested Hz", "delivered Hz (META)",
               "samples / work second (wall)", "samples", "overhead", "µs/sample"]
    note = (f"`busy` (pure-Python loop, 21-frame stack), ~{target:g} s of work per run, "
            f"median of {reps} run(s); unprofiled {tables.seconds(base)}. Overhead is the wall-clock "
            "ratio; µs/sample = extra process CPU time / samples. In cpu mode the rate is per "
            "CPU second, so samples per wall second fall below it when the process waits for a "
            "core. vmprof rows are the reference.")
    if meta_keys:
        note += " pyrometer META keys seen: " + ", ".join(f"`{k}`" for k in sorted(meta_keys)) + "."
    floor = wake_floor(min(target, 1.0))
    if isinstance(floor, str):
        floor_text = floor
    else:
        floor_text = ("The floor under any in-process sampler's own cost: a thread that only sleeps "
                      "to absolute deadlines and wakes (`bench/programs/wake_floor.c`, built and run "
                      "here, 1 s per rate) uses this much CPU per wake-up on this machine.\n\n" +
                      tables.markdown(["rate (Hz)", "wake-ups / s", "CPU µs per wake-up"],
                                      [[hz, wakes, us] for hz, wakes, us in floor]))
    return "\n".join(["## 4. Sampling rate", "", note, "", tables.markdown(headers, rows), "", floor_text])

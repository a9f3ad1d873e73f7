"""Table 1: CPU overhead of each profiler on pyperformance programs, round-robin."""
import os

from core import NONE, cpu_configs, median, run_config
import parse
import tables

SAMPLING_KINDS = ("pyrometer", "vmprof", "pyspy")


def calibrate(ctx, programs, target, timeout):
    """Loops per program so that one unprofiled run does about TARGET CPU seconds of work.

    CPU time, so the amount of work does not depend on how busy the machine is."""
    loops, errors = {}, {}
    for program in programs:
        outcome = run_config(ctx, NONE, program, 1, timeout)
        if not outcome.ok:
            errors[program] = outcome.reason
            continue
        once = max(outcome.result["cpu_seconds"], 1e-6)
        loops[program] = max(1, round(target / once))
        ctx.expected[program] = max(outcome.result["seconds"], once) * loops[program]
    return loops, errors


def timeout_for(ctx, slack):
    """A per-program timeout: SLACK times its unprofiled work, and never under 30 s."""
    return lambda program: max(30.0, slack * ctx.expected.get(program, 10.0))


class Matrix:
    """Per (config, program): work seconds per round and delivered samples per round."""

    def __init__(self, configs, programs, rounds):
        self.configs, self.programs, self.rounds = configs, programs, rounds
        self.seconds = {(c.name, p): [None] * rounds for c in configs for p in programs}
        self.cpu = {(c.name, p): [None] * rounds for c in configs for p in programs}
        self.samples = {(c.name, p): [None] * rounds for c in configs for p in programs}
        self.sizes = {(c.name, p): [None] * rounds for c in configs for p in programs}
        self.errors = {}           # (config, program) -> reason
        self.disabled = {}         # config -> reason (unavailable or a usage error)
        self.last_profile = {}     # (config, program) -> path of a kept profile

    def ratios(self, config, program, cpu=False):
        table = self.cpu if cpu else self.seconds
        base = table[("none", program)]
        mine = table[(config, program)]
        pairs = [m / b for m, b in zip(mine, base) if m is not None and b]
        return median(pairs)

    def cost_us(self, config, program):
        """Per-sample cost: extra process CPU time over the samples delivered, per round.

        CPU time, not wall time: on a shared machine the wall clock also counts time the
        process spent waiting for a core, which no profiler caused."""
        base = self.cpu[("none", program)]
        costs = []
        for m, b, n in zip(self.cpu[(config, program)], base, self.samples[(config, program)]):
            if m is not None and b is not None and n:
                costs.append((m - b) / n * 1e6)
        return median(costs)


def run_matrix(ctx, configs, programs, loops, rounds, timeout_for, count_samples=True,
               keep_for=()):
    """Run every (config, program) ROUNDS times, rotating config order each round."""
    matrix = Matrix(configs, programs, rounds)
    for config in configs:
        reason = config.unavailable(ctx)
        if reason:
            matrix.disabled[config.name] = reason
    for r in range(rounds):
        for pi, program in enumerate(programs):
            if program not in loops:
                continue
            live = [c for c in configs if c.name not in matrix.disabled]
            shift = (r + pi) % len(live)
            for config in live[shift:] + live[:shift]:
                if config.name in matrix.disabled:
                    continue
                outcome = run_config(ctx, config, program, loops[program], timeout_for(program))
                key = (config.name, program)
                if not outcome.ok:
                    matrix.errors[key] = outcome.reason
                    # a usage error will repeat on every program, and a hang would eat the
                    # time budget: give up on the configuration after the first one
                    if ((outcome.reason.startswith("exit 2:") and config.kind.startswith("pyrometer"))
                            or outcome.reason.startswith("timed out")):
                        matrix.disabled[config.name] = outcome.reason
                    continue
                matrix.seconds[key][r] = outcome.result["seconds"]
                matrix.cpu[key][r] = outcome.result["cpu_seconds"]
                if outcome.profile and os.path.exists(outcome.profile):
                    matrix.sizes[key][r] = os.path.getsize(outcome.profile)
                    if count_samples and config.kind in SAMPLING_KINDS:
                        try:
                            matrix.samples[key][r] = parse.sample_count(ctx, config.kind,
                                                                        outcome.profile)
                        except Exception as exc:  # noqa: BLE001 - a bad file is a table note
                            matrix.errors.setdefault(key, f"unreadable profile: {exc}")
                    if program in keep_for:
                        old = matrix.last_profile.get(key)
                        if old and os.path.exists(old):
                            os.unlink(old)
                        matrix.last_profile[key] = outcome.profile
                    else:
                        os.unlink(outcome.profile)
        ctx.say(f"round {r + 1}/{rounds} done")
    return matrix


def cell(matrix, config, program, value, fmt):
    if config in matrix.disabled:
        return tables.na()
    if value is None:
        return tables.na(matrix.errors.get((config, program), "no data"))
    return fmt(value)


def overhead_table(matrix, configs, programs, with_cost=True):
    """Rows: configurations; columns: median over programs, µs/sample, then each program."""
    headers = ["configuration", "median", "median (CPU time)"] + (
        ["µs/sample"] if with_cost else []) + [
        p.split(":")[-1].replace(".py", "").split("/")[-1] for p in programs]
    rows = []
    for config in configs:
        if config.name == "none":
            continue
        per = [matrix.ratios(config.name, p) for p in programs]
        overall = median(per)
        if config.name in matrix.disabled:
            head = [tables.na(matrix.disabled[config.name]), tables.na()]
        else:
            head = [tables.ratio(overall),
                    tables.ratio(median([matrix.ratios(config.name, p, cpu=True) for p in programs]))]
        if with_cost:
            cost = median([matrix.cost_us(config.name, p) for p in programs])
            head.append(tables.num(cost) if config.kind in SAMPLING_KINDS and cost is not None
                        else ("" if config.kind not in SAMPLING_KINDS else tables.na()))
        rows.append([config.name] + head + [cell(matrix, config.name, p, v, tables.ratio)
                                            for p, v in zip(programs, per)])
    return tables.markdown(headers, rows)


def baseline_line(matrix, programs, loops):
    parts = []
    for p in programs:
        t = median(matrix.seconds[("none", p)])
        name = p.split(":")[-1].replace(".py", "").split("/")[-1]
        parts.append(f"{name} {tables.seconds(t)} ({loops.get(p, 0)} loops)")
    return "Unprofiled work per run: " + ", ".join(parts) + "."


def run(ctx, programs, rounds, target):
    configs = cpu_configs(ctx.self_test)
    ctx.say(f"table 1: calibrating {len(programs)} programs to ~{target}s")
    loops, errors = calibrate(ctx, programs, target, timeout=600)
    for program, reason in errors.items():
        ctx.say(f"table 1: {program} skipped: {reason}")
    programs = [p for p in programs if p in loops]
    matrix = run_matrix(ctx, configs, programs, loops, rounds,
                        timeout_for=timeout_for(ctx, 40))
    out = ["## 1. CPU overhead", "",
           f"Wall-clock work time under each profiler divided by the unprofiled time of the same "
           f"round (median of {rounds} rounds; configurations alternate round-robin); per program, "
           "and the median over programs. `median (CPU time)` is the same ratio of the process's "
           "CPU time, which is steadier on a shared machine but does not see py-spy (a separate "
           "process that burns a second core). `µs/sample` = extra process CPU time / samples "
           "delivered.", "",
           overhead_table(matrix, configs, programs), "",
           baseline_line(matrix, programs, loops)]
    if errors:
        out += ["", "Skipped: " + "; ".join(f"{p}: {r}" for p, r in errors.items())]
    return "\n".join(out)

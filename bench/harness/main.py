"""The harness proper; bench/run prepares the virtualenv and runs this inside it."""
import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from core import BENCH_DIR, REPO, Context, program_path  # noqa: E402
import readme  # noqa: E402
import t1_cpu  # noqa: E402
import t2_alloc  # noqa: E402
import t3_accuracy  # noqa: E402
import t4_rate  # noqa: E402
import t5_scale  # noqa: E402
import tables  # noqa: E402

PYPERF_QUICK = ["raytrace", "fannkuch", "nbody", "richards", "chaos", "go", "deltablue", "float",
                "json_dumps", "regex_effbot"]
PYPERF_FULL = PYPERF_QUICK + ["docutils", "sympy"]
ALLOC_PROGRAMS = ["alloc_small", "alloc_large", "alloc_cext"]
ALLOC_PYPERF_QUICK = ["raytrace", "richards", "json_dumps", "go"]

# (T1 target s, T1 rounds, T2 target s, T2 rounds, T3 reps, T3 target s, T4 reps, T4 target s,
#  T5 samples)
PLANS = {
    "quick": dict(t1_target=0.25, t1_rounds=3, t2_target=0.25, t2_rounds=2, t3_reps=1,
                  t3_target=1.5, t4_reps=1, t4_target=1.0, t5_samples=1_000_000),
    "full": dict(t1_target=2.0, t1_rounds=5, t2_target=1.0, t2_rounds=3, t3_reps=3,
                 t3_target=3.0, t4_reps=3, t4_target=2.0, t5_samples=1_000_000),
    "self-test": dict(t1_target=0.02, t1_rounds=1),
    # for developing the harness: every table, trivial amounts of work
    "tiny": dict(t1_target=0.02, t1_rounds=1, t2_target=0.02, t2_rounds=1, t3_reps=1,
                 t3_target=0.2, t4_reps=1, t4_target=0.2, t5_samples=20_000),
}


def machine_lines(python):
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    load = os.getloadavg()
    return [f"- Machine: {os.cpu_count()} cores, {model}, Linux {platform.release()}",
            f"- Python: CPython {version}; pyrometer at commit `{commit}`",
            f"- Load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
            "(other processes share this machine; ratios are paired per round to absorb drift)"]


def peer_versions(python):
    code = ("import importlib.metadata as m\n"
            "for p in ('vmprof','py-spy','pyinstrument','memray','pyperformance'):\n"
            "    try: print(p + ' ' + m.version(p))\n"
            "    except Exception: print(p + ' missing')\n")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.split("\n")
    return ", ".join(line for line in out if line.strip())


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench/run")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--tables", default="1,2,3,4,5", help="comma-separated table numbers")
    parser.add_argument("--keep-workdir", action="store_true")
    parser.add_argument("--plan", choices=sorted(PLANS), help=argparse.SUPPRESS)
    parser.add_argument("--pyrometer-reason", default="", help=argparse.SUPPRESS)
    parser.add_argument("--command", default="bench/run", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/latest.md")
    args = parser.parse_args(argv)

    plan_name = "self-test" if args.self_test else ("quick" if args.quick else "full")
    plan_name = args.plan or plan_name
    plan = PLANS[plan_name]
    wanted = {int(t) for t in args.tables.split(",") if t.strip()}
    workdir = tempfile.mkdtemp(prefix="pyrometer-bench-")
    ctx = Context(python=sys.executable, workdir=workdir, quick=args.quick,
                  self_test=args.self_test, pyrometer_reason=args.pyrometer_reason)
    started = time.time()
    sections = []
    try:
        if args.self_test:
            programs = [program_path("busy"), program_path("alloc_small")]
            sections.append(t1_cpu.run(ctx, programs, plan["t1_rounds"], plan["t1_target"]))
        else:
            pyperf = PYPERF_QUICK if args.quick else PYPERF_FULL
            if 1 in wanted:
                sections.append(t1_cpu.run(ctx, ["pyperf:" + p for p in pyperf], plan["t1_rounds"],
                                           plan["t1_target"]))
            if 2 in wanted:
                alloc_pyperf = ALLOC_PYPERF_QUICK if args.quick else PYPERF_QUICK
                progs = ["pyperf:" + p for p in alloc_pyperf] + [program_path(p)
                                                                  for p in ALLOC_PROGRAMS]
                sections.append(t2_alloc.run(ctx, progs, plan["t2_rounds"], plan["t2_target"]))
            if 3 in wanted:
                sections.append(t3_accuracy.run(ctx, plan["t3_reps"], plan["t3_target"]))
            if 4 in wanted:
                sections.append(t4_rate.run(ctx, plan["t4_reps"], plan["t4_target"]))
            if 5 in wanted:
                sections.append(t5_scale.run(ctx, plan["t5_samples"]))
    finally:
        if not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.time() - started
    header = ["# pyrometer benchmarks", "",
              f"- Command: `{args.command}`",
              f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}; "
              f"took {elapsed / 60:.1f} min",
              *machine_lines(ctx.python),
              f"- Peers: {peer_versions(ctx.python)}"]
    if ctx.pyrometer_reason:
        header.append(f"- pyrometer unavailable: {ctx.pyrometer_reason}")
    text = "\n".join(header) + "\n\n" + "\n\n".join(sections) + "\n"
    print(text)
    if not args.self_test and not args.no_write:
        os.makedirs(os.path.join(BENCH_DIR, "results"), exist_ok=True)
        with open(os.path.join(BENCH_DIR, "results", "latest.md"), "w") as f:
            f.write(text)
        ctx.say("wrote bench/results/latest.md (bench/run --update-readme copies it into README.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

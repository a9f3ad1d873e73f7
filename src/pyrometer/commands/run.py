"""`pyrometer run [options] script.py|-m module|-c code [args...]`: profile a program."""
import argparse
import os
import sys
import warnings

from pyrometer import config, program, sampling
from pyrometer.errors import UsageError

DEFAULT_RATE = 1000.0

# Options that take a value (the argv splitter must know them).
VALUE_OPTIONS = {"-o", "--output", "-p", "--period", "-r", "--rate", "--mode", "--config", "--rss-interval"}

# What --config may set, and how to read it.
CONFIG_KEYS = {
    "output": "str", "period": "float", "rate": "float", "mode": ("cpu", "wall"), "lines": "flag",
    "mem": "flag", "quiet": "flag", "web": "flag", "alloc": "flag", "native": "flag",
    "trace_python_allocators": "flag", "follow_fork": "flag", "aggregate": "flag", "rss_interval": "float",
}

USAGE = "pyrometer run [options] (script.py | -m module | -c code) [args ...]"


def add_parser(sub):
    p = sub.add_parser("run", help="run a program under the profiler", usage=USAGE,
                       description="Runs a Python program under pyrometer and writes its profile.")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="profile file (default: <program>.<pid>.prof, or .alloc with --alloc)")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("-p", "--period", type=float, metavar="SECONDS", help="seconds between samples")
    rate.add_argument("-r", "--rate", type=float, metavar="HZ", help=f"samples per second (default {DEFAULT_RATE:g})")
    p.add_argument("--mode", choices=("cpu", "wall"), help="cpu: CPU time (default); wall: wall-clock time, all threads")
    p.add_argument("--lines", action="store_true", default=None, help="record the line of every frame")
    p.add_argument("--mem", action="store_true", default=None, help="record RSS (kB) with every sample")
    p.add_argument("--config", metavar="FILE", help="ini file with a [global] section of these options")
    p.add_argument("-q", "--quiet", action="store_true", default=None, help="print nothing but errors")
    p.add_argument("--web", action="store_true", default=None,
                   help="write an HTML flame graph after the run and open it in a browser")
    alloc = p.add_argument_group("allocation tracking")
    alloc.add_argument("--alloc", action="store_true", default=None, help="track every allocation instead of sampling")
    alloc.add_argument("--native", action="store_true", default=None, help="add native (C) frames to allocation stacks")
    alloc.add_argument("--trace-python-allocators", action="store_true", default=None,
                       help="also track pymalloc's own allocations")
    alloc.add_argument("--follow-fork", action="store_true", default=None, help="forked children write FILE.<pid>")
    alloc.add_argument("--aggregate", action="store_true", default=None,
                       help="write only per-stack totals at the peak and at exit")
    alloc.add_argument("--rss-interval", type=float, metavar="SECONDS",
                       help="seconds between RSS samples in the memory-over-time chart (default 0.01)")
    p.set_defaults(handler=run, _parser=p)


def parse(argv):
    """Parses run's argv (the part after 'run') into (args, target)."""
    from pyrometer.cli import build_parser
    option_argv, target = program.split_run_argv(argv, VALUE_OPTIONS)
    parser = build_parser()
    args = parser.parse_args(["run", *option_argv])
    if args.config:
        for key, value in config.load(args.config, CONFIG_KEYS).items():
            if getattr(args, key, None) is None:
                setattr(args, key, value)
    if target is None:
        raise UsageError("no program to run: give a script, -m module or -c code")
    return args, target


def sampling_period(args):
    if args.period is not None and args.rate is not None:
        raise UsageError("give either --period or --rate, not both")
    if args.period is not None:
        if not args.period > 0:
            raise UsageError(f"--period must be positive, got {args.period:g}")
        return args.period
    rate = args.rate if args.rate is not None else DEFAULT_RATE
    if not rate > 0:
        raise UsageError(f"--rate must be positive, got {rate:g}")
    period = 1.0 / rate
    if period < sampling.MIN_PERIOD or period > sampling.MAX_PERIOD:
        raise UsageError(f"--rate {rate:g} Hz is outside 1/{sampling.MAX_PERIOD:g}..{1 / sampling.MIN_PERIOD:g} Hz")
    return period


def run(args):
    # cli.main routes `run` to parse() + execute() before argparse sees the
    # program's arguments; this handler only serves `pyrometer run` alone.
    raise UsageError("no program to run: give a script, -m module or -c code")


def execute(args, target):
    if args.alloc:
        return run_alloc(args, target)
    for flag in ("native", "trace_python_allocators", "follow_fork", "aggregate", "rss_interval"):
        if getattr(args, flag, None) not in (None, False):
            raise UsageError(f"--{flag.replace('_', '-')} applies to allocation tracking; add --alloc")
    return run_cpu(args, target)


def _open_output(path):
    try:
        return open(path, "wb")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the profile: {exc.strerror}") from None


def run_cpu(args, target):
    period = sampling_period(args)
    target.check()
    pid = os.getpid()
    output = args.output or f"{target.stem}.{pid}.prof"
    out = _open_output(output)
    try:
        sampling.enable(out.fileno(), period=period, memory=bool(args.mem), lines=bool(args.lines),
                        real_time=args.mode == "wall",
                        extra_meta=[("command", " ".join([target.describe(), *target.args]))],
                        stop_code=program.ENTRY_CODE)
    except (ValueError, RuntimeError) as exc:
        out.close()
        raise UsageError(str(exc)) from None
    status = 1
    try:
        status = program.run(target)
    finally:
        if os.getpid() == pid:
            info = sampling.disable()
            out.close()
    if os.getpid() != pid:
        # A forked child that returned into us: it was never sampled and the
        # profile is the parent's; it exits as python would.
        return status
    sys.stdout.flush()
    report(args, output, info)
    if args.web:
        show_web(output, args.quiet)
    return status


def show_web(profile_path, quiet):
    """Writes the HTML flame graph next to the profile and opens it."""
    try:
        from pyrometer import flamegraph
    except ImportError:
        raise UsageError("the HTML flame graph is not available in this build") from None
    from pyrometer import loader
    html = os.path.splitext(profile_path)[0] + ".html"
    flamegraph.write_flamegraph(loader.load(profile_path), html, title=os.path.basename(profile_path))
    if not quiet:
        print(f"pyrometer: flame graph written to {html}", file=sys.stderr)
    flamegraph.open_in_browser(html)


def run_alloc(args, target):
    try:
        from pyrometer.tracker import Tracker
    except ImportError:
        raise UsageError("allocation tracking is not available in this build") from None
    if args.lines or args.mem or args.mode or args.period is not None or args.rate is not None:
        raise UsageError("--lines, --mem, --mode, --period and --rate apply to CPU sampling, not --alloc")
    if args.rss_interval is not None and not 0.0005 <= args.rss_interval <= 3600:
        raise UsageError(f"--rss-interval must be between 0.0005 and 3600 seconds, not {args.rss_interval:g}")
    target.check()
    pid = os.getpid()
    output = args.output or f"{target.stem}.{pid}.alloc"
    tracker = Tracker(output, native=bool(args.native), trace_python_allocators=bool(args.trace_python_allocators),
                      follow_fork=bool(args.follow_fork), aggregate=bool(args.aggregate),
                      rss_interval=0.01 if args.rss_interval is None else args.rss_interval,
                      stop_code=program.ENTRY_CODE)
    try:
        tracker.start()
    except (ValueError, RuntimeError, OSError) as exc:
        raise UsageError(str(exc)) from None
    status = 1
    try:
        status = program.run(target)
    finally:
        # In a forked child returning into us, stop() finishes the child's own
        # capture (with --follow-fork); the parent's is not touched.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # a write failure is reported below, in one line
            tracker.stop()
    if os.getpid() != pid:
        return status
    sys.stdout.flush()
    if tracker.write_error:
        print(f"pyrometer: warning: {tracker.write_error}", file=sys.stderr)
    elif not args.quiet:
        print(f"pyrometer: allocations written to {output}", file=sys.stderr)
    if args.web:
        show_web(output, args.quiet)
    return status


def report(args, output, info):
    if args.quiet:
        return
    from pyrometer.stats import read_profile
    from pyrometer.commands.show import print_summary
    if info.get("write_failed"):
        return  # the writer's one warning said what happened and what was kept
    mode = "wall" if args.mode == "wall" else "cpu"
    print(f"pyrometer: {info['samples']} samples ({mode}, {info['delivered_hz']:.0f} Hz delivered, "
          f"{info['dropped']} dropped) written to {output}", file=sys.stderr)
    if not args.output:
        try:
            stats = read_profile(output)
        except UsageError as exc:
            print(f"pyrometer: warning: {exc}", file=sys.stderr)
            return
        print_summary(stats, file=sys.stderr)

"""Command-line entry point: `pyrometer <command> ...`.

Each subcommand lives in pyrometer/commands/<name>.py and provides
`add_parser(subparsers)` and `run(args) -> int`. Bad input raises
UsageError (or the native ProfileError) and becomes one line on stderr
with exit status 2 — never a traceback."""
import argparse
import importlib
import sys

from pyrometer.errors import UsageError
from pyrometer.program import EXIT_KEYBOARD_INTERRUPT

COMMANDS = ["run", "show", "flamegraph", "export", "summary", "stats"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    parser = _Parser(prog="pyrometer", description="Sampling CPU and allocation profiler for Python.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"pyrometer.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"pyrometer.commands.{name}":
                continue  # a command not built yet
            raise
        module.add_parser(sub)
    return parser


def die_by_sigint():
    """Ends the process the way python does after an uncaught
    KeyboardInterrupt, so the parent sees death by SIGINT."""
    import os
    import signal
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    return 130


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        if argv and argv[0] == "run":
            # run's own arguments end where the program's begin; parse only
            # the options so argparse never sees the program's arguments.
            from pyrometer.commands import run as run_command
            args, target = run_command.parse(argv[1:])
            status = run_command.execute(args, target)
            if status == EXIT_KEYBOARD_INTERRUPT:
                die_by_sigint()
            return status
        args = parser.parse_args(argv)
        return args.handler(args)
    except UsageError as exc:
        print(f"pyrometer: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI promises no tracebacks for bad input
        from pyrometer import _native
        if isinstance(exc, (_native.ProfileError, OSError)):
            print(f"pyrometer: error: {exc}", file=sys.stderr)
            return 2
        raise

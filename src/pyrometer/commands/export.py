"""`pyrometer export FILE --format F -o OUT [--thread TID]`: write a profile in
another tool's format (the C exporters in _native/export do the work)."""
import os

from pyrometer import _native, loader
from pyrometer.errors import UsageError

FORMATS = _native.Profile.export_formats()


def add_parser(subparsers):
    p = subparsers.add_parser(
        "export", help="convert a profile to another tool's format",
        description="Convert a profile to another tool's format: " + ", ".join(FORMATS) + ".")
    p.add_argument("file", help="profile (.prof) or allocation capture")
    p.add_argument("--format", "-f", required=True, metavar="FORMAT",
                   help="one of: " + ", ".join(FORMATS))
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="file to write ('-' for stdout)")
    p.add_argument("--thread", metavar="TID",
                   help="only this thread (its id as pyrometer shows it); default: all threads")
    p.set_defaults(handler=run)


def _thread_id(text):
    try:
        value = int(text, 0)
    except ValueError:
        raise UsageError(f"--thread: not a thread id: {text!r}") from None
    if value < 0:
        raise UsageError(f"--thread: not a thread id: {text!r}")
    return value


def run(args):
    if args.format not in FORMATS:
        raise UsageError(f"--format: unknown format {args.format!r} (choose from {', '.join(FORMATS)})")
    thread = None if args.thread is None else _thread_id(args.thread)
    profile = loader.load(args.file)
    if thread is not None and thread not in [tid for tid, _ in profile.threads()]:
        raise UsageError(f"{args.file}: no thread with id {thread} "
                         f"(threads: {', '.join(str(tid) for tid, _ in profile.threads()) or 'none'})")
    out_dir = os.path.dirname(os.path.abspath(args.output)) if args.output != "-" else None
    if out_dir is not None and not os.path.isdir(out_dir):
        raise UsageError(f"{args.output}: directory does not exist")
    try:
        profile.export(args.format, args.output, thread=thread, name=os.path.basename(args.file))
    except _native.ProfileError as exc:
        raise UsageError(str(exc)) from None
    return 0

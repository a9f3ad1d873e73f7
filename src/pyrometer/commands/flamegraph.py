"""`pyrometer flamegraph FILE [-o OUT.html]`: the interactive HTML flame graph."""
import os

from pyrometer import flamegraph, loader
from pyrometer.errors import UsageError


def add_parser(subparsers):
    p = subparsers.add_parser(
        "flamegraph", help="write an interactive, self-contained HTML flame graph",
        description="Write one offline HTML file (flame graph, search, function table) for a CPU profile "
                    "or an allocation capture.")
    # FILE may also come right after a bare --temporary-allocations, which
    # argparse hands to the option: run() sorts that out.
    p.add_argument("file", nargs="?", help="a vmprof profile or an allocation capture")
    p.add_argument("-o", "--output", help="the HTML file to write (default: FILE with an .html suffix)")
    p.add_argument("--title", help="the page title (default: the file's name)")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--leaks", action="store_true",
                      help="allocation captures: memory still allocated at exit (default view: peak)")
    view.add_argument("--temporary-allocations", nargs="?", const="1", metavar="N",
                      help="allocation captures: allocations freed within N further allocations (default 1)")
    p.add_argument("--open", action="store_true", help="open the page in a browser when one is available")
    p.set_defaults(handler=run)


def default_output(path):
    root, ext = os.path.splitext(path)
    return (root if ext else path) + ".html"


def temporary_threshold(args):
    """N of --temporary-allocations [N]; a non-number there is FILE, N is 1."""
    value = args.temporary_allocations
    if value.lstrip("-").isdigit():
        threshold = int(value)
        if threshold < 1:
            raise UsageError(f"--temporary-allocations: N must be at least 1, not {threshold}")
        return threshold
    if args.file is not None:
        raise UsageError(f"--temporary-allocations: N must be a whole number, not {value!r}")
    args.file = value
    return 1


def run(args):
    view, threshold = "peak", 1
    if args.leaks:
        view = "leaks"
    elif args.temporary_allocations is not None:
        view, threshold = "temporary", temporary_threshold(args)
    if args.file is None:
        raise UsageError("the following arguments are required: file")
    path = args.file
    kind = loader.file_kind(path)
    if kind != "capture" and view != "peak":
        option = "--leaks" if args.leaks else "--temporary-allocations"
        raise UsageError(f"{path}: {option} applies to allocation captures, and this is a vmprof CPU profile")
    profile = loader.load(path, view=view, temporary_threshold=threshold)
    out = args.output or default_output(path)
    title = args.title or f"{os.path.basename(path)}" + ("" if view == "peak" else f" ({view})")
    try:
        flamegraph.write_flamegraph(profile, out, title)
    except OSError as exc:
        raise UsageError(f"{out}: {exc.strerror or exc}") from None
    print(out)
    if args.open:
        flamegraph.open_in_browser(out)
    return 0

"""`pyrometer show FILE [tree|flat|lines]`: the profile in the terminal."""
import linecache
import os
import sys

from pyrometer.errors import UsageError
from pyrometer.textsafe import printable
from pyrometer.stats import read_profile

VIEWS = ("tree", "flat", "lines")


def add_parser(sub):
    p = sub.add_parser("show", help="print a profile as a tree, a flat table or per-line hits",
                       description="Prints a profile (pyrometer, vmprof or PyPy; or an allocation capture).")
    p.add_argument("file")
    p.add_argument("view", nargs="?", default="tree", choices=VIEWS)
    p.add_argument("--prune-percent", type=float, default=0.0, metavar="P",
                   help="hide tree nodes under P%% of the total")
    p.add_argument("--prune-level", type=int, default=None, metavar="N", help="show the tree N levels deep")
    p.add_argument("--thread", type=int, default=None, metavar="TID", help="only this thread")
    p.add_argument("--limit", type=int, default=30, metavar="N", help="rows in flat and lines views (default 30)")
    p.add_argument("--no-color", action="store_true", help="never colour the output")
    p.set_defaults(handler=run)


class Style:
    """ANSI colour only on a terminal, and never with --no-color or NO_COLOR."""

    def __init__(self, enabled):
        self.enabled = enabled

    def pct(self, value, text):
        if not self.enabled:
            return text
        code = "31" if value >= 50 else "33" if value >= 10 else "32" if value >= 1 else "2"
        return f"\033[{code}m{text}\033[0m"

    def dim(self, text):
        return f"\033[2m{text}\033[0m" if self.enabled else text

    def bold(self, text):
        return f"\033[1m{text}\033[0m" if self.enabled else text


def format_weight(value, unit):
    if unit != "bytes":
        return str(value)
    size = float(value)
    for suffix in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or suffix == "GiB":
            return f"{size:.0f} {suffix}" if suffix == "B" else f"{size:.1f} {suffix}"
        size /= 1024
    return str(value)


def location(file, line):
    if not file:
        return ""
    return printable(f"{file}:{line}" if line else file)


def header(stats, path, out):
    meta = stats.meta
    unit = stats.value_unit
    if unit == "bytes":
        print(f"{path}: {format_weight(stats.total_weight, unit)} in {stats.sample_count} stacks", file=out)
    else:
        mode = meta.get("mode") or ("wall" if stats.profile.mode & 16 else "cpu")
        rate = meta.get("delivered_hz")
        rate_text = f", {float(rate):.0f} Hz delivered" if rate else ""
        period = f", period {stats.profile.period_us} µs" if stats.profile.period_us else ""
        print(f"{path}: {stats.sample_count} samples ({mode}{period}{rate_text}, "
              f"{stats.dropped} dropped, {len(stats.threads)} threads)", file=out)
    if stats.warning:
        print(f"warning: {stats.warning}", file=out)


def show_tree(stats, args, style, out):
    root = stats.get_root(args.thread)
    total = root.count
    if total == 0:
        print("(no samples)", file=out)
        return
    unit = stats.value_unit
    limit = total * args.prune_percent / 100.0
    stack = [(child, 0) for child in reversed(root.children)]
    while stack:
        node, depth = stack.pop()
        if node.count < limit or node.count == 0:
            continue
        pct = 100.0 * node.count / total
        weight = f"  {format_weight(node.count, unit)}" if unit == "bytes" else ""
        print(f"{style.pct(pct, f'{pct:6.1f}%')}{weight}  {'  ' * depth}{printable(node.name)}  "
              f"{style.dim(location(node.file, node.line))}", file=out)
        if args.prune_level is None or depth + 1 < args.prune_level:
            stack.extend((child, depth + 1) for child in reversed(node.children))


def show_flat(stats, args, style, out):
    rows = stats.function_totals(args.thread)
    total = stats.get_root(args.thread).count
    if total == 0:
        print("(no samples)", file=out)
        return
    print(style.bold(f"{'self%':>7} {'total%':>7}  {'self':>10}  function"), file=out)
    for f, self_w, total_w in rows[: args.limit]:
        s, t = 100.0 * self_w / total, 100.0 * total_w / total
        print(f"{style.pct(s, f'{s:6.1f}%')} {style.pct(t, f'{t:6.1f}%')}  "
              f"{format_weight(self_w, stats.value_unit):>10}  {printable(f.name)}  {style.dim(location(f.file, f.line))}",
              file=out)


def show_lines(stats, args, style, out):
    hits = stats.line_hits(args.thread)
    if not any(line for (_f, line) in hits):
        raise UsageError(f"{args.file}: no per-line data in this profile (record it with `pyrometer run --lines`)")
    total = stats.get_root(args.thread).count or 1
    by_function = {}
    for (f, line), (self_w, total_w) in hits.items():
        if line:
            entry = by_function.setdefault(f, {})
            prev = entry.get(line, (0, 0))
            entry[line] = (prev[0] + self_w, prev[1] + total_w)
    ranked = sorted(by_function.items(),
                    key=lambda item: (-sum(v[0] for v in item[1].values()), item[0].name, item[0].file))
    for f, lines in ranked[: max(1, args.limit // 3)]:
        fself = sum(v[0] for v in lines.values())
        print(style.bold(f"{printable(f.name)}  {location(f.file, f.line)}  ({100.0 * fself / total:.1f}% self)"),
              file=out)
        for line in sorted(lines):
            self_w, total_w = lines[line]
            pct = 100.0 * self_w / total
            source = printable(linecache.getline(f.file, line).rstrip()) if f.file and os.path.exists(f.file) else ""
            print(f"  {style.pct(pct, f'{pct:6.1f}%')} {100.0 * total_w / total:6.1f}%  {line:>6}  {source}", file=out)
        print(file=out)


def print_summary(stats, file=sys.stdout, rows=10):
    """The short top-functions table printed after `run` without -o."""
    total = stats.get_root().count
    if total == 0:
        print("pyrometer: no samples were taken (the program ran too briefly?)", file=file)
        return
    print(f"{'self%':>7} {'total%':>7}  function", file=file)
    for f, self_w, total_w in stats.function_totals()[:rows]:
        print(f"{100.0 * self_w / total:6.1f}% {100.0 * total_w / total:6.1f}%  {printable(f.name)}  "
              f"{location(f.file, f.line)}", file=file)


def run(args):
    if args.prune_percent < 0 or args.prune_percent > 100:
        raise UsageError(f"--prune-percent must be between 0 and 100, got {args.prune_percent:g}")
    if args.prune_level is not None and args.prune_level < 1:
        raise UsageError(f"--prune-level must be at least 1, got {args.prune_level}")
    stats = read_profile(args.file)
    if args.thread is not None:
        try:
            stats.thread_index(args.thread)
        except KeyError:
            ids = ", ".join(str(t.id) for t in stats.threads) or "none"
            raise UsageError(f"{args.file}: no thread {args.thread} (threads: {ids})") from None
    out = sys.stdout
    style = Style(out.isatty() and not args.no_color and "NO_COLOR" not in os.environ)
    header(stats, args.file, out)
    if args.thread is None and len(stats.threads) > 1:
        names = ", ".join(f"{t.id}{' ' + printable(t.name) if t.name else ''} ({t.samples})" for t in stats.threads)
        print(f"threads: {names}", file=out)
    {"tree": show_tree, "flat": show_flat, "lines": show_lines}[args.view](stats, args, style, out)
    return 0

"""`pyrometer summary CAPTURE`: a table by source location of an allocation
capture: total allocated, number of allocations, and memory live at the peak
allocated right there (own) or below it (total)."""
import json
import sys

from pyrometer import memreport

SORT_KEYS = {
    "peak-total": "peak_total_bytes",
    "peak-own": "peak_own_bytes",
    "total": "own_bytes",
    "count": "own_count",
    "leaked": "leaked_bytes",
}


def add_parser(subparsers):
    p = subparsers.add_parser("summary", help="table of allocations by location (allocation captures)",
                              description=__doc__)
    p.add_argument("file", help="allocation capture (pyrometer run --alloc)")
    p.add_argument("-s", "--sort", choices=sorted(SORT_KEYS), default="peak-total",
                   help="column to sort by, largest first (default: peak-total)")
    p.add_argument("-n", "--limit", type=int, default=20, metavar="N",
                   help="show the first N rows (0: all; default 20)")
    p.add_argument("--bytes", action="store_true", help="exact byte counts instead of KiB/MiB")
    p.add_argument("--json", action="store_true", help="rows as JSON")
    p.set_defaults(handler=run)


def rows(report, sort, limit):
    key = SORT_KEYS[sort]
    out = [r for r in report["locations"] if r["own_count"] or r["peak_total_bytes"] or r["leaked_bytes"]]
    out.sort(key=lambda r: (-r[key], r["function"], r["file"], r["line"]))
    return out[:limit] if limit > 0 else out


def run(args):
    report = memreport.load_report(args.file)
    memreport.warn(report, args.file, sys.stderr)
    table = rows(report, args.sort, args.limit)
    if args.json:
        json.dump({"peak_bytes": report["peak_bytes"], "total_bytes": report["total_bytes"],
                   "locations": [{k: r[k] for k in memreport.FIELDS if k != "kind"} for r in table]},
                  sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    fmt = memreport.size_formatter(args.bytes)
    header = ("Location", "Total allocated", "Allocations", "Own at peak", "Total at peak")
    lines = [(memreport.location_name(r), fmt(r["own_bytes"]), str(r["own_count"]), fmt(r["peak_own_bytes"]),
              fmt(r["peak_total_bytes"])) for r in table]
    widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(header)]
    print(f"Peak {fmt(report['peak_bytes'])} in {report['peak_count']} blocks; "
          f"{fmt(report['total_bytes'])} allocated in {report['total_count']} allocations")
    print("  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(header)))
    for l in lines:
        print("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(l)))
    return 0

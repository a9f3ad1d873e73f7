"""`pyrometer stats CAPTURE [--json]`: totals of an allocation capture, the
size histogram, how many calls each allocator got, and the top locations by
bytes and by number of allocations."""
import json
import sys

from pyrometer import memreport


def add_parser(subparsers):
    p = subparsers.add_parser("stats", help="totals, size histogram and top allocators (allocation captures)",
                              description=__doc__)
    p.add_argument("file", help="allocation capture (pyrometer run --alloc)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-n", "--top", type=int, default=10, metavar="N", help="locations in each top list (default 10)")
    p.set_defaults(handler=run)


def bucket_range(i):
    """Histogram bucket i holds sizes in [2^(i-1), 2^i); bucket 0 holds size 0."""
    return (0, 0) if i == 0 else (1 << (i - 1), (1 << i) - 1)


def build(report, top):
    locs = [r for r in report["locations"] if r["own_count"]]
    by_size = sorted(locs, key=lambda r: (-r["own_bytes"], r["function"], r["file"], r["line"]))[:top]
    by_count = sorted(locs, key=lambda r: (-r["own_count"], r["function"], r["file"], r["line"]))[:top]
    slim = lambda r: {"function": r["function"], "file": r["file"], "line": r["line"],  # noqa: E731
                      "bytes": r["own_bytes"], "count": r["own_count"]}
    return {
        "total_bytes": report["total_bytes"],
        "total_allocations": report["total_count"],
        "total_frees": report["free_count"],
        "peak_bytes": report["peak_bytes"],
        "peak_blocks": report["peak_count"],
        "leaked_bytes": report["leaked_bytes"],
        "leaked_blocks": report["leaked_count"],
        "max_rss_bytes": report["max_rss_bytes"],
        "duration_us": report["duration_us"],
        "histogram": [{"min": bucket_range(i)[0], "max": bucket_range(i)[1], "count": c}
                      for i, c in enumerate(report["histogram"]) if c],
        "allocators": {k: {"count": v[0], "bytes": v[1]} for k, v in sorted(report["allocators"].items())},
        "top_by_size": [slim(r) for r in by_size],
        "top_by_count": [slim(r) for r in by_count],
        "meta": report["meta"],
        "warning": report["warning"],
    }


def run(args):
    report = memreport.load_report(args.file)
    memreport.warn(report, args.file, sys.stderr)
    s = build(report, args.top)
    if args.json:
        json.dump(s, sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    h = memreport.human
    meta = s["meta"]
    print(f"Command line: {meta.get('command_line', '?')}")
    print(f"Python {meta.get('python_version', '?')}, pid {meta.get('pid', '?')}"
          + (f", flags: {meta['flags']}" if meta.get("flags") else ""))
    if s["duration_us"] >= 0:
        print(f"Duration: {s['duration_us'] / 1e6:.3f} s")
    print(f"Total allocated: {h(s['total_bytes'])} in {s['total_allocations']} allocations "
          f"({s['total_frees']} frees)")
    print(f"Peak (tracked heap): {h(s['peak_bytes'])} in {s['peak_blocks']} blocks")
    print(f"Still allocated at exit: {h(s['leaked_bytes'])} in {s['leaked_blocks']} blocks")
    if s["max_rss_bytes"] >= 0:
        print(f"Max RSS: {h(s['max_rss_bytes'])}")
    print("\nAllocation sizes:")
    most = max((b["count"] for b in s["histogram"]), default=1)
    for b in s["histogram"]:
        bar = "#" * max(1, round(40 * b["count"] / most))
        print(f"  {h(b['min']):>10} - {h(b['max']):>10}  {b['count']:>10}  {bar}")
    print("\nAllocators:")
    for name, v in s["allocators"].items():
        print(f"  {name:<18} {v['count']:>10} calls  {h(v['bytes']):>12}")
    for title, key in (("Top locations by size", "top_by_size"), ("Top locations by count", "top_by_count")):
        print(f"\n{title}:")
        for r in s[key]:
            name = memreport.location_name({**r, "kind": 0 if r["line"] else 1})
            print(f"  {h(r['bytes']):>12}  {r['count']:>10}  {name}")
    return 0

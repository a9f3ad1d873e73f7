#!/usr/bin/env python3
"""Times each exporter in-process on one profile (load once, export each format).

    PYTHONPATH=src python3 bench/export_speed.py PROFILE [--out-dir DIR] [--rounds 3]

Prints one line per format: best time over the rounds (the export itself,
including writing the file) and the output size."""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
from pyrometer import loader  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile")
    ap.add_argument("--out-dir", default=None)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    out_dir = args.out_dir or tempfile.mkdtemp(prefix="export-speed-")
    t0 = time.perf_counter()
    p = loader.load(args.profile)
    print(f"load       {time.perf_counter() - t0:7.3f} s  {p.sample_count:,} samples, "
          f"{len(p.functions())} functions, {len(p.threads())} threads")
    for fmt in p.export_formats():
        out = os.path.join(out_dir, f"out.{fmt}")
        best = None
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            p.export(fmt, out)
            elapsed = time.perf_counter() - t0
            best = elapsed if best is None else min(best, elapsed)
        print(f"{fmt:<10} {best:7.3f} s  {os.path.getsize(out):>14,} bytes")
        os.unlink(out)


if __name__ == "__main__":
    main()

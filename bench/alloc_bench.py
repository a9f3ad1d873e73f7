"""Allocation tracking overhead, capture size and report time: pyrometer vs memray.

    PYTHONPATH=src python3 bench/alloc_bench.py [--repeat 3] [--out bench/alloc_results.json]

Each (workload, tracker, mode) runs in a fresh subprocess that times only the
tracked region (tracker start .. stop, including the final flush), so import
and interpreter start-up are not counted for either tool. Overhead is the
best of `repeat` runs divided by the best untracked run. Report time is the
wall time of `pyrometer stats` vs `memray stats` and `pyrometer summary` vs
`memray summary` on the captures of the same run."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")

CHILD = r"""
import os, sys, time
sys.path.insert(0, {here!r})
import alloc_workloads
tool, mode, workload, path = {tool!r}, {mode!r}, {workload!r}, {path!r}
fn = alloc_workloads.WORKLOADS[workload]
native = mode in ("native", "both")
pyalloc = mode in ("pyalloc", "both")
if tool == "pyrometer":
    from pyrometer import Tracker
    tracker = Tracker(path, native=native, trace_python_allocators=pyalloc)
elif tool == "memray":
    import memray
    tracker = memray.Tracker(path, native_traces=native, trace_python_allocators=pyalloc)
else:
    tracker = None
t0 = time.perf_counter()
if tracker is not None:
    tracker.__enter__()
fn()
if tracker is not None:
    tracker.__exit__(None, None, None)
print(time.perf_counter() - t0)
"""


def run_once(tool, mode, workload, path):
    env = dict(os.environ, PYTHONPATH=SRC)
    code = CHILD.format(here=HERE, tool=tool, mode=mode, workload=workload, path=path)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def timed(cmd):
    env = dict(os.environ, PYTHONPATH=SRC)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr[-500:]}")
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workloads", default="pyobjects,buffers,compute")
    ap.add_argument("--modes", default="default,pyalloc,native")
    ap.add_argument("--out", default=os.path.join(HERE, "alloc_results.json"))
    args = ap.parse_args()
    results = []
    tmp = tempfile.mkdtemp(prefix="alloc-bench-")
    for workload in args.workloads.split(","):
        base = min(run_once("none", "default", workload, "") for _ in range(args.repeat))
        print(f"{workload}: untracked {base:.3f} s", flush=True)
        for mode in args.modes.split(","):
            row = {"workload": workload, "mode": mode, "baseline_s": round(base, 4)}
            for tool in ("pyrometer", "memray"):
                path = os.path.join(tmp, f"{workload}-{mode}.{tool}")
                best = float("inf")
                for _ in range(args.repeat):
                    for p in (path,):
                        if os.path.exists(p):
                            os.unlink(p)
                    best = min(best, run_once(tool, mode, workload, path))
                row[f"{tool}_s"] = round(best, 4)
                row[f"{tool}_overhead"] = round(best / base, 2)
                row[f"{tool}_bytes"] = os.path.getsize(path)
            row["pyrometer_stats_s"] = round(timed([sys.executable, "-m", "pyrometer", "stats",
                                                    os.path.join(tmp, f"{workload}-{mode}.pyrometer")]), 3)
            row["memray_stats_s"] = round(timed([sys.executable, "-m", "memray", "stats",
                                                 os.path.join(tmp, f"{workload}-{mode}.memray")]), 3)
            row["pyrometer_summary_s"] = round(timed([sys.executable, "-m", "pyrometer", "summary",
                                                      os.path.join(tmp, f"{workload}-{mode}.pyrometer")]), 3)
            row["memray_summary_s"] = round(timed([sys.executable, "-m", "memray", "summary",
                                                   os.path.join(tmp, f"{workload}-{mode}.memray")]), 3)
            print(json.dumps(row), flush=True)
            results.append(row)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    print(f"results in {args.out}")


if __name__ == "__main__":
    main()

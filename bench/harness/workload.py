"""Child process: run one program's fixed amount of work and record how long it took.

usage: workload.py PROGRAM LOOPS RESULT_JSON [--inproc KIND] [--prof-out PATH]

PROGRAM is a spec for programs.load(). The work is timed in-process
(perf_counter around the work only, so interpreter start-up and profile
writing are excluded for every configuration alike). In-process profilers
(vmprof, pyinstrument, cProfile) are enabled before the timer starts and
stopped after it ends; external ones (pyrometer run, py-spy, memray) wrap
this whole process. The result is a JSON object written to RESULT_JSON.
"""
import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import programs  # noqa: E402


def _start(kind, out):
    """Start an in-process profiler; return a stop() callable."""
    if kind == "none":
        return lambda: None
    if kind.startswith("vmprof-"):
        import vmprof
        mode, hz = kind[len("vmprof-"):].split(":")
        fd = os.open(out, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        # native=False: Python frames only, as pyrometer records them (vmprof's
        # Linux default, native=True, also unwinds C frames with libunwind in
        # its handler, and at 10 kHz never gets past the first sample here).
        vmprof.enable(fd, period=1.0 / float(hz), real_time=(mode == "real"), native=False)

        def stop():
            vmprof.disable()
            os.close(fd)
        return stop
    if kind == "pyinstrument":
        from pyinstrument import Profiler
        profiler = Profiler(interval=0.001)
        profiler.start()

        def stop():
            session = profiler.stop()
            session.save(out)
        return stop
    if kind == "cprofile":
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()

        def stop():
            profiler.disable()
            profiler.dump_stats(out)
        return stop
    raise SystemExit(f"workload.py: unknown in-process profiler {kind!r}")


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("program")
    parser.add_argument("loops", type=int)
    parser.add_argument("result")
    parser.add_argument("--inproc", default="none")
    parser.add_argument("--prof-out")
    args = parser.parse_args(argv)

    work = programs.load(args.program)
    stop = _start(args.inproc, args.prof_out)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    extra = run_work(work, args.loops)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    stop()
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "extra": extra,
    }
    with open(args.result, "w") as f:
        json.dump(result, f)
    return 0


def run_work(work, loops):
    """The root of every measured stack: profiles are cut at this frame."""
    return work(loops)


if __name__ == "__main__":
    sys.exit(main())

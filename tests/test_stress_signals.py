"""The profiled program's own SIGALRM / SIGPROF / setitimer use. pyrometer
must either coexist (the program's handler still fires as often as without
the profiler, its timer reads back as it set it, and the profile still has
samples or a warning says why not) or refuse with a clear one-line message.
It must never break either side silently."""
import json
import re

import pytest

from stress_util import plain_run, profile_run, require_run, summarize, write

OWN_TIMER = """
    import json, signal, sys, time
    which = sys.argv[1]
    sig, timer = {
        "alarm": (signal.SIGALRM, signal.ITIMER_REAL),
        "prof": (signal.SIGPROF, signal.ITIMER_PROF),
        "virtual": (signal.SIGVTALRM, signal.ITIMER_VIRTUAL),
    }[which]
    fired = 0

    def handler(signum, frame):
        global fired
        fired += 1

    signal.signal(sig, handler)
    signal.setitimer(timer, 0.005, 0.005)
    end = time.process_time() + 1.0
    x = 0
    while time.process_time() < end:
        x += 1
    interval = signal.getitimer(timer)[1]
    kept = signal.getsignal(sig) is handler
    signal.setitimer(timer, 0, 0)
    # signal.alarm: one shot, must arrive once.
    got_alarm = []
    if which == "alarm":
        signal.signal(signal.SIGALRM, lambda s, f: got_alarm.append(1))
        signal.alarm(1)
        deadline = time.monotonic() + 5
        while not got_alarm and time.monotonic() < deadline:
            time.sleep(0.01)
    print(json.dumps({"fired": fired, "handler_kept": kept, "interval": round(interval, 4),
                      "alarm": len(got_alarm)}))
"""

CLEAR_REFUSAL = re.compile(r"SIG(ALRM|PROF|VTALRM)|setitimer|timer", re.I)


@pytest.mark.parametrize("mode", ["cpu", "wall"])
@pytest.mark.parametrize("which", ["alarm", "prof", "virtual"])
def test_programs_own_timer_signals(tmp_path, mode, which):
    require_run()
    script = write(tmp_path, "timer.py", OWN_TIMER)
    baseline = json.loads(plain_run(tmp_path, script, which).stdout)
    assert baseline["fired"] >= 50  # the check below is meaningful on this machine
    proc, out = profile_run(tmp_path, script, which, mode=mode, rate=1000)
    if proc.returncode != 0:
        # Refusing is allowed, but only with a clear one-line reason.
        assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
        assert CLEAR_REFUSAL.search(proc.stderr), f"refused without naming the conflict: {proc.stderr[-2000:]}"
        return
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["fired"] >= baseline["fired"] // 2, f"the program's handler fired {got['fired']} times " \
                                                   f"under pyrometer, {baseline['fired']} without"
    assert got["handler_kept"], "the program's signal handler was replaced"
    assert got["interval"] == baseline["interval"], "the program's timer interval was changed"
    if which == "alarm":
        assert got["alarm"] == 1, "signal.alarm() did not arrive"
    s = summarize(out)
    warned = CLEAR_REFUSAL.search(proc.stderr) or CLEAR_REFUSAL.search(s["warning"] or "")
    assert s["samples"] > 0 or warned, "no samples and no warning: the profile broke silently"

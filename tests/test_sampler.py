"""The sampler: threads, modes, rates, deep stacks, safety and names."""
import textwrap

import pytest

from conftest import run_cli

import pyrometer

SPIN = """
import time
def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        sum(range(200))
"""


def find(node, name):
    """The first descendant (depth first, heaviest first) named `name`."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.name == name and n is not node:
            return n
        stack.extend(reversed(n.children))
    raise KeyError(name)


def profile_of(tmp_path, source, *options, name="prog.py", timeout=120):
    script = tmp_path / name
    script.write_text(SPIN + textwrap.dedent(source))
    out = tmp_path / (name + ".prof")
    proc = run_cli("run", "-q", "-o", out, *options, script, cwd=tmp_path, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return pyrometer.read_profile(out), proc


def test_every_thread_is_sampled_with_its_name(tmp_path):
    stats, _ = profile_of(tmp_path, """
        import threading
        threads = [threading.Thread(target=spin, args=(0.3,), name=f"worker-{i}") for i in range(3)]
        for t in threads: t.start()
        spin(0.3)
        for t in threads: t.join()
    """)
    names = sorted(t.name for t in stats.threads)
    assert names == ["MainThread", "worker-0", "worker-1", "worker-2"]
    for t in stats.threads:
        # 0.3 s of CPU at 1 kHz each; allow scheduling noise
        assert 200 <= t.samples <= 400, (t, stats.threads)
        assert find(stats.get_root(thread=t.id), "spin").count >= 0.9 * t.samples


def test_cpu_mode_ignores_sleeping_threads_wall_mode_sees_them(tmp_path):
    source = """
        import threading, time
        sleeper = threading.Thread(target=time.sleep, args=(0.6,), name="sleeper")
        sleeper.start()
        spin(0.3)
        sleeper.join()
    """
    cpu, _ = profile_of(tmp_path, source, "--mode", "cpu", name="c.py")
    assert "sleeper" not in [t.name for t in cpu.threads]
    wall, _ = profile_of(tmp_path, source, "--mode", "wall", name="w.py")
    by_name = {t.name: t for t in wall.threads}
    assert by_name["sleeper"].samples >= 400  # ~0.6 s at 1 kHz of wall time
    assert by_name["MainThread"].samples >= by_name["sleeper"].samples * 0.9
    assert wall.getmeta("mode") == "wall"
    assert float(wall.getmeta("delivered_hz")) > 800


@pytest.mark.parametrize("mode", ["cpu", "wall"])
def test_threads_that_block_every_signal_are_still_sampled(tmp_path, mode):
    # Servers often run workers with all signals blocked. A sampler that
    # relies on signalling the thread would see nothing of this one; the
    # stack reader never signals, so it is sampled like any other.
    stats, _ = profile_of(tmp_path, """
        import signal, threading
        def masked():
            signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
            spin(0.4)
        t = threading.Thread(target=masked, name="masked")
        t.start()
        t.join()
    """, "--mode", mode)
    masked = next(t for t in stats.threads if t.name == "masked")
    assert masked.samples >= 250, stats.threads  # 0.4 s at 1 kHz, CPU or wall
    assert find(stats.get_root(thread=masked.id), "spin").count >= 0.9 * masked.samples


def test_wall_mode_does_not_change_blocking_calls(tmp_path):
    stats, proc = profile_of(tmp_path, """
        import os, select, socket, subprocess, sys, threading, time
        results = []
        t0 = time.monotonic(); time.sleep(0.5); results.append(("sleep", time.monotonic() - t0 >= 0.5))
        r, w = os.pipe()
        t0 = time.monotonic(); ready = select.select([r], [], [], 0.4)
        results.append(("select", ready == ([], [], []) and time.monotonic() - t0 >= 0.4))
        a, b = socket.socketpair()
        threading.Timer(0.4, lambda: b.send(b"x")).start()
        t0 = time.monotonic(); data = a.recv(1)
        results.append(("recv", data == b"x" and time.monotonic() - t0 >= 0.35))
        ev = threading.Event()
        t0 = time.monotonic(); flag = ev.wait(0.4)
        results.append(("event", flag is False and time.monotonic() - t0 >= 0.4))
        child = subprocess.run([sys.executable, "-c", "import time; time.sleep(0.3); print('child ok')"],
                               capture_output=True, text=True)
        results.append(("subprocess", child.returncode == 0 and child.stdout == "child ok\\n"))
        print(results)
        assert all(ok for _, ok in results), results
    """, "--mode", "wall", "-r", "2000")
    assert "False" not in proc.stdout
    assert stats.sample_count > 1000


@pytest.mark.parametrize("mode, rate", [("cpu", 100), ("cpu", 1000), ("cpu", 10000), ("wall", 1000), ("wall", 5000)])
def test_delivered_rate_within_ten_percent(tmp_path, mode, rate):
    stats, _ = profile_of(tmp_path, "spin(1.0)\n", "--mode", mode, "-r", str(rate), name=f"r{mode}{rate}.py")
    delivered = float(stats.getmeta("delivered_hz"))
    assert abs(delivered - rate) <= 0.1 * rate, (delivered, rate)
    assert float(stats.getmeta("requested_hz")) == rate
    # in CPU mode the samples themselves match the CPU time spent
    if mode == "cpu":
        assert abs(stats.sample_count - rate * 1.0) <= 0.1 * rate * 1.0 + 5


def test_one_hertz(tmp_path):
    stats, _ = profile_of(tmp_path, "spin(3.2)\n", "-r", "1", name="slow.py")
    assert 2 <= stats.sample_count <= 4


def test_thousand_deep_stacks_whole_deeper_truncated(tmp_path):
    stats, _ = profile_of(tmp_path, """
        import sys
        sys.setrecursionlimit(10000)
        def down(n, depth):
            if n == 0:
                return spin(0.2)
            return down(n - 1, depth)
        down(1000, 1000)
        down(3000, 3000)
    """)
    root = stats.get_root()
    depths = []

    def deepest(node, depth=0):
        best = depth
        for child in node.children:
            best = max(best, deepest(child, depth + 1))
        return best

    import sys
    sys.setrecursionlimit(20000)
    assert deepest(root) >= 1000
    names = {child.name for child in root.children}
    assert "<truncated>" in names  # the 3000-deep stacks, cut at the root side
    trunc = root["<truncated>"]
    # below the marker: the leaf-side frames, ending in spin
    node, depth = trunc, 0
    while node.children:
        node = node.children[0]
        depth += 1
    assert node.name in ("spin", "<genexpr>") or node.name == "down"
    assert depth >= 2000
    module = root["<module>"]
    whole = module["down"]
    length = 1
    while "down" in [c.name for c in whole.children]:
        whole = whole["down"]
        length += 1
    assert length >= 1001


def test_generators_asyncio_exceptions_threads_churn(tmp_path):
    stats, _ = profile_of(tmp_path, """
        import asyncio, hashlib, threading, zlib
        def gen():
            for i in range(3000):
                spin(0.00005)
                yield i
        async def task(i):
            await asyncio.sleep(0)
            spin(0.0005)
            return i
        async def main():
            return sum(await asyncio.gather(*(task(i) for i in range(300))))
        for _ in range(3):
            sum(gen())
            assert asyncio.run(main()) == sum(range(300))
            for _ in range(200):
                try:
                    raise KeyError("x")
                except KeyError:
                    pass
            for _ in range(20):  # threads starting and ending constantly
                ts = [threading.Thread(target=spin, args=(0.002,)) for _ in range(10)]
                for t in ts: t.start()
                for t in ts: t.join()
            data = b"x" * 5_000_000
            zlib.compress(data)  # releases the GIL
            hashlib.sha256(data).hexdigest()
        print("ok")
    """, "-r", "5000", "--mode", "wall")
    assert stats.sample_count > 1000
    assert len(stats.threads) > 50
    names = {f.name for f in stats.functions}
    assert {"gen", "task", "spin"} <= names


def test_code_objects_dying_keep_their_names(tmp_path):
    # gen_i is created, run and freed (its address is reused by the next
    # one); leaf_i lives for the whole run. A sample naming gen_i must have
    # leaf_i (never another leaf) below it, or a stale name was used.
    stats, _ = profile_of(tmp_path, """
        import gc
        leaves = []
        for i in range(300):
            ns = {"spin": spin}
            exec(compile(f"def leaf_{i}():\\n    spin(0.004)\\n", f"<leaf-{i}>", "exec"), ns)
            leaves.append(ns[f"leaf_{i}"])
        for i in range(300):
            namespace = {"leaf": leaves[i]}
            exec(compile(f"def gen_{i}():\\n    leaf()\\n", f"<gen-{i}>", "exec"), namespace)
            namespace[f"gen_{i}"]()
            del namespace
            gc.collect()
    """, "-r", "2000")
    seen = 0
    for node in find(stats.get_root(), "<module>").children:
        if not node.name.startswith("gen_"):
            continue
        i = node.name[4:]
        assert node.file == f"<gen-{i}>", (node.name, node.file)
        for child in node.children:
            assert child.name == f"leaf_{i}", (node.name, child.name)
            seen += 1
    assert seen >= 250


def test_full_buffer_drops_are_counted_and_shown(tmp_path):
    script = tmp_path / "drops.py"
    script.write_text(SPIN + textwrap.dedent("""
        import os, pyrometer, sys, threading, time
        f = open(sys.argv[1], "wb")
        pyrometer.enable(f.fileno(), period=0.0001, real_time=True)
        pyrometer.sampling._native.sampler_pause()  # noqa - keep the test deterministic below
        pyrometer.sampling._native.sampler_resume()
        def deep(n):
            return deep(n - 1) if n else spin(0.5)
        threads = [threading.Thread(target=deep, args=(300,)) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        info = pyrometer.disable()
        f.close()
        print(info["dropped"])
    """))
    # a tiny ring, so 8 threads x 300 frames x 10 kHz overflows it
    out = tmp_path / "drops.prof"
    import subprocess, sys
    from conftest import cli_env
    proc = subprocess.run([sys.executable, str(script), str(out)], env=cli_env({"PYROMETER_RING_BYTES": "65536"}),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    dropped = int(proc.stdout.strip())
    assert dropped > 0
    stats = pyrometer.read_profile(out)
    assert stats.dropped == dropped
    shown = run_cli("show", out, "flat")
    assert f"{dropped} dropped" in shown.stdout

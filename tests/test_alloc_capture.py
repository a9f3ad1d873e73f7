"""Allocation tracking end to end: programs run in a subprocess under
pyrometer.Tracker (or `pyrometer run --alloc`), captures checked through
the reader. Each scenario asserts exact byte counts where the program's
allocations are known."""
import os
import signal
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path

import pytest

from conftest import SRC, cli_env

from pyrometer import _native  # noqa: E402

EXT_SRC = Path(__file__).resolve().parent / "alloc_ext" / "allocext.c"
MB = 1 << 20


@pytest.fixture(scope="session")
def allocext(tmp_path_factory):
    """Builds the test extension; returns the directory holding it."""
    out = tmp_path_factory.mktemp("allocext")
    so = out / ("allocext" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-I", sysconfig.get_paths()["include"], str(EXT_SRC),
                    "-o", str(so), "-lpthread"], check=True)
    return out


def run_py(code, tmp_path, extra_path=None, timeout=60):
    env = cli_env({"PYTHONPATH": os.pathsep.join([str(SRC)] + ([str(extra_path)] if extra_path else []))})
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(code))
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc


def by_function(profile):
    """{leaf function name: bytes} of a profile's samples."""
    functions = profile.functions()
    funcs, parents, selfs, totals = profile.calltree()
    out = {}
    for f, s in zip(funcs, selfs):
        if f >= 0 and s:
            name = functions[f][0]
            out[name] = out.get(name, 0) + s
    return out


def location(report, name):
    rows = [r for r in report["locations"] if r[0] == name]
    assert rows, f"no location {name!r} in {[r[0] for r in report['locations']]}"
    return rows


@pytest.mark.parametrize("how,touch", [("bytearray", 100), ("mmap", 0), ("mmap", 50), ("mmap", 100),
                                       ("ctypes", 0), ("ctypes", 100)])
def test_512mb_at_peak_within_1_percent(tmp_path, how, touch):
    run_py(f"""
        import ctypes, mmap
        from pyrometer import Tracker
        SIZE = 512 << 20
        def big():
            if "{how}" == "bytearray":
                return bytearray(SIZE)
            if "{how}" == "mmap":
                m = mmap.mmap(-1, SIZE)
                for off in range(0, SIZE * {touch} // 100, 4096):
                    m[off] = 1
                return m
            buf = (ctypes.c_char * SIZE)()     # ctypes calloc()s it: untouched pages
            ctypes.memset(buf, 1, SIZE * {touch} // 100)
            return buf
        with Tracker("out.alloc"):
            x = big()
            del x
    """, tmp_path)
    peak = _native.read_capture(str(tmp_path / "out.alloc"), "peak", 1)
    funcs = by_function(peak)
    assert abs(funcs["big"] - 512 * MB) <= 0.01 * 512 * MB, funcs
    assert abs(peak.total_weight - 512 * MB) <= 0.01 * 512 * MB


def test_exact_counts_leaks_and_temporary_from_c_extension(tmp_path, allocext):
    run_py("""
        from pyrometer import Tracker
        with Tracker("out.alloc"):
            import allocext            # dlopen'ed after tracking started
            def keeper():
                allocext.keep(1000, 4099)
            def temps():
                allocext.temporary(777, 5003)
            def mixed():
                allocext.interleaved(100, 6007)
            keeper()
            temps()
            mixed()
            allocext.release(250)
    """, tmp_path, extra_path=allocext)
    path = str(tmp_path / "out.alloc")
    report = _native.capture_report(path)
    keeper = location(report, "keeper")
    assert sum(r[4] for r in keeper) == 1000 and sum(r[3] for r in keeper) == 1000 * 4099
    assert sum(r[7] for r in keeper) == 750 * 4099          # leaked
    temps = location(report, "temps")
    assert sum(r[4] for r in temps) == 777 and sum(r[3] for r in temps) == 777 * 5003
    assert sum(r[7] for r in temps) == 0
    leaks = by_function(_native.read_capture(path, "leaks", 1))
    assert leaks["keeper"] == 750 * 4099
    assert "temps" not in leaks and "mixed" not in leaks
    temp1 = by_function(_native.read_capture(path, "temporary", 1))
    assert temp1["temps"] == 777 * 5003
    assert temp1["mixed"] == 100 * 6007                     # only the calloc'ed b
    assert "keeper" not in temp1
    temp2 = by_function(_native.read_capture(path, "temporary", 2))
    assert temp2["mixed"] == 200 * 6007
    assert report["allocators"]["calloc"][0] >= 100


def test_pthread_of_c_extension_and_python_threads(tmp_path, allocext):
    run_py("""
        import threading
        from pyrometer import Tracker
        import allocext
        def worker(i):
            global kept
            kept[i] = bytearray(1000003 + i)
        kept = [None] * 4
        with Tracker("out.alloc"):
            allocext.pthread_alloc(300, 7040)
            threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
            for t in threads: t.start()
            for t in threads: t.join()
    """, tmp_path, extra_path=allocext)
    path = str(tmp_path / "out.alloc")
    report = _native.capture_report(path)
    assert report["allocators"]["aligned_alloc"] == (300, 300 * 7040)
    nostack = location(report, "<no Python stack>")
    assert sum(r[7] for r in nostack) >= 150 * 7040
    workers = location(report, "worker")
    assert sum(r[3] for r in workers) >= sum(1000003 + i for i in range(4))
    leaks = _native.read_capture(path, "leaks", 1)
    assert len(leaks.threads()) >= 5    # main, the pthread, 4 workers (some may be merged by id reuse)


def test_fork_with_and_without_follow_fork(tmp_path):
    code = """
        import os
        from pyrometer import Tracker
        def in_child():
            return bytearray(3000017)
        with Tracker("out.alloc", follow_fork={follow}):
            a = bytearray(2000003)
            pid = os.fork()
            if pid == 0:
                x = in_child()
                os._exit(0)
            os.waitpid(pid, 0)
            open("child.pid", "w").write(str(pid))
    """
    for follow in (False, True):
        d = tmp_path / str(follow)
        d.mkdir()
        run_py(code.format(follow=follow), d)
        parent = _native.capture_report(str(d / "out.alloc"))
        assert parent["warning"] == ""
        assert not [r for r in parent["locations"] if r[0] == "in_child"]
        child_file = d / f"out.alloc.{(d / 'child.pid').read_text()}"
        if not follow:
            assert not child_file.exists()
            continue
        child = _native.read_capture(str(child_file), "leaks", 1)
        assert child.warning == "", child.warning      # finished by the _exit hook
        assert by_function(child)["in_child"] >= 3000017
        # the inherited context: the child's stack reaches the parent's module frame
        names = [f[0] for f in child.functions()]
        assert "<module>" in names and "in_child" in names
        assert child.meta()["pid"] == (d / "child.pid").read_text()


def test_multiprocessing_fork_children(tmp_path):
    proc = run_py("""
        import multiprocessing as mp
        from pyrometer import Tracker
        def job(n):
            return len(bytearray(n))
        if __name__ == "__main__":
            with Tracker("out.alloc", follow_fork=True):
                pool = mp.get_context("fork").Pool(2)
                assert sum(pool.map(job, [4000037] * 4)) == 4 * 4000037
                pool.close()   # workers exit through os._exit: their captures get a trailer
                pool.join()
                print("exitcodes", [p.exitcode for p in pool._pool])
    """, tmp_path)
    children = list(tmp_path.glob("out.alloc.*"))
    assert len(children) == 2
    total = 0
    for c in children:
        report = _native.capture_report(str(c))
        assert report["warning"] == "", (c.name, proc.stdout)
        total += sum(r[3] for r in report["locations"] if r[0] == "job")
    assert total == 4 * 4000038      # bytearray(n) allocates n + 1


def test_multiprocessing_pool_terminate_keeps_what_was_flushed(tmp_path):
    """`with Pool()` ends with terminate(): a worker still busy gets SIGTERM and
    no exit hook runs; an idle one may exit cleanly first. Either way each
    capture loads (killed: with a warning) up to its last flush."""
    run_py("""
        import multiprocessing as mp, time
        from pyrometer import Tracker
        def job(n):
            x = bytearray(n)
            time.sleep(0.1)   # > the 10 ms flush interval
            return len(x)
        if __name__ == "__main__":
            with Tracker("out.alloc", follow_fork=True):
                with mp.get_context("fork").Pool(2) as pool:
                    assert sum(pool.map(job, [4000037] * 2, chunksize=1)) == 2 * 4000037
    """, tmp_path)
    children = list(tmp_path.glob("out.alloc.*"))
    assert len(children) == 2
    seen = 0
    for c in children:
        report = _native.capture_report(str(c))
        assert report["warning"] == "" or "no trailer" in report["warning"]
        seen += sum(r[3] for r in report["locations"] if r[0] == "job")
    assert seen == 2 * 4000038


def test_second_tracker_raises_and_api_restarts(tmp_path):
    run_py("""
        from pyrometer import Tracker
        with Tracker("a.alloc"):
            try:
                Tracker("b.alloc").start()
            except RuntimeError as exc:
                assert "already active" in str(exc), exc
            else:
                raise AssertionError("second tracker started")
        with Tracker("c.alloc"):
            x = bytearray(1234567)
    """, tmp_path)
    assert not (tmp_path / "b.alloc").exists()
    assert by_function(_native.read_capture(str(tmp_path / "c.alloc"), "peak", 1))["<module>"] >= 1234567


def test_killed_capture_loads_with_warning(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""
        import time
        from pyrometer import Tracker
        def hold():
            return bytearray(5000011)
        t = Tracker("out.alloc").start()
        x = hold()
        open("ready", "w").close()
        time.sleep(60)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=cli_env())
    try:
        for _ in range(200):
            if (tmp_path / "ready").exists():
                break
            time.sleep(0.05)
        time.sleep(0.3)   # > the 10 ms flush interval
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    peak = _native.read_capture(str(tmp_path / "out.alloc"), "peak", 1)
    assert "no trailer" in peak.warning
    assert by_function(peak)["hold"] >= 5000011
    assert len(peak.meta()) >= 4


def test_killed_while_busy_reads_every_flushed_record(tmp_path):
    """Compressed records continue one deflate stream: a capture killed in
    the middle of a busy native run reads through all its records."""
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""
        import json
        from pyrometer import Tracker
        t = Tracker("out.alloc", native=True).start()
        n = 0
        while True:
            json.loads(json.dumps([{"k": i, "v": str(i)} for i in range(2000)]))
            n += 1
            if n == 20:
                open("ready", "w").close()
    """))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=cli_env())
    try:
        for _ in range(400):
            if (tmp_path / "ready").exists():
                break
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    report = _native.capture_report(str(tmp_path / "out.alloc"))
    assert "no trailer" in report["warning"]
    assert report["rss_points"] >= 10          # one per flush: many compressed records
    assert report["total_count"] > 20 * 3


def test_trace_python_allocators_sees_small_objects(tmp_path):
    code = """
        from pyrometer import Tracker
        def small():
            return [object() for _ in range(20000)]
        with Tracker("out.alloc", trace_python_allocators={flag}):
            keep = small()
    """
    for flag in (False, True):
        d = tmp_path / str(flag)
        d.mkdir()
        run_py(code.format(flag=flag), d)
        report = _native.capture_report(str(d / "out.alloc"))
        pym = report["allocators"].get("pymalloc_malloc", (0, 0))[0]
        if flag:
            assert pym >= 20000
            assert report["meta"]["flags"] == "trace_python_allocators"
        else:
            assert pym == 0
            # without the flag, pymalloc's arenas (mmap) carry the objects
            assert report["allocators"].get("mmap", (0, 0))[1] >= 16 * 20000 // 2


def test_native_frames_of_a_module_loaded_while_tracking(tmp_path, allocext):
    """The writer names return addresses from its list of loaded objects:
    an extension imported after tracking started must be found too (its
    static functions by its own symbol table)."""
    run_py("""
        from pyrometer import Tracker
        with Tracker("out.alloc", native=True):
            import json, time
            json.dumps({"a": [1, 2]})
            time.sleep(0.2)             # a few flushes: the writer lists the objects loaded now
            import allocext             # dlopen while tracking
            allocext.keep(3, 70001)
    """, tmp_path, extra_path=allocext)
    leaks = _native.read_capture(str(tmp_path / "out.alloc"), "leaks", 1)
    names = {f[0]: f for f in leaks.functions()}
    assert "keep" in names, sorted(n for n in names if n.startswith("0x"))
    assert "allocext" in names["keep"][1]
    assert by_function(leaks).get("keep", 0) >= 3 * 70001


NATIVE_WORKLOAD = """
    import sys
    from pyrometer import Tracker
    with Tracker(sys.argv[1], native=sys.argv[2] == "native"):
        import json, decimal, fractions, email.parser, xml.dom.minidom, csv, io
        def work():
            doc = [{"id": i, "name": f"item{i}", "v": [i * 0.5, str(i)]} for i in range(3000)]
            for _ in range(3):
                doc = json.loads(json.dumps(doc))
            d = xml.dom.minidom.parseString("<a>" + "<b x='1'>t</b>" * 500 + "</a>")
            rows = list(csv.reader(io.StringIO("a,b,c\\n" * 2000)))
            return len(doc), len(d.documentElement.childNodes), len(rows), decimal.Decimal(1) / 7
        work()
"""


def test_native_capture_stays_small(tmp_path):
    """Native stacks (a node per return address, thousands of them after a
    few imports) are stored as compressed tables with relative parents. With
    one record per node this capture was ~80 KiB (format 1); it is ~20 KiB now."""
    script = tmp_path / "w.py"
    script.write_text(textwrap.dedent(NATIVE_WORKLOAD))
    env = cli_env({"PYTHONPATH": str(SRC)})
    for mode in ("native", "python"):
        subprocess.run([sys.executable, str(script), str(tmp_path / f"{mode}.alloc"), mode], cwd=tmp_path, env=env,
                       check=True, timeout=120)
    native = tmp_path / "native.alloc"
    report = _native.capture_report(str(native))
    assert report["meta"]["flags"] == "native"
    natives = {r[0] for r in report["locations"] if r[8] == 1}
    assert {"PyList_Append", "_PyObject_Malloc"} & natives, sorted(natives)[:20]
    size = native.stat().st_size
    assert size < 40 * 1024, f"native capture of {size} bytes"
    # native frames cost less than the events themselves
    assert size < 3 * (tmp_path / "python.alloc").stat().st_size


def test_native_frames_merge_with_python(tmp_path, allocext):
    run_py("""
        from pyrometer import Tracker
        import allocext
        def py_caller():
            allocext.keep(10, 8191)
        with Tracker("out.alloc", native=True):
            py_caller()
    """, tmp_path, extra_path=allocext)
    peak = _native.read_capture(str(tmp_path / "out.alloc"), "leaks", 1)
    functions = peak.functions()
    names = {f[0]: f for f in functions}
    assert "keep" in names and names["keep"][3] == 1          # native frame of the extension
    assert "allocext" in names["keep"][1] and names["keep"][1].endswith(".so")
    assert "py_caller" in names and names["py_caller"][3] == 0
    funcs, parents, selfs, totals = peak.calltree()
    # keep's node sits below py_caller's node
    keep_nodes = [i for i, f in enumerate(funcs) if f >= 0 and functions[f][0] == "keep"]
    assert keep_nodes
    chain, n = [], keep_nodes[0]
    while n > 0:
        chain.append(functions[funcs[n]][0])
        n = parents[n]
    assert "py_caller" in chain and chain.index("py_caller") > chain.index("keep")
    assert totals[keep_nodes[0]] >= 10 * 8191


def test_aggregate_file_is_small_and_agrees(tmp_path, allocext):
    code = """
        from pyrometer import Tracker
        import allocext
        def churn():
            for i in range(20000):
                x = bytearray(600 + (i * 7919) % 50000)
            allocext.keep(10, 100003)
        with Tracker("out.alloc", aggregate={agg}):
            churn()
    """
    for agg in (False, True):
        d = tmp_path / str(agg)
        d.mkdir()
        run_py(code.format(agg=agg), d, extra_path=allocext)
    full, agg = tmp_path / "False" / "out.alloc", tmp_path / "True" / "out.alloc"
    assert agg.stat().st_size * 10 < full.stat().st_size and agg.stat().st_size < 4096
    assert not list((tmp_path / "True").glob("out.alloc.events.*"))
    for view in ("peak", "leaks"):
        a = by_function(_native.read_capture(str(full), view, 1))
        b = by_function(_native.read_capture(str(agg), view, 1))
        assert a["churn"] == b["churn"] >= 10 * 100003
    with pytest.raises(_native.ProfileError, match="aggregate"):
        _native.read_capture(str(agg), "temporary", 1)


def test_tracker_alongside_cpu_sampler(tmp_path):
    run_py("""
        import pyrometer
        def spin():
            total = 0
            for i in range(3_000_000):
                total += i % 7
            return total
        def hold():
            return bytearray(9000011)
        with pyrometer.Profiler("cpu.prof", period=0.001) as prof:
            with pyrometer.Tracker("mem.alloc"):
                spin()
                x = hold()
    """, tmp_path)
    mem = by_function(_native.read_capture(str(tmp_path / "mem.alloc"), "peak", 1))
    assert mem["hold"] >= 9000011
    cpu = _native.read_profile(str(tmp_path / "cpu.prof"))
    assert cpu.sample_count > 10
    assert any(f[0] == "spin" for f in cpu.functions())


def test_threads_exact_counts_and_cross_thread_frees(tmp_path):
    run_py("""
        import queue, threading
        from pyrometer import Tracker
        N = 3000
        kept = {}
        def worker(t):
            mine = [None] * N
            for i in range(N):
                mine[i] = bytearray(1000 + t * 10000 + i)      # the only allocation on this line
            kept[t] = mine[: N // 3]
        def producer(q):
            for i in range(N):
                b = bytearray(700 + i)
                q.put(b)
            del b
            q.put(None)
        def consumer(q):
            while q.get() is not None:
                pass            # the block dies here, in the other thread
        with Tracker("out.alloc"):
            ts = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
            q = queue.Queue(maxsize=64)
            ts += [threading.Thread(target=producer, args=(q,)), threading.Thread(target=consumer, args=(q,))]
            for t in ts: t.start()
            for t in ts: t.join()
    """, tmp_path)
    path = str(tmp_path / "out.alloc")
    report = _native.capture_report(path)
    n = 3000
    workers = location(report, "worker")
    listcomp = [max(workers, key=lambda r: r[4])]        # the bytearray line
    sizes = sum(1000 + t * 10000 + i + 1 for t in range(4) for i in range(n))       # +1: bytearray's NUL
    # Besides the 4n buffers, the line may also have mapped pymalloc arenas
    # (1 MiB each) for the bytearray objects themselves: exactly that much more.
    count, total = sum(r[4] for r in listcomp), sum(r[3] for r in listcomp)
    arenas = count - 4 * n
    assert 0 <= arenas <= 8 and total - sizes == arenas * MB, (count, total, sizes)
    leaked = sum(1000 + t * 10000 + i + 1 for t in range(4) for i in range(n // 3))
    extra = sum(r[7] for r in listcomp) - leaked
    assert extra % MB == 0 and 0 <= extra <= arenas * MB
    prod = [max(location(report, "producer"), key=lambda r: r[4])]
    arenas = sum(r[4] for r in prod) - n
    assert 0 <= arenas <= 4
    assert sum(r[7] for r in prod) % MB == 0 and sum(r[7] for r in prod) <= arenas * MB   # all buffers freed


def test_aggregate_with_follow_fork_names_children_after_the_output(tmp_path):
    run_py("""
        import os
        from pyrometer import Tracker
        with Tracker("out.alloc", aggregate=True, follow_fork=True):
            a = bytearray(2000003)
            pid = os.fork()
            if pid == 0:
                b = bytearray(3000017)
                os._exit(0)
            os.waitpid(pid, 0)
            open("child.pid", "w").write(str(pid))
    """, tmp_path)
    child = tmp_path / f"out.alloc.{(tmp_path / 'child.pid').read_text()}"
    assert child.exists()
    assert _native.capture_report(str(child))["peak_bytes"] >= 3000017
    assert _native.capture_report(str(tmp_path / "out.alloc"))["meta"]["flags"] == "follow_fork,aggregate"
    assert sorted(p.name for p in tmp_path.glob("out.alloc*")) == sorted(["out.alloc", child.name])


def test_every_allocator_and_partial_munmap(tmp_path, allocext):
    proc = run_py("""
        from pyrometer import Tracker
        import allocext
        def calls():
            return allocext.every_allocator()
        with Tracker("out.alloc"):
            print(calls())
    """, tmp_path, extra_path=allocext)
    page = int(proc.stdout.strip())
    path = str(tmp_path / "out.alloc")
    report = _native.capture_report(path)
    kinds = report["allocators"]
    expected = {"posix_memalign": (1, 5005), "aligned_alloc": (1, 6016), "memalign": (1, 4099),
                "valloc": (1, 7007), "pvalloc": (1, page), "munmap": (1, 2 * page)}
    for kind, value in expected.items():
        assert kinds[kind] == value, (kind, kinds)
    assert kinds["realloc"][0] >= 1 and kinds["calloc"][0] >= 1 and kinds["mmap"][0] >= 1
    rows = location(report, "calls")
    assert sum(r[4] for r in rows) == 9        # malloc, realloc, calloc, 5 aligned kinds, mmap
    assert sum(r[3] for r in rows) == 1001 + 2002 + 3003 + 5005 + 6016 + 4099 + 7007 + page + 5 * page
    assert sum(r[7] for r in rows) == 4099 + 3 * page          # the memalign block and 3 mapped pages
    leaks = by_function(_native.read_capture(path, "leaks", 1))
    assert leaks["calls"] == 4099 + 3 * page

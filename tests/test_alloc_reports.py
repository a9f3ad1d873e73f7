"""`pyrometer summary` and `pyrometer stats` on allocation captures, and the
one-line errors (exit 2) for truncated, garbage and wrong-kind files."""
import json
import textwrap

import pytest

from conftest import DATA, run_cli
from test_alloc_capture import allocext, run_py  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    d = tmp_path_factory.mktemp("reports")
    run_py("""
        from pyrometer import Tracker
        def big():
            return bytearray(8 << 20)
        def many():
            return [bytes(2000) for _ in range(300)]
        with Tracker("out.alloc"):
            a = big()
            b = many()
            del a
    """, d)
    return d / "out.alloc"


def test_summary_table_sorted_and_limited(capture):
    out = run_cli("summary", capture, "--bytes", check=True).stdout.splitlines()
    assert out[1].split() == ["Location", "Total", "allocated", "Allocations", "Own", "at", "peak", "Total", "at",
                              "peak"]
    big = next(l for l in out if l.startswith("big "))
    assert big.split()[2:4] == [str((8 << 20) + 1), "1"]   # bytearray adds a NUL
    by_count = run_cli("summary", capture, "--sort", "count", "-n", "1", "--json", check=True).stdout
    rows = json.loads(by_count)["locations"]
    assert len(rows) == 1 and rows[0]["function"] == "many.<locals>.<listcomp>" and rows[0]["own_count"] >= 300
    again = run_cli("summary", capture, check=True).stdout
    assert again == run_cli("summary", capture, check=True).stdout      # deterministic


def test_stats_json_and_text(capture):
    s = json.loads(run_cli("stats", capture, "--json", check=True).stdout)
    assert s["total_allocations"] >= 301
    assert s["peak_bytes"] >= (8 << 20) + 300 * 2000
    assert s["leaked_bytes"] >= 300 * 2000 and s["leaked_bytes"] < (8 << 20)
    assert s["top_by_size"][0]["function"] == "big"
    assert s["top_by_count"][0]["function"] == "many.<locals>.<listcomp>"
    assert sum(b["count"] for b in s["histogram"]) == s["total_allocations"]
    assert s["allocators"]["malloc"]["count"] >= 1
    assert s["max_rss_bytes"] > 0
    text = run_cli("stats", capture, check=True).stdout
    assert "Peak (tracked heap)" in text and "Allocation sizes:" in text and "big (prog.py:" in text


@pytest.mark.parametrize("cut", [5, 9, 30, -3])
def test_truncated_capture_is_one_line_error(capture, tmp_path, cut):
    data = capture.read_bytes()
    bad = tmp_path / "bad.alloc"
    bad.write_bytes(data[:cut])
    for cmd in ("summary", "stats"):
        proc = run_cli(cmd, bad)
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and str(bad) in proc.stderr and "Traceback" not in proc.stderr


def test_garbage_after_magic_is_an_error(tmp_path):
    bad = tmp_path / "junk.alloc"
    bad.write_bytes(b"PYROMALC\x02" + bytes(range(200, 256)) * 4)
    proc = run_cli("stats", bad)
    assert proc.returncode == 2 and "junk.alloc" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("version, words", [(1, "older pyrometer"), (99, "newer pyrometer")])
def test_other_capture_versions_are_one_line_errors(capture, tmp_path, version, words):
    data = bytearray(capture.read_bytes())
    data[8] = version
    bad = tmp_path / "other.alloc"
    bad.write_bytes(bytes(data))
    for cmd in ("summary", "stats", "show", "flamegraph"):
        proc = run_cli(cmd, bad, cwd=tmp_path)
        assert proc.returncode == 2, (cmd, proc.stderr)
        assert proc.stderr.count("\n") == 1 and words in proc.stderr and "Traceback" not in proc.stderr


def test_cpu_profile_is_refused_by_summary():
    prof = next(DATA.glob("vmprof/*.prof"))
    proc = run_cli("summary", prof)
    assert proc.returncode == 2 and "not an allocation capture" in proc.stderr


def test_run_alloc_cli_then_show_summary(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(textwrap.dedent("""
        import os, sys
        def grow():
            return bytearray(6000011)
        keep = grow()
        pid = os.fork()
        if pid == 0:
            def child_only():
                return bytearray(7000003)
            x = child_only()
            sys.exit(0)
        os.waitpid(pid, 0)
        print("parent done")
    """))
    out = tmp_path / "cli.alloc"
    proc = run_cli("run", "--alloc", "--follow-fork", "-o", out, prog, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "parent done" in proc.stdout
    show = run_cli("show", out, check=True).stdout
    assert "grow" in show and "child_only" not in show
    # launcher frames are cut: the program's module is a root of the tree
    assert show.splitlines()[1].split()[3] == "<module>" and "prog.py" in show.splitlines()[1]
    assert "_exec_main" not in show
    children = list(tmp_path.glob("cli.alloc.*"))
    assert len(children) == 1
    child = run_cli("summary", children[0], "--bytes", check=True)
    assert "child_only" in child.stdout and child.stderr == ""       # complete: no warning
    leaks = run_cli("stats", out, "--json", check=True).stdout
    assert json.loads(leaks)["meta"]["flags"] == "follow_fork"


def test_run_alloc_module_and_code(tmp_path):
    out = tmp_path / "c.alloc"
    proc = run_cli("run", "--alloc", "-o", out, "-c", "x = bytearray(3000017)", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    s = json.loads(run_cli("stats", out, "--json", check=True).stdout)
    assert s["peak_bytes"] >= 3000017


def test_flamegraph_views_and_export_in_bytes(tmp_path, allocext):
    run_py("""
        from pyrometer import Tracker
        import allocext
        def leaker():
            allocext.keep(40, 10007)
        def churner():
            allocext.interleaved(30, 3001)
        with Tracker("out.alloc", rss_interval=0.002):
            leaker()
            churner()
            allocext.release(10)
    """, tmp_path, extra_path=allocext)
    cap = tmp_path / "out.alloc"
    for opts, present, absent in ((["--leaks"], "leaker", "churner"),
                                  (["--temporary-allocations"], "churner", "leaker"),
                                  (["--temporary-allocations", "2"], "churner", "leaker"),
                                  ([], "leaker", None)):
        html = tmp_path / "fg.html"
        run_cli("flamegraph", cap, *opts, "-o", html, check=True)
        text = html.read_text()
        assert present in text and '"value_unit":"bytes"' in text and '"timeline":[' in text
        if absent:
            assert absent not in text
    col = tmp_path / "out.collapsed"
    run_cli("export", cap, "--format", "collapsed", "-o", col, check=True)
    weights = {line.rsplit(" ", 1)[0].split(";")[-1].split(" ")[0]: int(line.rsplit(" ", 1)[1])
               for line in col.read_text().splitlines()}
    assert weights["leaker"] == 40 * 10007          # peak: all 40 kept blocks live
    proc = run_cli("flamegraph", cap, "--temporary-allocations", "0", "-o", tmp_path / "x.html")
    assert proc.returncode == 2


def test_rss_interval_option(tmp_path):
    out = tmp_path / "r.alloc"
    run_cli("run", "--alloc", "--rss-interval", "0.05", "-o", out, "-c", "import time; time.sleep(0.3)",
            cwd=tmp_path, check=True)
    stats = json.loads(run_cli("stats", out, "--json", check=True).stdout)
    assert stats["meta"]["rss_interval_us"] == "50000"
    for argv, message in ((["--alloc", "--rss-interval", "0"], "--rss-interval must be between"),
                          (["--alloc", "--rss-interval", "x"], "--rss-interval"),
                          (["--rss-interval", "0.05"], "add --alloc")):
        proc = run_cli("run", *argv, "-c", "pass", cwd=tmp_path)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr

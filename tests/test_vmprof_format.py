"""vmprof compatibility both ways: pyrometer reads vmprof's and PyPy's files,
and vmprof-python reads pyrometer's, building the same call tree."""
import gzip
import json
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from conftest import DATA, require_module, run_cli

import pyrometer

FIXTURES = DATA / "vmprof"
READABLE = sorted(p for p in FIXTURES.glob("*.prof*") if not p.name.endswith(".json")
                  and "error" not in json.loads(Path(str(p) + ".expected.json").read_text()))


def collapsed_prefix_counts_from_tree(root):
    """{collapsed path prefix: samples}, where a path lists vmprof-style names
    root first with direct recursion (f calling f) folded, as vmprof's tree does."""
    counts = Counter()
    stack = [(child, ()) for child in root.children]
    while stack:
        node, path = stack.pop()
        f = node.function
        name = "<unknown code>" if f.name.startswith("0x") and not f.file else f.vmprof_name
        if not path or path[-1] != name:
            path = path + (name,)
        if node.self_count:
            for i in range(1, len(path) + 1):
                counts[path[:i]] += node.self_count
        stack.extend((child, path) for child in node.children)
    return counts


def collapsed_prefix_counts_from_vmprof(vstats):
    counts = Counter()
    lines = vstats.profile_lines
    for trace, weight, *_ in vstats.profiles:
        path = ()
        for i, addr in enumerate(trace):
            if lines and i % 2 == 1:
                continue  # negated line slots
            name = vstats.adr_dict.get(addr if isinstance(addr, int) else int(addr), "<unknown code>")
            if not path or path[-1] != name:
                path = path + (name,)
        for i in range(1, len(path) + 1):
            counts[path[:i]] += weight
    return counts


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_reads_vmprof_pypy_and_public_fixtures(path):
    expected = json.loads(Path(str(path) + ".expected.json").read_text())
    stats = pyrometer.read_profile(path)
    assert stats.sample_count == expected["n_samples"]
    assert stats.profile.version == expected["state"]["version"]
    assert stats.profile.period_us == expected["state"]["period"]
    assert stats.profile.interpreter == expected["state"]["interp_name"]
    ours = {str(t.id): t.samples for t in stats.threads}
    if all(isinstance(v, int) for v in expected["threads"].values()):
        assert ours == {k: v for k, v in expected["threads"].items()}
    runtime = stats.get_runtime_in_microseconds()
    assert abs(runtime - expected["runtime_us"]) <= 1
    # vmprof's root has every sample; the same function is an outermost frame of ours
    root_name = expected["raw_tree"]["name"]
    assert root_name in [c.function.vmprof_name for c in stats.get_root().children]


# vmprof 0.6 weights v7 samples by time gaps (floats), so only files up to v6 compare count for count.
@pytest.mark.parametrize("path", [p for p in READABLE if "pypy" not in p.name and "native" not in p.name
                                  and "cpuburn" not in p.name and "vmprof060" not in p.name], ids=lambda p: p.name)
def test_same_call_tree_as_vmprof_on_its_files(path):
    vmprof = require_module("vmprof")
    vstats = vmprof.read_profile(str(path))
    stats = pyrometer.read_profile(path)
    assert collapsed_prefix_counts_from_tree(stats.get_root()) == collapsed_prefix_counts_from_vmprof(vstats)


def test_gzipped_and_plain_read_the_same():
    plain = pyrometer.read_profile(FIXTURES / "cpython311_vmprof0418_cpu.prof")
    packed = pyrometer.read_profile(FIXTURES / "cpython311_vmprof0418_cpu.prof.gz")
    assert plain.sample_count == packed.sample_count
    assert collapsed_prefix_counts_from_tree(plain.get_root()) == collapsed_prefix_counts_from_tree(packed.get_root())


def test_old_pre_header_file_that_vmprof_rejects():
    stats = pyrometer.read_profile(FIXTURES / "vmprofpython_richards.cpython.prof.gz")
    assert stats.profile.version == 0 and stats.sample_count > 100
    assert "runTask" in {f.name for f in stats.functions}


WORKLOAD = """
import threading, time
def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        sum(range(100))
def leaf(): spin(0.15)
def middle(): leaf(); spin(0.05)
def rec(n): return spin(0.05) if n == 0 else rec(n - 1)
t = threading.Thread(target=middle, name="helper")
t.start()
middle()
rec(5)
t.join()
"""


@pytest.mark.parametrize("options", [[], ["--mode", "wall"], ["--lines"], ["--mem"], ["--lines", "--mem", "--mode", "wall"]],
                         ids=["cpu", "wall", "lines", "mem", "all"])
def test_vmprof_reads_pyrometer_profiles_with_the_same_tree(tmp_path, options):
    vmprof = require_module("vmprof")
    script = tmp_path / "w.py"
    script.write_text(textwrap.dedent(WORKLOAD))
    out = tmp_path / "w.prof"
    proc = run_cli("run", "-q", "-o", out, *options, script)
    assert proc.returncode == 0, proc.stderr
    vstats = vmprof.read_profile(str(out))
    stats = pyrometer.read_profile(out)
    assert len(vstats.profiles) == stats.sample_count > 100
    assert vstats.profile_lines == ("--lines" in options)
    assert vstats.profile_memory == ("--mem" in options)
    assert collapsed_prefix_counts_from_tree(stats.get_root()) == collapsed_prefix_counts_from_vmprof(vstats)
    if "--mem" in options:
        rss = [p[3] for p in vstats.profiles]
        assert min(rss) > 1000 and stats.profile.rss() == rss
    if "--lines" in options:
        # vmprof's per-line counts equal ours for the leaf frames
        assert any(line for (_f, line) in stats.line_hits())
    assert abs(vstats.get_runtime_in_microseconds() - stats.get_runtime_in_microseconds()) <= 1


def test_meta_records_extra_facts(tmp_path):
    out = tmp_path / "m.prof"
    assert run_cli("run", "-q", "-o", out, "-r", "500", "--mode", "wall", "-c", "import time; time.sleep(0.3)", "x").returncode == 0
    stats = pyrometer.read_profile(out)
    import sys
    assert stats.getmeta("mode") == "wall"
    assert stats.getmeta("python_version") == sys.version.split()[0]
    assert stats.getmeta("command") == "-c ... x"
    assert float(stats.getmeta("requested_hz")) == 500
    assert 300 < float(stats.getmeta("delivered_hz")) < 550
    assert stats.getmeta("dropped_samples") == "0"
    assert stats.threads[0].name == "MainThread"


def truncated_copy(src, dst, keep):
    data = Path(src).read_bytes()
    dst.write_bytes(data[:keep])
    return len(data)


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"hello world, not a profile at all", "not a vmprof profile"),
    (b"\x00" * 8 + b"\x03" + b"\x00" * 7 + b"\x00" * 8 + b"\xe8\x03" + b"\x00" * 6 + b"\x00" * 8 + b"\x05\x00\x09\x00\x07cpython",
     "unsupported vmprof format version 9 at byte 40"),
    (b"\x00" * 8 + b"\x03" + b"\x00" * 7 + b"\x00" * 8 + b"\xe8\x03" + b"\x00" * 6 + b"\x00" * 8 + b"\x05\x00\x06\x00\x07cpython\x09",
     "unknown record tag 0x09 at byte 52"),
    (b"\x00" * 8 + b"\x03" + b"\x00" * 7 + b"\x00" * 5, "truncated prologue at byte 16"),
])
def test_bad_files_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.prof"
    path.write_bytes(content)
    proc = run_cli("show", path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"pyrometer: error: {path}: {message}"] or (len(lines) == 1 and message in lines[0] and str(path) in lines[0]), proc.stderr
    with pytest.raises(pyrometer.ProfileError, match=message):
        pyrometer.read_profile(path)


def test_missing_and_directory(tmp_path):
    for target, message in [(tmp_path / "nope.prof", "no such file"), (tmp_path, "is a directory")]:
        proc = run_cli("show", target)
        assert proc.returncode == 2 and f"{target}: {message}" in proc.stderr and "Traceback" not in proc.stderr


def test_truncated_inside_header_is_an_error(tmp_path):
    path = tmp_path / "t.prof"
    truncated_copy(FIXTURES / "cpython311_vmprof0418_cpu.prof", path, 44)
    proc = run_cli("show", path)
    assert proc.returncode == 2 and "cut short in the header at byte 40" in proc.stderr


def test_cut_short_profile_keeps_complete_samples_with_warning(tmp_path):
    full = pyrometer.read_profile(FIXTURES / "cpython311_vmprof0418_cpu.prof")
    path = tmp_path / "cut.prof"
    size = truncated_copy(FIXTURES / "cpython311_vmprof0418_cpu.prof", path, 4000)
    assert size > 4000
    stats = pyrometer.read_profile(path)
    assert 0 < stats.sample_count < full.sample_count
    assert "cut short at byte" in stats.warning
    proc = run_cli("show", path, "flat")
    assert proc.returncode == 0 and "warning: profile cut short" in proc.stdout
    # a gzip stream cut short loads too
    gz = tmp_path / "cut.prof.gz"
    data = gzip.compress((FIXTURES / "cpython311_vmprof0418_cpu.prof").read_bytes())
    gz.write_bytes(data[: len(data) * 2 // 3])
    stats = pyrometer.read_profile(gz)
    assert stats.sample_count > 0 and stats.warning


def test_killed_process_profile_loads_with_warning(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from conftest import cli_env
    script = tmp_path / "k.py"
    script.write_text("import time\nprint('go', flush=True)\nwhile True:\n    sum(range(1000))\n")
    out = tmp_path / "k.prof"
    proc = subprocess.Popen([sys.executable, "-m", "pyrometer", "run", "-o", str(out), str(script)],
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "go"
    time.sleep(0.6)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    stats = pyrometer.read_profile(out)
    assert stats.sample_count > 100  # flushed every 50 ms: at most that much is lost
    assert "no trailer" in stats.warning
    shown = run_cli("show", out)
    assert shown.returncode == 0 and "warning:" in shown.stdout

"""`pyrometer export`: every format, each checked by its real third-party reader.

Expected figures come from the profile itself (pyrometer.loader.load): sample
counts, per-thread totals, and per-function self/total weight from its call
tree. A function's total counts each sample once, however often the function
recurs in it — which is what every reader computes."""
import gzip
import json
import marshal
import os
import pstats
import re
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import DATA, IN_CI, ROOT, cli_env, require_module, require_tool, run_cli

sys.path.insert(0, str(ROOT / "src"))
from pyrometer import loader  # noqa: E402

NODE_PREFIX = Path("/opt/pyrometer-tools/node")
NODE_MODULES = NODE_PREFIX / "node_modules"
JS = Path(__file__).resolve().parent / "js"
CARGO_BIN = Path.home() / ".cargo" / "bin"
FIXTURES = DATA / "vmprof"
FORMATS = ["collapsed", "speedscope", "gecko", "pprof", "callgrind", "pstats", "chrome"]

WORKLOAD = textwrap.dedent("""
    import sys, threading, vmprof

    def leaf(n):
        s = 0
        for i in range(n):
            s += i * i % 7
        return s

    def branch_a(rounds):
        return sum(leaf(3000) for _ in range(rounds))

    def branch_b(rounds):
        return sum(leaf(1500) + leaf(1500) for _ in range(rounds))

    def recurse(depth, rounds):
        if depth == 0:
            return branch_a(rounds)
        return recurse(depth - 1, rounds)

    def worker():
        branch_b(1500)

    with open(sys.argv[1], "w+b") as f:
        vmprof.enable(f.fileno(), period=0.001)
        t = threading.Thread(target=worker)
        t.start()
        recurse(3, 1500)
        branch_a(600)
        t.join()
        vmprof.disable()
""")


# ---- profiles --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live_vmprof(tmp_path_factory):
    """A profile written by PyPI vmprof right now: 2 threads, recursion."""
    require_module("vmprof")
    d = tmp_path_factory.mktemp("live")
    script = d / "workload.py"
    script.write_text(WORKLOAD)
    out = d / "live.prof"
    subprocess.run([sys.executable, str(script), str(out)], check=True, timeout=120)
    return out


@pytest.fixture(scope="module")
def own_profile(tmp_path_factory):
    """A profile written by `pyrometer run` (skipped locally until that command exists)."""
    probe = run_cli("run", "--help")
    assert probe.returncode == 0, "pyrometer run is not available"
    d = tmp_path_factory.mktemp("own")
    script = d / "work.py"
    script.write_text(textwrap.dedent("""
        import threading
        def spin(n):
            return sum(i * i % 7 for i in range(n))
        t = threading.Thread(target=spin, args=(600000,))
        t.start()
        spin(900000)
        t.join()
    """))
    out = d / "own.prof"
    run_cli("run", "-o", out, script, check=True, timeout=180)
    return out


@pytest.fixture(scope="module")
def alloc_profile(tmp_path_factory):
    """An allocation capture from `pyrometer run --alloc`: weights are bytes."""
    probe = run_cli("run", "--help")
    assert probe.returncode == 0 and "--alloc" in probe.stdout, "pyrometer run --alloc is not available"
    d = tmp_path_factory.mktemp("alloc")
    script = d / "alloc.py"
    script.write_text(textwrap.dedent("""
        import threading
        def small(n):
            return [bytearray(100) for _ in range(n)]
        def big(n):
            return [bytearray(100000) for _ in range(n)]
        keep = []
        t = threading.Thread(target=lambda: keep.append(small(3000)))
        t.start()
        keep.append(big(20))
        keep.append(small(1000))
        t.join()
    """))
    out = d / "alloc.capture"
    run_cli("run", "--alloc", "-q", "-o", out, script, check=True, timeout=180)
    return out


PROFILES = {
    "vmprof-live": None,  # the live_vmprof fixture
    "pyrometer-own": None,  # the own_profile fixture
    "pyrometer-alloc": None,  # the alloc_profile fixture (bytes)
    "vmprof-0.4.18-cpu": FIXTURES / "cpython311_vmprof0418_cpu.prof",
    "vmprof-0.6.0-lines": FIXTURES / "cpython311_vmprof060_lines.prof",
    "multithread": FIXTURES / "ffconv_multithread_example.prof.gz",
    "pypy": FIXTURES / "pypy39_workload_cpu.prof.gz",
}
# Chromium-driven checks take seconds each: run them on fewer profiles.
BROWSER_PROFILES = ["vmprof-live", "pyrometer-own", "pyrometer-alloc", "multithread", "pypy"]


@pytest.fixture
def profile_path(request):
    name = request.param
    if name == "vmprof-live":
        return request.getfixturevalue("live_vmprof")
    if name == "pyrometer-own":
        return request.getfixturevalue("own_profile")
    if name == "pyrometer-alloc":
        return request.getfixturevalue("alloc_profile")
    return PROFILES[name]


def profiles(names=None):
    return pytest.mark.parametrize("profile_path", names or list(PROFILES), indirect=True)


# ---- expected figures ------------------------------------------------------------------------

class Expected:
    """What the readers should report, computed from pyrometer's own model."""

    def __init__(self, path):
        self.profile = loader.load(path)
        p = self.profile
        self.functions = p.functions()
        self.threads = p.threads()
        self.thread_totals = p.thread_totals()
        self.total = p.total_weight
        self.period_us = p.period_us or 1000
        self.memory = p.value_unit == "bytes"
        # What one unit of weight becomes in time-based formats: µs (CPU) or bytes.
        self.unit = 1 if self.memory else self.period_us

    def per_function(self, thread=-1):
        """{function index: [self, total]} (total: each sample counted once per function)."""
        functions, parents, selfs, _ = self.profile.calltree(thread)
        out = defaultdict(lambda: [0, 0])
        for node, weight in enumerate(selfs):
            if weight == 0:
                continue
            out[functions[node]][0] += weight
            seen = set()
            n = node
            while n > 0:
                f = functions[n]
                if f not in seen:
                    seen.add(f)
                    out[f][1] += weight
                n = parents[n]
        return dict(out)

    def by_name(self, thread=-1, key=lambda f: f[0]):
        """({key: self}, {key: total} for keys that only one function has)."""
        per = self.per_function(thread)
        selfs, totals, owners = defaultdict(int), {}, defaultdict(set)
        for fid, (s, t) in per.items():
            k = key(self.functions[fid])
            selfs[k] += s
            owners[k].add(fid)
            totals[k] = t
        return dict(selfs), {k: v for k, v in totals.items() if len(owners[k]) == 1}

    def active_threads(self):
        return [i for i, w in enumerate(self.thread_totals) if w > 0]


def export(path, fmt, out, *extra):
    proc = run_cli("export", path, "--format", fmt, "-o", out, *extra)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return out


def node_env():
    env = cli_env({"NODE_PATH": str(NODE_MODULES)})
    return env


def require_node_package(name):
    require_tool("node")
    return require_tool(f"npm:{name}", str(NODE_MODULES / name / "package.json"))


# ---- pprof: go tool pprof ---------------------------------------------------------------------

RAW_LOCATION = re.compile(r"^\s*(\d+): 0x[0-9a-f]+ M=\d+ (.*) s=-?\d+(?:\((.*)\))?$")


def split_raw_location(text, files):
    """'name file:line:col' -> name; names and files may both hold spaces, so
    the split is where a known file starts."""
    for i in range(len(text) + 1):
        if i < len(text) and text[i] != " " and i != 0:
            continue
        rest = text[i + 1:] if i < len(text) and text[i] == " " else text[i:]
        m = re.match(r"^(.*):(-?\d+):(-?\d+)$", rest)
        if m and m.group(1) in files:
            return text[:i]
    raise AssertionError(f"cannot split pprof location {text!r}")


def pprof_raw(go, path, files, memory):
    """([(weight, second value or None, [location ids leaf first])], {location id: function name})."""
    proc = subprocess.run([go, "tool", "pprof", "-raw", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert ("space/bytes" if memory else "samples/count cpu/nanoseconds") in lines
    samples, locations, section = [], {}, None
    for line in lines:
        if line in ("Samples:", "Locations", "Mappings"):
            section = line
            continue
        if section == "Samples:" and re.match(r"^\s+\d+(\s+\d+)?: ", line):
            values, locs = line.split(":", 1)
            values = [int(v) for v in values.split()]
            samples.append((values[0], values[1] if len(values) > 1 else None, [int(x) for x in locs.split()]))
        elif section == "Locations":
            m = RAW_LOCATION.match(line)
            assert m, line
            short = split_raw_location(m.group(2), files)
            # pprof shortens C++-looking names (e.g. "<module>") and shows the full one in parentheses.
            locations[int(m.group(1))] = m.group(3) if m.group(3) is not None else short
    return samples, locations


@profiles()
def test_pprof_go_tool_reads_totals_and_functions(profile_path, tmp_path):
    go = require_tool("go", "/usr/local/go/bin/go")
    exp = Expected(profile_path)
    out = export(profile_path, "pprof", tmp_path / "p.pb.gz")
    samples, locations = pprof_raw(go, out, {f[1] for f in exp.functions} | {""}, exp.memory)
    if exp.memory:
        assert sum(s[0] for s in samples) == exp.total
    else:
        # samples/count counts sampling periods: a sample's weight (> 1 when the sampler lagged).
        assert sum(s[0] for s in samples) == exp.total
        assert sum(s[1] for s in samples) == exp.total * exp.period_us * 1000
    self_by_name, total_by_name = defaultdict(int), defaultdict(int)
    for count, _, locs in samples:
        names = [locations[loc] for loc in locs]
        self_by_name[names[0]] += count  # leaf first
        for name in set(names):
            total_by_name[name] += count
    want_self, want_total = exp.by_name()
    assert dict(self_by_name) == {k: v for k, v in want_self.items() if v}
    for name, total in want_total.items():
        assert total_by_name[name] == total, name
    top = subprocess.run([go, "tool", "pprof", "-top", "-nodecount=1000", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert top.returncode == 0, top.stderr
    if exp.memory:
        assert "Type: space" in top.stdout
        return
    m = re.search(r"Total samples = ([\d.]+)(ms|s)\b", top.stdout)
    assert m, top.stdout
    total_ms = float(m.group(1)) * (1000 if m.group(2) == "s" else 1)
    assert total_ms == pytest.approx(exp.total * exp.period_us / 1000, rel=1e-3)


# ---- speedscope: the real app in headless Chromium -----------------------------------------

def speedscope_load(path):
    require_tool("chromium", "/usr/bin/chromium")
    require_node_package("playwright-core")
    require_node_package("speedscope")
    proc = subprocess.run(["node", str(JS / "speedscope_load.js"), str(path)], capture_output=True, text=True,
                          timeout=120, env=node_env())
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["ok"], result
    return result


UNITS = {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6, "min": 6e7,
         "B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}


def parse_duration_us(text):
    """speedscope's formatted weight ("12.00ms", "1.93 MB") in µs or bytes."""
    m = re.match(r"^([\d.]+) ?(ns|µs|us|ms|min|s|B|KB|MB|GB)\b", text)
    assert m, text
    return float(m.group(1)) * UNITS[m.group(2)]


def check_speedscope_threads(result, exp):
    rows = result["rows"]
    thread_rows = [r for r in rows if r[0].isdigit()]
    active = exp.active_threads()
    if len(active) > 1:
        assert len(thread_rows) == len(active), rows
        for row, t in zip(thread_rows, active):
            want = exp.thread_totals[t] * exp.unit
            assert parse_duration_us(row[2]) == pytest.approx(want, rel=0.01), row
    # Sandwich table of the first thread: function totals and self.
    sandwich = [r for r in rows if not r[0].isdigit()]
    want_self, want_total = exp.by_name(active[0], key=lambda f: f[0])
    got_self, got_total = defaultdict(float), {}
    for total, self_, name in sandwich:
        got_self[name] += parse_duration_us(self_)
        got_total[name] = parse_duration_us(total)
    for name, t in want_total.items():
        assert got_total[name] == pytest.approx(t * exp.unit, rel=0.02, abs=exp.unit / 2), name
    for name, s in want_self.items():
        assert got_self[name] == pytest.approx(s * exp.unit, rel=0.02, abs=exp.unit / 2), name
    return sandwich


@profiles(BROWSER_PROFILES)
def test_speedscope_app_imports_json(profile_path, tmp_path):
    exp = Expected(profile_path)
    out = export(profile_path, "speedscope", tmp_path / "s.speedscope.json")
    data = json.loads(out.read_text())
    assert [p["type"] for p in data["profiles"]] == ["sampled"] * len(exp.active_threads())
    assert sum(sum(p["weights"]) for p in data["profiles"]) == exp.total * exp.unit
    result = speedscope_load(out)
    assert result["importedAs"] == "speedscope json file"
    check_speedscope_threads(result, exp)


@profiles(["vmprof-live", "multithread"])
def test_speedscope_json_matches_shipped_schema(profile_path, tmp_path):
    require_node_package("ajv")
    require_node_package("speedscope")
    out = export(profile_path, "speedscope", tmp_path / "s.json")
    proc = subprocess.run(["node", str(JS / "speedscope_schema.js"), str(out)], capture_output=True, text=True,
                          timeout=60, env=node_env())
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["valid"], result["errors"]


@profiles(BROWSER_PROFILES)
def test_chrome_trace_imports_into_speedscope(profile_path, tmp_path):
    exp = Expected(profile_path)
    out = export(profile_path, "chrome", tmp_path / "trace.json")
    events = json.loads(out.read_text())["traceEvents"]
    begins = sum(1 for e in events if e["ph"] == "B")
    assert begins == sum(1 for e in events if e["ph"] == "E") and begins > 0
    result = speedscope_load(out)
    assert result["importedAs"] == "Trace Event Format profile"
    thread_rows = [r for r in result["rows"] if r[0].isdigit()]
    active = exp.active_threads()
    if len(active) > 1:
        assert len(thread_rows) == len(active)
        for row, t in zip(thread_rows, active):
            assert parse_duration_us(row[2]) == pytest.approx(exp.thread_totals[t] * exp.unit, rel=0.01)
    sandwich = [r for r in result["rows"] if not r[0].isdigit()]
    want_self, _ = exp.by_name(active[0], key=lambda f: f[0])
    got_self = defaultdict(float)
    for _, self_, name in sandwich:
        got_self[re.sub(r" \([^()]*\)$", "", name)] += parse_duration_us(self_)
    for name, s in want_self.items():
        assert got_self[name] == pytest.approx(s * exp.unit, rel=0.02, abs=exp.unit / 2), name


# ---- gecko: Firefox Profiler CLI ------------------------------------------------------------------

def profiler_cli(tmp_path):
    require_node_package("@firefox-devtools/profiler-cli")
    exe = require_tool("profiler-cli", str(NODE_MODULES / ".bin" / "profiler-cli"))
    # The daemon's socket lives here: keep the path short (sun_path is ~100 bytes).
    import tempfile
    session = Path(tempfile.mkdtemp(prefix="pc", dir="/tmp"))
    # A loaded machine can take longer than the default wait for the daemon.
    env = cli_env({"PROFILER_CLI_NO_SYMBOLICATE": "1", "PROFILER_CLI_SESSION_DIR": str(session),
                   "PROFILER_CLI_LOAD_TIMEOUT_MS": "90000"})

    def run(*args, check=True):
        proc = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=120, env=env)
        if check:
            assert proc.returncode == 0, f"profiler-cli {args}: {proc.stdout}\n{proc.stderr}"
        return proc
    run.session = session
    return run


def load_profile(pc, path, attempts=4):
    """`profiler-cli load`, retried: the CLI waits only 500 ms for its daemon to
    start, which a busy machine misses ("retrying often works", it says)."""
    for _ in range(attempts):
        proc = pc("load", path, check=False)
        if proc.returncode == 0:
            return proc
        m = re.search(r"did not become ready.*?running as pid (\d+)", proc.stdout + proc.stderr, re.S)
        if not m:
            break
        try:
            os.kill(int(m.group(1)), 15)  # the daemon this load started
        except ProcessLookupError:
            pass
    raise AssertionError(f"profiler-cli load {path}: {proc.stdout}\n{proc.stderr}")


@profiles()
def test_gecko_profiler_cli_function_table(profile_path, tmp_path):
    exp = Expected(profile_path)
    out = export(profile_path, "gecko", tmp_path / "g.json")
    pc = profiler_cli(tmp_path)
    try:
        load_profile(pc, out)
        # Threads are listed as "t-N: <name> [tid <tid>]"; our tids are the profile's thread ids.
        info = pc("profile", "info").stdout
        handles = {int(tid): h for h, tid in re.findall(r"(t-\d+): .*\[tid (\d+)\]", info)}
        for t in exp.active_threads():
            pc("thread", "select", handles[exp.threads[t][0]])
            if exp.memory:
                # Bytes travel as native-allocation markers; that view sums their sizes.
                pc("strategy", "native-allocations")
            table = json.loads(pc("thread", "functions", "--json").stdout)
            assert table["weightType"] == ("bytes" if exp.memory else "samples")
            got_self, got_total = defaultdict(int), defaultdict(int)
            for f in table["functions"]:
                key = (f["name"], f.get("library") or "")
                got_self[key] += f["selfSamples"]
                got_total[key] = f["totalSamples"]
            want_self, want_total = exp.by_name(t, key=lambda f: (f[0], f[1]))
            assert {k: v for k, v in got_self.items() if v} == {k: v for k, v in want_self.items() if v}
            for key, total in want_total.items():
                assert got_total[key] == total, key
            assert sum(got_self.values()) == exp.thread_totals[t]
    finally:
        pc("stop", "--all", check=False)
        import shutil
        shutil.rmtree(pc.session, ignore_errors=True)


# ---- callgrind: callgrind_annotate, gprof2dot --------------------------------------------------------

@profiles()
def test_callgrind_annotate_and_gprof2dot(profile_path, tmp_path):
    annotate = require_tool("callgrind_annotate")
    require_module("gprof2dot")
    exp = Expected(profile_path)
    out = export(profile_path, "callgrind", tmp_path / "callgrind.out.1")
    proc = subprocess.run([annotate, "--auto=no", "--threshold=100", str(out)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    m = re.search(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+PROGRAM TOTALS", proc.stdout, re.M)
    assert m, proc.stdout
    assert int(m.group(1).replace(",", "")) == exp.total
    got = defaultdict(int)
    for line in proc.stdout.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if m and "PROGRAM TOTALS" not in line:
            # "file:function"; files may hold ':' (Windows), plain function names do not.
            got[m.group(2).rpartition(":")[2]] += int(m.group(1).replace(",", ""))
    want_self, _ = exp.by_name()
    names = defaultdict(int)
    for f in exp.functions:
        names[f[0]] += 1
    for name, s in want_self.items():
        if names[name] == 1 and s:
            assert got[name] == s, name
    assert sum(got.values()) == exp.total
    dot = subprocess.run([sys.executable, "-m", "gprof2dot", "-f", "callgrind", str(out)], capture_output=True,
                         text=True, timeout=60)
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout.startswith("digraph")


# ---- pstats: the standard library and snakeviz ----------------------------------------------------

@profiles()
def test_pstats_stats_loads_totals_and_callers(profile_path, tmp_path):
    exp = Expected(profile_path)
    out = export(profile_path, "pstats", tmp_path / "p.pstats")
    st = pstats.Stats(str(out))
    period_s = 1 if exp.memory else exp.period_us / 1e6
    assert st.total_tt == pytest.approx(exp.total * period_s)
    per = exp.per_function()
    by_key = defaultdict(lambda: [0, 0])
    for fid, (s, t) in per.items():
        name, file, line, _ = exp.functions[fid]
        key = (file or "~", line if file else 0, name or "<unknown>")
        by_key[key][0] += s
        by_key[key][1] = max(by_key[key][1], t)
    assert set(st.stats) == set(by_key)
    for key, (cc, nc, tt, ct, callers) in st.stats.items():
        assert tt == pytest.approx(by_key[key][0] * period_s)
        assert ct == pytest.approx(by_key[key][1] * period_s)
        assert cc == nc >= 1
        for caller, (c_nc, c_cc, c_tt, c_ct) in callers.items():
            assert caller in st.stats
            assert c_ct <= ct + 1e-9 and c_tt <= tt + 1e-9 and 1 <= c_nc <= nc
    # Outermost functions have no callers; every other one has some.
    roots = {exp.functions[f][0] for f, p in zip(*exp.profile.calltree()[:2]) if p == 0}
    for key, value in st.stats.items():
        if key[2] not in roots:
            assert value[4], key
    st.sort_stats("cumulative").print_stats(5)  # renders without error


@profiles(["vmprof-live", "multithread", "pypy"])
def test_pstats_loads_in_snakeviz(profile_path, tmp_path):
    require_module("snakeviz")
    out = export(profile_path, "pstats", tmp_path / "p.pstats")
    # snakeviz's server renders a profile from these two functions.
    code = textwrap.dedent(f"""
        import json, pstats
        from snakeviz.stats import json_stats, table_rows
        st = pstats.Stats({str(out)!r})
        rows = table_rows(st)
        data = json_stats(st)
        data = json.loads(data) if isinstance(data, str) else data
        print(json.dumps({{"rows": len(rows), "stats": len(data)}}))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    st = pstats.Stats(str(out))
    assert got["rows"] == len(st.stats) and got["stats"] == len(st.stats)


# ---- collapsed: inferno ------------------------------------------------------------------------------

@profiles()
def test_collapsed_renders_with_inferno(profile_path, tmp_path):
    inferno = require_tool("inferno-flamegraph", str(CARGO_BIN / "inferno-flamegraph"))
    exp = Expected(profile_path)
    out = export(profile_path, "collapsed", tmp_path / "stacks.folded")
    lines = out.read_text().splitlines()
    counts = []
    for line in lines:
        assert re.fullmatch(r"[^\r]+ \d+", line), line
        stack, _, count = line.rpartition(" ")
        assert all(frame for frame in stack.split(";")), line  # no empty frames from stray ';'
        counts.append(int(count))
    assert sum(counts) == exp.total
    svg = subprocess.run([inferno, str(out)], capture_output=True, text=True, timeout=60)
    assert svg.returncode == 0, svg.stderr
    assert "<svg" in svg.stdout
    m = re.search(r"<title>all \(([\d,]+) samples", svg.stdout)
    assert m and int(m.group(1).replace(",", "")) == exp.total


# ---- the command itself ------------------------------------------------------------------------------

def test_thread_option_exports_one_thread(live_vmprof, tmp_path):
    exp = Expected(live_vmprof)
    active = exp.active_threads()
    assert len(active) == 2
    for t in active:
        tid = exp.threads[t][0]
        out = export(live_vmprof, "collapsed", tmp_path / f"t{t}.folded", "--thread", tid)
        assert sum(int(line.rpartition(" ")[2]) for line in out.read_text().splitlines()) == exp.thread_totals[t]
        data = json.loads(export(live_vmprof, "speedscope", tmp_path / f"t{t}.json", "--thread", tid).read_text())
        assert len(data["profiles"]) == 1


def test_every_format_is_listed_and_exports(live_vmprof, tmp_path):
    from pyrometer import _native
    assert list(_native.Profile.export_formats()) == FORMATS
    for fmt in FORMATS:
        out = export(live_vmprof, fmt, tmp_path / f"out.{fmt}")
        assert out.stat().st_size > 0
    assert gzip.decompress((tmp_path / "out.pprof").read_bytes())
    assert isinstance(marshal.loads((tmp_path / "out.pstats").read_bytes()), dict)


@pytest.mark.parametrize("args, message", [
    (["--format", "svg"], "unknown format 'svg'"),
    (["--format", "collapsed", "--thread", "banana"], "not a thread id"),
    (["--format", "collapsed", "--thread", "12345"], "no thread with id 12345"),
])
def test_bad_options_are_one_line_errors(args, message, tmp_path):
    src = FIXTURES / "cpython311_vmprof0418_cpu.prof"
    proc = run_cli("export", src, "-o", tmp_path / "x", *args)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_bad_files_are_one_line_errors(tmp_path):
    proc = run_cli("export", tmp_path / "missing.prof", "--format", "pprof", "-o", tmp_path / "x")
    assert proc.returncode == 2 and "missing.prof: no such file" in proc.stderr
    junk = tmp_path / "junk.prof"
    junk.write_bytes(b"not a profile at all")
    proc = run_cli("export", junk, "--format", "pprof", "-o", tmp_path / "x")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "junk.prof" in proc.stderr
    src = FIXTURES / "cpython311_vmprof0418_cpu.prof"
    proc = run_cli("export", src, "--format", "pprof", "-o", tmp_path / "no" / "dir" / "x")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


def test_api_export_releases_errors_as_profile_error(tmp_path):
    from pyrometer import _native
    p = loader.load(FIXTURES / "cpython311_vmprof0418_cpu.prof")
    with pytest.raises(_native.ProfileError, match="unknown export format"):
        p.export("svg", str(tmp_path / "x"))
    with pytest.raises(_native.ProfileError, match="no thread with id"):
        p.export("pprof", str(tmp_path / "x"), thread=1)
    p.export("pprof", tmp_path / "ok.pb.gz", thread=p.threads()[0][0])
    assert (tmp_path / "ok.pb.gz").stat().st_size > 0


@pytest.mark.parametrize("fmt, imported_as", [("collapsed", "collapsed stack format"),
                                               ("callgrind", "Callgrind profile")])
def test_speedscope_also_reads_collapsed_and_callgrind(live_vmprof, tmp_path, fmt, imported_as):
    exp = Expected(live_vmprof)
    out = export(live_vmprof, fmt, tmp_path / f"out.{fmt}")
    result = speedscope_load(out)
    assert result["importedAs"] == imported_as
    want_self, _ = exp.by_name()
    got_self = defaultdict(int)
    for _, self_, name in result["rows"]:
        got_self[re.sub(r" \([^()]*\)$", "", name)] += int(self_.split()[0])
    assert sum(got_self.values()) == exp.total
    if fmt == "callgrind":
        return  # speedscope rebuilds stacks from callgrind's call graph by heuristics
    for name, s in want_self.items():
        if s and sum(1 for f in exp.functions if f[0] == name) == 1:
            assert got_self[name] == s, name


def test_pprof_top_keeps_bracketed_python_names(own_profile, tmp_path):
    # pprof shortens <...> as C++ template arguments; without display names
    # "<module>" and "<genexpr>" would all show as "[python]".
    go = require_tool("go", "/usr/local/go/bin/go")
    out = tmp_path / "names.pb.gz"
    export(own_profile, "pprof", out)
    top = subprocess.run([go, "tool", "pprof", "-top", "-nodecount=1000", str(out)], capture_output=True,
                         text=True, timeout=120)
    assert top.returncode == 0, top.stderr
    assert "\u2039module\u203a" in top.stdout and "[python]" not in top.stdout
    raw = subprocess.run([go, "tool", "pprof", "-raw", str(out)], capture_output=True, text=True, timeout=120)
    assert "(<module>)" in raw.stdout  # the system name keeps the real one

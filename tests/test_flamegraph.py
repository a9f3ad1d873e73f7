"""The HTML flame graph: the command, the page's data, and the page itself
driven in headless Chromium (tests/js/viewer_drive.js).

Profiles are written at test time: synthetic vmprof v6 files with exactly
known contents (bench/make_big_profile_viewer.py's writer), and real ones
from PyPI vmprof and from `pyrometer run` when those are readable."""
import argparse
import json
import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import DATA, ROOT, require_module, require_tool, run_cli

sys.path.insert(0, str(ROOT / "bench"))
from make_big_profile_viewer import synthetic, write_vmprof  # noqa: E402

from pyrometer import _native, flamegraph  # noqa: E402

DRIVER = ROOT / "tests" / "js" / "viewer_drive.js"
PLAYWRIGHT = "/opt/pyrometer-tools/node/node_modules/playwright-core"

XSS_NAME = "<img src=x onerror=window.__xss_fired=true;alert(1)>"
XSS_SCRIPT = "</script><script>window.__xss_fired=true;alert(2)</script>"
XSS_FILE = '"><svg onload=window.__xss_fired=true;alert(3)>.py'
XSS_LINESEP = "sep\u2028arated</b>&amp;"

# Function addresses of the small profile
MAIN, WORK, LEAF_A, LEAF_B, HELPER = 0x1000, 0x1010, 0x1020, 0x1030, 0x1040
SYMBOLS = {
    MAIN: "py:main:1:/app/main.py",
    WORK: "py:work:10:/app/work.py",
    LEAF_A: "py:leaf_a:20:/app/work.py",
    LEAF_B: "py:leaf_b:30:/app/util.py",
    HELPER: "py:helper:40:/app/util.py",
}
T1, T2 = 111, 222


def small_samples():
    """100 samples: thread 111 has 90 (main→work→leaf_a ×60, main→work→leaf_b ×20,
    main ×10), thread 222 has 10 (main→helper→leaf_b). Stacks are leaf first."""
    return ([([LEAF_A, WORK, MAIN], T1)] * 60 + [([LEAF_B, WORK, MAIN], T1)] * 20 + [([MAIN], T1)] * 10
            + [([LEAF_B, HELPER, MAIN], T2)] * 10)


@pytest.fixture(scope="module")
def small_prof(tmp_path_factory):
    path = tmp_path_factory.mktemp("fg") / "small.prof"
    write_vmprof(path, SYMBOLS, small_samples())
    return path


@pytest.fixture(scope="module")
def lines_prof(tmp_path_factory):
    """leaf_a runs at line 21 (40 samples) and 22 (20), called from work line 12."""
    path = tmp_path_factory.mktemp("fg") / "lines.prof"
    samples = ([([(LEAF_A, 21), (WORK, 12), (MAIN, 3)], T1)] * 40 + [([(LEAF_A, 22), (WORK, 12), (MAIN, 3)], T1)] * 20
               + [([(LEAF_B, 31), (WORK, 13), (MAIN, 3)], T1)] * 40)
    write_vmprof(path, SYMBOLS, samples, lines=True)
    return path


@pytest.fixture(scope="module")
def xss_prof(tmp_path_factory):
    path = tmp_path_factory.mktemp("fg") / "xss.prof"
    symbols = {
        MAIN: f"py:{XSS_SCRIPT}:1:/app/main.py",
        WORK: f"py:{XSS_NAME}:10:{XSS_FILE}",
        LEAF_A: f"py:{XSS_LINESEP}:20:/app/x.py",
    }
    samples = [([LEAF_A, WORK, MAIN], T1)] * 30 + [([WORK, MAIN], T1)] * 70
    write_vmprof(path, symbols, samples, meta={"os": "linux", "cmd": "<script>alert(4)</script>"})
    return path


def node_tools():
    require_tool("node")
    require_tool("chromium")
    require_tool("playwright-core", path=PLAYWRIGHT)


def drive(html, out_dir, plan, timeout=120):
    """Runs the driver on a page; returns its observations. Prints where the
    screenshots went."""
    node_tools()
    plan_path = out_dir / f"plan-{os.getpid()}-{time.monotonic_ns()}.json"
    plan_path.write_text(json.dumps(plan))
    proc = subprocess.run(["node", str(DRIVER), str(html), str(out_dir), str(plan_path)],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    print(f"screenshots: {out_dir}/flamegraph*.png")
    return json.loads(proc.stdout)


def page_data(html_path):
    text = html_path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="pyrometer-data">(.*?)</script>', text, re.S)
    return json.loads(m.group(1))


def assert_offline(obs, html):
    assert obs["requests"] == [f"file://{html}"], obs["requests"]
    assert obs["errors"] == [] and obs["console"] == [] and obs["dialogs"] == []


# ---- the command ----

def test_flamegraph_command_writes_next_to_the_profile(small_prof):
    proc = run_cli("flamegraph", small_prof, check=True)
    out = small_prof.with_suffix(".html")
    assert proc.stdout.strip() == str(out)
    assert out.exists() and out.read_bytes().startswith(b"<!DOCTYPE html>")


def test_flamegraph_command_output_option(small_prof, tmp_path):
    out = tmp_path / "x" / ".." / "graph.html"
    (tmp_path / "x").mkdir()
    proc = run_cli("flamegraph", small_prof, "-o", out, "--title", "My <run>", check=True)
    assert proc.stdout.strip() == str(out)
    text = out.read_text()
    assert "<title>My &lt;run&gt;</title>" in text


@pytest.mark.parametrize("option", [["--leaks"], ["--temporary-allocations"], ["--temporary-allocations", "3"]])
def test_capture_options_on_a_vmprof_file_are_usage_errors(small_prof, tmp_path, option):
    proc = run_cli("flamegraph", small_prof, "-o", tmp_path / "o.html", *option)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "allocation captures" in proc.stderr and str(small_prof) in proc.stderr
    assert not (tmp_path / "o.html").exists()


def test_bad_input_is_one_line(tmp_path):
    missing = tmp_path / "nope.prof"
    proc = run_cli("flamegraph", missing)
    assert proc.returncode == 2 and proc.stderr == f"pyrometer: error: {missing}: no such file\n"
    junk = tmp_path / "junk.prof"
    junk.write_bytes(b"\x00" * 7)
    proc = run_cli("flamegraph", junk)
    assert proc.returncode == 2 and proc.stderr.startswith(f"pyrometer: error: {junk}:")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("argv, view, threshold", [
    ([], "peak", 1), (["--leaks"], "leaks", 1), (["--temporary-allocations"], "temporary", 1),
    (["--temporary-allocations", "5"], "temporary", 5)])
def test_capture_views_reach_the_loader(monkeypatch, small_prof, tmp_path, capsys, argv, view, threshold):
    """For an allocation capture the command asks the loader for the chosen view."""
    from pyrometer import cli, loader
    seen = {}

    def fake_load(path, view="peak", temporary_threshold=1):
        seen.update(path=path, view=view, threshold=temporary_threshold)
        return _native.read_profile(small_prof)

    monkeypatch.setattr(loader, "file_kind", lambda path: "capture")
    monkeypatch.setattr(loader, "load", fake_load)
    out = tmp_path / "cap.html"
    assert cli.main(["flamegraph", "mem.cap", "-o", str(out), *argv]) == 0
    assert seen == {"path": "mem.cap", "view": view, "threshold": threshold}
    assert capsys.readouterr().out == f"{out}\n"


def test_temporary_threshold_must_be_positive(monkeypatch, tmp_path, capsys):
    from pyrometer import cli, loader
    monkeypatch.setattr(loader, "file_kind", lambda path: "capture")
    assert cli.main(["flamegraph", "mem.cap", "--temporary-allocations", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_open_in_browser_prints_the_path_without_a_browser(monkeypatch, tmp_path, capsys):
    import webbrowser

    def no_browser(*a, **k):
        raise webbrowser.Error("none")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    page = tmp_path / "p.html"
    page.write_text("x")
    assert flamegraph.open_in_browser(page) is False
    assert str(page) in capsys.readouterr().out


def test_open_in_browser_uses_the_browser(monkeypatch, tmp_path):
    import webbrowser
    opened = []

    class Browser:
        def open(self, url):
            opened.append(url)
            return True

    monkeypatch.setattr(webbrowser, "get", lambda *a: Browser())
    monkeypatch.setenv("DISPLAY", ":0")
    assert flamegraph.open_in_browser(tmp_path / "p.html") is True
    assert opened == [f"file://{tmp_path / 'p.html'}"]


def test_open_in_browser_without_a_display_never_starts_a_console_browser(monkeypatch, tmp_path, capsys):
    import webbrowser
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("BROWSER", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(webbrowser, "get", lambda *a: pytest.fail("must not look for a browser"))
    assert flamegraph.open_in_browser(tmp_path / "p.html") is False
    assert capsys.readouterr().out == f"no browser available; open {tmp_path / 'p.html'}\n"


# ---- the page's data ----

def test_viewer_json_describes_the_profile(small_prof):
    d = json.loads(_native.viewer_json(_native.read_profile(small_prof)))
    assert d["format"] == "pyrometer-viewer" and d["version"] == 1
    assert d["value_unit"] == "samples" and d["total"] == 100 and d["sample_count"] == 100
    strings = d["strings"]
    funcs = [(strings[d["functions"][i]], strings[d["functions"][i + 1]], d["functions"][i + 2])
             for i in range(0, len(d["functions"]), 4)]
    assert sorted(funcs) == sorted([("main", "/app/main.py", 1), ("work", "/app/work.py", 10),
                                    ("leaf_a", "/app/work.py", 20), ("leaf_b", "/app/util.py", 30),
                                    ("helper", "/app/util.py", 40)])
    nodes = d["nodes"]
    parents = [i - nodes[3 * i] if nodes[3 * i] else -1 for i in range(len(nodes) // 3)]
    names = [funcs[nodes[3 * i + 1]][0] for i in range(len(nodes) // 3)]

    def path(i):
        out = []
        while i >= 0:
            out.append(names[i])
            i = parents[i]
        return ";".join(reversed(out))

    threads = {t[0]: w for t, w in zip(d["threads"], d["weights"])}
    assert set(threads) == {str(T1), str(T2)}
    folded = {}
    for tid, w in threads.items():
        node = -1
        for k in range(0, len(w), 2):
            node += w[k]
            folded[(tid, path(node))] = w[k + 1]
    assert folded == {(str(T1), "main;work;leaf_a"): 60, (str(T1), "main;work;leaf_b"): 20, (str(T1), "main"): 10,
                      (str(T2), "main;helper;leaf_b"): 10}


def test_page_is_one_offline_file(small_prof, tmp_path):
    out = flamegraph.write_flamegraph(_native.read_profile(small_prof), tmp_path / "p.html", "t")
    text = open(out, encoding="utf-8").read()
    assert not re.search(r"<(link|iframe|object|embed)\b", text, re.I)
    assert not re.search(r"\bsrc\s*=", text.split('id="pyrometer-data"')[0], re.I)
    assert "http://" not in text and "https://" not in text
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-inline" not in csp.split(";")[1]


def test_embedded_json_cannot_break_out_of_its_script(xss_prof, tmp_path):
    out = tmp_path / "x.html"
    flamegraph.write_flamegraph(_native.read_profile(xss_prof), out, XSS_SCRIPT)
    text = out.read_text(encoding="utf-8")
    # Exactly the page's own three script elements open and close.
    assert len(re.findall(r"<script", text, re.I)) == 3 and len(re.findall(r"</script", text, re.I)) == 3
    assert "\u2028" not in text and "<img" not in text and "<svg" not in text
    d = page_data(out)
    assert {XSS_NAME, XSS_SCRIPT, XSS_FILE, XSS_LINESEP, "<script>alert(4)</script>"} <= set(d["strings"])


def test_invalid_utf8_names_become_replacement_characters(tmp_path):
    path = tmp_path / "bad.prof"
    write_vmprof(path, {MAIN: b"py:ok\xff\xfe<:1:/a\xc3.py"}, [([MAIN], 1)])
    raw = _native.viewer_json(_native.read_profile(path))
    d = json.loads(raw.decode("utf-8"))  # strict: the bytes are valid UTF-8
    assert "ok\ufffd\ufffd<" in d["strings"] and "/a\ufffd.py" in d["strings"]


# ---- the page in Chromium ----

@pytest.fixture(scope="module")
def small_page(small_prof, tmp_path_factory):
    out = tmp_path_factory.mktemp("page") / "small.html"
    flamegraph.write_flamegraph(_native.read_profile(small_prof), out, "small profile")
    plan = {"zoom": "work", "hover": "leaf_a", "search": "leaf_b", "search_frame": "leaf_b", "other_frame": "leaf_a",
            "regex": "^leaf_[ab]$", "table": True,
            "row": "leaf_b", "threads": True, "inverted": "leaf_b", "icicle": "leaf_a"}
    return out, drive(out, out.parent, plan)


def test_page_opens_offline_without_errors(small_page):
    html, obs = small_page
    assert_offline(obs, html)
    assert obs["title"] == "small profile" and obs["heading"] == "small profile"
    assert obs["initial"]["rootTotal"] == 100 and obs["initial"]["zoom"] == "all threads"
    assert "100 samples" in obs["summary"] and "2 threads" in obs["summary"]
    assert not obs["timeline_visible"] and not obs["lines_panel_visible"]


def test_click_zooms_and_escape_or_button_resets(small_page):
    _, obs = small_page
    z = obs["zoom"]
    assert z["found"]
    assert z["after_click"]["zoom"] == "work" and z["after_click"]["zoomTotal"] == 80
    assert z["status"].startswith("Zoomed into work: 80 samples (80.00%)")
    assert z["after_escape"]["zoom"] == "all threads"
    assert z["after_button"]["zoom"] == "all threads"


def test_hover_shows_name_file_self_and_total(small_page):
    _, obs = small_page
    h = obs["hover"]
    assert h["found"] and h["visible"]
    assert h["lines"] == ["leaf_a", "/app/work.py:20", "Total: 60 samples (60.00%)", "Self: 60 samples (60.00%)"]


def test_search_highlights_and_reports_the_share(small_page):
    _, obs = small_page
    s = obs["search"]
    assert s["focused"] == "search"  # '/' focused it
    assert s["info"] == "Matched: 30.00% (30 of 100 samples)"
    assert s["state"]["matchValue"] == 30
    # matching frames turn magenta (hsl 292, 70%, 58% = rgb(204, 73, 223)); others keep their colour
    px = s["pixels"]
    assert px["match_before"] != px["match_after"]
    assert all(abs(a - b) <= 3 for a, b in zip(px["match_after"], (204, 73, 223))), px
    assert px["other_before"] == px["other_after"]
    assert s["table"] == ["leaf_b"]  # the table shows only matches
    assert s["regex_info"] == "Matched: 90.00% (90 of 100 samples)"
    assert s["invalid_info"] == "invalid regular expression"
    assert s["cleared_info"] == ""


def test_table_sorts(small_page):
    _, obs = small_page
    t = obs["table"]
    # default: by total, descending; columns name, file, self, self%, total, total%
    assert [r[0] for r in t["initial"]] == ["main", "work", "leaf_a", "leaf_b", "helper"]
    assert t["initial"][0] == ["main", "/app/main.py:1", "10", "10.00%", "100", "100.00%"]
    assert [r[0] for r in t["by_self_desc"]][:3] == ["leaf_a", "leaf_b", "main"]
    assert [int(r[2]) for r in t["by_self_desc"]] == [60, 30, 10, 0, 0]
    assert [int(r[2]) for r in t["by_self_asc"]] == [0, 0, 10, 30, 60]
    assert [r[0] for r in t["by_name"]] == ["helper", "leaf_a", "leaf_b", "main", "work"]


def test_table_row_selects_and_zooms(small_page):
    _, obs = small_page
    r = obs["row"]
    assert r["clicked"] and r["state"]["selected"] == "leaf_b"
    # the heaviest leaf_b frame: main→work→leaf_b (20 of its 30)
    assert r["state"]["zoom"] == "leaf_b" and r["state"]["zoomTotal"] == 20


def test_thread_switch_changes_totals(small_page):
    _, obs = small_page
    th = obs["threads"]
    assert [o[0] for o in th["options"]] == ["-1", "0", "1"]
    assert th["options"][0][1] == "All threads (merged): 100"
    assert {o[1] for o in th["options"][1:]} == {f"thread {T1}: 90", f"thread {T2}: 10"}
    totals = {value: total for value, total, _ in th["totals"]}
    assert totals["-1"] == 100 and sorted([totals["0"], totals["1"]]) == [10, 90]


def test_inverted_view_puts_hot_functions_first(small_page):
    _, obs = small_page
    inv = obs["inverted"]
    assert inv["state"]["view"] == "inverted" and inv["state"]["rootTotal"] == 100
    assert inv["found"]
    assert inv["hover"][0] == "leaf_b" and inv["hover"][2] == "Total: 30 samples (30.00%)"


def test_icicle_orientation(small_page):
    _, obs = small_page
    assert obs["icicle"]["state"]["orient"] == "icicle" and obs["icicle"]["found"]


def test_lines_panel_for_line_profiles(lines_prof, tmp_path):
    out = tmp_path / "lines.html"
    flamegraph.write_flamegraph(_native.read_profile(lines_prof), out, "lines")
    obs = drive(out, tmp_path, {"row": "leaf_a"})
    assert_offline(obs, out)
    assert obs["lines_panel_visible"] and obs["initial"]["hasLines"]
    assert obs["row"]["lines_title"] == "Lines of leaf_a (/app/work.py)"
    assert obs["row"]["lines"] == [["21", "40", "40"], ["22", "20", "20"]]


def test_untrusted_names_show_as_text_and_nothing_runs(xss_prof, tmp_path):
    out = tmp_path / "xss.html"
    flamegraph.write_flamegraph(_native.read_profile(xss_prof), out, XSS_SCRIPT)
    obs = drive(out, tmp_path, {"hover": XSS_NAME, "search": "<img", "probe_xss": True, "threads": True})
    assert_offline(obs, out)
    x = obs["xss"]
    assert x["fired"] is False and obs["dialogs"] == []
    assert x["imgs"] == 0 and x["svgs"] == 0 and x["scripts"] == 3
    assert x["title"] == XSS_SCRIPT and obs["title"] == XSS_SCRIPT
    assert obs["hover"]["lines"][:2] == [XSS_NAME, XSS_FILE + ":10"]
    assert obs["search"]["table"] == [XSS_NAME]
    assert obs["search"]["info"] == "Matched: 100.00% (100 of 100 samples)"
    # one thread: the selector offers only the merged view and is disabled
    assert obs["threads"]["disabled"] and len(obs["threads"]["options"]) == 2


def _vmprof_profile_with_hostile_name(path):
    """A real vmprof profile of a function whose code object is named XSS_NAME."""
    require_module("vmprof")
    script = textwrap.dedent(f"""
        import sys, vmprof
        def spin(n):
            s = 0
            for i in range(n):
                s += i * i
            return s
        spin.__code__ = spin.__code__.replace(co_name={XSS_NAME!r})
        with open(sys.argv[1], "w+b") as f:
            vmprof.enable(f.fileno(), period=0.0005)
            for _ in range(40):
                spin(50000)
            vmprof.disable()
    """)
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=120)


def test_real_vmprof_profile_with_a_hostile_code_name(tmp_path):
    prof = tmp_path / "real.prof"
    _vmprof_profile_with_hostile_name(prof)
    profile = _native.read_profile(prof)
    out = tmp_path / "real.html"
    flamegraph.write_flamegraph(profile, out, "real")
    obs = drive(out, tmp_path, {"search": "onerror", "probe_xss": True})
    assert_offline(obs, out)
    assert obs["xss"]["imgs"] == 0 and not obs["xss"]["fired"]
    assert XSS_NAME in obs["search"]["table"]


def test_real_vmprof_lines_profile_shows_line_hits(tmp_path):
    """PyPI vmprof in lines mode: the lines panel lists lines of the function's body."""
    require_module("vmprof")
    prof = tmp_path / "lines.prof"
    script = textwrap.dedent("""
        import sys, vmprof
        def leaf(n):                 # line 3
            s = 0                    # line 4
            for i in range(n):       # line 5
                s += i * i           # line 6
            return s                 # line 7
        with open(sys.argv[1], "w+b") as f:
            vmprof.enable(f.fileno(), period=0.0005, lines=True)
            for _ in range(40):
                leaf(50000)
            vmprof.disable()
    """)
    subprocess.run([sys.executable, "-c", script, str(prof)], check=True, timeout=120)
    out = tmp_path / "lines.html"
    proc = run_cli("flamegraph", prof, "-o", out, check=True)
    assert proc.stdout.strip() == str(out)
    obs = drive(out, tmp_path, {"row": "leaf"})
    assert_offline(obs, out)
    assert obs["initial"]["hasLines"] and obs["row"]["clicked"]
    lines = [int(row[0]) for row in obs["row"]["lines"]]
    assert lines and set(lines) <= {3, 4, 5, 6, 7}, obs["row"]["lines"]
    assert sum(int(row[1].replace(",", "")) for row in obs["row"]["lines"]) > 0


def test_pyrometer_run_profile_renders(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(f"""
        def spin(n):
            s = 0
            for i in range(n):
                s += i * i
            return s
        spin.__code__ = spin.__code__.replace(co_name={XSS_NAME!r})
        for _ in range(60):
            spin(50000)
    """))
    prof = tmp_path / "run.prof"
    run_cli("run", "-o", prof, script, check=True)
    proc = run_cli("flamegraph", prof, check=True)
    out = prof.with_suffix(".html")
    assert proc.stdout.strip() == str(out)
    obs = drive(out, tmp_path, {"search": "onerror", "probe_xss": True})
    assert_offline(obs, out)
    assert obs["xss"]["imgs"] == 0 and not obs["xss"]["fired"]
    assert XSS_NAME in obs["search"]["table"]


def test_allocation_capture_views(tmp_path):
    """`run --alloc` capture → flame graph of each view: bytes, and the memory chart."""
    prog = tmp_path / "allocprog.py"
    prog.write_text(textwrap.dedent("""
        keep = []
        def grow(n):
            for i in range(n):
                keep.append(bytearray(10000))
        def churn(n):
            for i in range(n):
                x = bytearray(50000)
                del x
        grow(300)
        churn(500)
        grow(200)
    """))
    cap = tmp_path / "m.alloc"
    run_cli("run", "--alloc", "-o", cap, prog, check=True)
    pages = {}
    for name, option in (("peak", []), ("leaks", ["--leaks"]), ("temporary", ["--temporary-allocations"])):
        out = tmp_path / f"{name}.html"
        proc = run_cli("flamegraph", cap, "-o", out, *option, check=True)
        assert proc.stdout.strip() == str(out)
        pages[name] = page_data(out)
        assert pages[name]["value_unit"] == "bytes"
    assert pages["peak"]["timeline"], "a capture carries memory-over-time points"
    obs = drive(tmp_path / "peak.html", tmp_path, {"hover": "grow"})
    assert_offline(obs, tmp_path / "peak.html")
    assert obs["timeline_visible"]
    assert re.fullmatch(r"Total: [0-9.]+ (KiB|MiB) \([0-9.]+%\)", obs["hover"]["lines"][2]), obs["hover"]
    churn = drive(tmp_path / "temporary.html", tmp_path, {"search": "churn"})
    assert churn["search"]["info"].startswith("Matched: ") and churn["search"]["state"]["matchValue"] > 0


def test_memory_profile_formats_bytes_and_draws_the_timeline(tmp_path):
    """Allocation captures reach the viewer as value_unit "bytes" with a
    timeline; this page is built from such a document by hand."""
    data = {
        "format": "pyrometer-viewer", "version": 1, "value_unit": "bytes", "interpreter": "cpython",
        "period_us": 0, "mode": 0, "start_time_us": 0, "end_time_us": 0, "sample_count": 3,
        "total": 3 * 1024 * 1024 + 512, "dropped": 0, "warning": "",
        "strings": ["", "main", "/m.py", "alloc_big", "alloc_small"],
        "functions": [1, 2, 1, 0, 3, 2, 5, 0, 4, 2, 9, 0],
        "nodes": [0, 0, 0, 1, 1, 0, 2, 2, 0],
        "threads": [["1", 0]],
        "weights": [[2, 3 * 1024 * 1024, 1, 512]],
        "meta": [],
        "timeline": [0, 10_000_000, 1_000_000, 500_000, 14_000_000, 3_146_240, 1_000_000, 12_000_000, 2_000_000],
    }
    out = tmp_path / "mem.html"
    out.write_bytes(flamegraph.render_html_data(json.dumps(data), "memory"))
    obs = drive(out, tmp_path, {"hover": "alloc_big", "table": True})
    assert_offline(obs, out)
    assert obs["timeline_visible"]
    assert obs["hover"]["lines"][2] == "Total: 3.00 MiB (99.98%)"
    assert obs["table"]["initial"][0][:5] == ["main", "/m.py:1", "0 B", "0.00%", "3.00 MiB"]
    assert obs["table"]["initial"][2][2] == "512 B"


@pytest.fixture(scope="module")
def wide_prof(tmp_path_factory):
    """About 100k stack nodes."""
    path = tmp_path_factory.mktemp("fg") / "wide.prof"
    symbols, samples = synthetic(200_000, 400, 4, seed=3, stacks=8000)
    write_vmprof(path, symbols, samples)
    return path


def test_large_tree_stays_interactive(wide_prof, tmp_path):
    profile = _native.read_profile(wide_prof)
    out = tmp_path / "wide.html"
    flamegraph.write_flamegraph(profile, out, "wide")
    obs = drive(out, tmp_path, {"perf": True, "zoom": "func_0_load"})
    assert_offline(obs, out)
    assert obs["initial"]["stackNodes"] >= 90_000, obs["initial"]
    perf = obs["perf"]
    print("perf ms:", perf, "ready:", obs["ready_ms"])
    # Bounds that hold on a 2-core machine shared with other jobs (load ~8);
    # unloaded, a redraw takes ~10-40 ms and opening ~0.4 s. They catch a
    # quadratic step or a per-frame O(nodes) rebuild, not jitter.
    assert max(perf["reset_ms"]) < 1000 and max(perf["scroll_ms"]) < 500
    assert max(perf["thread_ms"]) < 2000 and max(perf["inverted_ms"]) < 3000
    assert obs["ready_ms"] < 5000


@pytest.mark.heavy
def test_million_sample_profile_size_and_speed(tmp_path):
    prof = tmp_path / "big.prof"
    subprocess.run([sys.executable, str(ROOT / "bench" / "make_big_profile_viewer.py"), str(prof)],
                   check=True, capture_output=True, timeout=300)
    t0 = time.perf_counter()
    proc = run_cli("flamegraph", prof, "-o", tmp_path / "big.html", check=True, timeout=120)
    elapsed = time.perf_counter() - t0
    size = (tmp_path / "big.html").stat().st_size
    profile = _native.read_profile(prof)
    t1 = time.perf_counter()
    flamegraph.write_flamegraph(profile, tmp_path / "big2.html", "big")
    write_only = time.perf_counter() - t1
    obs = drive(tmp_path / "big.html", tmp_path, {})
    print(f"1M samples: html {size} bytes, command {elapsed:.2f}s, write {write_only:.3f}s, "
          f"open {obs['ready_ms']:.0f}ms")
    assert proc.stdout.strip() == str(tmp_path / "big.html")
    assert obs["initial"]["rootTotal"] == 1_000_000
    assert size < 4 * 1024 * 1024
    assert write_only < 3.0
    assert obs["ready_ms"] < 2000


def test_temporary_allocations_flag_before_the_file(tmp_path):
    """`flamegraph --temporary-allocations FILE`: FILE is not taken for N."""
    script = tmp_path / "t.py"
    script.write_text("data = [bytearray(100) for _ in range(1000)]\nfor _ in range(100):\n    del bytearray(50)[:]\n")
    capture = tmp_path / "t.alloc"
    assert run_cli("run", "--alloc", "-q", "-o", capture, script).returncode == 0
    for args in (["--temporary-allocations", capture], ["--temporary-allocations", "3", capture], [capture, "--temporary-allocations"]):
        out = tmp_path / "t.html"
        proc = run_cli("flamegraph", *args, "-o", out)
        assert proc.returncode == 0, proc.stderr
        assert out.stat().st_size > 1000
        out.unlink()
    bad = run_cli("flamegraph", capture, "--temporary-allocations", "x")
    assert bad.returncode == 2 and "must be a whole number" in bad.stderr
    bad = run_cli("flamegraph", capture, "--temporary-allocations", "0")
    assert bad.returncode == 2 and "at least 1" in bad.stderr

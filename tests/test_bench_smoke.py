"""The benchmark harness's smallest path, and its README splicing (no timings asserted)."""
import re
import subprocess
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench" / "harness"))
import readme  # noqa: E402


def _table_after(text, heading):
    lines = text[text.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def test_self_test_prints_a_well_formed_overhead_table():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run"), "--self-test"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "- Machine: " in out and " cores, " in out
    assert "- Command: `bench/run --self-test`" in out
    table = _table_after(out, "## 1. CPU overhead")
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert header[:4] == ["configuration", "median", "median (CPU time)", "µs/sample"]
    assert header[4:] == ["busy", "alloc_small"]
    assert re.fullmatch(r"\|(:?---:?\|)+", table[1]), table[1]
    rows = {r.strip("|").split("|")[0].strip(): [c.strip() for c in r.strip("|").split("|")]
            for r in table[2:]}
    assert set(rows) == {"pyrometer cpu 1k", "cProfile"}
    for cells in rows.values():
        assert len(cells) == len(header)
    # cProfile always runs: real ratios in every cell
    for cell in rows["cProfile"][1:3] + rows["cProfile"][4:]:
        assert re.fullmatch(r"\d+\.\d\d×", cell), cell
    # pyrometer either ran (with a per-sample cost) or says why not
    pyro = rows["pyrometer cpu 1k"]
    assert re.fullmatch(r"\d+\.\d\d×|n/a \(.+\)", pyro[1]), pyro
    if pyro[1].endswith("×"):
        assert re.fullmatch(r"-?\d+\.\d", pyro[3]), pyro


def test_splice_replaces_only_between_markers():
    text = "# pyrometer\n\nintro\n\n## Performance\n\n<!-- bench:start -->\nold\n<!-- bench:end -->\n\n## Next\nkept\n"
    out = readme.splice(text, "# pyrometer benchmarks\n\n## 1. CPU overhead\n\n| a |\n")
    assert out.startswith("# pyrometer\n\nintro\n\n## Performance\n\n<!-- bench:start -->\n")
    assert "old" not in out
    assert "### pyrometer benchmarks" in out and "#### 1. CPU overhead" in out
    assert out.endswith("<!-- bench:end -->\n\n## Next\nkept\n")


def test_splice_adds_the_section_when_markers_are_missing():
    out = readme.splice("# pyrometer\n\nintro\n", "# r\n")
    assert out == "# pyrometer\n\nintro\n\n## Performance\n\n<!-- bench:start -->\n### r\n<!-- bench:end -->\n"

"""The Python API, with vmprof's names."""
import os
import threading
import time

import pytest

import pyrometer


def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        sum(range(200))


def test_enable_disable_and_read(tmp_path):
    path = tmp_path / "api.prof"
    with open(path, "wb") as f:
        assert not pyrometer.is_enabled()
        pyrometer.enable(f.fileno(), period=0.001)
        assert pyrometer.is_enabled()
        spin(0.3)
        info = pyrometer.disable()
        assert not pyrometer.is_enabled()
    assert 250 <= info["samples"] <= 350
    stats = pyrometer.read_profile(path)
    assert stats.sample_count == info["samples"]
    spin_node = stats.get_tree()
    while spin_node.name != "spin":
        spin_node = spin_node.children[0]
    assert spin_node.file == __file__ and spin_node.line == spin.__code__.co_firstlineno
    assert spin_node.count >= 0.9 * stats.sample_count
    assert stats.get_runtime_in_microseconds() > 250_000
    assert stats.getmeta("mode") == "cpu" and stats.getmeta("nonexistent", "d") == "d"
    assert [t.name for t in stats.threads] == ["MainThread"]


def test_stop_and_start_sampling_pause_recording(tmp_path):
    path = tmp_path / "pause.prof"
    with open(path, "wb") as f:
        pyrometer.enable(f.fileno(), period=0.001)
        spin(0.1)
        pyrometer.stop_sampling()
        spin(0.3)
        pyrometer.start_sampling()
        spin(0.1)
        info = pyrometer.disable()
    assert 150 <= info["samples"] <= 260


def test_profiler_context_manager_and_node_api(tmp_path):
    def inner():
        spin(0.15)

    def outer():
        inner()
        spin(0.05)

    with pyrometer.Profiler(tmp_path / "ctx.prof", period=0.0005, lines=True) as p:
        outer()
    stats = p.stats
    root = stats.get_tree()
    out = root
    while out.name != "outer":
        out = out.children[0]
    assert out["inner"].name == "inner"  # fuzzy child lookup
    assert out["inn"].name == "inner"
    with pytest.raises(KeyError):
        out["nothing-like-this"]
    assert out["inner"].count + out["spin"].count + out.self_count == out.count
    seen = []
    out.walk(lambda n: seen.append(n.name))
    assert seen[0] == "outer" and "inner" in seen and seen.count("spin") == 2
    flat = out.flatten()
    assert flat[("spin", __file__, spin.__code__.co_firstlineno)][1] == out["inner"]["spin"].count + out["spin"].count
    top = dict(stats.top_profile())
    assert top[f"py:outer:{outer.__code__.co_firstlineno}:{__file__}"] == out.count
    lines = {line for (f, line) in stats.line_hits() if f.name == "spin"}
    assert lines & {spin.__code__.co_firstlineno + 2, spin.__code__.co_firstlineno + 3}


def test_profiler_without_path_and_threads(tmp_path):
    with pyrometer.Profiler(real_time=True, period=0.002) as p:
        t = threading.Thread(target=time.sleep, args=(0.3,), name="napper")
        t.start()
        t.join()
    assert os.path.exists(p.path)
    names = {t.name for t in p.stats.threads}
    assert "napper" in names
    os.unlink(p.path)


def test_bad_arguments_raise_clear_exceptions(tmp_path):
    with pytest.raises(ValueError, match="bad file descriptor"):
        pyrometer.enable(9999)
    with pytest.raises(ValueError, match="must be an int"):
        pyrometer.enable("3")
    with open(tmp_path / "x.prof", "wb") as f:
        for period in (0, -1, float("nan")):
            with pytest.raises(ValueError, match="period must be positive"):
                pyrometer.enable(f.fileno(), period=period)
        with pytest.raises(ValueError, match="outside"):
            pyrometer.enable(f.fileno(), period=1e-7)
        pyrometer.enable(f.fileno())
        try:
            with pytest.raises(RuntimeError, match="already sampling"):
                pyrometer.enable(f.fileno())
        finally:
            pyrometer.disable()
    with open(tmp_path / "x.prof", "rb") as f:
        with pytest.raises(RuntimeError, match="not open for writing"):
            pyrometer.enable(f.fileno())
    with pytest.raises(RuntimeError, match="not sampling"):
        pyrometer.disable()
    assert not pyrometer.is_enabled()

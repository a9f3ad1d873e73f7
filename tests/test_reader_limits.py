"""Hostile-file limits of the readers: every size read from a file is bounded,
and nothing a file can repeat makes reading superlinear (a small file must
not hang the reader)."""
import struct
import time

import pytest

from pyrometer import _native

PROLOGUE = struct.pack("<5q", 0, 3, 0, 1000, 0)
HEADER = b"\x05" + struct.pack(">H", 6) + bytes([0, 7]) + b"cpython"
TRAILER = b"\x03" + bytes(24)
N = 400_000


def read_timed(tmp_path, body):
    path = tmp_path / "hostile.prof"
    path.write_bytes(PROLOGUE + HEADER + body + TRAILER)
    start = time.monotonic()
    profile = _native.read_profile(str(path))
    return profile, time.monotonic() - start


def test_many_threads_read_in_linear_time(tmp_path):
    # One empty stack per thread id: a per-sample scan of the thread table
    # took ~40 s here before threads were hashed.
    body = b"".join(b"\x01" + struct.pack("<3q", 1, 0, i + 1) for i in range(N))
    profile, seconds = read_timed(tmp_path, body)
    assert profile.sample_count == N and len(profile.threads()) == N
    assert seconds < 5, f"{N} threads took {seconds:.1f}s"


def test_many_meta_keys_read_in_linear_time(tmp_path):
    body = b"".join(b"\x07" + struct.pack("<q", 8) + b"k%07d" % i + struct.pack("<q", 1) + b"v" for i in range(N))
    profile, seconds = read_timed(tmp_path, body)
    assert len(profile.meta()) == N
    assert seconds < 5, f"{N} META keys took {seconds:.1f}s"


@pytest.mark.parametrize("record,message", [
    (b"\x01" + struct.pack("<2q", 1, 65537), "depth"),                 # over VMPROF_MAX_DEPTH
    (b"\x02" + struct.pack("<2q", 16, (1 << 20) + 1), "string length"),  # over VMPROF_MAX_STRING
    (b"\x07" + struct.pack("<q", (1 << 20) + 1), "string length"),
    (b"\x01" + struct.pack("<2q", 2, 1), "count"),
])
def test_oversized_fields_fail_with_a_message(tmp_path, record, message):
    path = tmp_path / "big.prof"
    path.write_bytes(PROLOGUE + HEADER + record + bytes(64))
    with pytest.raises(_native.ProfileError, match=message):
        _native.read_profile(str(path))

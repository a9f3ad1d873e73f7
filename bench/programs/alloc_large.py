"""Allocation-heavy: large buffers (bytes, bytearray growth, list of big blocks)."""


def work(loops):
    for _ in range(loops):
        blocks = [bytes(256 * 1024 * (1 + i % 8)) for i in range(40)]
        grow = bytearray()
        for i in range(64):
            grow += b"x" * 65536
        del blocks, grow
    return None

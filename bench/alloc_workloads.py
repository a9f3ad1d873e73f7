"""Workloads for the allocation-tracking benchmark (bench/alloc_bench.py).
Each is a function run once per measurement; sized to take ~0.5-1 s untracked."""
import json
import random


def pyobjects():
    """Allocation-heavy, pymalloc-sized objects: dicts, lists, strings (json round trips)."""
    rng = random.Random(1)
    doc = [{"id": i, "name": f"item{i}", "tags": [rng.random() for _ in range(5)]} for i in range(2000)]
    for _ in range(12):
        doc = json.loads(json.dumps(doc))
    return len(doc)


def buffers():
    """Allocation-heavy above pymalloc's 512 B: bytearrays of 1 KiB - 1 MiB, most freed soon."""
    rng = random.Random(2)
    keep = []
    for i in range(15000):
        b = bytearray(rng.randrange(1024, 64 * 1024) if i % 100 else 1 << 20)
        if i % 10 == 0:
            keep.append(b)
        if len(keep) > 200:
            keep.clear()
    return len(keep)


def compute():
    """pyperformance-style compute (nbody-like float loops): few allocations."""
    bodies = [[random.Random(i).random() for _ in range(7)] for i in range(5)]
    e = 0.0
    for _ in range(60000):
        for i, (x1, y1, z1, vx1, vy1, vz1, m1) in enumerate(bodies):
            for x2, y2, z2, vx2, vy2, vz2, m2 in bodies[i + 1:]:
                dx, dy, dz = x1 - x2, y1 - y2, z1 - z2
                e -= (m1 * m2) / ((dx * dx + dy * dy + dz * dz + 0.01) ** 0.5)
    return e


WORKLOADS = {"pyobjects": pyobjects, "buffers": buffers, "compute": compute}

#!/usr/bin/env python3
"""Write a large, realistic vmprof-format (version 6) CPU profile using only the stdlib.

usage: make_big_profile.py [-n SAMPLES] [-o OUT] [--seed N]

The profile has a call graph of a few thousand functions across a few hundred
files, stacks 4-28 frames deep drawn from a pool with a skewed (Zipf-like)
popularity, 4 threads and a 1 ms period, so readers and exporters see what a
long real run looks like. Output is deterministic for a given seed.
"""
import argparse
import random
import struct
import sys

WORD = struct.Struct("<q")
PERIOD_US = 1000
THREADS = (0x7F00_1000_0000, 0x7F00_2000_0000, 0x7F00_3000_0000, 0x7F00_4000_0000)
CODE_BASE = 0x7E00_0000_0000


def _word(n):
    return WORD.pack(n)


def _string(s):
    data = s.encode("utf-8")
    return _word(len(data)) + data


def _call_graph(rng, functions):
    """Each function calls a few others with higher index, so stacks are acyclic and varied."""
    callees = []
    for i in range(functions):
        reachable = range(i + 1, min(functions, i + 1 + 400))
        fanout = min(len(reachable), rng.choice((1, 2, 3, 4, 6)))
        callees.append(sorted(rng.sample(reachable, fanout)) if fanout else [])
    return callees


def _stack_pool(rng, callees, pool_size, roots):
    pool = []
    for _ in range(pool_size):
        node = rng.choice(roots)
        stack = [node]
        depth = rng.randint(4, 28)
        while len(stack) < depth and callees[node]:
            node = rng.choice(callees[node])
            stack.append(node)
        pool.append(stack)
    return pool


def write_profile(out, samples, seed=1, functions=3000, files=300, pool_size=20000):
    rng = random.Random(seed)
    callees = _call_graph(rng, functions)
    roots = list(range(0, 40))
    pool = _stack_pool(rng, callees, pool_size, roots)
    address = [CODE_BASE + 0x100 * i for i in range(functions)]

    # A stack record is fixed per (stack, thread): pack each once and reuse it.
    packed = {}
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(pool_size)]
    picks = rng.choices(range(pool_size), weights=weights, k=samples)
    thread_picks = rng.choices(range(len(THREADS)), k=samples)

    with open(out, "wb") as f:
        f.write(_word(0) + _word(3) + _word(0) + _word(PERIOD_US) + _word(0))
        f.write(b"\x05" + struct.pack("!h", 6) + bytes([0, len(b"cpython")]) + b"cpython")
        f.write(b"\x06" + _word(1_700_000_000) + _word(0) + b"\0" * 8)
        for key, value in (("os", "linux"), ("bits", "64"), ("generator", "bench/make_big_profile.py"),
                           ("samples", str(samples))):
            f.write(b"\x07" + _string(key) + _string(value))
        chunk = []
        for stack_index, thread_index in zip(picks, thread_picks):
            key = (stack_index, thread_index)
            record = packed.get(key)
            if record is None:
                stack = pool[stack_index]
                leaf_first = [address[fn] for fn in reversed(stack)]
                record = (b"\x01" + _word(1) + _word(len(leaf_first))
                          + b"".join(_word(a) for a in leaf_first) + _word(THREADS[thread_index]))
                packed[key] = record
            chunk.append(record)
            if len(chunk) >= 65536:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))
        for fn in range(functions):
            name = f"py:func_{fn}:{10 + (fn * 7) % 900}:/srv/app/pkg{fn % files // 30}/module_{fn % files}.py"
            f.write(b"\x02" + _word(address[fn]) + _string(name))
        f.write(b"\x03" + _word(1_700_000_000 + samples // 1000) + _word(0) + b"\0" * 8)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--samples", type=int, default=1_000_000)
    parser.add_argument("-o", "--output", default="big.prof")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    write_profile(args.output, args.samples, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes a synthetic vmprof (version 6) CPU profile for exporter/reader scale tests.

Standard library only. The shape is meant to look like a real program rather
than noise: ~200 functions in ~20 files, a call graph whose stacks share
prefixes, depths 10-40, a skewed distribution of hot stacks, 4 threads that
run in bursts, and time locality (consecutive samples of a thread mostly
share their outer frames).

    python3 bench/make_big_profile.py OUT.prof [--samples 1000000] [--seed 1]
"""
import argparse
import random
import struct
import time

WORD = "<q"
PERIOD_US = 1000
TAG_STACKTRACE, TAG_VIRTUAL_IP, TAG_TRAILER, TAG_HEADER, TAG_TIME_N_ZONE, TAG_META = 1, 2, 3, 5, 6, 7


def word(v):
    return struct.pack(WORD, v)


def make_functions(rng, count=200, files=20):
    funcs = []
    for i in range(count):
        module = f"/srv/app/pkg{i % files:02d}/module{i % files:02d}.py"
        funcs.append((f"func_{i:03d}", 10 + (i // files) * 25, module))
    return funcs


def make_stacks(rng, funcs, groups=1000, variants=5):
    """Distinct call paths (root first), depths 10..40, in groups: the paths of
    a group share all but their last 1-4 frames (one loop calling a few
    helpers); groups share prefixes with each other (layered code)."""
    bases = []
    stacks, group_of = [], []
    for g in range(groups):
        depth = rng.randint(10, 40)
        if bases and rng.random() < 0.8:
            base = rng.choice(bases)
            path = base[:rng.randint(1, min(len(base), depth))]
        else:
            path = [0]  # every stack starts at func_000, the "main"
        while len(path) < depth:
            # Callees are mostly "near" the caller, as in layered code.
            path.append((path[-1] + rng.randint(1, 12)) % len(funcs))
        bases.append(path)
        for _ in range(variants):
            cut = len(path) - rng.randint(1, 4)
            variant = path[:max(cut, 1)]
            while len(variant) < depth + rng.randint(-2, 2):
                variant.append((variant[-1] + rng.randint(1, 12)) % len(funcs))
            stacks.append(variant)
            group_of.append(g)
    return stacks, group_of


def write_profile(path, n_samples, seed):
    rng = random.Random(seed)
    funcs = make_functions(rng)
    stacks, group_of = make_stacks(rng, funcs)
    n_groups = group_of[-1] + 1
    variants = len(stacks) // n_groups
    # Zipf-like weights: a few groups are hot, most are rare.
    weights = [1.0 / (i + 1) ** 1.1 for i in range(n_groups)]
    rng.shuffle(weights)
    threads = [0x7F0000001000 + 0x10000 * t for t in range(4)]
    addr = [0x10000 + 16 * i for i in range(len(funcs))]  # even: Python code
    encoded = []
    for s in stacks:
        leaf_first = [addr[f] for f in reversed(s)]
        encoded.append(bytes([TAG_STACKTRACE]) + word(1) + word(len(leaf_first))
                       + b"".join(word(a) for a in leaf_first))
    # Time locality, as in a real run: each thread mostly stays in its group
    # (the same loop, a different helper at the leaf) and now and then jumps
    # to another group, hot groups more often.
    jumps = iter(rng.choices(range(n_groups), weights=weights, k=n_samples // 5 + 16))
    current = [next(jumps) for _ in threads]
    chosen = []
    thread_seq = []
    for i in range(n_samples):
        t = (i >> 6) & 3 if rng.random() < 0.9 else rng.randrange(4)
        if rng.random() < 0.05:
            current[t] = next(jumps)
        chosen.append(current[t] * variants + rng.randrange(variants))
        thread_seq.append(t)
    tids = [word(t) for t in threads]

    start = time.time()
    out = bytearray()
    out += word(0) + word(3) + word(0) + word(PERIOD_US) + word(0)
    name = b"cpython"
    out += bytes([TAG_HEADER]) + struct.pack(">H", 6) + bytes([0, len(name)]) + name
    out += bytes([TAG_TIME_N_ZONE]) + word(int(start)) + word(int(start % 1 * 1e6)) + b"\0" * 8
    for key, value in ((b"os", b"linux"), (b"bits", b"64")):
        out += bytes([TAG_META]) + word(len(key)) + key + word(len(value)) + value
    for i, (fname, line, module) in enumerate(funcs):
        text = f"py:{fname}:{line}:{module}".encode()
        out += bytes([TAG_VIRTUAL_IP]) + word(addr[i]) + word(len(text)) + text
    parts = [bytes(out)]
    for i, s in enumerate(chosen):
        parts.append(encoded[s])
        parts.append(tids[thread_seq[i]])
    end = start + n_samples * PERIOD_US / 1e6
    parts.append(bytes([TAG_TRAILER]) + word(int(end)) + word(int(end % 1 * 1e6)) + b"\0" * 8)
    with open(path, "wb") as f:
        for p in parts:
            f.write(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    write_profile(args.out, args.samples, args.seed)


if __name__ == "__main__":
    main()

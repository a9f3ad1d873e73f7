"""Writes a synthetic vmprof (version 6) profile, stdlib only.

    python3 bench/make_big_profile_viewer.py OUT.prof [--samples 1000000] [--functions 400]
        [--threads 4] [--seed 1]

The call graph is random but fixed by the seed: each sample walks from one of
a few entry points down a random chain of callees (depth 6-31), so the
profile has tens of thousands of distinct stacks, like a real program's.
`write_vmprof` is also what the flame graph tests use to build profiles with
exact, known contents (names, threads, lines)."""
import argparse
import random
import struct

WORD = struct.Struct("<q")
MODE_LINES = 2


def _word(v):
    return WORD.pack(v)


def _string(s):
    b = s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s
    return _word(len(b)) + b


def write_vmprof(path, symbols, samples, period_us=1000, lines=False, meta=None):
    """Writes a vmprof v6 file.

    symbols: {address: "py:<name>:<line>:<file>"} (addresses even).
    samples: iterable of (stack, thread_id), stack leaf first; with lines=True
    each stack entry is (address, line), else an address."""
    out = bytearray()
    out += b"".join(_word(v) for v in (0, 3, 0, period_us, 0))
    out += b"\x05" + struct.pack(">H", 6) + bytes([MODE_LINES if lines else 0, 7]) + b"cpython"
    out += b"\x06" + _word(1_700_000_000) + _word(0) + bytes(8)
    for key, value in (meta or {"os": "linux", "bits": "64"}).items():
        out += b"\x07" + _string(key) + _string(value)
    rec_cache = {}
    for stack, thread in samples:
        key = (tuple(stack), thread)
        rec = rec_cache.get(key)
        if rec is None:
            if lines:
                entries = []
                for addr, line in stack:
                    entries += [-line, addr]
            else:
                entries = list(stack)
            rec = (b"\x01" + _word(1) + _word(len(entries)) + b"".join(_word(e) for e in entries)
                   + _word(thread))
            if len(rec_cache) < 200_000:
                rec_cache[key] = rec
        out += rec
    for addr, text in symbols.items():
        out += b"\x02" + _word(addr) + _string(text)
    out += b"\x03" + _word(1_700_000_010) + _word(0) + bytes(8)
    with open(path, "wb") as f:
        f.write(out)


def synthetic(samples, functions, threads, seed, stacks=5000):
    """(symbols, sample list) for a random but reproducible program."""
    rng = random.Random(seed)
    modules = [f"/srv/app/pkg{m}/module{m}.py" for m in range(max(1, functions // 20))]
    symbols = {}
    for i in range(functions):
        symbols[0x1000 + 16 * i] = f"py:func_{i}_{rng.choice(['load', 'parse', 'eval', 'emit', 'walk'])}:" \
                                   f"{10 + i}:{rng.choice(modules)}"
    addrs = list(symbols)
    callees = {a: rng.sample(addrs, 3) for a in addrs}
    entries = addrs[:4]
    thread_ids = [139_000_000_000 + 4096 * t for t in range(threads)]
    # A pool of distinct stacks, reused with a skewed distribution, as hot paths are.
    pool = []
    for _ in range(max(1, min(samples // 10, stacks))):
        a = rng.choice(entries)
        stack = [a]
        for _ in range(rng.randint(5, 30)):
            a = rng.choice(callees[a])
            stack.append(a)
        pool.append(stack[::-1])
    out = []
    for _ in range(samples):
        k = int(len(pool) * rng.random() ** 3)
        out.append((pool[k], thread_ids[k % threads]))
    return symbols, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--functions", type=int, default=400)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stacks", type=int, default=5000, help="distinct leaf stacks (tree size)")
    args = parser.parse_args()
    symbols, samples = synthetic(args.samples, args.functions, args.threads, args.seed, args.stacks)
    write_vmprof(args.out, symbols, samples)
    print(f"{args.out}: {args.samples} samples, {len(symbols)} functions, {args.threads} threads")


if __name__ == "__main__":
    main()

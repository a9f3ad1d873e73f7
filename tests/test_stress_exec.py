"""3,000 functions made by exec(), run and freed while sampling at 10 kHz.
Their code objects die and their memory is reused by the next ones, so a
profiler that keys names by code address alone shows one function under
another's name. Each function's name, file and first line all encode its
index k (gen_fn_<k> in gen_<k>.py at line k+1), and the functions run one
after another, so in file order the k of sampled functions never goes back."""
import pytest

from stress_util import GEN_NAME, profile_run, raw_vmprof, require_run, summarize, write

GENERATE = """
    import gc, sys, time
    n = int(sys.argv[1])
    clock = time.perf_counter
    for k in range(n):
        extra = "".join(f"    x += {j}\\n" for j in range(k % 4))   # vary code object sizes a little
        src = ("\\n" * k + f"def gen_fn_{k}_lines_{k % 4 + 6}():\\n    x = 0\\n" + extra +
               "    end = clock() + 0.0003\\n    while clock() < end:\\n        x += 1\\n    return x\\n")
        ns = {"clock": clock}
        exec(compile(src, f"gen_{k}.py", "exec"), ns)
        ns[f"gen_fn_{k}_lines_{k % 4 + 6}"]()
        del ns, src
        if k % 200 == 0:
            gc.collect()
    print("generated", n)
"""


def test_3000_exec_functions_keep_their_names(tmp_path):
    require_run()
    n = 3000
    script = write(tmp_path, "gen.py", GENERATE)
    proc, out = profile_run(tmp_path, script, n, rate=10000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"generated {n}" in proc.stdout

    # 1. Every function record is self-consistent: name, file and line agree on k.
    s = summarize(out)
    generated = [f for f in s["functions"] if GEN_NAME.search(f[0])]
    for name, file, line in generated:
        k = int(GEN_NAME.search(name).group(1))
        assert file.endswith(f"gen_{k}.py") and line == k + 1, f"{name} recorded as {file}:{line}"
    assert len(generated) >= n // 10, f"only {len(generated)} of {n} functions were ever sampled"

    # 2. No address is named twice with different names (any vmprof reader keeps one).
    samples, names = raw_vmprof(out)
    for addr, recorded in names.items():
        assert len(set(recorded)) == 1, f"address {addr:#x} named {sorted(set(recorded))[:4]}"

    # 3. In file order, the sampled generated function's k never decreases.
    last = -1
    seen = 0
    for addrs, _thread in samples:
        for addr in addrs:
            match = next((GEN_NAME.search(nm) for nm in names.get(addr, ()) if GEN_NAME.search(nm)), None)
            if match:
                k = int(match.group(1))
                assert k >= last, f"a sample of gen_fn_{last} or later is named gen_fn_{k}: name reused"
                last = k
                seen += 1
                break
    assert seen > 0

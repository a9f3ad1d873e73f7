#!/usr/bin/env python3
"""Produce vmprof fixture profiles and their expected reader output.

Subcommands
-----------
generate --python PY --prefix NAME [--modes cpu,real_time,lines,memory] [--gzip MODE]
    Runs workload.py once per mode under interpreter PY (which must have
    the vmprof package, or be PyPy with its builtin _vmprof) and writes
    NAME_<mode>.prof into this directory.  --gzip MODE additionally writes
    NAME_<mode>.prof.gz (gzip of that file).

expect [FILES...]
    Reads every *.prof / *.prof.gz here (or FILES) with the *running*
    interpreter's vmprof.read_profile() and writes <file>.expected.json.
    Unreadable files get {"error": ...}.

How the checked-in fixtures were made (Debian 12, x86_64, CPython 3.11.7):
    python -m venv /tmp/v04 && /tmp/v04/bin/pip install vmprof==0.4.18.1
    python make_fixtures.py generate --python /tmp/v04/bin/python \
        --prefix cpython311_vmprof0418 --gzip cpu          # format version 6
    pip install vmprof==0.6.0
    python make_fixtures.py generate --python python3 \
        --prefix cpython311_vmprof060 --modes cpu,lines     # format version 7
    python make_fixtures.py generate --python pypy3 --prefix pypy39_7311 \
        --modes cpu                                         # PyPy builtin _vmprof
    python make_fixtures.py expect        # with vmprof 0.6.0 (reads v1..v7)
Sampling is timing dependent: regenerating gives different counts/addresses,
so regenerate the .expected.json files together with the .prof files.
"""
import argparse
import collections
import glob
import gzip
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def generate(args):
    for mode in args.modes.split(","):
        out = os.path.join(HERE, "%s_%s.prof" % (args.prefix, mode))
        subprocess.check_call([args.python, os.path.join(HERE, "workload.py"),
                               mode, out], cwd=HERE)
        print("wrote", out, os.path.getsize(out))
        if args.gzip == mode:
            with open(out, "rb") as src, gzip.open(out + ".gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            print("wrote", out + ".gz")


def _num(x):
    # counts are ints for files < v7, floats (weights) for v7
    if isinstance(x, float) and x == int(x):
        return int(x)
    return round(x, 6) if isinstance(x, float) else x


def node_json(node, depth, max_depth, max_children):
    d = collections.OrderedDict()
    d["name"] = node.name
    d["addr"] = int(node.addr)
    d["count"] = _num(node.count)
    d["self_count"] = _num(node.self_count)
    if node.lines:
        d["lines"] = {str(k): _num(v) for k, v in sorted(node.lines.items())}
    if node.meta:
        d["meta"] = {k: _num(v) for k, v in node.meta.items()}
    kids = sorted(node.children.values(), key=lambda c: (-c.count, c.name))
    d["n_children"] = len(kids)
    if depth < max_depth:
        d["children"] = [node_json(c, depth + 1, max_depth, max_children)
                         for c in kids[:max_children]]
    return d


def expect_one(path, big):
    import vmprof
    from vmprof import stats as vstats
    res = collections.OrderedDict()
    res["file"] = os.path.basename(path)
    res["size"] = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(2)
    res["gzipped"] = head == b"\x1f\x8b"
    res["reader"] = "vmprof %s (python %s)" % (
        _vmprof_version(), sys.version.split()[0])
    try:
        s = vmprof.read_profile(path)
    except BaseException as e:  # noqa: record whatever the reader raises
        res["error"] = "%s: %s" % (type(e).__name__, e)
        return res
    from vmprof.reader import _read_prof
    with open(path, "rb") as f:
        st = _read_prof(f)  # the raw LogReaderState behind read_profile()
    res["state"] = {k: getattr(st, k, None) for k in (
        "version", "period", "interp_name", "profile_memory", "profile_lines",
        "profile_rpython", "profile_real_time")}
    res["n_samples"] = len(s.profiles)           # len(stats.profiles)
    res["sum_weights"] = _num(sum(p[1] for p in s.profiles))
    res["runtime_us"] = _num(s.get_runtime_in_microseconds())
    res["start_time"] = s.start_time.isoformat() if s.start_time else None
    res["end_time"] = s.end_time.isoformat() if s.end_time else None
    res["interp"] = s.interp
    res["meta"] = dict(s.meta)
    res["getmeta"] = {k: s.getmeta(k, None) for k in ("os", "bits", "argv", "start_time")}
    res["profile_lines"] = s.profile_lines
    res["profile_memory"] = s.profile_memory
    threads = collections.Counter(p[2] for p in s.profiles)
    res["threads"] = {str(k): v for k, v in sorted(threads.items())}
    mem = [p[3] for p in s.profiles if len(p) > 3]
    if mem:
        res["mem_kb_min_max"] = [min(mem), max(mem)]
    res["n_adr_dict"] = len(s.adr_dict)
    big = big or len(s.adr_dict) > 300 or len(s.profiles) > 3000
    lim = 60 if big else None
    res["adr_dict"] = {str(k): v for k, v in sorted(s.adr_dict.items())[:lim]}
    res["first_profiles"] = [
        [[int(a) for a in p[0]], _num(p[1])] + [int(x) for x in p[2:]]
        for p in s.profiles[:3]]
    top = sorted(s.top_profile(), key=lambda kv: (-kv[1], str(kv[0])))
    res["top_profile"] = [[k, _num(v)] for k, v in top[:15]]
    md, mc = (4, 8) if big else (12, 50)
    try:
        tree = s.get_tree()
        res["tree_root"] = tree.name
        res["tree_root_count"] = _num(tree.count)
        res["tree_children"] = [[c.name, _num(c.count)] for c in
                                sorted(tree.children.values(),
                                       key=lambda c: (-c.count, c.name))]
        res["tree"] = node_json(tree, 0, md, mc)
        # the tree before Stats.filter_top() picked the biggest branch
        orig = vstats.Stats.filter_top
        vstats.Stats.filter_top = lambda self, top: top
        try:
            raw = s.get_tree()
        finally:
            vstats.Stats.filter_top = orig
        res["raw_tree"] = node_json(raw, 0, md, mc)
    except BaseException as e:  # noqa
        res["tree_error"] = "%s: %s" % (type(e).__name__, e)
    return res


def _vmprof_version():
    try:
        from importlib.metadata import version
        return version("vmprof")
    except Exception:
        return "?"


def expect(args):
    files = args.files or sorted(glob.glob(os.path.join(HERE, "*.prof")) +
                                 glob.glob(os.path.join(HERE, "*.prof.gz")))
    for path in files:
        res = expect_one(path, False)
        out = path + ".expected.json"
        with open(out, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        print(out, res.get("error") or res.get("n_samples"))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--python", default=sys.executable)
    g.add_argument("--prefix", required=True)
    g.add_argument("--modes", default="cpu,real_time,lines,memory")
    g.add_argument("--gzip", default=None)
    e = sub.add_parser("expect")
    e.add_argument("files", nargs="*")
    a = ap.parse_args()
    {"generate": generate, "expect": expect}[a.cmd](a)


if __name__ == "__main__":
    main()

"""Read what each profiler wrote into one shape: {stack tuple (root→leaf names): weight}.

Names are bare function names (co_name); accuracy compares inclusive shares of a
few uniquely named functions, so file and line are not needed.
"""
import collections
import os
import subprocess
import sys


def _vmprof_name(entry):
    # "py:<co_name>:<firstlineno>:<filename>"; native entries "n:<sym>:<line>:<file>"
    if isinstance(entry, str):
        parts = entry.split(":")
        return parts[1] if len(parts) > 2 else entry
    return str(entry)


def vmprof_stacks(path):
    """Stacks from a vmprof-format file, read with vmprof's own reader."""
    import vmprof
    stats = vmprof.read_profile(path)
    stacks = collections.Counter()
    for trace, count, _tid, _mem in stats.profiles:
        names = tuple(_vmprof_name(stats.adr_dict.get(addr, "?:?")) for addr in trace
                      if not isinstance(addr, int) or addr > 0)
        stacks[names] += count
    return stacks


def collapsed_stacks(text, strip_location=True):
    """Stacks from collapsed text: `root;...;leaf count` per line."""
    stacks = collections.Counter()
    for line in text.splitlines():
        line = line.strip()
        if not line or " " not in line:
            continue
        frames, _, count = line.rpartition(" ")
        try:
            weight = float(count)
        except ValueError:
            continue
        names = []
        for frame in frames.split(";"):
            if strip_location:
                frame = frame.split(" (", 1)[0]   # py-spy: "func (file.py:12)"
                if frame.startswith("py:") or frame.count(":") >= 2:
                    frame = _vmprof_name(frame) if frame.startswith("py:") else frame
            names.append(frame)
        stacks[tuple(names)] += weight
    return stacks


def pyinstrument_stacks(path):
    from pyinstrument.session import Session
    session = Session.load(path)
    stacks = collections.Counter()

    def walk(frame, prefix):
        stack = prefix + (frame.function,)
        child_time = sum(c.time for c in frame.children)
        own = frame.time - child_time
        if own > 0:
            stacks[stack] += own
        for child in frame.children:
            walk(child, stack)

    root = session.root_frame()
    if root is not None:
        walk(root, ())
    return stacks


def cprofile_inclusive(path):
    """{function name: inclusive seconds} from a pstats dump."""
    import pstats
    stats = pstats.Stats(path)
    inclusive = collections.Counter()
    for (_file, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        inclusive[func] += ct
    return inclusive


def pyrometer_stacks(ctx, path):
    """Stacks from a pyrometer profile: its collapsed export, else vmprof's reader."""
    out = path + ".collapsed"
    reason = ctx.pyrometer_missing("export", ["collapsed"])
    if not reason:
        proc = subprocess.run(ctx.pyrometer_cmd() + ["export", "--format", "collapsed", "-o", out,
                                                     path],
                              capture_output=True, text=True, env=ctx.child_env(), timeout=300)
        if proc.returncode == 0 and os.path.exists(out):
            with open(out) as f:
                return collapsed_stacks(f.read()), "pyrometer export --format collapsed"
    return vmprof_stacks(path), "vmprof.read_profile"


def inclusive_from_stacks(stacks):
    """{function name: inclusive weight}: a stack counts once for each distinct name in it."""
    inclusive = collections.Counter()
    for stack, weight in stacks.items():
        for name in set(stack):
            inclusive[name] += weight
    return inclusive


def inclusive(ctx, kind, path):
    """{function name: inclusive weight} for what a profiler of KIND wrote at PATH."""
    if kind == "pyrometer":
        stacks, _how = pyrometer_stacks(ctx, path)
        return inclusive_from_stacks(stacks)
    if kind == "vmprof":
        return inclusive_from_stacks(vmprof_stacks(path))
    if kind == "pyspy":
        with open(path) as f:
            return inclusive_from_stacks(collapsed_stacks(f.read()))
    if kind == "pyinstrument":
        return inclusive_from_stacks(pyinstrument_stacks(path))
    if kind == "cprofile":
        return cprofile_inclusive(path)
    raise ValueError(kind)


def sample_count(ctx, kind, path):
    """Number of samples a sampling profiler delivered, or None."""
    if kind == "pyrometer":
        info = pyrometer_info(path)
        if info.get("samples") is not None:
            return info["samples"]
        kind = "vmprof"
    if kind == "vmprof":
        import vmprof
        return len(vmprof.read_profile(path).profiles)
    if kind == "pyspy":
        with open(path) as f:
            return int(sum(collapsed_stacks(f.read(), strip_location=False).values()))
    return None


def open_pyrometer(path):
    """(profile object, how it was opened): pyrometer.read_profile, else the loader."""
    import pyrometer
    if hasattr(pyrometer, "read_profile"):
        return pyrometer.read_profile(path), "pyrometer.read_profile"
    from pyrometer import loader
    return loader.load(path), "pyrometer.loader.load"


def _attr(obj, *names):
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value() if callable(value) else value
    return None


def pyrometer_info(path):
    """{'samples': n, 'meta': {...}} from pyrometer's own reader; None/{} when unavailable."""
    info = {"samples": None, "meta": {}, "error": ""}
    try:
        stats, _how = open_pyrometer(path)
    except Exception as exc:  # noqa: BLE001 - the reader may not exist yet on this branch
        info["error"] = f"{type(exc).__name__}: {exc}"
        return info
    info["samples"] = _attr(stats, "sample_count")
    # Stats wraps the native profile (whose meta() is the whole META dict); vmprof-style
    # getmeta(key) needs a key, so it cannot list them.
    for owner in (getattr(stats, "profile", None), stats):
        try:
            meta = owner.meta() if callable(getattr(owner, "meta", None)) else None
        except TypeError:
            meta = None
        if isinstance(meta, dict):
            info["meta"] = dict(meta)
            break
    return info


if __name__ == "__main__":  # debugging aid: python parse.py KIND PATH
    from core import Context
    kind, path = sys.argv[1], sys.argv[2]
    ctx = Context(python=sys.executable, workdir=os.getcwd())
    for name, weight in inclusive(ctx, kind, path).most_common(15):
        print(f"{weight:12.3f} {name}")

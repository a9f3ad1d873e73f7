"""Reading profiles: read_profile(path) -> Stats, and the call-tree Node.

The C core parses the file and folds the samples; these classes are thin
views over the arrays it returns, with vmprof's method names."""
import os

from pyrometer import loader

FRAME_KINDS = {0: "python", 1: "native", 2: "marker"}


class Function:
    __slots__ = ("name", "file", "line", "kind")

    def __init__(self, name, file, line, kind):
        self.name, self.file, self.line, self.kind = name, file, line, FRAME_KINDS.get(kind, "python")

    @property
    def vmprof_name(self):
        prefix = "n" if self.kind == "native" else "py"
        return f"{prefix}:{self.name}:{self.line}:{self.file or '-'}"


class Node:
    """A call-tree node: one function reached by one call path.

    name, file, line: the function; count: samples whose stack went through
    here (total); self_count: samples that ended here; children: callees,
    heaviest first."""

    __slots__ = ("_tree", "_index", "_children")

    def __init__(self, tree, index):
        self._tree = tree
        self._index = index
        self._children = None

    @property
    def function(self):
        f = self._tree.function_ids[self._index]
        return self._tree.functions[f] if f >= 0 else None

    @property
    def name(self):
        f = self.function
        return f.name if f else "<all>"

    @property
    def file(self):
        f = self.function
        return f.file if f else ""

    @property
    def line(self):
        f = self.function
        return f.line if f else 0

    @property
    def count(self):
        return self._tree.totals[self._index]

    @property
    def self_count(self):
        return self._tree.selfs[self._index]

    @property
    def children(self):
        if self._children is None:
            kids = self._tree.child_indexes(self._index)
            self._children = [Node(self._tree, k) for k in kids]
        return self._children

    def __getitem__(self, key):
        """The first child (heaviest first) whose name contains key."""
        for child in self.children:
            if key in child.name:
                return child
        raise KeyError(key)

    def walk(self, callback):
        """Calls callback(node) for this node and every descendant, depth first."""
        stack = [self]
        while stack:
            node = stack.pop()
            callback(node)
            stack.extend(reversed(node.children))

    def flatten(self):
        """Per-function (self, total) over this subtree: {(name, file, line): [self, total]},
        counting a recursive function once per path."""
        result = {}

        def visit(node, active):
            f = node.function
            key = (f.name, f.file, f.line) if f else ("<all>", "", 0)
            entry = result.setdefault(key, [0, 0])
            entry[0] += node.self_count
            if key not in active:
                entry[1] += node.count
            for child in node.children:
                visit(child, active | {key})

        visit(self, frozenset())
        return result

    def __repr__(self):
        return f"<Node {self.name} {self.file}:{self.line} count={self.count} self={self.self_count}>"


class _Tree:
    """The arrays of one call tree, shared by its Nodes."""

    def __init__(self, functions, arrays):
        self.functions = functions
        self.function_ids, self.parents, self.selfs, self.totals = arrays
        self._children = None

    def child_indexes(self, index):
        if self._children is None:
            children = [[] for _ in self.parents]
            for i, parent in enumerate(self.parents):
                if parent >= 0:
                    children[parent].append(i)
            for kids in children:
                # Heaviest first; ties in a stable, name-based order.
                kids.sort(key=lambda k: (-self.totals[k], self._name_of(k), k))
            self._children = children
        return self._children[index]

    def _name_of(self, index):
        f = self.function_ids[index]
        return self.functions[f].name if f >= 0 else ""


class Thread:
    __slots__ = ("index", "id", "name", "samples")

    def __init__(self, index, id, name, samples):
        self.index, self.id, self.name, self.samples = index, id, name, samples

    def __repr__(self):
        return f"<Thread {self.id} {self.name!r} samples={self.samples}>"


class Stats:
    """A loaded profile (CPU samples, or bytes for allocation captures)."""

    def __init__(self, profile, path=None):
        self.profile = profile
        self.path = path
        self.functions = [Function(*f) for f in profile.functions()]
        self._meta = profile.meta()
        names = {}
        for key, value in self._meta.items():
            if key.startswith("thread_name:"):
                names[key[len("thread_name:"):]] = value
        totals = profile.thread_totals()
        self.threads = [
            Thread(i, tid, name or names.get(str(tid), ""), totals[i])
            for i, (tid, name) in enumerate(profile.threads())
        ]

    # -- vmprof's API --
    @property
    def sample_count(self):
        return self.profile.sample_count

    @property
    def total_weight(self):
        return self.profile.total_weight

    @property
    def value_unit(self):
        return self.profile.value_unit

    @property
    def warning(self):
        return self.profile.warning

    @property
    def dropped(self):
        return int(self._meta.get("dropped_samples", self.profile.dropped) or 0)

    @property
    def period(self):
        return self.profile.period_us / 1e6

    def thread_index(self, thread_id):
        """The index of the thread with this id (as shown by `show`), or raise KeyError."""
        for t in self.threads:
            if t.id == thread_id:
                return t.index
        raise KeyError(thread_id)

    def get_tree(self, thread=None):
        """The call tree (of one thread id, or all). Its root is the outermost
        function when there is one, else a synthetic '<all>' node."""
        index = -1 if thread is None else self.thread_index(thread)
        tree = _Tree(self.functions, self.profile.calltree(index))
        root = Node(tree, 0)
        if len(root.children) == 1:
            return root.children[0]
        return root

    def get_root(self, thread=None):
        """The synthetic root over all outermost frames."""
        index = -1 if thread is None else self.thread_index(thread)
        return Node(_Tree(self.functions, self.profile.calltree(index)), 0)

    def function_totals(self, thread=None):
        """[(Function, self, total)] heaviest self first."""
        index = -1 if thread is None else self.thread_index(thread)
        selfs, totals = self.profile.function_totals(index)
        rows = [(f, s, t) for f, s, t in zip(self.functions, selfs, totals) if t > 0]
        rows.sort(key=lambda r: (-r[1], -r[2], r[0].name, r[0].file, r[0].line))
        return rows

    def top_profile(self):
        """[(vmprof-style name, samples whose stack contains it)], heaviest first."""
        return [(f.vmprof_name, total) for f, _self, total in
                sorted(self.function_totals(), key=lambda r: (-r[2], r[0].name))]

    def get_runtime_in_microseconds(self):
        start, end = self.profile.start_time_us, self.profile.end_time_us
        return end - start if start and end and end >= start else 0

    def getmeta(self, key, default=None):
        return self._meta.get(key, default)

    @property
    def meta(self):
        return dict(self._meta)

    def line_hits(self, thread=None):
        """{(Function, line): (self, total)} for profiles with per-line data."""
        index = -1 if thread is None else self.thread_index(thread)
        return {(self.functions[f], line): v for (f, line), v in self.profile.line_hits(index).items()}


def read_profile(path, **view):
    """Reads a profile (vmprof format from pyrometer, vmprof or PyPy, plain or
    gzipped; or an allocation capture) into Stats. Raises pyrometer.ProfileError
    with a one-line message naming the file."""
    path = os.fspath(path)
    return Stats(loader.load(path, **view), path)

"""Allocation-heavy: many small, short-lived Python objects (tuples, dicts, lists, strings)."""


def work(loops):
    for _ in range(loops):
        rows = [(i, str(i), {"k": i, "v": [i, i + 1]}) for i in range(20000)]
        index = {key: value for _, key, value in rows}
        del rows, index
    return None

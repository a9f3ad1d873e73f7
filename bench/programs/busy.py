"""Pure-Python CPU work with a steady, moderately deep stack (for rate tests)."""


def _leaf(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def _level(depth, n):
    if depth == 0:
        return _leaf(n)
    return _level(depth - 1, n)


def work(loops):
    for _ in range(loops):
        _level(20, 20000)
    return None

def leaf(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s
def middle(n):
    return sum(leaf(n) for _ in range(20))
def outer(r, n):
    return sum(middle(n) for _ in range(r))
print(outer(300, 20000))

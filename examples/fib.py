"""A small CPU-bound program for the quick start: recursive Fibonacci plus a
string-building helper, so the profile has a few distinct hot spots."""
import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def build_strings(count):
    return sum(len(",".join(str(i) for i in range(200))) for _ in range(count))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    for _ in range(3):
        fib(n)
    build_strings(2000)


if __name__ == "__main__":
    main()

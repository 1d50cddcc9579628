"""Fibonacci numbers three ways: code is dense in tokens — indentation, operators and
identifiers all cost something."""

from functools import lru_cache


def fib_iterative(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


@lru_cache(maxsize=None)
def fib_recursive(n: int) -> int:
    return n if n < 2 else fib_recursive(n - 1) + fib_recursive(n - 2)


def fib_matrix(n: int) -> int:
    """O(log n) with 2×2 matrix powers."""

    def multiply(x, y):
        return [
            [x[0][0] * y[0][0] + x[0][1] * y[1][0], x[0][0] * y[0][1] + x[0][1] * y[1][1]],
            [x[1][0] * y[0][0] + x[1][1] * y[1][0], x[1][0] * y[0][1] + x[1][1] * y[1][1]],
        ]

    result, base = [[1, 0], [0, 1]], [[1, 1], [1, 0]]
    while n:
        if n & 1:
            result = multiply(result, base)
        base = multiply(base, base)
        n >>= 1
    return result[0][1]


if __name__ == "__main__":
    for k in (10, 50, 100):
        assert fib_iterative(k) == fib_recursive(k) == fib_matrix(k)
        print(f"fib({k}) = {fib_iterative(k):,}")

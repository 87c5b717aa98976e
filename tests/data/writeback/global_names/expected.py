from collections.abc import Callable

counter: int = 0


def increment(step: int) -> int:
    global counter
    counter = counter + step
    return counter


def outer() -> Callable[[int], int]:
    total: int = 0

    def add(n: int) -> int:
        nonlocal total
        total = total + n
        return total

    return add

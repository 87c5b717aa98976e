"""Every kind of slot: parameters, returns, variables (module and function), attributes (self.x, class body)."""

import os

LIMIT: int = 10
names: list[str] = []


class Counter:
    start: int = 0

    def __init__(self, name: str, step: int = 1) -> None:
        self.name: str = name
        self.step = step
        self.count: int = Counter.start

    def bump(self, times: int) -> int:
        total: int = self.count + self.step * times
        self.count = total
        return total


def environment(key: str, default: str | None = None) -> str | None:
    value: str | None = os.environ.get(key, default)
    return value

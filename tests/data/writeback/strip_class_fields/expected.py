import dataclasses
from typing import NamedTuple


@dataclasses.dataclass
class Point:
    x: int = 0
    y: int = 0

    def norm(self):
        return (self.x ** 2 + self.y ** 2) ** 0.5


class Pair(NamedTuple):
    first: str
    second: str


class Plain:
    size = 3

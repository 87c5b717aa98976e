import dataclasses
from typing import NamedTuple


@dataclasses.dataclass
class Point:
    x = 0
    y = 0

    def norm(self):
        return (self.x ** 2 + self.y ** 2) ** 0.5


class Pair(NamedTuple):
    pass


class Plain:
    size = 3

"""Class-body annotations turn assignments into fields for dataclasses and friends: only plain classes get them."""
import dataclasses
from abc import ABC


class Plain:
    limit: int = 10


class Error(ValueError):
    code: int = 1


class Base(ABC):
    kind: str = "base"


class Child(Base):
    kind: str = "child"


@dataclasses.dataclass
class Point:
    x = 0

    def __post_init__(self):
        self.norm: float = 0.0


class Model(SomeBase):
    name = "model"


class Tagged(Plain, metaclass=type):
    tag = "t"

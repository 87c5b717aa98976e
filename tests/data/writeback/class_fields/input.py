"""Class-body annotations turn assignments into fields for dataclasses and friends: only plain classes get them."""
import dataclasses
from abc import ABC


class Plain:
    limit = 10


class Error(ValueError):
    code = 1


class Base(ABC):
    kind = "base"


class Child(Base):
    kind = "child"


@dataclasses.dataclass
class Point:
    x = 0

    def __post_init__(self):
        self.norm = 0.0


class Model(SomeBase):
    name = "model"


class Tagged(Plain, metaclass=type):
    tag = "t"

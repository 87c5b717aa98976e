"""With a star import, a new run-time import could shadow a star-imported name: every import goes under
TYPE_CHECKING and annotations that Python evaluates are quoted."""
from os.path import *
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def size(path: str, follow: "bool | Any") -> int:
    return getsize(path)

"""Stage 3a, type slots, for every language: a place a type annotation can go (`Slot`), its kinds and its
position.

Slot ids are `{file}::{kind}::{scope}::{name}`: the scope is the qualified name of the function (for params and
returns; `@N` marks the N-th definition of the same name, e.g. overloads or a property setter), of the class
(attributes) or of the enclosing function or `<module>` (variables). Ids contain no line numbers, so they
survive annotations being inserted elsewhere in the file.
Does not: find slots in any language's code (`typetool.python.slots`, `typetool.ts.slots`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tree_sitter import Node


class SlotKind(str, Enum):
    PARAM = "param"
    RETURN = "return"
    VARIABLE = "variable"
    ATTRIBUTE = "attribute"


MODULE_SCOPE = "<module>"


@dataclass(frozen=True, slots=True)
class Slot:
    """One place an annotation can go. `annotation` is the existing annotation's source text, if any."""

    id: str
    file: str
    kind: SlotKind
    scope: str
    name: str
    line: int  # 1-based, for display
    column: int  # 0-based, in characters, for display
    annotation: str | None

    @staticmethod
    def make_id(file: str, kind: SlotKind, scope: str, name: str) -> str:
        return f"{file}::{kind.value}::{scope}::{name}"


def position(node: Node, data: bytes) -> tuple[int, int]:
    row, col_bytes = node.start_point
    if col_bytes == 0:
        return row + 1, 0
    start = node.start_byte - col_bytes
    return row + 1, len(data[start : node.start_byte].decode("utf-8", "replace"))


@dataclass(frozen=True, slots=True)
class Annotation:
    """A parameter or return annotated in the code of a run: its type votes for its namesakes' predictions
    (`model/consistency.py`). `function`: the function's name; `type`: the annotation's source text."""

    language: str
    kind: str
    name: str
    function: str
    type: str

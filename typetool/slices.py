"""Stage 3b, usage slices, for every language: what a slice holds (`UsageSlice`), the one text the model reads
(`render_slice`: bounded length, most informative parts first; the only input format, used by training and
inference alike) and the limits every language's slicer keeps to.

Does not: slice anything (`typetool.python.slices`, `typetool.ts.slices`), or predict (`typetool.model`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tree_sitter import Node

from typetool.slots import Slot
from typetool.treesitter import text

MAX_ITEM_CHARS = 48
MAX_ITEMS = 8
MAX_SECTION_CHARS = 160
MAX_SLICE_CHARS = 720
MAX_SCOPE_NAMES = 256  # kept for decoding and name linking
MAX_SCOPE_NAMES_SHOWN = 14  # rendered into the model's input


@dataclass(frozen=True, slots=True)
class UsageSlice:
    """Evidence about one slot. Each field is a tuple of short, already-rendered items."""

    slot: Slot
    header: str
    evidence: tuple[str, ...] = ()
    defined: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    ops: tuple[str, ...] = ()
    returns: tuple[str, ...] = ()
    callers: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    scope_names: tuple[str, ...] = ()
    language: str = "py"  # "py" or "ts": the tag the model input starts with

    def sections(self) -> list[tuple[str, tuple[str, ...]]]:
        """Sections in the order the model reads them (most informative first)."""
        return [
            ("evidence", self.evidence),
            ("value", self.defined),
            ("returns", self.returns),
            ("uses", self.uses),
            ("calls", self.calls),
            ("ops", self.ops),
            ("callers", self.callers),
            ("context", self.context),
            ("names", self.scope_names[:MAX_SCOPE_NAMES_SHOWN]),
        ]

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.slot.id, "file": self.slot.file, "line": self.slot.line, "column": self.slot.column,
            "kind": self.slot.kind.value, "scope": self.slot.scope, "name": self.slot.name,
            "annotation": self.slot.annotation, "header": self.header, "language": self.language,
        }
        for name, items in self.sections():
            out[name] = list(items)
        out["text"] = render_slice(self)
        return out


def render_slice(s: UsageSlice, max_chars: int = MAX_SLICE_CHARS) -> str:
    """The model input: the language tag (`<py>` or `<ts>`), header, then one `name: items` line per non-empty section, each bounded,
    truncated as a whole to `max_chars` (later sections are the first to go)."""
    parts = [f"<{s.language}> {s.header}"]
    for name, items in s.sections():
        if not items:
            continue
        line = f"{name}: " + " ; ".join(items)
        if len(line) > MAX_SECTION_CHARS:
            line = line[: MAX_SECTION_CHARS - 1] + "…"
        parts.append(line)
    out = "\n".join(parts)
    return out if len(out) <= max_chars else out[: max_chars - 1] + "…"


def short(node: Node | None, limit: int = MAX_ITEM_CHARS) -> str:
    s = " ".join(text(node).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def cap(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))[:MAX_ITEMS]

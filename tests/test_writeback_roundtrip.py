"""Round trip on real code: strip every annotation, apply the original annotations back as predictions, compare.

For each file of several installed, well-annotated packages: `strip_annotations` (with `unsafe_fixes`, so class
fields go too) and `apply_types` must both pass their safety proof, and the result must have the original's
syntax tree, or differ only for a reason the harness names for a slot:
- `quotes`: the same type, quoted differently (we quote a whole annotation only where Python would evaluate a
  name it cannot resolve yet; the original may quote parts, or quote needlessly);
- `moved`: the slot's annotated binding was a bare declaration `x: T` (strip removes it) or came after an
  unannotated binding, so the annotation comes back on the first assignment (`x: T = v`);
- `lost`: a bare declaration was the slot's only annotatable binding;
- `kept`: strip keeps a bare declaration that is its function's only binding of the name (removing it would
  change which names are local), so the slot is still annotated;
- `not-a-type`: the annotation is outside typetool's type language (`typeexpr`);
- `refused:<code>`: write-back declined (e.g. a name that a class attribute shadows);
and annotations that are not at any slot (a second annotated binding, `obj.attr: T`, declarations of names
that are also bound otherwise...) cannot come back by construction. `benchmarks/roundtrip_writeback.py` runs
this over whole packages and prints the numbers.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
import pytest

from typetool.python.writeback import (
    LocatedSlot,
    _Normalizer,
    apply_types,
    locate_slots,
    strip_annotations,
    verify_rewrite,
)
from typetool.typeexpr import TypeParseError, parse_type
from typetool.writeback import SlotStatus, WriteOptions

SITE = Path(pytest.__file__).resolve().parent.parent
PACKAGES = ("click", "typer", "httpx2", "httpcore2", "markdown_it", "rich", "pydantic", "anyio", "cattrs", "_pytest")
MAX_BYTES = 8_000  # the test samples the smaller files (312 of them); the script takes them all
OPTIONS = WriteOptions(unsafe_fixes=True, target_version=(3, 12))


@dataclass
class RoundTrip:
    file: str
    exact: bool
    slots: Counter[str] = field(default_factory=Counter)
    non_slot_annotations: int = 0
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # unexplained differences
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (category, slot id, detail)

    @property
    def explained(self) -> bool:
        return self.exact or self.non_slot_annotations > 0 or any(k != "exact" for k in self.slots)


def _canonical(annotation: str) -> str:
    """One-line text of an annotation (annotations in source may span lines inside brackets)."""
    return ast.unparse(ast.parse(f"({annotation})", mode="eval").body)


def _same(a: str, b: str) -> bool:
    return ast.dump(ast.parse(f"({a})", mode="eval")) == ast.dump(ast.parse(f"({b})", mode="eval"))


def _statement_key(module: cst.Module, slot: LocatedSlot) -> str:
    """The slot's binding statement with annotations removed (to tell whether strip moved the slot)."""
    code = module.code_for_node(slot.node)
    tree = _Normalizer(frozenset()).module(ast.parse(code))
    return ast.dump(tree)


def _count_annotations(tree: ast.AST) -> int:
    return sum(1 for node in ast.walk(tree)
               if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None)
               or (isinstance(node, ast.arg) and node.annotation is not None) or isinstance(node, ast.AnnAssign))


def roundtrip(text: str, rel: str) -> RoundTrip:
    """Strip `text`, apply its own annotations back, and say what came back how. Raises on unsafe rewrites."""
    module = cst.parse_module(text)
    original = locate_slots(module, rel)
    strip = strip_annotations(module, rel, OPTIONS)
    verify_rewrite(text, strip.new, filename=rel, removed_comments=strip.removed_comments)
    stripped = locate_slots(strip.module, rel)
    types: dict[str, str] = {}
    result = RoundTrip(rel, exact=False)
    annotated = {sid: s for sid, s in original.items() if s.annotation is not None and not s.type_comment}
    for sid, slot in annotated.items():
        assert slot.annotation is not None
        try:
            canonical = _canonical(slot.annotation)
            parse_type(canonical)
        except (SyntaxError, TypeParseError) as exc:
            result.slots["not-a-type"] += 1
            result.notes.append(("not-a-type", sid, f"{slot.annotation!r}: {exc}"))
            continue
        types[sid] = canonical
    applied = apply_types(strip.new, rel, types, OPTIONS)
    verify_rewrite(strip.new, applied.new, applied.added_imports, rel, applied.removed_comments)
    outcome = {s.slot_id: s for s in applied.slots}
    back = locate_slots(applied.module, rel)
    for sid in types:
        slot = annotated[sid]
        assert slot.annotation is not None
        if sid not in stripped:
            result.slots["lost"] += 1
            continue
        if stripped[sid].annotation is not None:
            result.slots["kept"] += 1
            continue
        if outcome[sid].status != SlotStatus.WRITTEN:
            category = f"refused:{outcome[sid].code or outcome[sid].status.value}"
            result.slots[category] += 1
            result.notes.append((category, sid, outcome[sid].reason or ""))
            continue
        new = back[sid].annotation
        assert new is not None
        if slot.kind.value in ("variable", "attribute") and \
                _statement_key(module, slot) != _statement_key(strip.module, stripped[sid]):
            result.slots["moved"] += 1
        elif _same(new, slot.annotation):
            result.slots["exact"] += 1
        elif parse_type(_canonical(new)) == parse_type(_canonical(slot.annotation)):
            result.slots["quotes"] += 1
        else:
            result.slots["differs"] += 1
            result.examples.append((sid, slot.annotation, new))
    original_tree = ast.parse(text)
    result.exact = ast.dump(original_tree) == ast.dump(ast.parse(applied.new))
    result.non_slot_annotations = _count_annotations(original_tree) - len(annotated)
    return result


def sample_files(packages: tuple[str, ...] = PACKAGES, max_bytes: int | None = MAX_BYTES) -> list[Path]:
    files = []
    for pkg in packages:
        for path in sorted((SITE / pkg).rglob("*.py")):
            if max_bytes is None or path.stat().st_size <= max_bytes:
                files.append(path)
    return files


def test_roundtrip_on_installed_packages() -> None:
    files = sample_files()
    assert len(files) >= 300
    totals: Counter[str] = Counter()
    unexplained: list[str] = []
    differs: list[tuple[str, str, str]] = []
    exact_files = 0
    for path in files:
        rel = path.relative_to(SITE).as_posix()
        r = roundtrip(path.read_text(encoding="utf-8"), rel)
        totals.update(r.slots)
        exact_files += r.exact
        differs += r.examples
        if not r.explained:
            unexplained.append(rel)
    assert differs == []
    assert unexplained == []
    slots = sum(totals.values())
    assert slots > 3000
    assert totals["exact"] / slots > 0.9, totals
    assert exact_files / len(files) > 0.5

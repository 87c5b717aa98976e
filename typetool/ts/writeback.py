"""Write-back for TypeScript: put predicted types into .ts/.tsx files, or take annotations out, safely.

Does: finds a file's slots with `typetool.ts.slots` (the same ids `predict` used) and computes byte-range
edits on the tree-sitter tree, so that every byte it was not asked to change stays as it was (comments, odd
formatting, CRLF line endings, a BOM, non-ASCII text before the insertion point). `apply_ts_types` inserts
`: T` where a slot has no annotation yet (`T` printed from the shared bracket form by `ts.typeexpr.to_ts`, holes
as `any`; an all-hole type is not written) and wraps a bare arrow parameter in parentheses, once, when it or
the arrow's return gets a type (`async x => x` -> `async (x: number): number => x`). `strip_ts` removes the
annotations of the slots `extract_ts_slots` lists (parameters, returns, variables, class fields), the
whitespace between the slot and its colon, and a definite-assignment `!` (`let x!: T` -> `let x`: TypeScript
allows `!` only with a type); parentheses around a lone arrow parameter stay.

Proof, before anything is written (`verify_ts_rewrite`, and for `apply` a second application): the result
re-parses without ERROR or MISSING nodes (files that have any are refused up front, also where it is
tree-sitter-typescript that cannot read valid TypeScript, e.g. `in`/`out` variance annotations); the two trees
are the same modulo annotations: their pre-order sequences of nodes (type, and text for leaves; comments
included) are equal once every annotation subtree (`type_annotation`, and the `asserts_annotation` /
`type_predicate_annotation` of returns) is removed from both and, in the result, the parentheses added around a
bare arrow parameter (with the `formal_parameters`/`required_parameter` nodes they make) and, in the input, a
`!` that strip removed; every annotation of the input is still there, unchanged, at its shifted offset (less
those `strip` removed), and the new ones are exactly the planned text at the planned offsets; applying the
same types to the result changes nothing. Anything else refuses the file (`UnsafeRewrite`) and writes nothing.
`apply_ts_file`/`strip_ts_file` are the file-level steps behind `typetool apply` / `typetool strip` (hash
check, diff/check/write modes, atomic write: `typetool.writeback`).

Does not: write `.d.ts` declaration files (their annotations are the API) or JavaScript files (refused with a
message); change or replace an existing annotation (there is no `--overwrite` for TypeScript); add imports for
the names a type uses (types are erased at run time, so a missing import cannot change what the program does:
`tsc` reports it); touch interfaces, type aliases, overload signatures, `declare` blocks or anonymous callbacks
(they own no slots); keep comments that sit inside an annotation `strip` removes; run `tsc` (the tests check
results with typescript's own parser, `ts.tsc.syntax_errors`).
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import tree_sitter as ts

from typetool.diagnostics import Diagnostic, Severity
from typetool.fileio import write_result
from typetool.messages import (
    JS_FILE,
    SYNTAX,
    TOO_DEEP_TO_WRITE,
    TS_ANNOTATED,
    TS_DECLARATION,
    TS_DECLARATION_SKIPPED,
    TS_PYTHON_SPELLED,
    TS_UNPRINTABLE,
    UNSAFE,
)
from typetool.outcomes import (
    FileOutcome,
    FileStatus,
    SlotOutcome,
    SlotStatus,
    UnsafeRewrite,
    WriteMode,
    diag,
    outcome,
    slot_diags,
    slot_type,
)
from typetool.slots import SlotKind
from typetool.sources import DEFAULT_MAX_BYTES, SourceFile, read_source
from typetool.ts.facts import build_module
from typetool.ts.parse import (
    JS_SUFFIXES,
    grammar_for,
    is_declaration_file,
    is_typescript,
    parse_bytes,
    parse_typescript,
)
from typetool.ts.slots import TsSlotSite, extract_ts_slots
from typetool.ts.typeexpr import to_ts
from typetool.typeexpr import TypeNode, names

__all__ = [
    "ANNOTATION_NODES", "JS_SUFFIXES", "TsEdit", "TsRefused", "TsRewrite", "apply_ts_file", "apply_ts_types",
    "refusal", "strip_ts", "strip_ts_file", "strip_ts_types", "verify_ts_rewrite",
]

ANNOTATION_NODES = frozenset({"type_annotation", "asserts_annotation", "type_predicate_annotation"})
_BOM = codecs.BOM_UTF8


class TsRefused(Exception):
    """The file cannot be rewritten (a declaration or JavaScript file, a syntax error). `entry` is the message."""

    def __init__(self, entry: tuple[str, str], line: int | None = None, **kw: object) -> None:
        super().__init__(entry[1].format(**kw))
        self.entry = entry
        self.line = line

    def diagnostic(self, shown: str) -> Diagnostic:
        return Diagnostic(shown, self.entry[0], str(self), Severity.ERROR, self.line)


class _Rank(IntEnum):
    """Order of edits at one offset: `(`, then a parameter's (or any other slot's) `: T`, `)`, the return's."""

    OPEN = 0
    ANNOTATION = 1
    CLOSE = 2
    RETURN = 3


@dataclass(frozen=True, slots=True)
class TsEdit:
    """Replace bytes [start, end) of the input (without its BOM) with `text`. Insertions have start == end."""

    start: int
    end: int
    text: bytes
    kind: str  # "annotation" (text is `: T`, maybe plus one space) | "open" | "close" | "remove" | "definite"
    rank: int = _Rank.ANNOTATION

    @property
    def key(self) -> tuple[int, int, int]:
        return self.start, self.rank, self.end


@dataclass(frozen=True, slots=True)
class TsRewrite:
    """The result of rewriting one file's bytes (nothing written yet). `old`/`new` keep a BOM the input had."""

    old: bytes
    new: bytes
    slots: tuple[SlotOutcome, ...]
    edits: tuple[TsEdit, ...]

    @property
    def changed(self) -> bool:
        return self.new != self.old


# ----------------------------------------------------------------------------------------------------- checks

def refusal(relpath: str) -> TsRefused | None:
    """Why write-back must not touch this file (a declaration or JavaScript file), or None for a TS source."""
    if is_declaration_file(relpath) or (relpath.endswith(".ts") and ".d." in relpath.rsplit("/", 1)[-1]):
        return TsRefused(TS_DECLARATION)
    if relpath.endswith(JS_SUFFIXES) or not is_typescript(relpath):
        return TsRefused(JS_FILE)
    return None


def _first_error(root: ts.Node) -> ts.Node | None:
    """The first ERROR or MISSING node, the innermost one where an ERROR node holds others."""
    found: ts.Node | None = None
    node: ts.Node | None = root
    while node is not None:
        if node.type == "ERROR" or node.is_missing:
            found = node
        node = next((c for c in node.children if c.has_error or c.is_missing), None)
    return found


def _error_reason(data: bytes, node: ts.Node) -> str:
    if node.is_missing:
        return f"syntax error on line {node.start_point[0] + 1}: missing {node.type!r}"
    snippet = data[node.start_byte:min(node.end_byte, node.start_byte + 30)].decode("utf-8", "replace")
    return f"syntax error on line {node.start_point[0] + 1}: unexpected {snippet.split(chr(10))[0] or 'end of line'!r}"


def _sites(body: bytes, relpath: str) -> list[TsSlotSite]:
    """The file's slots; raises `TsRefused` for files that are not TS sources or do not parse cleanly."""
    refused = refusal(relpath)
    if refused is not None:
        raise refused
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TsRefused(SYNTAX, reason=f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    src = SourceFile(Path(relpath), relpath, text, body, "utf-8", False, "\n", "")
    parsed = parse_typescript(src)
    if parsed.tree.root_node.has_error:
        node = _first_error(parsed.tree.root_node)
        line = node.start_point[0] + 1 if node is not None else None
        raise TsRefused(SYNTAX, line, reason=_error_reason(body, node) if node is not None else "syntax error")
    try:
        return list(extract_ts_slots(build_module(parsed)))
    except RecursionError as exc:  # (the analysis recurses along the tree)
        raise TsRefused(TOO_DEEP_TO_WRITE, what="RecursionError while finding its slots") from exc


@functools.lru_cache(maxsize=4096)
def _type_problem(printed: str, grammar: str) -> str | None:
    """Why `printed` is not one well-formed TypeScript type (None when it is)."""
    if "\n" in printed or "\r" in printed:
        return "it spans several lines"
    prefix = b"let __t: "
    data = prefix + printed.encode("utf-8") + b";"
    root = parse_bytes(data, "x.tsx" if grammar == "tsx" else "x.ts").root_node
    if root.has_error:
        return "it does not parse as a TypeScript type"
    decl = root.named_children[0] if root.named_child_count == 1 else None
    declarator = decl.named_children[0] if decl is not None and decl.named_child_count == 1 else None
    ann = declarator.child_by_field_name("type") if declarator is not None else None
    if ann is None or ann.start_byte != len(prefix) - 2 or ann.end_byte != len(data) - 1:
        return "it is not a single type"
    return None


def _split_bom(data: bytes) -> tuple[bytes, bytes]:
    return (_BOM, data[len(_BOM):]) if data.startswith(_BOM) else (b"", data)


def _apply_edits(body: bytes, edits: Sequence[TsEdit]) -> bytes:
    out: list[bytes] = []
    at = 0
    for e in sorted(edits, key=lambda e: e.key):
        if e.start < at:
            raise UnsafeRewrite(f"overlapping edits at byte {e.start}")
        out.append(body[at:e.start])
        out.append(e.text)
        at = e.end
    out.append(body[at:])
    return b"".join(out)


# ------------------------------------------------------------------------------------------------------ apply

def _slot_order(sites: Sequence[TsSlotSite]) -> Callable[[str], tuple[int, str]]:
    order = {s.slot.id: i for i, s in enumerate(sites)}
    return lambda sid: (order.get(sid, len(order)), sid)


PYTHON_ONLY_NAMES = frozenset({
    "int", "str", "float", "bool", "bytes", "bytearray", "complex", "list", "dict", "set", "frozenset",
    "List", "Dict", "FrozenSet", "Tuple", "Optional", "Union", "Any", "None", "NoneType", "Sequence", "Mapping",
    "MutableMapping", "MutableSequence", "Type", "type", "DefaultDict", "OrderedDict", "Deque",
})
"""Type names that a Python-spelled type uses and TypeScript has no global of (its own are `number`, `string`,
`T[]`, `Record`, `any`, `null`, ...); `Set`, `Map`, `Iterable`, `Iterator` and `object` are TypeScript too, and
the shared bracket form writes TypeScript's functions and tuples as `Callable[...]` and `tuple[...]`."""


def _declares(body: bytes, name: str) -> bool:
    """Whether the file names `name` anywhere as a word (a declaration, an import, a type alias): a project may
    define its own `Optional` or `Dict`."""
    import re

    return re.search(rb"(?<![\w$])" + re.escape(name.encode()) + rb"(?![\w$])", body) is not None


def apply_ts_types(data: bytes, relpath: str, types: Mapping[str, TypeNode | str]) -> TsRewrite:
    """Write `types` (slot id -> type tree, or type string in the shared bracket form with `?` holes) into one
    TypeScript file's bytes (a leading UTF-8 BOM is kept). Only slots without an annotation get one.

    Raises `TsRefused` for declaration and JavaScript files and files with syntax errors; slot-level problems
    become `SlotOutcome`s. Does not verify: see `verify_ts_rewrite`.
    """
    bom, body = _split_bom(data)
    sites = _sites(body, relpath)
    by_id = {s.slot.id: s for s in sites}
    grammar = grammar_for(relpath)
    edits: list[TsEdit] = []
    wrapped: set[tuple[int, int]] = set()
    outcomes: list[SlotOutcome] = []
    for slot_id in sorted(types, key=_slot_order(sites)):
        site = by_id.get(slot_id)
        checked = slot_type(slot_id, types[slot_id], site is not None)
        if isinstance(checked, SlotOutcome):
            outcomes.append(checked)
            continue
        assert site is not None  # slot_type refused unknown slots
        t, shown = checked
        printed = to_ts(t, hole="any")
        existing = site.slot.annotation
        if existing is not None:
            if existing == printed:
                outcomes.append(SlotOutcome(slot_id, SlotStatus.UNCHANGED, existing))
            else:
                outcomes.append(SlotOutcome(slot_id, SlotStatus.SKIPPED, existing,
                                            TS_ANNOTATED[1].format(annotation=existing), TS_ANNOTATED[0]))
            continue
        foreign = sorted(n for n in names(t) if n in PYTHON_ONLY_NAMES and not _declares(body, n))
        if foreign:  # `List[int]` from a hand-edited predictions file would print as `List<int>`
            outcomes.append(outcome(slot_id, SlotStatus.ERROR, TS_PYTHON_SPELLED, slot_id=slot_id, type=shown,
                                     names=", ".join(foreign)))
            continue
        problem = _type_problem(printed, grammar)
        if problem is not None:
            outcomes.append(outcome(slot_id, SlotStatus.ERROR, TS_UNPRINTABLE, slot_id=slot_id, type=shown,
                                     printed=printed, reason=problem))
            continue
        text = f": {printed}"
        nxt = body[site.insert_at:site.insert_at + 1]
        if printed.endswith(">") and nxt in (b"=", b">"):
            text += " "  # `x: Map<K, V>=1` would lex `>=`
        is_return = site.slot.kind == SlotKind.RETURN
        edits.append(TsEdit(site.insert_at, site.insert_at, text.encode("utf-8"), "annotation",
                            _Rank.RETURN if is_return else _Rank.ANNOTATION))
        if site.wrap is not None and site.wrap not in wrapped:
            wrapped.add(site.wrap)
            edits.append(TsEdit(site.wrap[0], site.wrap[0], b"(", "open", _Rank.OPEN))
            edits.append(TsEdit(site.wrap[1], site.wrap[1], b")", "close", _Rank.CLOSE))
        outcomes.append(SlotOutcome(slot_id, SlotStatus.WRITTEN, printed))
    edits.sort(key=lambda e: e.key)
    new = bom + _apply_edits(body, edits) if edits else data
    return TsRewrite(data, new, tuple(outcomes), tuple(edits))


# ------------------------------------------------------------------------------------------------------ strip

def _annotation_of(site: TsSlotSite) -> ts.Node | None:
    if site.param is not None:
        return site.param.type
    if site.slot.kind == SlotKind.RETURN:
        return site.function.return_type if site.function is not None else None
    if site.variable is not None:
        return site.variable.type
    return site.field.type if site.field is not None else None


def _definite_mark(site: TsSlotSite) -> ts.Node | None:
    if site.variable is not None:
        return next((c for c in site.variable.node.children if not c.is_named and c.type == "!"), None)
    if site.field is not None and site.field.mark is not None and site.field.mark.type == "!":
        return site.field.mark
    return None


def strip_ts_types(data: bytes, relpath: str) -> TsRewrite:
    """Remove the annotations of every slot `extract_ts_slots` lists (parameters, returns, variables, class
    fields), with the whitespace between the slot and the colon, and a definite-assignment `!` before it (`let
    x!: T` -> `let x`: TypeScript allows `!` only with a type); not those of interfaces, type aliases, overload
    signatures or `declare` blocks. Raises `TsRefused` as `apply_ts_types` does."""
    bom, body = _split_bom(data)
    edits: list[TsEdit] = []
    outcomes: list[SlotOutcome] = []
    for site in _sites(body, relpath):
        ann = _annotation_of(site)
        if ann is None or site.slot.annotation is None:
            continue
        gap = body[site.insert_at:ann.start_byte]
        start = site.insert_at if site.insert_at <= ann.start_byte and not gap.strip() else ann.start_byte
        edits.append(TsEdit(start, ann.end_byte, b"", "remove"))
        mark = _definite_mark(site)
        if mark is not None:  # `let x!` / `x!;` without a type is an error: the `!` goes with the annotation
            name_end = mark.prev_sibling.end_byte if mark.prev_sibling is not None else mark.start_byte
            before = name_end if not body[name_end:mark.start_byte].strip() else mark.start_byte
            edits.append(TsEdit(before, mark.end_byte, b"", "definite"))
        outcomes.append(SlotOutcome(site.slot.id, SlotStatus.WRITTEN, site.slot.annotation))
    edits.sort(key=lambda e: e.key)
    new = bom + _apply_edits(body, edits) if edits else data
    return TsRewrite(data, new, tuple(outcomes), tuple(edits))


def strip_ts(data: bytes, relpath: str) -> bytes:
    """`data` with its slots' annotations removed (see `strip_ts_types`), proven by `verify_ts_rewrite`.

    Raises `TsRefused` for files it must not or cannot handle, `UnsafeRewrite` for a result that fails the proof.
    """
    rewrite = strip_ts_types(data, relpath)
    if rewrite.changed:
        verify_ts_rewrite(rewrite, relpath)
    return rewrite.new


# ---------------------------------------------------------------------------------------------------- the proof

def _annotations(root: ts.Node) -> Iterator[ts.Node]:
    """Outermost annotation nodes, in document order."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in ANNOTATION_NODES:
            yield node
            continue
        stack.extend(reversed(node.children))


def _shape(root: ts.Node, skip: frozenset[tuple[int, str]]) -> tuple[list[tuple[str, str]], list[int]]:
    """Pre-order (type, leaf text) of every node outside annotations, and each one's line; nodes whose
    (start byte, type) is in `skip` are left out (their children are kept)."""
    items: list[tuple[str, str]] = []
    lines: list[int] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in ANNOTATION_NODES:
            continue
        if (node.start_byte, node.type) not in skip:
            leaf = node.child_count == 0
            items.append((node.type, (node.text or b"").decode("utf-8", "replace") if leaf else ""))
            lines.append(node.start_point[0] + 1)
        stack.extend(reversed(node.children))
    return items, lines


def _shift(edits: Sequence[TsEdit], pos: int) -> int:
    """Where byte `pos` of the input (not inside a replaced range) is in the result."""
    return pos + sum(len(e.text) - (e.end - e.start) for e in edits if e.end <= pos)


def verify_ts_rewrite(rewrite: TsRewrite, relpath: str) -> None:
    """Prove that `rewrite.new` is `rewrite.old` with only the planned annotations (and bare-arrow parentheses)
    added or removed (see the module docstring); raise `UnsafeRewrite` saying what differs."""
    _, old = _split_bom(rewrite.old)
    _, new = _split_bom(rewrite.new)
    edits = sorted(rewrite.edits, key=lambda e: e.key)
    if _apply_edits(old, edits) != new:
        raise UnsafeRewrite("the result is not the input with the planned edits")
    old_root = parse_bytes(old, relpath).root_node
    new_root = parse_bytes(new, relpath).root_node
    bad = _first_error(new_root)
    if bad is not None and _first_error(old_root) is None:
        raise UnsafeRewrite(f"the result does not parse: {_error_reason(new, bad)}")
    # where the edits land in the result
    placed: list[tuple[int, TsEdit]] = []
    delta = 0
    for e in edits:
        placed.append((e.start + delta, e))
        delta += len(e.text) - (e.end - e.start)
    skip: set[tuple[int, str]] = set()
    for at, e in placed:
        if e.kind == "open":
            skip.update({(at, "("), (at, "formal_parameters"), (at + 1, "required_parameter")})
        elif e.kind == "close":
            skip.add((at, ")"))
    gone = frozenset((e.end - 1, "!") for e in edits if e.kind == "definite")
    a, a_lines = _shape(old_root, gone)
    b, b_lines = _shape(new_root, frozenset(skip))
    if a != b:
        i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        was = f"{a[i][0]} {a[i][1]!r} (line {a_lines[i]})" if i < len(a) else "the end"
        now = f"{b[i][0]} {b[i][1]!r} (line {b_lines[i]})" if i < len(b) else "the end"
        raise UnsafeRewrite(f"the syntax trees differ beyond type annotations: {was} became {now}")
    removed = [(e.start, e.end) for e in edits if e.kind == "remove"]
    expected: list[tuple[int, str]] = []
    for node in _annotations(old_root):
        if any(s <= node.start_byte and node.end_byte <= t for s, t in removed):
            continue
        expected.append((_shift(edits, node.start_byte), old[node.start_byte:node.end_byte].decode("utf-8")))
    for at, e in placed:
        if e.kind == "annotation":
            expected.append((at, e.text.decode("utf-8").rstrip(" ")))
    actual = [(n.start_byte, new[n.start_byte:n.end_byte].decode("utf-8")) for n in _annotations(new_root)]
    if sorted(expected) != actual:
        diff = sorted(set(expected) ^ set(actual)) or [(0, "a duplicated annotation")]
        at, what = diff[0]
        line = new[:at].count(b"\n") + 1
        raise UnsafeRewrite(f"the annotations are not the input's plus the planned ones: line {line}: {what!r}")


def _check_stable(rewrite: TsRewrite, redo: Callable[[bytes], TsRewrite]) -> None:
    again = redo(rewrite.new)
    if again.new != rewrite.new or any(s.status == SlotStatus.WRITTEN for s in again.slots):
        raise UnsafeRewrite("a second application would change the file again")


# ------------------------------------------------------------------------------------------------- file level

def apply_ts_file(src: SourceFile, shown: str, rel: str, types: Mapping[str, str], bad: Sequence[SlotOutcome],
                  mode: WriteMode) -> FileOutcome:
    """`typetool apply` for one TypeScript file whose hash was checked (`typetool.writeback`)."""
    try:
        rewrite = apply_ts_types(src.data, rel, types)
    except TsRefused as exc:
        return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(exc.diagnostic(shown),))
    except UnsafeRewrite as exc:
        return FileOutcome(shown, FileStatus.FAILED, diagnostics=(diag(shown, UNSAFE, detail=str(exc)),))
    slots = tuple(bad) + rewrite.slots
    rewrite = TsRewrite(rewrite.old, rewrite.new, slots, rewrite.edits)
    return _finish(src, shown, rel, rewrite, mode, lambda data: apply_ts_types(data, rel, types))


def strip_ts_file(path: Path, shown: str, mode: WriteMode, cwd: Path, max_bytes: int = DEFAULT_MAX_BYTES
                  ) -> FileOutcome:
    """`typetool strip` for one .ts/.tsx file (and the refusal for declaration and JavaScript files)."""
    refused = refusal(path.name)
    if refused is not None:
        if refused.entry == TS_DECLARATION:
            return FileOutcome(shown, FileStatus.UNCHANGED,
                               diagnostics=(diag(shown, TS_DECLARATION_SKIPPED, Severity.INFO),))
        return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(refused.diagnostic(shown),))
    src = read_source(path, cwd, max_bytes)
    if isinstance(src, Diagnostic):
        return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(src,))
    rel = src.relpath
    try:
        rewrite = strip_ts_types(src.data, rel)
    except TsRefused as exc:
        return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(exc.diagnostic(shown),))
    except UnsafeRewrite as exc:
        return FileOutcome(shown, FileStatus.FAILED, diagnostics=(diag(shown, UNSAFE, detail=str(exc)),))
    return _finish(src, shown, rel, rewrite, mode, lambda data: strip_ts_types(data, rel))


def _finish(src: SourceFile, shown: str, rel: str, rewrite: TsRewrite, mode: WriteMode,
            redo: Callable[[bytes], TsRewrite]) -> FileOutcome:
    """Prove, encode as the file was, show and write (atomically, if the file is unchanged on disk)."""
    slots = rewrite.slots
    diags = slot_diags(shown, slots)
    if not rewrite.changed:
        return FileOutcome(shown, FileStatus.UNCHANGED, slots=slots, diagnostics=tuple(diags))
    try:
        verify_ts_rewrite(rewrite, rel)
        _check_stable(rewrite, redo)
    except UnsafeRewrite as exc:
        diags.append(diag(shown, UNSAFE, detail=str(exc)))
        return FileOutcome(shown, FileStatus.FAILED, slots=slots, diagnostics=tuple(diags))
    new_text = rewrite.new.decode("utf-8", "surrogatepass")

    def decodes_back(back: SourceFile) -> bool:
        return back.data == rewrite.new and back.bom == src.bom

    return write_result(src, shown, src.text, new_text, slots, diags, mode, decodes_back)


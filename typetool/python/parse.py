"""Stage 1 for Python, parse: tree-sitter syntax trees for Python files.

Does: parses a `SourceFile`'s UTF-8 bytes with the tree-sitter Python grammar and reports syntax errors (ERROR
and MISSING nodes) as diagnostics with file and line (the grammar-neutral parts are `typetool.treesitter`); measures
how deeply a tree nests (`too_deep`, for libcst's limits).
Does not: build the code property graph (`typetool.python.project`) or look at other files.
The tree is kept even when it has errors: everything outside the damaged region is still analysed. tree-sitter's
own recovery can let one unclosed bracket swallow the rest of the file, so a damaged statement (the innermost
`def`/`class` holding the first error, else the statement itself) is cut out and the file parsed again without
it (tree-sitter `included_ranges`: byte offsets do not move), a few times at most; the skipped lines are
reported.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import tree_sitter as ts
import tree_sitter_python

from typetool import messages as M
from typetool.diagnostics import Diagnostic, Severity
from typetool.sources import SourceFile
from typetool.treesitter import ParsedFile, captures, register_grammar, syntax_errors

MAX_RECOVERY_ROUNDS = 8


@functools.cache
def python_language() -> ts.Language:
    return ts.Language(tree_sitter_python.language())


register_grammar("python", python_language)


_parser: ts.Parser | None = None


def parse_python(source: SourceFile) -> ParsedFile:
    global _parser
    if _parser is None:
        _parser = ts.Parser(python_language())
    tree = _parser.parse(source.data)
    if not tree.root_node.has_error:
        return ParsedFile(source=source, tree=tree, errors=())
    first_errors = _error_nodes(tree.root_node)
    recovered, skipped = _recover(_parser, source.data, tree, first_errors)
    if not skipped:
        return ParsedFile(source, tree, tuple(syntax_errors(source, first_errors)))
    # report the errors in the lines cut out (not the ones that were only a consequence of them), what is left
    # in the final tree, and which lines were skipped
    rows = [(a - 1, b - 1) for a, b in skipped]
    kept = [(n, w) for n, w in first_errors if any(a <= n.start_point[0] <= b for a, b in rows)]
    if recovered.root_node.has_error:
        kept.extend(_error_nodes(recovered.root_node))
    kept.sort(key=lambda item: item[0].start_byte)
    errors = syntax_errors(source, kept)
    for first, last in skipped:
        code, text = M.msg(M.SKIPPED_LINES, first=first, last=last)
        errors.append(Diagnostic(source.relpath, code, text, Severity.INFO, first, 0))
    return ParsedFile(source, recovered, tuple(errors), tuple(skipped))


@dataclass(frozen=True, slots=True)
class Nesting:
    """A point where a syntax tree nests too deeply (`too_deep`): its `depth` counts tree levels, plus one per
    `elif`/`else` of an `if` chain, per part of an implicitly concatenated string and per name of a dotted
    import (flat in tree-sitter's tree, nested in libcst's); `brackets` counts the brackets open there (f-string
    braces included); `line` is 1-based."""

    depth: int
    brackets: int
    line: int


_OPEN = frozenset({"(", "[", "{"})
_CLOSE = frozenset({")", "]", "}"})
_CHAINS: dict[str, frozenset[str] | None] = {
    "if_statement": frozenset({"elif_clause", "else_clause"}), "concatenated_string": None,
    "dotted_name": frozenset({"identifier"})}


def too_deep(root: ts.Node, max_depth: int, max_brackets: int) -> Nesting | None:
    """The first node (in document order) nested deeper than `max_depth` or inside more than `max_brackets`
    brackets (see `Nesting`), or None. Iterative, and a subtree with too few nodes to pass either limit is not
    entered, so an ordinary file costs a few dozen node visits."""
    stack: list[tuple[ts.Node, int, int]] = [(root, 1, 0)]
    while stack:
        node, depth, brackets = stack.pop()
        if depth > max_depth or brackets > max_brackets:
            return Nesting(depth, brackets, node.start_point[0] + 1)
        size = node.descendant_count  # (the node itself included)
        if depth + size <= max_depth and brackets + size <= max_brackets:
            continue  # a descendant is at most (its distance + the earlier siblings on the way) deeper
        chained = _CHAINS.get(node.type, frozenset())
        extra = level = 0
        children = node.children
        pushed: list[tuple[ts.Node, int, int]] = []
        for child in children:
            kind = child.type
            if kind in _OPEN:
                level += 1
            elif kind in _CLOSE:
                level = max(0, level - 1)
            if chained is None or kind in chained:
                extra += 1
            pushed.append((child, depth + 1 + extra, brackets + level))
        stack.extend(reversed(pushed))
    return None


def _error_nodes(root: ts.Node) -> list[tuple[ts.Node, str]]:
    found = captures("python", "errors", root)
    return sorted(
        [(n, "error") for n in found.get("error", [])] + [(n, "missing") for n in found.get("missing", [])],
        key=lambda item: item[0].start_byte,
    )


_BLOCK_START = re.compile(rb"(?:async[ \t]+def|def|class)[ \t(:]|@")


class _Lines:
    """Row starts, indentation and kind of the lines of a file, computed on demand."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.starts = [0] + [m.end() for m in re.finditer(rb"\n", data)]
        self.count = len(self.starts)

    def content(self, row: int) -> tuple[int, bytes]:
        """(indentation, first bytes of the text) of a row; the text is empty for blank and comment lines."""
        start = self.starts[row]
        end = self.starts[row + 1] if row + 1 < self.count else len(self.data)
        line = self.data[start:end]
        body = line.lstrip(b" \t\f")
        indent = len(line) - len(body)
        body = body.rstrip(b"\r\n")
        return indent, b"" if body.startswith(b"#") else body[:16]

    def block_start(self, row: int) -> bool:
        return _BLOCK_START.match(self.content(row)[1]) is not None


def _damaged_span(lines: _Lines, err_row: int) -> tuple[int, int]:
    """0-based rows [first, last] to cut out for an error on `err_row`: the innermost def/class (with its
    decorators) whose body holds the error, else the statement at the error, up to the next line at the same or
    a lower indentation."""
    indent_err, _ = lines.content(err_row)
    start = err_row
    lowest = indent_err
    row = err_row
    while row >= 0:
        indent, body = lines.content(row)
        if body:
            if lines.block_start(row) and (row == err_row or indent < lowest):
                start = row
                break
            if row != err_row and indent == 0:
                break  # a top-level statement before the error: the damage starts after it
            lowest = min(lowest, indent)
        row -= 1
    start_indent, _ = lines.content(start)
    while start > 0:  # take the decorators along
        indent, body = lines.content(start - 1)
        if not body.startswith(b"@") or indent != start_indent:
            break
        start -= 1
    end = lines.count - 1
    for row in range(max(start, err_row) + 1, lines.count):
        indent, body = lines.content(row)
        if body and indent <= start_indent and body[:1] not in (b")", b"]", b"}"):
            end = row - 1
            break
    while end > max(start, err_row) and not lines.content(end)[1]:
        end -= 1  # not the blank lines and comments before the next statement
    return start, end


def _recover(parser: ts.Parser, data: bytes, tree: ts.Tree,
             errors: list[tuple[ts.Node, str]]) -> tuple[ts.Tree, list[tuple[int, int]]]:
    """Parse again without the damaged statements; returns the best tree and the 1-based line spans cut out."""
    lines = _Lines(data)
    cut: list[tuple[int, int]] = []  # 0-based rows, inclusive
    current = tree
    try:
        for _ in range(MAX_RECOVERY_ROUNDS):
            nodes = errors if current is tree else _error_nodes(current.root_node)
            if not nodes:
                break
            first, last = _damaged_span(lines, nodes[0][0].start_point[0])
            if any(a <= first and last <= b for a, b in cut):
                break  # no progress
            cut = _merge([*cut, (first, last)])
            parser.included_ranges = _complement(lines, cut)
            current = parser.parse(data)
            if not current.root_node.has_error:
                break
    finally:
        parser.included_ranges = []
    return current, [(a + 1, b + 1) for a, b in cut]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _complement(lines: _Lines, cut: list[tuple[int, int]]) -> list[ts.Range]:
    """The byte ranges outside the cut rows, as tree-sitter ranges."""
    out: list[ts.Range] = []
    row = 0
    end_byte = len(lines.data)
    for a, b in [*cut, (lines.count, lines.count)]:
        if a > row:
            start = lines.starts[row]
            stop = lines.starts[a] if a < lines.count else end_byte
            if stop > start:
                end_point = (a, 0) if a < lines.count else (lines.count - 1, stop - lines.starts[-1])
                out.append(ts.Range((row, 0), end_point, start, stop))
        row = b + 1
    return out or [ts.Range((0, 0), (0, 0), 0, 0)]

"""Tree-sitter, for every language: the grammars the wings register (`register_grammar`), the .scm query files
shipped in grammars/<language>/ (`load_query`, `captures`), a parsed file (`ParsedFile`), the text of a node
(`text`) and syntax errors as diagnostics (`syntax_errors`).

Does not: parse any language itself or know which exist (`typetool.python.parse`, `typetool.ts.parse`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import tree_sitter as ts

from typetool import messages as M
from typetool.diagnostics import Diagnostic, Severity
from typetool.sources import SourceFile

MAX_REPORTED_ERRORS = 5

GRAMMARS: dict[str, Callable[[], ts.Language]] = {}


def register_grammar(name: str, language: Callable[[], ts.Language]) -> None:
    """Make a grammar known by the name of its folder under grammars/ (a wing calls this when imported)."""
    GRAMMARS[name] = language


def grammars_dir() -> Path:
    """Where the .scm query files are: inside the installed wheel, or the repository's grammars/ folder."""
    packaged = Path(str(resources.files("typetool"))) / "grammars"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "grammars"


@functools.cache
def load_query(language: str, name: str) -> ts.Query:
    text = (grammars_dir() / language / f"{name}.scm").read_text(encoding="utf-8")
    lang = GRAMMARS[language]()
    return ts.Query(lang, text)


def captures(language: str, query_name: str, node: ts.Node) -> dict[str, list[ts.Node]]:
    """The query's captures under `node`, each list in document order (tree-sitter does not promise an order
    across patterns, and outputs must not change from run to run)."""
    found = ts.QueryCursor(load_query(language, query_name)).captures(node)
    return {name: sorted(nodes, key=lambda n: (n.start_byte, -n.end_byte)) for name, nodes in found.items()}


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A source file and its syntax tree. `errors` lists the syntax errors found (possibly none)."""

    source: SourceFile
    tree: ts.Tree
    errors: tuple[Diagnostic, ...]
    skipped: tuple[tuple[int, int], ...] = ()  # 1-based first and last lines cut out to recover from errors

    @property
    def root(self) -> ts.Node:
        return self.tree.root_node


def text(node: ts.Node | None) -> str:
    """A node's source text (undecodable bytes replaced), "" for None."""
    if node is None:
        return ""
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


def syntax_errors(source: SourceFile, nodes: list[tuple[ts.Node, str]]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for node, what in nodes[:MAX_REPORTED_ERRORS]:
        row, col_bytes = node.start_point
        line_start = node.start_byte - col_bytes
        column = len(source.data[line_start : node.start_byte].decode("utf-8", "replace"))
        if what == "missing":
            code, text = M.msg(M.MISSING_TOKEN, detail=repr(node.type))
        else:
            snippet = source.data[node.start_byte : min(node.end_byte, node.start_byte + 30)]
            detail = "unexpected " + repr(snippet.decode("utf-8", "replace").split("\n")[0] or "end of line")
            code, text = M.msg(M.SYNTAX_ERROR, detail=detail)
        out.append(Diagnostic(source.relpath, code, text, Severity.ERROR, row + 1, column))
    if len(nodes) > MAX_REPORTED_ERRORS:
        out.append(
            Diagnostic(source.relpath, "syntax-error", f"{len(nodes) - MAX_REPORTED_ERRORS} more syntax errors",
                       Severity.ERROR)
        )
    return out

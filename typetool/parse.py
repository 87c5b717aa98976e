"""Stage 1, parse: tree-sitter syntax trees for source files, and the query files that read them.

Does: parses a `SourceFile`'s UTF-8 bytes with the tree-sitter grammar of its language, reports syntax errors
(ERROR and MISSING nodes) as diagnostics with file and line, and loads the .scm queries shipped in grammars/.
Does not: build the code property graph (`typetool.graph`) or look at other files.
The tree is kept even when it has errors: everything outside the damaged region is still analysed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import tree_sitter as ts
import tree_sitter_python

from typetool import messages as M
from typetool.diagnostics import Diagnostic, Severity
from typetool.sources import SourceFile

MAX_REPORTED_ERRORS = 5


@functools.cache
def python_language() -> ts.Language:
    return ts.Language(tree_sitter_python.language())


def grammars_dir() -> Path:
    """Where the .scm query files are: inside the installed wheel, or the repository's grammars/ folder."""
    packaged = Path(str(resources.files("typetool"))) / "grammars"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "grammars"


@functools.cache
def load_query(language: str, name: str) -> ts.Query:
    text = (grammars_dir() / language / f"{name}.scm").read_text(encoding="utf-8")
    lang = {"python": python_language}[language]()
    return ts.Query(lang, text)


def captures(language: str, query_name: str, node: ts.Node) -> dict[str, list[ts.Node]]:
    return ts.QueryCursor(load_query(language, query_name)).captures(node)


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A source file and its syntax tree. `errors` lists the syntax errors found (possibly none)."""

    source: SourceFile
    tree: ts.Tree
    errors: tuple[Diagnostic, ...]

    @property
    def root(self) -> ts.Node:
        return self.tree.root_node


_parser: ts.Parser | None = None


def parse_python(source: SourceFile) -> ParsedFile:
    global _parser
    if _parser is None:
        _parser = ts.Parser(python_language())
    tree = _parser.parse(source.data)
    errors: tuple[Diagnostic, ...] = ()
    if tree.root_node.has_error:
        errors = tuple(_syntax_errors(source, tree.root_node))
    return ParsedFile(source=source, tree=tree, errors=errors)


def _syntax_errors(source: SourceFile, root: ts.Node) -> list[Diagnostic]:
    found = captures("python", "errors", root)
    nodes = sorted(
        [(n, "error") for n in found.get("error", [])] + [(n, "missing") for n in found.get("missing", [])],
        key=lambda item: item[0].start_byte,
    )
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

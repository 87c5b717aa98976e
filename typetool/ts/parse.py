"""Stage 1 for TypeScript, parse: tree-sitter syntax trees for .ts/.tsx/.mts/.cts files.

Does: picks the TypeScript or TSX grammar by suffix, parses a `SourceFile`'s UTF-8 bytes, and reports syntax
errors (ERROR and MISSING nodes, queries in grammars/typescript and grammars/tsx) as diagnostics with file and
line, in the same `ParsedFile` type as Python. Knows which files are TypeScript sources typetool may analyse
and which it must never touch (`.d.ts` declaration files; `.js` is not TypeScript).
Does not: recover by cutting damaged statements out as the Python parser does (the tree is analysed as
tree-sitter recovered it; slots inside ERROR nodes are skipped by `ts.slots`), or look at other files.
"""

from __future__ import annotations

import functools

import tree_sitter as ts
import tree_sitter_typescript

from typetool.sources import SourceFile
from typetool.treesitter import GRAMMARS, ParsedFile, captures, register_grammar, syntax_errors

TS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts")
DECLARATION_SUFFIXES = (".d.ts", ".d.mts", ".d.cts")
JS_SUFFIXES = (".js", ".jsx", ".mjs", ".cjs")  # JavaScript: never TypeScript, never written

_parsers: dict[str, ts.Parser] = {}


@functools.cache
def typescript_language() -> ts.Language:
    return ts.Language(tree_sitter_typescript.language_typescript())


@functools.cache
def tsx_language() -> ts.Language:
    return ts.Language(tree_sitter_typescript.language_tsx())


register_grammar("typescript", typescript_language)
register_grammar("tsx", tsx_language)


def is_typescript(path: str) -> bool:
    """A TypeScript source file typetool analyses and may annotate (not a `.d.ts` declaration file)."""
    return path.endswith(TS_SUFFIXES) and not is_declaration_file(path)


def is_declaration_file(path: str) -> bool:
    return path.endswith(DECLARATION_SUFFIXES)


def grammar_for(path: str) -> str:
    return "tsx" if path.endswith(".tsx") else "typescript"


def parser_for(grammar: str) -> ts.Parser:
    parser = _parsers.get(grammar)
    if parser is None:
        parser = _parsers[grammar] = ts.Parser(GRAMMARS[grammar]())
    return parser


def parse_typescript(source: SourceFile) -> ParsedFile:
    grammar = grammar_for(source.relpath)
    tree = parser_for(grammar).parse(source.data)
    if not tree.root_node.has_error:
        return ParsedFile(source=source, tree=tree, errors=())
    found = captures(grammar, "errors", tree.root_node)
    nodes = sorted([(n, "error") for n in found.get("error", [])] + [(n, "missing") for n in found.get("missing", [])],
                   key=lambda item: item[0].start_byte)
    return ParsedFile(source, tree, tuple(syntax_errors(source, nodes)))


def parse_bytes(data: bytes, path: str = "snippet.ts") -> ts.Tree:
    """A bare tree (no diagnostics), for write-back's re-parse checks and tests."""
    return parser_for(grammar_for(path)).parse(data)

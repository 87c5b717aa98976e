"""Fuzzing every command that reads files: no input can take the process down.

Hypothesis builds small projects: a normal Python file and a normal TypeScript file (both partly annotated) beside
one or two hostile files: code nested deeply (brackets, parentheses, calls, subscripts, comprehensions, f-strings,
lambdas, unary and binary operators, attribute and method chains, `elif` chains, implicitly concatenated
strings, nested blocks and definitions), long operator chains, odd encodings (latin-1 and unknown coding
cookies, BOMs, UTF-16, invalid UTF-8, NULs, CRLF and CR line endings) and random token soup, in Python and in
TypeScript. Each project goes through one command: `strip`, `annotate`, `predict`, `check`, `slices` or `apply`
(with predictions that are stale, malformed, or not even JSON). The oracles, which do not trust the tool's own
proof:
- no crash: no exception escapes the command, the exit code is never 123 (internal error) and, in
  `benchmarks/fuzz.py`, which runs each case in a child process, no child dies of a signal;
- the run's outcome is printed (the summary of `strip`, `apply` and `annotate`; valid JSON for `slices`,
  `predict` and `check`), and the normal files are still served (`slices` and `predict` list their slots,
  `strip` strips the normal Python file);
- every file that was written still parses (Python: `ast`, as the interpreter decodes it; TypeScript: tree-sitter,
  without errors) and differs from the input only in annotations: for Python the `ast.dump` of both with
  annotations, `typing` imports, `if TYPE_CHECKING:` blocks and `pass` statements removed; for TypeScript the
  token sequence outside type annotations (parentheses and `!` aside, which write-back may add or remove).
  Files that are neither Python nor TypeScript sources are never written.

This file runs a small, deterministic sample (`derandomize`); `benchmarks/fuzz.py` runs the same cases for as
many minutes as it is given and prints the counts.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# ------------------------------------------------------------------------------------------------ the inputs

GOOD_PY = (
    "import os\n"
    "from typing import Optional\n\n\n"
    "def good(count, name: str = \"x\") -> int:\n"
    "    total: int = count + 1\n"
    "    return total\n\n\n"
    "class Box:\n"
    "    def __init__(self, size):\n"
    "        self.size = size\n\n"
    "    def grow(self, by: Optional[int] = None):\n"
    "        return self.size + (by or 1)\n"
)
GOOD_TS = (
    "export function good(count: number, name = \"x\"): number {\n"
    "  const total: number = count + 1;\n"
    "  return total;\n"
    "}\n\n"
    "export class Box {\n"
    "  size: number;\n"
    "  constructor(size) {\n"
    "    this.size = size;\n"
    "  }\n"
    "  grow(by?: number) {\n"
    "    return this.size + (by ?? 1);\n"
    "  }\n"
    "}\n"
)
GOOD_SLOTS = ("proj/good.py::param::good::count", "proj/good.py::return::good::return",
              "proj/good.py::param::Box.__init__::size", "proj/good.py::attribute::Box::size",
              "proj/good.ts::param::good::name", "proj/good.ts::param::Box.constructor::size",
              "proj/good.ts::return::Box.grow::return")

# (prefix, suffix) around an expression, applied `n` times
PY_WRAPPERS: tuple[tuple[str, str], ...] = (
    ("[", "]"), ("(", ")"), ("(", ",)"), ("{", "}"), ("{1: ", "}"), ("f(", ")"), ("f(k=", ")"), ("a[", "]"),
    ("a[", ":1]"), ("-", ""), ("~", ""), ("not ", ""), ("(lambda: ", ")"), ("lambda: ", ""), ("(", " if a else b)"),
    ("(a if b else ", ")"), ("(y := ", ")"), ("[*", "]"), ("(", " for a in b)"), ("[", " for a in b]"),
    ("f'{", "}'"), ('f"{', '}"'), ("", ".b"), ("", "()"), ("", "[0]"), ("", "(a)"), ("", " + a"), ("a + ", ""),
    ("", " ** a"), ("a ** ", ""), ("", " and a"), ("", " < a"), ("await ", ""), ("(yield ", ")"), ("", " @ a"),
    ("", ".b.c(1)"), ("-a.b[0](", ")"), ("", " if a else b"), ("*", ""), ("", ' "s"'),
)
PY_OPERATORS = ("+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "@", "and", "or", "<", ">", "==",
                "!=", "in", "not in", "is", "is not")
PY_TERMS = ("a", "1", "x.y", "f(a)", "a[0]", "-a.b[0](1)", '"s"', "(a)", "[a]", "None", "2.5j")
PY_BLOCKS = ("if a:", "for a in b:", "while a:", "with a as b:", "def f(a, b):", "async def g(a):", "class C:",
             "try:", "else:", "elif a:", "match a:", "case 1:", "lambda: (", "@d")
PY_TOKENS = ("def", "class", "return", "lambda", "if", "else", "elif", "for", "in", "while", "with", "as", "try",
             "except", "finally", "import", "from", "global", "nonlocal", "yield", "await", "async", "match",
             "case", "pass", "not", "and", "or", "is", "None", "True", "a", "b", "self", "x", "int", "str", "1",
             "2.0", "'s'", '"s"', "f'{a}'", "b''", '"""', "'''", "#c", "(", ")", "[", "]", "{", "}", ":", ",", ";",
             ".", "...", "=", ":=", "->", "+", "-", "*", "**", "/", "|", "&", "@", "<", ">", "==", "\\", "\n", "\n",
             "    ", "\t", "\r", "\r\n", "\x0c", "é", "\u200b", "\x00")

TS_WRAPPERS: tuple[tuple[str, str], ...] = (
    ("[", "]"), ("(", ")"), ("f(", ")"), ("{a: ", "}"), ("-", ""), ("!", ""), ("typeof ", ""), ("(() => ", ")"),
    ("(a: number) => ", ""), ("a ? ", " : b"), ("", ".b"), ("", "()"), ("", "[0]"), ("", " + a"), ("a + ", ""),
    ("await ", ""), ("`${", "}`"), ("new C(", ")"), ("", " as any"), ("", "!"), ("", "?.b"), ("...", ""),
    ("(a) => ", ""), ("", " ?? a"), ("<T>(x: T) => ", ""),
)
TS_TYPE_WRAPPERS: tuple[tuple[str, str], ...] = (
    ("Array<", ">"), ("{ a: ", " }"), ("(", ")[]"), ("Promise<", ">"), ("", " | null"), ("(a: ", ") => void"),
    ("[", "]"), ("keyof ", ""), ("Map<string, ", ">"),
)
TS_OPERATORS = ("+", "-", "*", "/", "%", "**", "<<", ">>", "&", "|", "^", "&&", "||", "??", "<", ">", "===",
                "!==", "instanceof", "in")
TS_BLOCKS = ("if (a) {", "for (;;) {", "while (a) {", "function f(a: number) {", "class C { m(a) {",
             "const f = (a) => {", "try {", "switch (a) { case 1: {", "namespace N {", "{")
TS_TOKENS = ("function", "class", "const", "let", "var", "return", "if", "else", "for", "while", "new", "this",
             "interface", "type", "enum", "export", "import", "from", "async", "await", "extends", "implements",
             "public", "private", "readonly", "declare", "namespace", "as", "keyof", "typeof", "a", "b", "x",
             "number", "string", "any", "1", "'s'", '"s"', "`t${a}`", "/re/g", "(", ")", "[", "]", "{", "}", "<",
             ">", ":", "?", "!", ",", ";", ".", "...", "=", "=>", "+", "-", "*", "|", "&", "@", "//c\n", "/*",
             "*/", "\n", "  ", "\r\n", "\r", "é", "\u2028", "\x00")

TEST_DEPTHS = (0, 1, 2, 5, 20, 98, 99, 100, 101, 150, 199, 200, 201, 260)
NIGHTLY_DEPTHS = (*TEST_DEPTHS, 500, 999, 1000, 1001, 1150, 1199, 1200, 1201, 1250, 2000, 5000, 20_000)
TEST_CHAIN = (1, 10, 100, 300, 999, 1000, 1190, 1201, 2000, 5000)
NIGHTLY_CHAIN = (*TEST_CHAIN, 1199, 3000, 10_000, 50_000)


def _wrapped(draw: st.DrawFn, wrappers: tuple[tuple[str, str], ...], depths: tuple[int, ...], inner: str,
             segments: int) -> str:
    """`inner` inside 1..`segments` runs of wrappers, each applied a drawn number of times."""
    prefix: list[str] = []
    suffix: list[str] = []
    for _ in range(draw(st.integers(1, segments))):
        pre, post = draw(st.sampled_from(wrappers))
        n = draw(st.sampled_from(depths) | st.integers(0, 30))
        prefix.append(pre * n)
        suffix.append(post * n)
    return "".join(reversed(prefix)) + inner + "".join(suffix)


def _chain(draw: st.DrawFn, operators: tuple[str, ...], terms: tuple[str, ...], lengths: tuple[int, ...]) -> str:
    n = draw(st.sampled_from(lengths))
    ops = draw(st.lists(st.sampled_from(operators), min_size=1, max_size=3))
    atoms = draw(st.lists(st.sampled_from(terms), min_size=1, max_size=3))
    return "".join(f"{atoms[i % len(atoms)]} {ops[i % len(ops)]} " for i in range(n)) + atoms[0]


@st.composite
def python_deep(draw: st.DrawFn, nightly: bool = False) -> bytes:
    depths = NIGHTLY_DEPTHS if nightly else TEST_DEPTHS
    chains = NIGHTLY_CHAIN if nightly else TEST_CHAIN
    kind = draw(st.sampled_from(["expr", "chain", "blocks", "elif", "concat", "dotted", "mixed"]))
    if kind == "expr":
        body = _wrapped(draw, PY_WRAPPERS, depths, draw(st.sampled_from(["a", "1", "x.y", "'s'"])), 3)
    elif kind == "chain":
        body = _chain(draw, PY_OPERATORS, PY_TERMS, chains)
    elif kind == "mixed":
        body = _wrapped(draw, PY_WRAPPERS, depths, _chain(draw, PY_OPERATORS, PY_TERMS, chains), 2)
    elif kind == "blocks":
        n = draw(st.sampled_from((1, 10, 50, 98, 99, 100, 101, 120)))
        heads = draw(st.lists(st.sampled_from(PY_BLOCKS), min_size=1, max_size=4))
        lines = [" " * i + heads[i % len(heads)] + "\n" for i in range(n)]
        return ("".join(lines) + " " * n + draw(st.sampled_from(["pass", "return a", "x = a"])) + "\n").encode()
    elif kind == "elif":
        n = draw(st.sampled_from(chains))
        return ("def f(a, b):\n    if a:\n        pass\n" + "    elif a == 1:\n        b = a\n" * n
                + "    else:\n        return b\n").encode()
    elif kind == "concat":
        n = draw(st.sampled_from(chains))
        return ("x = (\n" + '    "ab"\n' * n + ")\n").encode()
    else:  # dotted names: flat in tree-sitter's tree, nested in libcst's
        n = draw(st.sampled_from(chains))
        return ("import " + ".".join(["m"] * n) + "\n\n\ndef f(a):\n    return a\n").encode()
    place = draw(st.sampled_from(["def", "async", "module", "default", "decorator"]))
    if place == "def":
        return f"def f(a, b):\n    return {body}\n".encode()
    if place == "async":
        return f"async def f(a, b):\n    x = {body}\n    return x\n".encode()
    if place == "default":
        return f"def f(a, b={body}):\n    return a\n".encode()
    if place == "decorator":
        return f"@{body}\ndef f(a):\n    return a\n".encode()
    return f"x = {body}\n".encode()


def _base(draw: st.DrawFn) -> str:
    return draw(st.sampled_from([
        GOOD_PY,
        "def greet(name=\"café\"):\n    # naïve\n    return name\n",
        "class K:\n    def m(self, v: int):\n        return v\n\n\nx: int = 1\ny = 'é'\n",
    ]))


ENCODINGS = ("latin1-cookie", "cp1252-no-cookie", "bom", "bom-latin1-cookie", "utf16", "utf16-be", "invalid-utf8",
             "nul", "crlf", "cr", "mixed-newlines", "unknown-cookie", "cookie-line3", "no-final-newline",
             "formfeed", "tabs", "backslash-eof", "zero-width", "lone-surrogate", "only-comment")


def encode_variant(text: str, how: str, at: int) -> bytes:
    """`text` (a Python or TypeScript source) in an odd encoding or layout; `at` picks a position."""
    pos = at % (len(text) + 1)
    if how == "latin1-cookie":
        return ("# -*- coding: latin-1 -*-\n" + text + "# \xe9\xe8\n").encode("latin-1", "replace")
    if how == "cp1252-no-cookie":
        return (text + "# \u201cquoted\u201d\n").encode("cp1252", "replace")
    if how == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    if how == "bom-latin1-cookie":
        return b"\xef\xbb\xbf# coding: latin-1\n" + text.encode()
    if how == "utf16":
        return text.encode("utf-16")
    if how == "utf16-be":
        return b"\xfe\xff" + text.encode("utf-16-be")
    if how == "invalid-utf8":
        return text[:pos].encode() + b"\xff\xc3(" + text[pos:].encode()
    if how == "nul":
        return text[:pos].encode() + b"\x00" + text[pos:].encode()
    if how == "crlf":
        return text.replace("\n", "\r\n").encode()
    if how == "cr":
        return text.replace("\n", "\r").encode()
    if how == "mixed-newlines":
        return text.replace("\n", "\r\n", 2).replace("\n", "\r", 1).encode()
    if how == "unknown-cookie":
        return ("# -*- coding: klingon -*-\n" + text).encode()
    if how == "cookie-line3":
        return ("\n\n# coding: latin-1\n" + text).encode()
    if how == "no-final-newline":
        return text.rstrip("\n").encode()
    if how == "formfeed":
        return text.replace("\n", "\n\x0c", 3).encode()
    if how == "tabs":
        return text.replace("    ", "\t").encode()
    if how == "backslash-eof":
        return (text + "x = 1 + \\").encode()
    if how == "zero-width":
        return (text[:pos] + "\u200b\ufeff" + text[pos:]).encode()
    if how == "lone-surrogate":
        return text[:pos].encode() + b"\xed\xa0\x80" + text[pos:].encode()
    return b"# only a comment"


@st.composite
def python_encoded(draw: st.DrawFn) -> bytes:
    return encode_variant(_base(draw), draw(st.sampled_from(ENCODINGS)), draw(st.integers(0, 10_000)))


@st.composite
def soup(draw: st.DrawFn, tokens: tuple[str, ...], nightly: bool = False) -> bytes:
    words = draw(st.lists(st.sampled_from(tokens), max_size=400 if nightly else 120))
    sep = draw(st.sampled_from([" ", "", "\n"]))
    return sep.join(words).encode("utf-8", "surrogatepass")


@st.composite
def typescript_deep(draw: st.DrawFn, nightly: bool = False) -> bytes:
    depths = NIGHTLY_DEPTHS if nightly else TEST_DEPTHS
    chains = NIGHTLY_CHAIN if nightly else TEST_CHAIN
    kind = draw(st.sampled_from(["expr", "chain", "type", "blocks", "mixed"]))
    if kind == "type":
        t = _wrapped(draw, TS_TYPE_WRAPPERS, depths, "number", 2)
        return f"export function f(a: {t}, b) {{\n  let x: {t} = a;\n  return x;\n}}\n".encode()
    if kind == "blocks":
        n = draw(st.sampled_from(depths))
        heads = draw(st.lists(st.sampled_from(TS_BLOCKS), min_size=1, max_size=3))
        opened = [heads[i % len(heads)] for i in range(n)]
        closes = "".join("}" * (h.count("{") - h.count("}")) + "\n" for h in reversed(opened))
        return ("function outer(a, b) {\n" + "\n".join(opened) + "\nreturn a;\n" + closes + "}\n").encode()
    if kind == "expr":
        body = _wrapped(draw, TS_WRAPPERS, depths, draw(st.sampled_from(["a", "1", "x.y", "'s'"])), 3)
    elif kind == "chain":
        body = _chain(draw, TS_OPERATORS, ("a", "1", "x.y", "f(a)", "a[0]", "'s'", "(a)"), chains)
    else:
        body = _wrapped(draw, TS_WRAPPERS, depths, _chain(draw, TS_OPERATORS, ("a", "b.c", "1"), chains), 2)
    if draw(st.booleans()):
        return f"export async function f(a, b: number) {{\n  const x = {body};\n  return x;\n}}\n".encode()
    return f"let x = {body};\nexport const y = (a) => {body};\n".encode()


@st.composite
def typescript_encoded(draw: st.DrawFn) -> bytes:
    how = draw(st.sampled_from([e for e in ENCODINGS if "cookie" not in e and e != "tabs"]))
    return encode_variant(GOOD_TS, how, draw(st.integers(0, 10_000)))


def hostile_files(nightly: bool = False) -> st.SearchStrategy[dict[str, bytes]]:
    python = st.one_of(python_deep(nightly), python_encoded(), soup(PY_TOKENS, nightly)).map(lambda b: ("py", b))
    typescript = st.one_of(typescript_deep(nightly), typescript_encoded(), soup(TS_TOKENS, nightly)).map(
        lambda b: (draw_suffix(b), b))
    return st.lists(st.one_of(python, typescript), min_size=1, max_size=2).map(
        lambda items: {f"proj/h{i}.{suffix}": data for i, (suffix, data) in enumerate(items)})


def draw_suffix(data: bytes) -> str:
    return ("ts", "tsx", "mts")[len(data) % 3]


# ---------------------------------------------------------------------------------------------- predictions

@st.composite
def predictions_file(draw: st.DrawFn, files: dict[str, bytes]) -> bytes:
    """What `apply` reads: a well-formed payload (right, stale or missing hashes) with odd predictions, or a
    malformed one."""
    kind = draw(st.sampled_from(["good", "good", "stale", "missing-hash", "garbage", "deep-json", "wrong-shape",
                                 "big-numbers"]))
    if kind == "garbage":
        return draw(st.binary(max_size=200))
    if kind == "deep-json":
        n = draw(st.sampled_from([100, 1_000, 100_000]))
        return ("[" * n + "]" * n).encode() if draw(st.booleans()) else (
            '{"version": 1, "files": {}, "predictions": [' + '{"a": ' * n + "1" + "}" * n + "]}").encode()
    if kind == "wrong-shape":
        return json.dumps(draw(st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                st.sampled_from(["version", "files", "predictions", "id", "file", "type", "sha256"]), inner,
                max_size=3), max_leaves=12))).encode()
    ids = [*GOOD_SLOTS, *(f"{rel}::{k}::{s}::{n}" for rel in files
                          for k, s, n in (("variable", "<module>", "x"), ("param", "f", "a"), ("return", "f", "return"),
                                          ("param", "f", "b"), ("variable", "f", "x"), ("variable", "<module>", "y")))]
    ids += ["proj/good.py::nonsense", "other.py::param::f::a", "proj/good.py::param::good::count::extra", ""]
    depth = draw(st.sampled_from([1, 50, 500, 5000]))
    odd = ["int", "str", "list[int]", "?", "dict[str, ?]", "Frobnicator", "int | None", "Callable[[int], str]",
           "Literal['é']", "list[" * depth + "int" + "]" * depth, "(((", "", "int |", "\x00", "a" * 500, "number",
           "Array[string]", "Promise[void]"]
    types = st.sampled_from(["int", "str", "number", "string"]) | st.sampled_from(odd)
    preds = []
    for _ in range(draw(st.integers(1, 12))):
        pid = draw(st.sampled_from(GOOD_SLOTS) | st.sampled_from(ids))
        rec: dict[str, object] = {"id": pid, "file": pid.split("::")[0], "type": draw(types | st.none())}
        if kind == "big-numbers":
            rec["confidence"] = draw(st.sampled_from([10 ** 400, -1, 1e308, True, "x"]))
            rec["line"] = draw(st.sampled_from([10 ** 30, -5, 0]))
        preds.append(rec)
    hashes: dict[str, object] = {}
    for rel, data in files.items():
        digest = hashlib.sha256(data).hexdigest()
        if kind == "stale":
            digest = hashlib.sha256(data + b"#").hexdigest()
        if kind != "missing-hash" or draw(st.booleans()):
            hashes[rel] = {"sha256": digest}
    return json.dumps({"version": 1, "model": "m", "files": hashes, "predictions": preds}).encode()


# ---------------------------------------------------------------------------------------------- the cases

COMMANDS = ("strip", "annotate", "predict", "check", "slices", "apply")


@dataclass
class Case:
    command: str
    files: dict[str, bytes]  # relative to the run's directory
    args: tuple[str, ...] = ()
    predictions: bytes | None = None  # for `apply`

    def __repr__(self) -> str:  # (hypothesis prints failing cases: the files can be megabytes)
        return f"Case({self.describe()})"

    def describe(self) -> str:
        sizes = ", ".join(f"{rel} ({len(data):,} bytes: {data[:80]!r}...)" for rel, data in self.files.items()
                          if "good" not in rel and "notes" not in rel)
        preds = f"; predictions ({len(self.predictions):,} bytes: {self.predictions[:80]!r}...)" \
            if self.predictions is not None else ""
        return f"typetool {self.command} {' '.join(self.args)} with {sizes}{preds}"


@st.composite
def cases(draw: st.DrawFn, commands: tuple[str, ...] = COMMANDS, nightly: bool = False,
          python_only: bool = False) -> Case:
    command = draw(st.sampled_from(commands))
    files = {"proj/good.py": GOOD_PY.encode(), "proj/good.ts": GOOD_TS.encode(), "proj/notes.js": b"let a = 1;\n",
             **draw(hostile_files(nightly))}
    if python_only:
        files = {rel: data for rel, data in files.items() if not rel.endswith((".ts", ".tsx", ".mts"))}
    if command == "strip":
        return Case(command, files, draw(st.sampled_from([(), (), ("--diff",), ("--check",), ("-j", "2")])))
    if command == "apply":
        return Case(command, files, draw(st.sampled_from([(), ("--diff",), ("--overwrite",)])),
                    draw(predictions_file(files)))
    if command == "annotate":
        return Case(command, files, ("--sites", "params,returns,variables,attributes",
                                     *draw(st.sampled_from([(), ("--diff",), ("--check",)]))))
    if command == "slices":
        return Case(command, files, ("--format", "json"))
    return Case(command, files, ("--format", "json"))


# ---------------------------------------------------------------------------------------------- the oracles

class _DropAnnotations(ast.NodeTransformer):
    """A module as it runs, less what annotating may add or stripping may remove."""

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.returns = None
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
        if node.value is None:
            return None
        self.generic_visit(node)
        return ast.Assign(targets=[node.target], value=node.value, type_comment=None, lineno=node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST | None:
        return None if node.module in ("typing", "collections.abc", "__future__") else node

    def visit_If(self, node: ast.If) -> ast.AST | None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            return None
        self.generic_visit(node)
        return node

    def visit_Pass(self, node: ast.Pass) -> None:
        return None


def _deep_stack(fn: Callable[[], object]) -> object:
    """`fn()` in a thread with a large stack and recursion limit: the oracle walks inputs nested deeply too."""
    box: list[object] = []

    def target() -> None:
        try:
            box.append(fn())
        except BaseException as exc:  # noqa: BLE001
            box.append(exc)

    old_size = threading.stack_size(512 * 1024 * 1024)
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 100_000))
    try:
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(old_limit)
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def python_shape(data: bytes) -> str | None:
    """`ast.dump` of the module less annotations (see `_DropAnnotations`), decoded as Python decodes it; None
    when Python cannot parse it."""
    def shape() -> str | None:
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        return ast.dump(_DropAnnotations().visit(tree))

    result = _deep_stack(shape)
    return result if isinstance(result, str) else None


def typescript_tokens(data: bytes, rel: str) -> list[str] | None:
    """The leaves outside type annotations (parentheses and `!` aside); None when the file has syntax errors."""
    from typetool.ts.parse import parse_bytes
    from typetool.ts.writeback import ANNOTATION_NODES

    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    root = parse_bytes(body, rel).root_node
    if root.has_error:
        return None
    out: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in ANNOTATION_NODES:
            continue
        if node.child_count == 0 and node.type not in ("(", ")", "!"):
            out.append((node.text or b"").decode("utf-8", "replace"))
        stack.extend(reversed(node.children))
    return out


@dataclass
class Outcome:
    command: str
    returncode: int  # negative: the child died of that signal (benchmarks/fuzz.py); 124: timed out
    problems: list[str] = field(default_factory=list)  # oracle failures
    written: int = 0  # files whose bytes changed
    meaning_changed: int = 0


SUMMARY = re.compile(r"^(All done!|Oh no!) \d+ files? ", re.MULTILINE)


def check_outcome(case: Case, root: Path, returncode: int, stdout: str, stderr: str,
                  error: str | None = None) -> Outcome:
    """Apply the oracles to one finished run in `root` (the project as the command left it)."""
    out = Outcome(case.command, returncode)
    if error is not None:
        out.problems.append(f"exception escaped: {error}")
    if returncode == 123 or returncode < 0 or "internal error" in stderr or "Traceback" in stderr:
        out.problems.append(f"crash: exit code {returncode}: {stderr[-600:]}")
    if returncode == 124:
        out.problems.append("timed out")
    ok_codes = {"apply": (0, 1, 2)}.get(case.command, (0, 1))
    if returncode not in ok_codes and not out.problems:
        out.problems.append(f"unexpected exit code {returncode}: {stderr[-600:]}")
    if not out.problems:
        _check_output(case, returncode, stdout, stderr, out)
    for rel, before in case.files.items():
        path = root / rel
        try:
            after = path.read_bytes()
        except OSError as exc:
            out.problems.append(f"{rel}: unreadable after the run: {exc}")
            continue
        if after == before:
            continue
        out.written += 1
        if case.command not in ("strip", "annotate", "apply") or "--diff" in case.args or "--check" in case.args:
            out.problems.append(f"{rel}: written by `{case.command} {' '.join(case.args)}`")
        elif rel.endswith(".py"):
            old, new = python_shape(before), python_shape(after)
            if old is None or new is None or old != new:
                out.meaning_changed += 1
                out.problems.append(f"{rel}: written, and its meaning changed (or it no longer parses)")
        elif rel.endswith((".ts", ".tsx", ".mts")):
            old_tokens, new_tokens = typescript_tokens(before, rel), typescript_tokens(after, rel)
            if old_tokens is None or new_tokens is None or old_tokens != new_tokens:
                out.meaning_changed += 1
                out.problems.append(f"{rel}: written, and its tokens changed (or it no longer parses)")
        else:
            out.problems.append(f"{rel}: not a source typetool writes, but written")
    return out


def _check_output(case: Case, returncode: int, stdout: str, stderr: str, out: Outcome) -> None:
    command = case.command
    writes = "--check" not in case.args and "--diff" not in case.args
    if command in ("strip", "apply") and returncode != 2 and not SUMMARY.search(stderr):
        out.problems.append(f"no summary: {stderr[-600:]}")
    if command == "strip" and writes and "stripped proj/good.py" not in stderr:
        out.problems.append(f"the normal file was not stripped: {stderr[-600:]}")
    if command == "annotate" and "slots seen" not in stdout + stderr:
        out.problems.append(f"no summary: {stdout[-300:]} {stderr[-600:]}")
    if command in ("slices", "predict", "check"):
        try:
            data = json.loads(stdout)
        except ValueError:
            out.problems.append(f"output is not JSON: {stdout[:300]!r} {stderr[-300:]}")
            return
        if command == "slices":
            ids = {str(s.get("id")) for s in data["slices"]}
            missing = [s for s in GOOD_SLOTS if s not in ids and any(s.startswith(rel) for rel in case.files)]
            if missing:
                out.problems.append(f"the normal files' slots are missing: {missing}")


# ---------------------------------------------------------------------------------------------- running

@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def materialize(case: Case, root: Path) -> list[str]:
    """Write the case's files under `root`; the command line (without `typetool`)."""
    for rel, data in case.files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    if case.command == "apply":
        (root / "preds.json").write_bytes(case.predictions or b"")
        return ["apply", "preds.json", *case.args]
    return [case.command, "proj", *case.args]


def command_line(case: Case, root: Path, model: Path | None, ts_model: Path | None) -> list[str]:
    argv = materialize(case, root)
    if case.command in ("annotate", "predict", "check"):
        has_ts = any(rel.endswith((".ts", ".tsx", ".mts")) for rel in case.files)
        has_py = any(rel.endswith(".py") for rel in case.files)
        chosen = ts_model if has_ts and not has_py else model
        if chosen is not None:
            argv += ["--model", str(chosen)]
    return argv


def invoke(argv: list[str], root: Path) -> tuple[int, str, str, str | None]:
    """The CLI in-process (typer's CliRunner), in `root`: exit code, stdout, stderr, an escaped exception."""
    from typer.testing import CliRunner

    from typetool.cli import app

    with _cwd(root):
        result = CliRunner().invoke(app, argv)
    error = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        error = f"{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.stdout, result.stderr, error


def run_case(case: Case, model: Path | None = None, ts_model: Path | None = None) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="typetool-fuzz-") as tmp:
        root = Path(tmp)
        argv = command_line(case, root, model, ts_model)
        code, stdout, stderr, error = invoke(argv, root)
        return check_outcome(case, root, code, stdout, stderr, error)


# ---------------------------------------------------------------------------------------------- the tests

FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture, HealthCheck.large_base_example])


def _assert_ok(case: Case, outcome: Outcome) -> None:
    assert not outcome.problems, f"{case.describe()}\n" + "\n".join(outcome.problems)


@settings(FUZZ, max_examples=45)
@given(case=cases(("strip", "slices", "apply")))
def test_fuzz_commands_without_a_model(case: Case) -> None:
    _assert_ok(case, run_case(case))


@pytest.fixture(scope="module")
def uncalibrated(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model without calibration.json: every prediction is written as a full type (the most writes)."""
    import shutil

    copy = tmp_path_factory.mktemp("fuzz_model") / "model"
    shutil.copytree(tiny_model, copy)
    (copy / "calibration.json").unlink()
    return copy


@settings(FUZZ, max_examples=14)
@given(case=cases(("annotate", "predict", "check"), python_only=True))
def test_fuzz_commands_with_a_model(case: Case, uncalibrated: Path) -> None:
    _assert_ok(case, run_case(case, model=uncalibrated))


@settings(FUZZ, max_examples=4)
@given(case=cases(("annotate", "predict")))
def test_fuzz_typescript_with_a_model(case: Case, uncalibrated: Path, tiny_ts_model: Path) -> None:
    case.files.pop("proj/good.py", None)
    case.files = {rel: data for rel, data in case.files.items() if not rel.endswith(".py")}
    _assert_ok(case, run_case(case, model=uncalibrated, ts_model=tiny_ts_model))

"""Property: random predictions applied to real files change nothing but annotations and imports.

Hypothesis draws a real file (small modules of installed packages, the golden inputs, the corner-case module),
a random set of its slots, a random type for each (builtins, typing and standard-library names, names of the
file, dotted and unknown names, holes, nested generics, unions, Callables, Literals) and random options. The
oracle is independent of the writer's own proof: the result compiles; its syntax tree with every annotation,
import, `if TYPE_CHECKING:` block and `pass` removed equals the input's; no import of the input is lost; the
comments are the same; each written slot now carries the requested type (up to `typeexpr.normalize`); and a
second application changes nothing.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from typetool.python.writeback import _parse_module, _Walker, apply_types, locate_slots
from typetool.typeexpr import HOLE, TypeNode, normalize, parse_type, to_str
from typetool.writeback import SlotStatus, WriteOptions

SITE = Path(pytest.__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"


@cache
def corpus() -> tuple[tuple[str, str], ...]:
    files: list[Path] = []
    for pkg in ("click", "rich", "httpx2", "markdown_it", "typer", "jinja2", "attr", "_pytest"):
        small = [p for p in sorted((SITE / pkg).rglob("*.py")) if 1_500 <= p.stat().st_size <= 9_000]
        files += small[:6]
    files += sorted((DATA / "writeback").glob("*/input.py")) + [DATA / "writeback_locator" / "tricky.py"]
    return tuple((p.read_text(encoding="utf-8"), p.as_posix().replace("/", "_")) for p in files)


@cache
def slots_of(index: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    text, rel = corpus()[index]
    walker = _Walker(_parse_module(text), rel).run()
    names = tuple(sorted(n for n in walker.root.names if n.isidentifier() and not n.startswith("__")))
    return tuple(walker.slots), names


LEAVES = ["int", "str", "float", "bool", "bytes", "None", "object", "Any", "?", "?", "Path", "Decimal",
          "Frobnicator", "Widget", "Gadget", "pkg.models.Thing", "collections.OrderedDict", "typing.Any",
          "os.PathLike", "Self", "list", "dict", "type"]


def types(names: tuple[str, ...]) -> st.SearchStrategy[TypeNode]:
    leaves = st.sampled_from(LEAVES + list(names)).map(lambda n: HOLE if n == "?" else TypeNode(n))

    def extend(children: st.SearchStrategy[TypeNode]) -> st.SearchStrategy[TypeNode]:
        return st.one_of(
            st.tuples(st.sampled_from(["list", "set", "frozenset", "type", "Iterator", "Sequence", "Optional",
                                       "collections.abc.Iterable"]), children)
            .map(lambda x: TypeNode(x[0], (x[1],))),
            st.tuples(children, children).map(lambda x: TypeNode("dict", x)),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: TypeNode("|", tuple(xs))),
            st.tuples(st.lists(children, max_size=2), children)
            .map(lambda x: TypeNode("Callable", (TypeNode("[]", tuple(x[0])), x[1]))),
            st.lists(children, min_size=1, max_size=3).map(lambda xs: TypeNode("tuple", tuple(xs))),
            st.sampled_from([TypeNode("Literal", (TypeNode("'a'"), TypeNode("1"))),
                             TypeNode("Literal", (TypeNode("'x\"y'"), HOLE))]),
        )

    return st.recursive(leaves, extend, max_leaves=5)


def skeleton(text: str) -> str:
    """The syntax tree with annotations, imports, TYPE_CHECKING blocks and `pass` removed."""

    class Strip(ast.NodeTransformer):
        def visit_arg(self, node: ast.arg) -> ast.arg:
            node.annotation = None
            return node

        def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
            node.returns = None
            return self.generic_visit(node)

        def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
            node.returns = None
            return self.generic_visit(node)

        def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
            if node.value is None:
                return None
            return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)

        def visit_Import(self, node: ast.Import) -> None:
            return None

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            return None

        def visit_Pass(self, node: ast.Pass) -> None:
            return None

        def visit_If(self, node: ast.If) -> ast.AST | None:
            test = node.test
            if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
                    (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
                return None
            return self.generic_visit(node)

    return ast.dump(Strip().visit(ast.parse(text)))


def imports(text: str) -> Counter[tuple[str | None, str, str | None]]:
    out: Counter[tuple[str | None, str, str | None]] = Counter()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            out.update((None, a.name, a.asname) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.update((node.module, a.name, a.asname) for a in node.names)
    return out


def comments(text: str) -> list[str]:
    return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]


def _unquote(annotation: str) -> TypeNode:
    return normalize(parse_type(annotation))


# No shrinking: the drawn file, slots, types and options are printed, and shrinking real files takes minutes.
@settings(max_examples=60, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_random_predictions_change_only_annotations_and_imports(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(corpus()) - 1), label="file")
    text, rel = corpus()[index]
    slot_ids, names = slots_of(index)
    if not slot_ids:
        return
    chosen = data.draw(st.lists(st.sampled_from(slot_ids), min_size=1, max_size=12, unique=True), label="slots")
    predicted = {sid: data.draw(types(names), label=sid) for sid in chosen}
    options = WriteOptions(target_version=data.draw(st.sampled_from([(3, 8), (3, 9), (3, 10), (3, 12)])),
                           overwrite=data.draw(st.booleans()), unsafe_fixes=data.draw(st.booleans()))

    def index_of(name: str) -> list[str]:
        return {"Widget": ["pkg.widgets"], "Gadget": ["pkg.a", "pkg.b"]}.get(name, [])

    rewrite = apply_types(text, rel, predicted, options, module_name="pkg.this", index=index_of)
    new = rewrite.new
    compile(new, rel, "exec", dont_inherit=True)  # parses and passes Python's scope checks
    assert skeleton(new) == skeleton(text)
    assert not imports(text) - imports(new), "an import was removed or changed"
    assert comments(new) == comments(text)
    after = locate_slots(new, rel)
    for outcome in rewrite.slots:
        if outcome.status != SlotStatus.WRITTEN:
            continue
        annotation = after[outcome.slot_id].annotation
        assert annotation is not None
        requested = parse_type(to_str(predicted[outcome.slot_id], options.style, hole="Any"))
        assert _unquote(annotation) == normalize(requested), (outcome.slot_id, annotation)
    again = apply_types(new, rel, predicted, options, module_name="pkg.this", index=index_of)
    assert again.new == new

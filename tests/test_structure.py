"""The package's shape, read from its imports (every `import` in every module, those inside functions included;
`if TYPE_CHECKING:` blocks excluded, as they never run): one core, two language wings.

- No import loop anywhere in the package.
- `typetool/python/` and `typetool/ts/` never import each other, directly or through a core module that does.
- The core (every module outside the wings) imports no wing: it reaches a language only through
  `typetool.languages`.
- A wing imports no private name (`_x`) of a module outside it.
- The language registry names its wings as strings (`typetool.languages.WINGS`), and each is a `Language`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "typetool"
WINGS = {"typetool.python": "python", "typetool.ts": "ts"}

def _modules() -> dict[str, Path]:
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = f.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


MODULES = _modules()


def _statements(body: list[ast.stmt]) -> Iterator[ast.AST]:
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _statements(node.orelse)
            continue
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from _statements([child])
            elif isinstance(child, ast.excepthandler):
                yield from _statements(child.body)


def imports_of(module: str) -> set[tuple[str, str | None]]:
    """(imported module, name) pairs of `module`, name None for `import x`."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    out: set[tuple[str, str | None]] = set()
    for node in _statements(tree.body):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add((full, None) if full in MODULES else (node.module, alias.name))
        elif isinstance(node, ast.Import):
            out.update((alias.name, None) for alias in node.names)
    return {(m, n) for m, n in out if m in MODULES and m != "typetool"}


GRAPH = nx.DiGraph()
GRAPH.add_nodes_from(MODULES)
GRAPH.add_edges_from((m, dep) for m in MODULES for dep, _ in imports_of(m))


def wing_of(module: str) -> str | None:
    return next((w for prefix, w in WINGS.items() if module == prefix or module.startswith(prefix + ".")), None)


def test_the_reader_sees_the_package() -> None:
    """The graph is not empty and finds imports written inside functions (the test could not fail otherwise)."""
    assert {"typetool.pipeline", "typetool.python.writeback", "typetool.ts.writeback"} <= set(MODULES)
    assert any(m == "typetool.ts.writeback" for m, _ in imports_of("typetool.ts.language"))  # inside a method


def test_no_import_loop() -> None:
    loops = [sorted(c) for c in nx.strongly_connected_components(GRAPH) if len(c) > 1]
    assert not loops, loops


@pytest.mark.parametrize("wing", sorted(WINGS.values()))
def test_a_wing_never_reaches_the_other(wing: str) -> None:
    mine = [m for m in MODULES if wing_of(m) == wing]
    crossings = sorted((m, d) for m in mine for d in nx.descendants(GRAPH, m)
                       if wing_of(d) not in (None, wing))
    assert not crossings, crossings


def test_the_core_imports_no_wing() -> None:
    reaching = {m: sorted(d for d, _ in imports_of(m) if wing_of(d)) for m in MODULES if wing_of(m) is None}
    assert not {m: deps for m, deps in reaching.items() if deps}, f"core modules importing a wing: {reaching}"


def test_the_registry_and_the_write_path_are_core() -> None:
    core = ["typetool.languages", "typetool.writeback", "typetool.outcomes", "typetool.predfile", "typetool.fileio",
            "typetool.treesitter", "typetool.slots", "typetool.slices", "typetool.typeexpr", "typetool.predsets",
            "typetool.calibration", "typetool.sources", "typetool.diagnostics"]
    for module in core:
        assert wing_of(module) is None
        reached = sorted(d for d in nx.descendants(GRAPH, module) if wing_of(d))
        assert not reached, (module, reached)


def test_wings_use_no_private_name_of_the_core() -> None:
    private = sorted((m, f"{d}.{n}") for m in MODULES if wing_of(m) for d, n in imports_of(m)
                     if n is not None and n.startswith("_") and wing_of(d) != wing_of(m))
    assert not private, private


def test_every_registered_wing_is_a_language() -> None:
    from typetool.languages import WINGS as REGISTERED
    from typetool.languages import language_claiming, language_of, languages

    assert all(path in MODULES for path in REGISTERED)
    keys = [lang.key for lang in languages()]
    assert keys == ["py", "ts"]
    assert language_of("a/b.py").key == "py" and language_of("a/b.tsx").key == "ts"  # type: ignore[union-attr]
    assert language_of("a/b.d.ts") is None and language_claiming("a/b.d.ts").key == "ts"  # type: ignore[union-attr]
    assert language_of("a/b.js") is None and language_claiming("a/b.rs") is None

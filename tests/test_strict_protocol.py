"""The strict protocol (issue 19): stripped code must look like code that was never annotated, so the imports that
only annotations used leave the names in scope; every other import stays. One case per language with the ways
a name can be imported and used: `TYPE_CHECKING` blocks, aliases, re-exports in `__init__.py`, `__all__`,
`import type`, `export { ... }`, `implements`."""

from __future__ import annotations

from pathlib import Path

from typetool.python.corpus import labelled_slices
from typetool.python.project import PythonProject
from typetool.sources import SourceFile, decode_source
from typetool.ts.corpus import ts_labelled_slices
from typetool.ts.project import TsProject

PY = {
    "pkg/__init__.py": (
        "from .nodes import Leaf, Node, Tree\n"
        "from .walk import walk\n"
        '__all__ = ["Leaf", "Node", "walk"]\n'  # re-exported by name: a use; Tree is not
        "def root(t: Tree) -> Leaf:\n"
        "    return t.first\n"),
    "pkg/nodes.py": (
        "class Node: ...\n"
        "class Leaf(Node): ...\n"
        "class Tree(Node): ...\n"
        "class Visitor: ...\n"),
    "pkg/opts.py": "class Options: ...\n",
    "pkg/walk.py": (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from collections import OrderedDict as Ordered\n"  # an alias used in code
        "from .nodes import Leaf, Tree as Forest, Visitor\n"  # Leaf in code; Forest (an alias) and Visitor only in annotations
        "if TYPE_CHECKING:\n"
        "    from .nodes import Node\n"  # only in annotations
        "    from .opts import Options\n"  # named in __all__: a use
        '__all__ = ["walk", "Options"]\n'
        "def walk(n: Node, v: Visitor, tree: Forest, seen: Ordered[str, int]) -> Ordered[str, int]:\n"
        "    if isinstance(n, Leaf):\n"
        "        return Ordered()\n"
        "    return seen\n"),
}

TS = {
    "src/nodes.ts": (
        "export class Node {}\n"
        "export class Leaf extends Node {}\n"
        "export interface Visitor { visit(n: Node): void }\n"
        "export interface Shape { size: number }\n"
        "export type Kind = 'a' | 'b';\n"),
    "src/walk.ts": (
        "import type { Visitor } from './nodes';\n"  # only in annotations
        "import { Leaf, Node as N, Shape } from './nodes';\n"  # Leaf in code, N only as a type, Shape via implements
        "import { Kind } from './nodes';\n"  # re-exported: a use
        "export { Kind };\n"
        "export class Box implements Shape { size = 1 }\n"
        "export function walk(node: N, v: Visitor, seen: Map<string, N>): Leaf | undefined {\n"
        "  if (node instanceof Leaf) { return node; }\n"
        "  return undefined;\n"
        "}\n"),
}


def _sources(files: dict[str, str], root: Path) -> list[SourceFile]:
    out = []
    for rel, text in files.items():
        src = decode_source(text.encode(), root / rel, rel)
        assert isinstance(src, SourceFile)
        out.append(src)
    return out


def _names(items: list, suffix: str) -> set[str]:  # type: ignore[type-arg]
    return set(next(i for i in items if i.site.slot.id.endswith(suffix)).slice.scope_names)


def test_python_keeps_exactly_the_imports_code_uses(tmp_path: Path) -> None:
    imported = {"Leaf", "Forest", "Visitor", "Node", "Options", "Ordered"}
    lenient, _, _ = labelled_slices(PythonProject.from_sources(_sources(PY, tmp_path)))
    strict, _, _ = labelled_slices(PythonProject.from_sources(_sources(PY, tmp_path)), code_imports_only=True)
    assert _names(lenient, "::param::walk::n") & imported == imported
    assert _names(strict, "::param::walk::n") & imported == {"Leaf", "Ordered", "Options"}
    # (a parameter named like a project class, `node: Node`, would bring the class back: see `Slicer`)
    # __init__.py: Leaf and Node are re-exported through __all__; Tree is imported only for an annotation
    assert _names(strict, "pkg/__init__.py::param::root::t") & {"Leaf", "Node", "Tree"} == {"Leaf", "Node"}
    assert _names(lenient, "pkg/__init__.py::param::root::t") & {"Leaf", "Node", "Tree"} == {"Leaf", "Node", "Tree"}


def test_typescript_keeps_exactly_the_imports_code_uses(tmp_path: Path) -> None:
    imported = {"Visitor", "Leaf", "N", "Shape", "Kind"}
    lenient, _, _ = ts_labelled_slices(TsProject.from_sources(_sources(TS, tmp_path)))
    strict, _, _ = ts_labelled_slices(TsProject.from_sources(_sources(TS, tmp_path)), code_imports_only=True)
    assert _names(lenient, "::param::walk::node") & imported == imported
    assert _names(strict, "::param::walk::node") & imported == {"Leaf", "Shape", "Kind"}

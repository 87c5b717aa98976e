"""Strip-and-recover must not read its labels: the slice of an annotated slot, as the corpus and `evaluate`
build it (`labelled_slices`), is the slice the same code gets with its annotations removed by hand.

A leak here inflates every measured figure: the names in scope were once ordered by the function's text,
annotations included, so the gold class sat second in the list for most parameters of the dev-eval packages.
"""

from __future__ import annotations

from pathlib import Path

from typetool.python.project import PythonProject
from typetool.python.corpus import labelled_slices
from typetool.python.slices import Slicer
from typetool.python.slots import extract_slots
from typetool.slices import render_slice
from typetool.sources import SourceFile, decode_source

ANNOTATED = '''\
from __future__ import annotations

from .nodes import Leaf, Node, Tree, Visitor
from .options import Options


class Walker:
    def __init__(self, visitor: Visitor, options: Options | None = None) -> None:
        self.visitor = visitor
        self.options = options or Options()
        self.seen: list[Node] = []

    def walk(self, node: Node, depth: int = 0) -> Tree:
        if isinstance(node, Leaf):
            return Tree(node)
        inner: Tree | None = None
        for child in node.children:
            inner = self.walk(child, depth + 1)
        return inner or Tree(node)


def count(tree: Tree, kinds: set[str]) -> int:
    return sum(1 for leaf in tree.leaves() if leaf.kind in kinds)
'''

STRIPPED = '''\
from __future__ import annotations

from .nodes import Leaf, Node, Tree, Visitor
from .options import Options


class Walker:
    def __init__(self, visitor, options = None):
        self.visitor = visitor
        self.options = options or Options()
        self.seen = []

    def walk(self, node, depth = 0):
        if isinstance(node, Leaf):
            return Tree(node)
        inner = None
        for child in node.children:
            inner = self.walk(child, depth + 1)
        return inner or Tree(node)


def count(tree, kinds):
    return sum(1 for leaf in tree.leaves() if leaf.kind in kinds)
'''


# a second module: classes the first one imports, one it names only in an annotation (`Options` above is
# imported; `ParserConfig` is not, and `parse` below names it only in an annotation)
NODES = """\
class Leaf: ...
class Node: ...
class Tree: ...
class Visitor: ...
class ParserConfig: ...
"""

EXTRA_ANNOTATED = """

def parse(text: str, settings: ParserConfig) -> Tree:
    return Tree(text)
"""

EXTRA_STRIPPED = """

def parse(text, settings):
    return Tree(text)
"""


def _project(text: str) -> PythonProject:
    sources = []
    for rel, body in (("pkg/walk.py", text + (EXTRA_ANNOTATED if text is ANNOTATED else EXTRA_STRIPPED)),
                      ("pkg/nodes.py", NODES)):
        src = decode_source(body.encode("utf-8"), Path(rel), rel)
        assert isinstance(src, SourceFile)
        sources.append(src)
    return PythonProject.from_sources(sources)


def _normalize(rendered: str) -> str:
    # a default is shown as written; the stripped copy spells `options=None` as `options = None`
    return rendered.replace(" = ", "=")


def test_labelled_slices_equal_the_slices_of_the_stripped_code() -> None:
    items, _, annotated = labelled_slices(_project(ANNOTATED))
    assert annotated == len(items) >= 8
    plain = _project(STRIPPED)
    slicer = Slicer(plain)
    blind = {site.slot.id: render_slice(slicer.slice(site)) for site in extract_slots(plain.modules["pkg/walk.py"])}
    names = {site.slot.id: slicer.slice(site).scope_names for site in extract_slots(plain.modules["pkg/walk.py"])}
    for item in items:
        if not item.site.slot.file.endswith("walk.py"):
            continue
        assert item.site.slot.id in blind, item.site.slot.id
        assert _normalize(render_slice(item.slice)) == _normalize(blind[item.site.slot.id]), item.site.slot.id
        # every scope name, not only the rendered ones: decoding and the linker read them all
        assert item.slice.scope_names == names[item.site.slot.id], item.site.slot.id
    settings = next(i for i in items if i.site.slot.id.endswith("::param::parse::settings"))
    assert "ParserConfig" not in settings.slice.scope_names  # named only in an annotation


def test_names_used_as_values_rank_before_names_used_only_in_annotations() -> None:
    items, _, _ = labelled_slices(_project(ANNOTATED))
    walk_node = next(i for i in items if i.site.slot.id.endswith("::param::Walker.walk::node"))
    names = list(walk_node.slice.scope_names)
    # the enclosing class, then the classes `walk` uses in code (Leaf, Tree), then the module's others
    assert names[:3] == ["Walker", "Leaf", "Tree"], names
    assert names.index("Node") > names.index("Tree")


def test_code_imports_only_slices_as_if_annotation_imports_were_never_written() -> None:
    """The stricter protocol: imports used only by annotations (`Node`, `Visitor` here) leave the module's scope
    names, as if the code had never been annotated; imports used in code (`Leaf`, `Tree`, `Options`) stay. A
    project class a parameter is named like (`visitor`) still joins that function's names."""
    items, _, _ = labelled_slices(_project(ANNOTATED), code_imports_only=True)
    plain = _project(STRIPPED.replace("from .nodes import Leaf, Node, Tree, Visitor",
                                      "from .nodes import Leaf, Tree"))
    slicer = Slicer(plain)
    blind = {site.slot.id: render_slice(slicer.slice(site)) for site in extract_slots(plain.modules["pkg/walk.py"])}
    for item in items:
        if not item.site.slot.file.endswith("walk.py"):
            continue
        assert _normalize(render_slice(item.slice)) == _normalize(blind[item.site.slot.id]), item.site.slot.id
        if "::count::" in item.site.slot.id:  # no parameter of `count` is named like them
            assert not {"Node", "Visitor"} & set(item.slice.scope_names)
    init = next(i for i in items if i.site.slot.id.endswith("::param::Walker.__init__::visitor"))
    assert "Visitor" in init.slice.scope_names  # a project class the parameter is named like
    assert {"Leaf", "Tree", "Options", "Walker"} <= set(items[0].slice.scope_names)

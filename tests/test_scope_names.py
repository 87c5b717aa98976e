"""Scope names beyond the module: classes of other project modules that a function points to."""

from __future__ import annotations

from pathlib import Path

from typetool.python.project import PythonProject
from typetool.python.slices import MAX_LAST_WORD_HITS, Slicer
from typetool.python.slots import extract_slots
from typetool.sources import SourceFile, decode_source

NODES = '''\
class ClassDef: ...
class FunctionDef: ...
class Leaf: ...
class ParserConfig: ...
class CSTNode: ...
class MatcherNode: ...
class BaseNode: ...
class LeafNode: ...
class ExprNode: ...
class Unrelated: ...
'''

WALKER = '''\
import nodes as cst


class Walker:
    def visit_ClassDef(self, node):
        return node

    def make_leaf(self, value):
        return cst.Leaf(value)

    def parse(self, parser_config, node):
        return parser_config.run(node)
'''


def _scopes() -> dict[str, tuple[str, ...]]:
    sources = []
    for rel, text in (("nodes.py", NODES), ("walker.py", WALKER)):
        src = decode_source(text.encode("utf-8"), Path(rel), rel)
        assert isinstance(src, SourceFile)
        sources.append(src)
    project = PythonProject.from_sources(sources)
    slicer = Slicer(project)
    return {site.slot.id: slicer.slice(site).scope_names for site in extract_slots(project.modules["walker.py"])}


def test_project_classes_a_function_points_to_join_its_scope_names() -> None:
    scopes = _scopes()
    visit = scopes["walker.py::param::Walker.visit_ClassDef::node"]
    assert visit[0] == "Walker" and "ClassDef" in visit  # a segment of the function's name
    assert "FunctionDef" not in visit and "Unrelated" not in visit
    assert "Leaf" in scopes["walker.py::return::Walker.make_leaf::return"]  # named in code: cst.Leaf(...)
    parse = scopes["walker.py::param::Walker.parse::parser_config"]
    assert "ParserConfig" in parse  # a parameter named like the class
    # `node` ends five classes' names: more than MAX_LAST_WORD_HITS, so none of them is added for it
    assert MAX_LAST_WORD_HITS < 5 and not {"CSTNode", "MatcherNode", "BaseNode", "ExprNode"} & set(parse)


def test_module_level_slots_of_two_modules_get_their_own_scope_names() -> None:
    sources = []
    for rel, text in (("a.py", "class Alpha: ...\n\nx = Alpha()\n"), ("b.py", "class Beta: ...\n\ny = Beta()\n")):
        src = decode_source(text.encode("utf-8"), Path(rel), rel)
        assert isinstance(src, SourceFile)
        sources.append(src)
    project = PythonProject.from_sources(sources)
    slicer = Slicer(project)
    names = {site.slot.id: slicer.slice(site).scope_names
             for rel in ("a.py", "b.py") for site in extract_slots(project.modules[rel])}
    assert names["a.py::variable::<module>::x"] == ("Alpha",)
    assert names["b.py::variable::<module>::y"] == ("Beta",)

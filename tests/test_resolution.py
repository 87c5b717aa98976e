"""Call resolution across a project's files (`typetool.python.project`), one rule per test, on packages written to
tmp_path, and the CALLS / INHERITS / IMPORTS edges of the networkx graph."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

from typetool.python.project import PythonProject
from typetool.python.facts import CallInfo, ClassInfo, FunctionInfo


def write(root: Path, files: dict[str, str]) -> None:
    for rel, code in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code).lstrip("\n"), encoding="utf-8")


def load(root: Path, files: dict[str, str]) -> PythonProject:
    write(root, files)
    project = PythonProject.load([root / "pkg"] if (root / "pkg").is_dir() else [root], root=root)
    assert not project.diagnostics, [d.format() for d in project.diagnostics]
    return project


def call(project: PythonProject, relpath: str, source: str) -> CallInfo:
    """The call in `relpath` whose source text is exactly `source`."""
    m = project.modules[relpath]
    found = [c for c in m.calls.values() if c.node.text == source.encode()]
    assert len(found) == 1, f"{source!r}: {len(found)} calls in {relpath}"
    return found[0]


def targets(project: PythonProject, relpath: str, source: str) -> set[str]:
    """`module:qualname` of every target of the call."""
    return {f"{t.module.modname}:{t.qualname}" for t in call(project, relpath, source).targets}


BASE = {
    "pkg/__init__.py": """
        from .util import helper
        from .shapes import Shape as Shape
    """,
    "pkg/util.py": """
        def helper(x):
            return x

        def other():
            pass
    """,
    "pkg/shapes.py": """
        class Shape:
            def __init__(self, name):
                self.name = name

            def area(self):
                return 0

            def describe(self):
                return self.area()

            @classmethod
            def unit(cls):
                cls.validate()
                return cls("unit")

            @classmethod
            def validate(cls):
                pass
    """,
}


def test_plain_function_in_the_same_module(tmp_path: Path) -> None:
    p = load(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": """
        def f():
            return 1

        def g():
            return f()
    """})
    assert targets(p, "pkg/a.py", "f()") == {"pkg.a:f"}
    f = p.modules["pkg/a.py"].functions[0]
    assert [c.node.text for c in f.callers] == [b"f()"]


def test_from_import_and_alias(tmp_path: Path) -> None:
    p = load(tmp_path, {**BASE, "pkg/main.py": """
        from pkg.util import helper
        from pkg.util import other as g

        def run():
            helper(1)
            g()
    """})
    assert targets(p, "pkg/main.py", "helper(1)") == {"pkg.util:helper"}
    assert targets(p, "pkg/main.py", "g()") == {"pkg.util:other"}


def test_import_module_as_alias_and_dotted_import(tmp_path: Path) -> None:
    p = load(tmp_path, {**BASE, "pkg/main.py": """
        import pkg.util as u
        import pkg.util

        u.helper(1)
        pkg.util.other()
    """})
    assert targets(p, "pkg/main.py", "u.helper(1)") == {"pkg.util:helper"}
    assert targets(p, "pkg/main.py", "pkg.util.other()") == {"pkg.util:other"}


def test_relative_imports_level_one_and_two(tmp_path: Path) -> None:
    p = load(tmp_path, {**BASE, "pkg/sub/__init__.py": "", "pkg/sub/tools.py": """
        def tool():
            pass
    """, "pkg/sub/main.py": """
        from .tools import tool
        from . import tools
        from ..util import helper
        from .. import util

        tool()
        tools.tool()
        helper(2)
        util.other()
    """})
    rel = "pkg/sub/main.py"
    assert targets(p, rel, "tool()") == {"pkg.sub.tools:tool"}
    assert targets(p, rel, "tools.tool()") == {"pkg.sub.tools:tool"}
    assert targets(p, rel, "helper(2)") == {"pkg.util:helper"}
    assert targets(p, rel, "util.other()") == {"pkg.util:other"}


def test_reexport_through_package_init(tmp_path: Path) -> None:
    p = load(tmp_path, {**BASE, "pkg/main.py": """
        from pkg import helper, Shape
        import pkg

        helper(3)
        pkg.helper(4)
        Shape("s")
    """})
    assert targets(p, "pkg/main.py", "helper(3)") == {"pkg.util:helper"}
    assert targets(p, "pkg/main.py", "pkg.helper(4)") == {"pkg.util:helper"}
    assert targets(p, "pkg/main.py", 'Shape("s")') == {"pkg.shapes:Shape", "pkg.shapes:Shape.__init__"}


def test_wildcard_import_honours_all_and_underscores(tmp_path: Path) -> None:
    p = load(tmp_path, {"pkg/__init__.py": "", "pkg/lib.py": """
        __all__ = ["public"]
        __all__ += ["extra"]

        def public(): pass
        def extra(): pass
        def hidden(): pass
    """, "pkg/plain.py": """
        def visible(): pass
        def _private(): pass
    """, "pkg/main.py": """
        from .lib import *
        from .plain import *

        public()
        extra()
        hidden()
        visible()
        _private()
    """})
    rel = "pkg/main.py"
    assert targets(p, rel, "public()") == {"pkg.lib:public"}
    assert targets(p, rel, "extra()") == {"pkg.lib:extra"}
    assert targets(p, rel, "hidden()") == set()  # not in __all__
    assert targets(p, rel, "visible()") == {"pkg.plain:visible"}
    assert targets(p, rel, "_private()") == set()  # no __all__: underscore names are not exported


def test_class_call_resolves_to_class_and_init_including_inherited(tmp_path: Path) -> None:
    p = load(tmp_path, {**BASE, "pkg/circle.py": """
        from .shapes import Shape

        class Circle(Shape):
            def area(self):
                return 3

        class Plain:
            pass

        Circle("c")
        Plain()
    """})
    assert targets(p, "pkg/circle.py", 'Circle("c")') == {"pkg.circle:Circle", "pkg.shapes:Shape.__init__"}
    assert targets(p, "pkg/circle.py", "Plain()") == {"pkg.circle:Plain"}


def test_self_method_through_the_class_hierarchy_across_files(tmp_path: Path) -> None:
    p = load(tmp_path, {**BASE, "pkg/circle.py": """
        from pkg.shapes import Shape

        class Circle(Shape):
            def area(self):
                return 3

            def report(self):
                self.describe()
                return self.area()
    """})
    assert targets(p, "pkg/circle.py", "self.describe()") == {"pkg.shapes:Shape.describe"}
    assert targets(p, "pkg/circle.py", "self.area()") == {"pkg.circle:Circle.area"}  # own method first
    assert targets(p, "pkg/shapes.py", "self.area()") == {"pkg.shapes:Shape.area"}


def test_super_call_goes_to_the_base(tmp_path: Path) -> None:
    p = load(tmp_path, {**BASE, "pkg/circle.py": """
        from pkg.shapes import Shape

        class Circle(Shape):
            def __init__(self, r):
                super().__init__("circle")
                self.r = r

            def area(self):
                return super().area() * self.r
    """})
    assert targets(p, "pkg/circle.py", 'super().__init__("circle")') == {"pkg.shapes:Shape.__init__"}
    assert targets(p, "pkg/circle.py", "super().area()") == {"pkg.shapes:Shape.area"}


def test_method_on_an_instance_from_a_constructor_call(tmp_path: Path) -> None:
    p = load(tmp_path, {**BASE, "pkg/main.py": """
        from pkg.shapes import Shape

        class Holder:
            def __init__(self):
                self.shape = Shape("held")

            def total(self):
                return self.shape.area()

        s = Shape("x")
        s.describe()
        Shape("y").area()
    """})
    rel = "pkg/main.py"
    assert targets(p, rel, "s.describe()") == {"pkg.shapes:Shape.describe"}
    assert targets(p, rel, 'Shape("y").area()') == {"pkg.shapes:Shape.area"}
    assert targets(p, rel, "self.shape.area()") == {"pkg.shapes:Shape.area"}  # attribute set from a ctor


def test_method_on_the_return_value_of_an_annotated_function(tmp_path: Path) -> None:
    p = load(tmp_path, {**BASE, "pkg/main.py": """
        from typing import Optional
        from pkg import shapes
        from pkg.shapes import Shape

        def make() -> Shape:
            return Shape("m")

        def make_later() -> "shapes.Shape":
            return Shape("m")

        def maybe() -> Optional[Shape]:
            return None

        def either() -> Shape | None:
            return None

        def use(param: Shape):
            param.area()
            make().area()
            made = make()
            made.describe()
            make_later().area()
            maybe().area()
            either().describe()
    """})
    rel = "pkg/main.py"
    assert targets(p, rel, "param.area()") == {"pkg.shapes:Shape.area"}
    assert targets(p, rel, "make().area()") == {"pkg.shapes:Shape.area"}
    assert targets(p, rel, "made.describe()") == {"pkg.shapes:Shape.describe"}
    assert targets(p, rel, "make_later().area()") == {"pkg.shapes:Shape.area"}  # string annotation
    assert targets(p, rel, "maybe().area()") == {"pkg.shapes:Shape.area"}
    assert targets(p, rel, "either().describe()") == {"pkg.shapes:Shape.describe"}


def test_classmethod_through_cls(tmp_path: Path) -> None:
    p = load(tmp_path, BASE)
    assert targets(p, "pkg/shapes.py", "cls.validate()") == {"pkg.shapes:Shape.validate"}
    assert targets(p, "pkg/shapes.py", 'cls("unit")') == {"pkg.shapes:Shape", "pkg.shapes:Shape.__init__"}


def test_import_cycles_terminate(tmp_path: Path) -> None:
    start = time.perf_counter()
    p = load(tmp_path, {"pkg/__init__.py": "from .a import *\n", "pkg/a.py": """
        from .b import ping, loop
        from .b import *

        def pong():
            return ping()
    """, "pkg/b.py": """
        from .a import pong, loop
        from .a import *

        def ping():
            return pong()

        loop()
        missing()
    """})
    assert time.perf_counter() - start < 10
    assert targets(p, "pkg/a.py", "ping()") == {"pkg.b:ping"}
    assert targets(p, "pkg/b.py", "pong()") == {"pkg.a:pong"}
    assert targets(p, "pkg/b.py", "loop()") == set()  # a re-export cycle resolves to nothing
    assert targets(p, "pkg/b.py", "missing()") == set()


def test_unresolvable_calls_have_no_targets(tmp_path: Path) -> None:
    p = load(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": """
        import json

        def f(obj, callbacks):
            json.dumps(obj)
            obj.method()
            callbacks[0]()
            (lambda: 1)()
    """})
    for source in ("json.dumps(obj)", "obj.method()", "callbacks[0]()", "(lambda: 1)()"):
        assert targets(p, "pkg/a.py", source) == set()


def test_graph_has_inherits_calls_and_imports_edges(tmp_path: Path) -> None:
    p = load(tmp_path, {**BASE, "pkg/circle.py": """
        from pkg.shapes import Shape
        from pkg import util

        class Circle(Shape):
            def area(self):
                return util.helper(3)

        class Ring(Circle, Shape):
            pass
    """})
    g = p.graph()
    assert all("kind" in attrs for _, attrs in g.nodes(data=True)), "every node has attributes"

    def node(kind: str, label: str) -> int:
        found = [n for n, a in g.nodes(data=True) if a["kind"] == kind and a["label"] == label]
        assert len(found) == 1, (kind, label, found)
        return int(found[0])

    def edges(kind: str) -> set[tuple[str, str]]:
        return {(g.nodes[a]["label"], g.nodes[b]["label"]) for a, b, k in g.edges(data="kind") if k == kind}

    assert edges("INHERITS") == {("Circle", "Shape"), ("Ring", "Circle"), ("Ring", "Shape")}
    assert ("util.helper", "helper") in edges("CALLS")
    assert ("pkg.circle", "pkg.shapes") in edges("IMPORTS") and ("pkg.circle", "pkg.util") in edges("IMPORTS")
    circle = p.modules["pkg/circle.py"].classes[0]
    assert isinstance(circle, ClassInfo) and [b.qualname for b in p.mro(circle)] == ["Circle", "Shape"]
    ring = node("class", "Ring")
    assert {g.nodes[b]["label"] for _, b, k in g.out_edges(ring, data="kind") if k == "INHERITS"} == {"Circle", "Shape"}
    helper = next(f for f in p.modules["pkg/util.py"].functions if isinstance(f, FunctionInfo))
    assert [c.module.relpath for c in helper.callers] == ["pkg/circle.py"]

"""Golden tests of the front half on small realistic programs in tests/data/front/: the code property graph
(`dump_graph`, one section per module) and the rendered usage slices with their slot ids.

`pytest --update-golden` rewrites tests/data/front/golden/*.txt. Paths in the outputs are relative to
tests/data/front (the tests run there), so the goldens do not depend on where the repository is checked out.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, check_golden

from typetool.cpg import dump_graph
from typetool.pipeline import SliceRun, slice_paths
from typetool.python.project import PythonProject
from typetool.python.slots import extract_slots
from typetool.slices import render_slice
from typetool.slots import SlotKind
from typetool.sources import SourceFile, decode_source

FRONT = DATA / "front"
GOLDEN = FRONT / "golden"

# name -> paths given to the pipeline (relative to FRONT)
PROGRAMS = {
    "wordcount": ["wordcount.py"],  # a command-line script
    "shapes": ["shapes"],  # a package: classes, inheritance across modules, super(), classmethods, properties
    "jobs": ["jobs.py"],  # async code: async def/for/with, await, an async generator, a dataclass
    "broken": ["broken.py"],  # a syntax error in the middle of the file
}


def render_run(run: SliceRun) -> str:
    lines = [f"! {d.format()}" for d in run.diagnostics]
    for s in run.slices:
        ann = f"  (annotated: {s.slot.annotation})" if s.slot.annotation else ""
        lines.append(f"# {s.slot.file}:{s.slot.line}:{s.slot.column + 1} {s.slot.id}{ann}")
        lines.append(render_slice(s))
        lines.append("")
    return "\n".join(lines) + "\n"


def render_graph(project: PythonProject) -> str:
    parts = []
    for rel in sorted(project.modules):
        parts.append(f"## {rel}\n" + dump_graph(project.graph(only=[rel]), rel))
    return "\n".join(parts)


@pytest.fixture
def in_front(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(FRONT)
    return FRONT


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_slices_golden(name: str, in_front: Path, update_golden: bool) -> None:
    run = slice_paths([Path(p) for p in PROGRAMS[name]])
    assert run.project.modules, "nothing was analysed"
    text = render_run(run)
    assert str(FRONT) not in text, "outputs must not depend on where the repository is"
    check_golden(GOLDEN / f"{name}.slices.txt", text, update_golden)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_graph_golden(name: str, in_front: Path, update_golden: bool) -> None:
    project = PythonProject.load([Path(p) for p in PROGRAMS[name]])
    full = project.graph()
    assert all("kind" in attrs for _, attrs in full.nodes(data=True)), "every graph node carries its attributes"
    kinds = {k for _, _, k in full.edges(data="kind")}
    assert {"AST", "CFG", "REACHES"} <= kinds
    text = render_graph(project)
    assert str(FRONT) not in text
    check_golden(GOLDEN / f"{name}.graph.txt", text, update_golden)


def test_graph_covers_the_issue_node_and_edge_kinds(in_front: Path) -> None:
    project = PythonProject.load([Path("shapes")])
    g = project.graph()
    node_kinds = {a["kind"] for _, a in g.nodes(data=True)}
    assert {"module", "class", "function", "parameter", "def", "use", "call", "attribute", "statement"} <= node_kinds
    statements = {a["label"] for _, a in g.nodes(data=True) if a["kind"] == "statement"}
    assert {"assignment", "augmented_assignment", "return_statement", "for_statement", "if_statement"} <= statements
    edge_kinds = {k for _, _, k in g.edges(data="kind")}
    assert edge_kinds == {"AST", "CFG", "REACHES", "ARG", "CALLS", "INHERITS", "IMPORTS"}


def test_cli_output_matches_the_goldens(in_front: Path) -> None:
    """The goldens show what `typetool slices` and `typetool graph` print."""
    slices = subprocess.run([sys.executable, "-m", "typetool", "slices", "wordcount.py"], capture_output=True,
                            text=True, cwd=in_front, check=False)
    assert slices.returncode == 0, slices.stderr
    golden = (GOLDEN / "wordcount.slices.txt").read_text(encoding="utf-8")
    assert slices.stdout == "".join(ln + "\n" for ln in golden.splitlines() if not ln.startswith("! "))
    graph = subprocess.run([sys.executable, "-m", "typetool", "graph", "wordcount.py"], capture_output=True,
                           text=True, cwd=in_front, check=False)
    assert graph.returncode == 0, graph.stderr
    assert "## wordcount.py\n" + graph.stdout == (GOLDEN / "wordcount.graph.txt").read_text(encoding="utf-8")
    # a module of a package: the package's other modules take part (cross-file CALLS, INHERITS, IMPORTS)
    graph = subprocess.run([sys.executable, "-m", "typetool", "graph", "shapes/circle.py"], capture_output=True,
                           text=True, cwd=in_front, check=False)
    assert graph.returncode == 0 and not graph.stderr, graph.stderr
    sections = [sec.strip("\n") for sec in (GOLDEN / "shapes.graph.txt").read_text(encoding="utf-8").split("## ")]
    assert ("shapes/circle.py\n" + graph.stdout).strip("\n") in sections


def _slot_ids(text: str) -> set[str]:
    src = decode_source(text.encode("utf-8"), Path("shapes/circle.py"), "shapes/circle.py")
    assert isinstance(src, SourceFile)
    project = PythonProject.from_sources([src])
    return {site.slot.id for site in extract_slots(project.modules["shapes/circle.py"])}


def test_slot_ids_survive_annotations_inserted_elsewhere() -> None:
    original = (FRONT / "shapes" / "circle.py").read_text(encoding="utf-8")
    annotated = original
    for old, new in [
        ("import math\n", "from __future__ import annotations\n\nimport math\nfrom typing import Any\n"),
        ("def __init__(self, radius, name=\"circle\"):", "def __init__(self, radius: float, name: str = \"circle\") -> None:"),
        ("def area(self):\n        return math.pi", "def area(self) -> float:\n        return math.pi"),
        ("def diameter(self):", "def diameter(\n        self,\n    ) -> float:"),
        ("        self.inner = Circle(inner)", "        self.inner: Circle = Circle(inner)"),
        ("    best = None", "    best: Shape | None = None"),
        ("def summary(radii):", "def summary(radii: list[float]) -> tuple[str, float]:"),
    ]:
        assert old in annotated, old
        annotated = annotated.replace(old, new, 1)
    before, after = _slot_ids(original), _slot_ids(annotated)
    assert before == after
    assert "shapes/circle.py::attribute::Ring::inner" in before
    assert "shapes/circle.py::variable::biggest::best" in before
    assert not any(re.search(r"::\d", i) for i in before), "no line numbers in ids"


def test_slots_cover_every_kind(in_front: Path) -> None:
    run = slice_paths([Path("shapes")])
    by_kind = {k: {s.slot.id for s in run.slices if s.slot.kind == k} for k in SlotKind}
    assert "shapes/circle.py::param::Circle.__init__::radius" in by_kind[SlotKind.PARAM]
    assert "shapes/circle.py::param::Circle.__init__::self" not in by_kind[SlotKind.PARAM]
    assert "shapes/base.py::param::Shape.create::cls" not in by_kind[SlotKind.PARAM]
    assert "shapes/base.py::param::Shape.round_area::value" in by_kind[SlotKind.PARAM]  # staticmethod
    assert "shapes/base.py::param::Shape.create::args" in by_kind[SlotKind.PARAM]
    assert "shapes/circle.py::return::Circle.diameter::return" in by_kind[SlotKind.RETURN]
    assert "shapes/circle.py::variable::summary::circles" in by_kind[SlotKind.VARIABLE]
    assert "shapes/__init__.py::variable::<module>::__all__" in by_kind[SlotKind.VARIABLE]
    assert {"shapes/base.py::attribute::Shape::registry", "shapes/base.py::attribute::Shape::sides",
            "shapes/base.py::attribute::Shape::name", "shapes/base.py::attribute::Shape::scale"} <= \
        by_kind[SlotKind.ATTRIBUTE]
    registry = next(s for s in run.slices if s.slot.id == "shapes/base.py::attribute::Shape::registry")
    assert registry.slot.annotation == "dict[str, type[Shape]]"

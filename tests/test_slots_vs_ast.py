"""typetool on the real source of large installed packages: no crash, and the parameter and return slots it
finds are exactly the functions and parameters that Python's own `ast` finds.

The `ast` side recomputes slot scopes independently, with the rules of `typetool.slots`: the qualified name is
the dotted path of enclosing classes and functions (no `<locals>`; comprehensions and lambdas add nothing, and a
def inside a lambda cannot exist), the N-th definition of the same qualified name in a module gets `@N` (classes
and functions share the count), and the first parameter of a function defined directly in a class body is the
implicit self/cls (not a slot) unless the function is decorated with `...staticmethod` or has no positional
parameter.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from typetool.python.project import PythonProject
from typetool.python.slots import extract_slots
from typetool.slots import SlotKind

PACKAGES = ["rich", "click", "typer", "libcst"]  # (networkx, 27 s, left out to keep the suite under 10 minutes)

SlotKey = tuple[str, str, str]  # (kind, scope, name)


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _is_static(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for d in fn.decorator_list:
        expr = d.func if isinstance(d, ast.Call) else d
        if ast.unparse(expr).endswith("staticmethod"):
            return True
    return False


class AstSlots:
    """Parameter and return slots of one module, from `ast`."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.slots: set[SlotKey] = set()

    def qualify(self, prefix: str, name: str) -> str:
        base = f"{prefix}.{name}" if prefix else name
        n = self.counts.get(base, 0) + 1
        self.counts[base] = n
        return base if n == 1 else f"{base}@{n}"

    def visit(self, node: ast.AST, prefix: str, in_class: bool) -> None:
        """Visit the children of `node`, which are in the scope `prefix` (a class body when `in_class`)."""
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                # decorators, defaults and annotations are evaluated in the enclosing scope, before the name
                for expr in self._outside(child):
                    self.visit(expr, prefix, in_class)
                qual = self.qualify(prefix, child.name)
                a = child.args
                params = [p.arg for p in a.posonlyargs + a.args]
                if a.vararg:
                    params.append(a.vararg.arg)
                params += [p.arg for p in a.kwonlyargs]
                if a.kwarg:
                    params.append(a.kwarg.arg)
                implicit = in_class and not _is_static(child) and bool(a.posonlyargs or a.args)
                self.slots.update(("param", qual, p) for p in params[1 if implicit else 0:])
                self.slots.add(("return", qual, "return"))
                for stmt in child.body:
                    self.visit(ast.Module(body=[stmt], type_ignores=[]), qual, False)
            elif isinstance(child, ast.ClassDef):
                for expr in [*child.decorator_list, *child.bases, *(k.value for k in child.keywords)]:
                    self.visit(ast.Expression(body=expr), prefix, in_class)
                qual = self.qualify(prefix, child.name)
                for stmt in child.body:
                    self.visit(ast.Module(body=[stmt], type_ignores=[]), qual, True)
            elif isinstance(child, ast.Lambda):
                self.visit(child, f"{prefix}.<lambda>" if prefix else "<lambda>", False)
            else:
                self.visit(child, prefix, in_class)

    @staticmethod
    def _outside(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
        for expr in [*fn.decorator_list, *fn.args.defaults, *(d for d in fn.args.kw_defaults if d is not None)]:
            yield ast.Expression(body=expr)


def ast_slots(text: str) -> set[SlotKey]:
    finder = AstSlots()
    finder.visit(ast.parse(text), "", False)
    return finder.slots


@pytest.mark.parametrize("package", PACKAGES)
def test_param_and_return_slots_match_ast(package: str) -> None:
    root = package_dir(package)
    project = PythonProject.load([root], root=root.parent)
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    assert len(project.modules) >= len(files) * 0.95, "nearly every file is analysed"
    mismatches: list[str] = []
    compared = 0
    for rel, module in project.modules.items():
        if not rel.endswith(".py"):
            continue
        try:
            expected = ast_slots(module.parsed.source.text)
        except SyntaxError:  # a test fixture with deliberate errors: tree-sitter still analyses it
            continue
        ours = {(s.slot.kind.value, s.slot.scope, s.slot.name) for s in extract_slots(module)
                if s.slot.kind in (SlotKind.PARAM, SlotKind.RETURN)}
        compared += 1
        if ours != expected:
            mismatches.append(f"{rel}: only typetool {sorted(ours - expected)[:5]}, "
                              f"only ast {sorted(expected - ours)[:5]}")
    assert compared >= len(files) * 0.9
    assert not mismatches, "\n".join(mismatches[:20])


def test_slices_cli_on_a_real_package_has_no_traceback() -> None:
    root = package_dir("click")
    proc = subprocess.run([sys.executable, "-m", "typetool", "slices", str(root), "--format", "json"],
                          capture_output=True, text=True, cwd=root.parent, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    data = json.loads(proc.stdout)
    ids = {s["id"] for s in data["slices"]}
    assert len(ids) == len(data["slices"]), "slot ids are unique"
    assert "click/core.py::param::Command.__init__::name" in ids
    assert all(s["text"].startswith("<py> ") for s in data["slices"])



def test_slices_are_reproducible() -> None:
    """The same files give the same slices, byte for byte, run after run (tree-sitter query captures and
    reaching-definition sets come in an order that changes between runs; outputs must not)."""
    from typetool.python.slices import module_type_names
    from typetool.sources import SourceFile, decode_source

    names = [f"T{i}" for i in range(40)]
    code = "from typing import TypeAlias, TypeVar\n" + "".join(
        f"{n} = TypeVar('{n}')\nA{n}: TypeAlias = list[{n}]\n" for n in names)
    src = decode_source(code.encode(), Path("tv.py"), "tv.py")
    assert isinstance(src, SourceFile)
    results = {tuple(module_type_names(PythonProject.from_sources([src]).modules["tv.py"])) for _ in range(10)}
    assert len(results) == 1
    (order,) = results
    assert [n for n in order if n[1:].isdigit()] == names, "document order"

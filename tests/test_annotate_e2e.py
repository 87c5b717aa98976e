"""`typetool annotate` on a stripped copy of a real package (pluggy's source, installed in the test
environment): every file it writes passes the safety check (same syntax tree as the input once annotations
are removed), and a second run changes nothing."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pluggy
import pytest


class _DropAnnotations(ast.NodeTransformer):
    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.returns = None
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is None:
            return node  # a bare declaration: compared as written
        return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST | None:
        return None if node.module == "typing" else node

    def visit_If(self, node: ast.If) -> ast.AST | None:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return None
        self.generic_visit(node)
        return node


def shape(source: str) -> str:
    return ast.dump(_DropAnnotations().visit(ast.parse(source)), include_attributes=False)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "typetool", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def uncalibrated_model(tiny_model: Path, tmp_path: Path) -> Path:
    """The tiny model without calibration.json: every prediction is written as a full type (the most writes)."""
    copy = tmp_path / "model"
    shutil.copytree(tiny_model, copy)
    (copy / "calibration.json").unlink()
    return copy


def test_annotate_real_package_is_safe_and_idempotent(uncalibrated_model: Path, tmp_path: Path) -> None:
    src = Path(pluggy.__file__).parent
    work = tmp_path / "pkg"
    shutil.copytree(src, work / "pluggy", ignore=shutil.ignore_patterns("__pycache__"))
    strip = run("strip", "pluggy", "-q", cwd=work)
    assert strip.returncode in (0, 1), strip.stderr
    stripped = {p: p.read_text(encoding="utf-8") for p in sorted(work.rglob("*.py"))}
    first = run("annotate", "pluggy", "--model", str(uncalibrated_model), "--sites",
                "params,returns,variables,attributes", cwd=work)
    assert first.returncode == 0, first.stderr
    assert "Traceback (most recent call last)" not in first.stderr
    changed = 0
    for path, before in stripped.items():
        after = path.read_text(encoding="utf-8")
        if after != before:
            changed += 1
            assert shape(after) == shape(before), f"{path} changed beyond annotations and imports"
    assert changed >= 3, first.stderr
    snapshot = {p: p.read_bytes() for p in stripped}
    second = run("annotate", "pluggy", "--model", str(uncalibrated_model), "--sites",
                 "params,returns,variables,attributes", cwd=work)
    assert second.returncode == 0, second.stderr
    assert {p: p.read_bytes() for p in stripped} == snapshot
    # the same sites: the gate's verdict on a slot depends on what else is planned beside it
    check = run("annotate", "pluggy", "--model", str(uncalibrated_model), "--sites",
                "params,returns,variables,attributes", "--check", cwd=work)
    assert check.returncode == 0, check.stderr

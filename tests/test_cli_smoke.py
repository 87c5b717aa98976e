"""End-to-end: the installed `typetool` command on the bundled example project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent / "data" / "projects" / "inventory"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "typetool", *args], check=False, capture_output=True, text=True,
                          cwd=cwd)


def test_slices_json_on_example() -> None:
    proc = run("slices", str(EXAMPLE), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    ids = {s["id"] for s in data["slices"]}
    base = str(EXAMPLE.relative_to(Path.cwd()) if EXAMPLE.is_relative_to(Path.cwd()) else EXAMPLE).replace("\\", "/")
    assert f"{base}/inventory/pricing.py::param::apply_discount::rate" in ids
    assert f"{base}/inventory/models.py::attribute::Item::quantity" in ids
    rate = next(s for s in data["slices"] if s["id"].endswith("apply_discount::rate"))
    assert "default literal float" in rate["text"] or "default = DEFAULT_RATE" in rate["text"]


def test_missing_path_is_usage_error() -> None:
    proc = run("slices", "does/not/exist.py")
    assert proc.returncode == 2
    assert "no such file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_option_is_usage_error() -> None:
    proc = run("slices", "--no-such-option")
    assert proc.returncode == 2


@pytest.mark.parametrize("command", ["predict", "evaluate", "annotate"])
def test_missing_path_stops_model_commands_before_any_work(command: str, tmp_path: Path) -> None:
    from tests.conftest import run_cli

    (tmp_path / "ok.py").write_text("def f(x):\n    return x\n", encoding="utf-8")
    ran = run_cli(command, "ok.py", "does/not/exist.py", "--model", str(tmp_path / "no-model"), cwd=tmp_path)
    assert ran.returncode == 2
    assert "does/not/exist.py: no such file or directory" in ran.stderr
    assert "no model" not in ran.stderr  # refused before the model is looked for
    assert (tmp_path / "ok.py").read_text(encoding="utf-8") == "def f(x):\n    return x\n"

"""A user's mistake is exit 2 with one line, never an internal error, and the same file gets the same exit code
from every command (issue 15's list). The CLI runs in-process (`run_cli`), where an internal error propagates as
an exception and fails the test, with the tiny test model; and as a subprocess where the top-level handler is
what is tested."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli

SOURCE = "def scale(value, factor=2):\n    return value * factor\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "a.py").write_text(SOURCE, encoding="utf-8")
    os.symlink("loop", tmp_path / "loop")  # a symlink to itself
    return tmp_path


@pytest.mark.parametrize("command", ["annotate", "check", "predict", "slices", "evaluate"])
def test_a_symlink_loop_on_the_command_line_is_a_usage_error(command: str, project: Path, tiny_model: Path
                                                               ) -> None:
    args = [command, "loop"] + ([] if command == "slices" else ["--model", str(tiny_model)])
    ran = run_cli(*args, cwd=project)
    assert ran.returncode == 2, ran.stderr
    assert "symlink loop" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1


def test_a_symlink_loop_exits_2_from_the_installed_command(project: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "typetool", "annotate", "loop"], cwd=project,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "internal error" not in proc.stderr


@pytest.mark.parametrize("command", ["annotate", "check", "predict"])
def test_cuda_without_cuda_is_a_usage_error(command: str, project: Path, tiny_model: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    ran = run_cli(command, "a.py", "--device", "cuda", "--model", str(tiny_model), cwd=project)
    assert ran.returncode == 2, ran.stderr
    assert "--device cuda" in ran.stderr and "cpu" in ran.stderr


@pytest.mark.parametrize("command", ["annotate", "check", "predict", "slices"])
@pytest.mark.parametrize("sites", ["", " , "])
def test_empty_sites_is_a_usage_error(command: str, sites: str, project: Path, tiny_model: Path) -> None:
    args = [command, "a.py", "--sites", sites] + ([] if command == "slices" else ["--model", str(tiny_model)])
    ran = run_cli(*args, cwd=project)
    assert ran.returncode == 2
    assert "names no slot kind" in ran.stderr


@pytest.mark.parametrize("command", ["annotate", "check", "predict", "slices", "strip", "apply"])
def test_the_option_the_too_large_message_names_exists(command: str) -> None:
    from typetool import messages as M

    assert "--max-file-size" in M.TOO_LARGE[1]
    ran = run_cli(command, "--help", cwd=Path.cwd())
    assert "--max-file-size" in ran.stdout


@pytest.mark.parametrize("command", ["annotate", "check", "predict", "slices"])
def test_max_file_size_skips_and_includes(command: str, project: Path, tiny_model: Path) -> None:
    big = project / "big.py"
    big.write_text(SOURCE + "\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(40)), encoding="utf-8")
    model = [] if command == "slices" else ["--model", str(tiny_model)]
    small = run_cli(command, "big.py", "--max-file-size", "0.001", *model, cwd=project)
    assert "above the limit" in small.stderr
    ok = run_cli(command, "big.py", "--max-file-size", "1", *model, cwd=project)
    assert "above the limit" not in ok.stderr
    # and from [tool.typetool]
    (project / "pyproject.toml").write_text("[tool.typetool]\nmax-file-size = 0.001\n", encoding="utf-8")
    assert "above the limit" in run_cli(command, "big.py", *model, cwd=project).stderr


@pytest.mark.parametrize("command", ["annotate", "check", "predict"])
def test_an_undecodable_file_exits_1_everywhere(command: str, project: Path, tiny_model: Path) -> None:
    (project / "bad.py").write_bytes(b"\xff\xfe x = 1\n")
    ran = run_cli(command, "bad.py", "a.py", "--model", str(tiny_model), cwd=project)
    assert ran.returncode == 1, (ran.returncode, ran.stderr)
    assert "bad-encoding" in ran.stderr


def test_annotate_help_shows_where_the_default_comes_from() -> None:
    ran = run_cli("annotate", "--help", cwd=Path.cwd())
    text = " ".join(ran.stdout.split())
    assert "or ]" not in text
    assert "[tool.typetool]" in text


def test_the_summary_table_names_the_language(tmp_path: Path, tiny_model: Path, tiny_ts_model: Path) -> None:
    (tmp_path / "a.py").write_text(SOURCE, encoding="utf-8")
    ran = run_cli("annotate", "a.py", "--check", "--model", str(tiny_model), cwd=tmp_path)
    assert "typetool annotate: Python (" in ran.stderr
    (tmp_path / "b.ts").write_text("export function twice(n) {\n  return n * 2;\n}\n", encoding="utf-8")
    ran = run_cli("annotate", "b.ts", "--check", "--model", str(tiny_ts_model), cwd=tmp_path)
    assert "typetool annotate: TypeScript (" in ran.stderr


def test_diff_headers_outside_the_working_directory_are_absolute(tmp_path: Path, tiny_model: Path) -> None:
    from typetool.fileio import file_diff

    inside = file_diff("a\n", "b\n", "pkg/m.py")
    assert inside.startswith("--- a/pkg/m.py\n+++ b/pkg/m.py\n")
    outside = file_diff("a\n", "b\n", "../../elsewhere/m.py")
    first = outside.splitlines()[0]
    assert first == f"--- {os.path.abspath('../../elsewhere/m.py')}" and ".." not in first


def test_predict_lists_candidates_most_confident_first(project: Path, tiny_model: Path) -> None:
    ran = run_cli("predict", "a.py", "--model", str(tiny_model), "--top-k", "5", cwd=project)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines
    for line in lines:  # `...: <written>  [0.42]  (int 0.42, dict[str, int] 0.07, ...)`
        candidates = line.rsplit("]  (", 1)[1]
        confs = [float(c) for c in re.findall(r" (\d+\.\d+)(?=, |\)$)", candidates)]
        assert confs and confs == sorted(confs, reverse=True), line


def test_apply_refuses_a_python_type_for_a_typescript_slot(tmp_path: Path, tiny_ts_model: Path) -> None:
    (tmp_path / "a.ts").write_text("export function size(x) {\n  return x.length;\n}\n", encoding="utf-8")
    ran = run_cli("predict", "a.ts", "--format", "json", "--model", str(tiny_ts_model), cwd=tmp_path)
    payload = json.loads(ran.stdout)
    by_kind = {p["kind"]: p for p in payload["predictions"]}
    by_kind["param"]["type"] = "List[int]"
    by_kind["return"]["type"] = "int"
    (tmp_path / "p.json").write_text(json.dumps(payload), encoding="utf-8")
    ran = run_cli("apply", "p.json", cwd=tmp_path)
    assert ran.returncode == 1
    assert "python-type-in-typescript" in ran.stderr
    assert (tmp_path / "a.ts").read_text(encoding="utf-8").startswith("export function size(x) {")
    # a TypeScript spelling goes in; so does a name the file declares itself
    by_kind["param"]["type"] = "Array[number]"
    by_kind["return"]["type"] = "number"
    (tmp_path / "p.json").write_text(json.dumps(payload), encoding="utf-8")
    assert run_cli("apply", "p.json", cwd=tmp_path).returncode == 0
    assert "size(x: number[]): number" in (tmp_path / "a.ts").read_text(encoding="utf-8")

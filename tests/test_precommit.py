"""The pre-commit hooks (`.pre-commit-hooks.yaml`) run by the real `pre-commit` tool (`pre-commit try-repo`)
on a temporary git repository.

The shipped hooks use `language: python`, as black's and ruff's do: pre-commit builds a virtualenv and
pip-installs typetool (with torch) into it, which takes minutes and the network. The default test therefore
runs the same hooks (ids, types, require_serial, pass_filenames, stages: everything from the shipped file)
with `language: system` and the entry pointed at this interpreter, so it checks how pre-commit calls
typetool and how typetool answers, in seconds. `TYPETOOL_SLOW_TESTS=1` also runs the shipped file as it is
(`test_shipped_hooks_install_and_run`), installing typetool from PyPI-reachable dependencies.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parent.parent
HOOKS = REPO / ".pre-commit-hooks.yaml"

SRC = '''"""Inventory."""
import json


class Stock:
    def __init__(self, name, count=0):
        self.name = name
        self.count = count

    def add(self, amount):
        self.count += amount
        return self.count


def load(path):
    with open(path) as f:
        return json.load(f)
'''
CLEAN = '''def double(x: int) -> int:
    return 2 * x
'''


def env(home: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    e.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
             GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
             PRE_COMMIT_HOME=str(home), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NO_COLOR="1")
    return e


def sh(*args: str, cwd: Path, home: Path, check: bool = True, timeout: float = 300
       ) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(args), cwd=cwd, env=env(home), capture_output=True, text=True, timeout=timeout,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def pre_commit(*args: str, cwd: Path, home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return sh(sys.executable, "-m", "pre_commit", *args, "--color", "never", cwd=cwd, home=home, check=False,
              timeout=timeout)


def uncalibrated_copy(model: Path, dest: Path) -> Path:
    """The tiny model without calibration.json: full types at raw probability, never all holes, so that every
    unannotated slot is reported at min-confidence 0 however well the tiny model happened to train."""
    dest.mkdir(parents=True)
    for f in model.iterdir():
        if f.is_file() and f.name != "calibration.json":
            shutil.copyfile(f, dest / f.name)
    return dest


def make_project(root: Path, model: Path, home: Path) -> Path:
    root.mkdir()
    sh("git", "init", "-q", cwd=root, home=home)
    (root / "pyproject.toml").write_text(
        # gate = false: the checker engine would refuse most of the tiny model's types; the hooks are the point here
        f'[tool.typetool]\nmodel = "{model.as_posix()}"\nmin-confidence = 0.0\ngate = false\n', encoding="utf-8")
    (root / "stock.py").write_text(SRC, encoding="utf-8")
    (root / "clean.py").write_text(CLEAN, encoding="utf-8")
    (root / "notes.txt").write_text("not python\n", encoding="utf-8")
    sh("git", "add", "-A", cwd=root, home=home)
    return root


def test_hooks_file_is_like_black_and_ruff() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}
    assert set(hooks) == {"typetool-check", "typetool-annotate"}
    for h in hooks.values():
        assert h["language"] == "python" and h["types_or"] == ["python", "ts", "tsx"] and h["require_serial"] is True
    assert hooks["typetool-check"]["entry"] == "typetool check"
    assert hooks["typetool-annotate"]["entry"] == "typetool annotate"


def test_hooks_under_pre_commit_try_repo(tmp_path: Path, tiny_model: Path) -> None:
    home = tmp_path / "pre-commit-home"
    model = uncalibrated_copy(tiny_model, tmp_path / "model")

    # the shipped hooks, run with this interpreter instead of a fresh virtualenv
    hook_repo = tmp_path / "hooks"
    hook_repo.mkdir()
    manifest = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    for hook in manifest:
        assert hook["entry"].startswith("typetool ")
        hook["language"] = "system"
        hook["entry"] = f"{shlex.quote(sys.executable)} -m {hook['entry']}"
    (hook_repo / ".pre-commit-hooks.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    sh("git", "init", "-q", cwd=hook_repo, home=home)
    sh("git", "add", "-A", cwd=hook_repo, home=home)
    sh("git", "commit", "-qm", "hooks", cwd=hook_repo, home=home)

    project = make_project(tmp_path / "project", model, home)

    # typetool-check: reports every missing annotation, fails, writes nothing
    proc = pre_commit("try-repo", str(hook_repo), "typetool-check", "--all-files", cwd=project, home=home)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "typetool check" in out and "Failed" in out and "exit code: 1" in out
    reported = [line for line in out.splitlines() if ": missing-annotation: " in line]
    assert len(reported) == 7 and all(line.startswith("stock.py:") for line in reported), out
    assert "stock.py:10:19: missing-annotation: parameter 'amount' of Stock.add has no annotation" in out
    assert (project / "stock.py").read_text(encoding="utf-8") == SRC
    assert sh("git", "status", "--porcelain", cwd=project, home=home).stdout.count("??") == 0

    # a fully annotated file passes (and the model is not even loaded)
    proc = pre_commit("try-repo", str(hook_repo), "typetool-check", "--files", "clean.py", cwd=project, home=home)
    assert proc.returncode == 0 and "Passed" in proc.stdout, proc.stdout + proc.stderr

    # typetool-annotate: writes the annotations; pre-commit fails the run because files changed
    proc = pre_commit("try-repo", str(hook_repo), "typetool-annotate", "--all-files", cwd=project, home=home)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "files were modified by this hook" in out, out
    written = (project / "stock.py").read_text(encoding="utf-8")
    assert written != SRC and "def add(self, amount: " in written and ") -> " in written
    compile(written, "stock.py", "exec")
    assert (project / "clean.py").read_text(encoding="utf-8") == CLEAN

    left_alone = re.search(r"left alone\W+(\d+)", out)
    assert left_alone, out

    # and after it the check reports only what annotate left alone (with this model: nothing, so it passes)
    sh("git", "add", "-A", cwd=project, home=home)
    proc = pre_commit("try-repo", str(hook_repo), "typetool-check", "--all-files", cwd=project, home=home)
    out = proc.stdout + proc.stderr
    assert out.count(": missing-annotation: ") == int(left_alone.group(1)), out
    assert proc.returncode == (1 if int(left_alone.group(1)) else 0), out


@pytest.mark.skipif(not os.environ.get("TYPETOOL_SLOW_TESTS"),
                    reason="installs typetool and torch into a fresh virtualenv (minutes, needs PyPI)")
def test_shipped_hooks_install_and_run(tmp_path: Path, tiny_model: Path) -> None:
    """The shipped `.pre-commit-hooks.yaml` as a user gets it: pre-commit pip-installs this repository."""
    home = tmp_path / "pre-commit-home"
    model = uncalibrated_copy(tiny_model, tmp_path / "model")
    # a snapshot of the working tree (committed or not) as a repository pre-commit can clone
    snapshot = tmp_path / "typetool"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = REPO / rel
        if src.is_file():
            (snapshot / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, snapshot / rel)
    sh("git", "init", "-q", cwd=snapshot, home=home)
    sh("git", "add", "-A", cwd=snapshot, home=home)
    sh("git", "commit", "-qm", "snapshot", cwd=snapshot, home=home)
    project = make_project(tmp_path / "project", model, home)
    proc = pre_commit("try-repo", str(snapshot), "typetool-check", "--all-files", cwd=project, home=home,
                      timeout=1800)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "stock.py:10:19: missing-annotation: " in out, out

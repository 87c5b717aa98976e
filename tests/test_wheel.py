"""The wheel as a user installs it (`pip install typetool`, or pre-commit's `language: python` hooks): it holds
the shipped models, and an installed typetool finds them with no repository around.

The wheel is built from this working tree (without build isolation when hatchling is installed, as the `dev`
extra does, so no network is needed) and installed with `--no-deps` into a fresh virtualenv that sees this
environment's third-party packages (torch, transformers, ...) through a `.pth` file, so nothing heavy is
installed again. That `.pth` line only puts the other site-packages on `sys.path`; its `.pth` files, among them
the editable install's, are not run, so `import typetool` finds the wheel's copy (checked). Everything then
runs from temporary directories outside the repository, so the repository's `models/` cannot be found by
accident.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import site
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]
from test_precommit import CLEAN, SRC, pre_commit, sh
from test_precommit import env as git_env

from typetool import predictions
from typetool.languages import languages
from typetool.predictions import REPO_MODELS_DIR, ModelNotFound, TypePredictor

DEFAULT_MODELS = {language.key: language.default_model for language in languages()}  # each shipped model

REPO = Path(__file__).resolve().parent.parent
HOOKS = REPO / ".pre-commit-hooks.yaml"
INVENTORY = REPO / "tests" / "data" / "projects" / "inventory"
# what a training run leaves next to the weights and a shipped model must not carry
TRAINING_LEFTOVERS = re.compile(r"checkpoint|optimizer|scheduler|rng_state|trainer_state|training_args|\.pt$|"
                                r"\.bin$|\.ckpt$")
CART_TS = """export class Cart {
  items = [];
  add(sku, count) {
    this.items.push({ sku, count });
    return this.items.length;
  }
}
"""


@dataclass
class Installed:
    root: Path  # the fresh virtualenv
    site_packages: Path
    typetool: Path  # its console script
    home: Path  # PRE_COMMIT_HOME, and a directory outside the repository to run in


def run_env(home: Path) -> dict[str, str]:
    """test_precommit's environment (no GIT_*/PRE_COMMIT* leaking in, one thread) without anything that would
    put another typetool on the path."""
    e = git_env(home)
    for var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSAFEPATH"):
        e.pop(var, None)
    return e


def run(*args: str | Path, cwd: Path, home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=run_env(home), capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # hatchling from the dev extra: no network needed; without it pip fetches it from the index
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    proc = run(sys.executable, "-m", "pip", "wheel", REPO, "--no-deps", *isolation, "-w", out, "-q",
               cwd=out, home=out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = out.glob("typetool-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("installed")
    root, home = base / "venv", base / "home"
    home.mkdir()
    proc = run(sys.executable, "-m", "venv", "--without-pip", root, cwd=home, home=home)
    assert proc.returncode == 0, proc.stderr
    python = root / "bin" / "python"
    # this environment's pip installs into the fresh interpreter, before the .pth below exists (so that pip
    # does not see the editable typetool as already installed)
    proc = run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel,
               cwd=home, home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=home, home=home)
    site_packages = Path(proc.stdout.strip())
    assert (site_packages / "typetool" / "__init__.py").is_file(), proc.stdout + proc.stderr
    (site_packages / "dev-packages.pth").write_text("".join(f"{d}\n" for d in site.getsitepackages()),
                                                     encoding="utf-8")
    return Installed(root, site_packages, root / "bin" / "typetool", home)


def test_default_model_dir_looks_in_the_package_then_the_repository(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    package, repo = tmp_path / "site-packages" / "typetool" / "models", tmp_path / "checkout" / "models"
    monkeypatch.setattr(predictions, "PACKAGE_MODELS_DIR", package)
    monkeypatch.setattr(predictions, "REPO_MODELS_DIR", repo)
    py, ts = DEFAULT_MODELS["py"], DEFAULT_MODELS["ts"]
    # neither: an installed package names its own place in the error, a checkout (pyproject.toml) its models/
    assert predictions.default_model_dir() == package / py
    with pytest.raises(ModelNotFound, match=f"no model at {re.escape(str(package / py))}"):
        TypePredictor()
    repo.mkdir(parents=True)
    (repo.parent / "pyproject.toml").write_text("", encoding="utf-8")
    assert predictions.default_model_dir("ts") == repo / ts
    (repo / py).mkdir()
    assert predictions.default_model_dir() == repo / py
    (package / py).mkdir(parents=True)
    assert predictions.default_model_dir("py") == package / py  # the package's first
    assert predictions.default_model_dir("ts") == repo / ts  # per model


def test_wheel_holds_the_shipped_models(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "typetool/grammars/python/annotations.scm" in names
    for name in DEFAULT_MODELS.values():
        for f in ("model.safetensors", "tokenizer.json", "config.json", "calibration.json", "card.json",
                  "linker.safetensors", "consistency.json", "type_vocab.json", "type_priors.json"):
            assert f"typetool/models/{name}/{f}" in names, f"{wheel.name} lacks typetool/models/{name}/{f}"
        # the model directory as it is in the repository, nothing left out
        shipped = {p.relative_to(REPO_MODELS_DIR).as_posix() for p in (REPO_MODELS_DIR / name).rglob("*")
                   if p.is_file()}
        assert {f"typetool/models/{rel}" for rel in shipped} <= names
    models = sorted(n for n in names if n.startswith("typetool/models/"))
    # only the default models (no other models/ directory), and no training leftovers
    assert {n.split("/")[2] for n in models} == set(DEFAULT_MODELS.values()), models
    assert not [n for n in models if TRAINING_LEFTOVERS.search(n)], models
    assert all(n.startswith(("typetool/", "typetool-")) for n in names), sorted(names)


def test_installed_package_finds_its_own_models(installed: Installed) -> None:
    code = ("import json, typetool, typetool.treesitter as parse, typetool.predictions as p; print(json.dumps("
            "[typetool.__file__, str(p.default_model_dir('py')), str(p.default_model_dir('ts')), "
            "str(parse.grammars_dir())]))")
    proc = run(installed.root / "bin" / "python", "-c", code, cwd=installed.home, home=installed.home)
    assert proc.returncode == 0, proc.stderr
    module, py, ts, grammars = json.loads(proc.stdout)
    package = installed.site_packages / "typetool"
    assert Path(module) == package / "__init__.py"  # the wheel's copy, not the editable install
    assert Path(py) == package / "models" / DEFAULT_MODELS["py"]
    assert Path(ts) == package / "models" / DEFAULT_MODELS["ts"]
    assert Path(grammars) == package / "grammars"
    for model in (py, ts):
        assert (Path(model) / "model.safetensors").is_file(), f"the installed package has no {model}"


def test_installed_annotate_outside_the_repository(installed: Installed, tmp_path: Path) -> None:
    project = tmp_path / "inventory"
    shutil.copytree(INVENTORY, project)
    proc = run(installed.typetool, "annotate", project, cwd=tmp_path, home=installed.home)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "no model" not in out, out
    changed = []
    for source in sorted(INVENTORY.rglob("*.py")):
        before = source.read_text(encoding="utf-8")
        after = (project / source.relative_to(INVENTORY)).read_text(encoding="utf-8")
        if after != before:
            changed.append(source.name)
            compile(after, str(source), "exec")
            added = set(after.splitlines()) - set(before.splitlines())
            assert any(") -> " in line or re.search(r"\w: \w", line) for line in added), after
    assert changed, out
    assert re.search(rf"files changed\W+{len(changed)}\b", out), out


def test_installed_pre_commit_hook(installed: Installed, tmp_path: Path) -> None:
    """The shipped typetool-check hook under `pre-commit try-repo`, its entry the installed console script
    (`language: system` instead of pre-commit building its own virtualenv, as in test_precommit), with no
    model setting: the shipped models, one per language, from the installed package."""
    home = installed.home
    hook_repo = tmp_path / "hooks"
    hook_repo.mkdir()
    manifest = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    for hook in manifest:
        assert hook["entry"].startswith("typetool ")
        hook["language"] = "system"
        hook["entry"] = f"{shlex.quote(str(installed.typetool))} {hook['entry'].removeprefix('typetool ')}"
    (hook_repo / ".pre-commit-hooks.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    sh("git", "init", "-q", cwd=hook_repo, home=home)
    sh("git", "add", "-A", cwd=hook_repo, home=home)
    sh("git", "commit", "-qm", "hooks", cwd=hook_repo, home=home)

    project = tmp_path / "project"
    project.mkdir()
    sh("git", "init", "-q", cwd=project, home=home)
    (project / "stock.py").write_text(SRC, encoding="utf-8")
    (project / "clean.py").write_text(CLEAN, encoding="utf-8")
    (project / "cart.ts").write_text(CART_TS, encoding="utf-8")
    sh("git", "add", "-A", cwd=project, home=home)

    proc = pre_commit("try-repo", str(hook_repo), "typetool-check", "--all-files", cwd=project, home=home)
    out = proc.stdout + proc.stderr
    assert "no model" not in out and "exit code: 2" not in out, out
    # the shipped Python model is confident about some of stock.py's parameters (`path` of load: str)
    assert proc.returncode == 1 and "Failed" in out and "exit code: 1" in out, out
    assert re.search(r"^stock\.py:\d+:\d+: missing-annotation: ", out, re.MULTILINE), out

"""One `typetool annotate` run reaches its fixpoint: a second run on its output writes nothing.

With the shipped models (their prediction sets, consistency stage and annotation votes are what made a second
run write more: an annotation written in one pass is evidence for the next), on the bundled examples and on
stripped copies of real packages (three Python packages installed in the test environment, two pinned npm
packages from the TypeScript corpus cache), at several epsilons. One predictor is loaded for all of them.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from typetool.cli import parse_kinds
from typetool.pipeline import annotate
from typetool.predictions import TypePredictor
from typetool.ts.npm import default_cache
from typetool.writeback import FileStatus, SlotStatus, WriteMode, WriteOptions, strip_paths

REPO = Path(__file__).resolve().parent.parent


def _site_package(name: str) -> Path:
    module = __import__(name)
    return Path(module.__file__).parent


def _npm(key: str) -> Path:
    root = default_cache() / "src" / key
    if not root.is_dir():
        pytest.fail(f"{root} is missing: run `python -m typetool.ts.npm` first (the README's test command does)")
    return root


CASES = [
    # (name, source, epsilon, sites)
    ("inventory", lambda: REPO / "tests/data/projects/inventory", 0.1, "params,returns,variables,attributes"),
    ("inventory", lambda: REPO / "tests/data/projects/inventory", 0.4, "params,returns,variables,attributes"),
    ("shop", lambda: REPO / "tests/data/ts_projects/shop", 0.1, "params,returns,variables,attributes"),
    ("shop", lambda: REPO / "tests/data/ts_projects/shop", 0.5, "params,returns,variables,attributes"),
    ("mdurl", lambda: _site_package("mdurl"), 0.1, "params,returns"),
    ("iniconfig", lambda: _site_package("iniconfig"), 0.3, "params,returns"),
    ("pluggy", lambda: _site_package("pluggy"), 0.2, "params,returns,variables,attributes"),
    ("preact-signals", lambda: _npm("preact-signals-core-1.14.5"), 0.1, "params,returns"),
    ("preact-signals", lambda: _npm("preact-signals-core-1.14.5"), 0.5, "params,returns,variables,attributes"),
    ("signalr", lambda: _npm("microsoft-signalr-10.0.11") / "src", 0.3, "params,returns"),
]


_PREDICTORS: dict[float, TypePredictor] = {}


def predictor_at(epsilon: float) -> TypePredictor:
    """The shipped Python model (it loads the TypeScript one for TypeScript slices) at `epsilon`, loaded once,
    under the marginal guarantee: the cases were chosen where it writes chains of slots (the written guarantee
    writes fewer, so it would show less of the fixpoint)."""
    if epsilon not in _PREDICTORS:
        _PREDICTORS[epsilon] = TypePredictor(None, epsilon=epsilon, delta=0.1, guarantee="sites")
    return _PREDICTORS[epsilon]


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in (".py", ".ts", ".tsx")}


@pytest.mark.parametrize(("name", "source", "epsilon", "sites"), CASES,
                         ids=[f"{c[0]}-eps{c[2]}" for c in CASES])
def test_a_second_run_writes_nothing(name: str, source: object, epsilon: float, sites: str, tmp_path: Path
                                     ) -> None:
    assert callable(source)
    copy = tmp_path / name
    shutil.copytree(source(), copy, ignore=shutil.ignore_patterns("__pycache__", "*.d.ts", "node_modules"))
    stripped = strip_paths([copy], WriteMode.WRITE)
    assert not any(f.status == FileStatus.FAILED for f in stripped.files)
    kinds = parse_kinds(sites)
    predictor = predictor_at(epsilon)
    first = annotate([copy], predictor, WriteMode.WRITE, WriteOptions(), kinds)
    assert first.run.exit_code == 0, [d.format() for d in first.run.all_diagnostics]
    assert first.run.changed, f"{name}: the first run wrote nothing, so the test shows nothing"
    after_first = _hashes(copy)
    second = annotate([copy], predictor, WriteMode.CHECK, WriteOptions(), kinds)
    changed = [(f.path, [s.slot_id for s in f.slots if s.status == SlotStatus.WRITTEN]) for f in second.run.changed]
    assert not changed, f"{name} at epsilon {epsilon}: a second run would write {changed} ({first.rounds} rounds)"
    assert _hashes(copy) == after_first


def test_one_round_is_not_enough_on_the_readme_example(tmp_path: Path) -> None:
    """What the fixpoint fixes: with the rounds bounded to one (a run before this change), a second run on the
    README's example writes more; the full run takes more than one round and a second run writes nothing."""
    kinds = parse_kinds("params,returns,variables,attributes")
    one, full, fresh = tmp_path / "one", tmp_path / "full", tmp_path / "fresh"
    for copy in (one, full, fresh):
        shutil.copytree(REPO / "tests/data/projects/inventory", copy)
    predictor = predictor_at(0.1)
    assert annotate([one], predictor, WriteMode.WRITE, WriteOptions(), kinds, max_rounds=1).rounds == 1
    assert annotate([one], predictor, WriteMode.CHECK, WriteOptions(), kinds).run.changed
    out = annotate([full], predictor, WriteMode.WRITE, WriteOptions(), kinds)
    assert out.rounds > 1
    # positions are the files' as they were read, not as an earlier round's planned writes shifted them
    on_disk = {p.slot.id: (p.slot.line, p.slot.column)
               for p in annotate([fresh], predictor, WriteMode.CHECK, WriteOptions(), kinds, max_rounds=1).predictions}
    assert {p.slot.id.replace("/full/", "/fresh/"): (p.slot.line, p.slot.column) for p in out.predictions} == on_disk
    assert not annotate([full], predictor, WriteMode.CHECK, WriteOptions(), kinds).run.changed
    # the summary counts each slot once, with the prediction that was written
    assert out.summary()["slots seen"] == len({p.slot.id for p in out.predictions})


@pytest.mark.parametrize("example", ["projects/inventory", "ts_projects/shop"])
def test_predict_then_apply_writes_what_annotate_writes(example: str, tmp_path: Path) -> None:
    """`predict --format json | apply` and `annotate` make the same plan, to the same fixpoint, from the same
    [tool.typetool] settings (here not the defaults: epsilon 0.3, the marginal guarantee, every kind of slot)."""
    from tests.conftest import run_cli

    settings = '[tool.typetool]\nepsilon = 0.3\nguarantee = "sites"\nsites = "params,returns,variables,attributes"\n'
    one, two = tmp_path / "one", tmp_path / "two"
    for copy in (one, two):
        shutil.copytree(REPO / "tests/data" / example, copy)
        (copy / "pyproject.toml").write_text(settings, encoding="utf-8")
    predicted = run_cli("predict", ".", "--format", "json", cwd=one)
    assert predicted.returncode == 0, predicted.stderr
    (tmp_path / "p.json").write_text(predicted.stdout, encoding="utf-8")
    applied = run_cli("apply", str(tmp_path / "p.json"), cwd=one)
    assert applied.returncode == 0, applied.stderr
    annotated = run_cli("annotate", ".", cwd=two)
    assert annotated.returncode == 0, annotated.stderr
    assert _hashes(one) == _hashes(two)
    assert _hashes(one) != _hashes(REPO / "tests/data" / example), "nothing was written"

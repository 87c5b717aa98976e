"""The prediction cache (issue 21): a hit gives exactly what a miss gives, an edit re-predicts only the slots whose
slices changed, a damaged cache is rebuilt with a warning, and runs sharing one cache leave it consistent."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from typetool.model.decoder import Candidate
from typetool.predcache import CACHE_DIR, DATABASE, PredictionCache, cache_root, clean

EXAMPLE = Path(__file__).parent / "data" / "projects" / "inventory"
FP = "f" * 32


def cands(n: int, seed: float = 0.0) -> list[Candidate]:
    return [Candidate(f"list[T{i}]", -0.1 * i - seed - 1e-17, [-0.05 * i, -1 / 3, 0.0], ["list", "[", "T", "</s>"],
                      [(0, 4), (4, 5), (5, 7), (7, 7)]) for i in range(n)]


def key(i: int) -> tuple[str, tuple[str, ...], int, int]:
    return (f"<py> param x{i} of f(x{i})\nflows: é\u2028", ("Node", "Leaf"), 5, 8)


def test_candidates_come_back_exactly(tmp_path: Path) -> None:
    cache = PredictionCache(tmp_path / CACHE_DIR)
    cache.put(FP, [(key(i), cands(3, i)) for i in range(10)])
    got = cache.get(FP, [key(i) for i in range(12)])
    assert sorted(got) == list(range(10)) and got[4] == cands(3, 4)  # floats, tokens and offsets exact
    assert cache.get("0" * 32, [key(1)]) == {}  # another model's entries are never read
    assert (cache.hits, cache.misses) == (10, 3)
    assert (tmp_path / CACHE_DIR / ".gitignore").read_text().splitlines()[-1] == "*"


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_cache_is_rebuilt_with_a_warning(tmp_path: Path, damage: str) -> None:
    directory = tmp_path / CACHE_DIR
    first = PredictionCache(directory)
    first.put(FP, [(key(i), cands(4, i)) for i in range(300)])
    first.close()
    db = directory / DATABASE
    if damage == "garbage":
        db.write_bytes(b"this is not a database" * 100)
    else:
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 3])
    warnings: list[str] = []
    cache = PredictionCache(directory, warn=warnings.append)
    assert cache.get(FP, [key(1)]) in ({}, {0: cands(4, 1)})  # never a crash, never a wrong entry
    cache.put(FP, [(key(1), cands(2))])
    assert cache.get(FP, [key(1)]) == {0: cands(2)}
    if damage == "garbage":
        assert len(warnings) == 1 and "rebuilt" in warnings[0]
        assert (directory / (DATABASE + ".corrupt")).is_file()


def test_an_unwritable_place_turns_the_cache_off(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes anywhere: a file where the directory should be
        (tmp_path / CACHE_DIR).write_text("x")
    else:
        tmp_path.chmod(0o500)
    warnings: list[str] = []
    try:
        cache = PredictionCache(tmp_path / CACHE_DIR, warn=warnings.append)
        cache.put(FP, [(key(0), cands(1))])
        assert cache.get(FP, [key(0)]) == {}
        cache.put(FP, [(key(1), cands(1))])
    finally:
        tmp_path.chmod(0o700)
    assert len(warnings) == 1 and "no prediction cache" in warnings[0]


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    cache = PredictionCache(tmp_path / CACHE_DIR, max_entries=50)
    for start in range(0, 200, 20):
        cache.put(FP, [(key(i), cands(1)) for i in range(start, start + 20)])
    (count,) = sqlite3.connect(cache.path).execute("SELECT count(*) FROM candidates").fetchone()
    assert count == 50
    assert sorted(cache.get(FP, [key(i) for i in range(200)])) == list(range(150, 200))  # the newest stay


def _writer(directory: str, start: int) -> None:
    cache = PredictionCache(Path(directory))
    for k in range(start, start + 200, 10):
        cache.put(FP, [(key(i), cands(2, i)) for i in range(k, k + 10)])
        cache.get(FP, [key(i) for i in range(0, 400, 7)])


def test_concurrent_runs_leave_a_consistent_cache(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path / CACHE_DIR), s)) for s in (0, 100)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    got = PredictionCache(tmp_path / CACHE_DIR).get(FP, [key(i) for i in range(300)])
    assert sorted(got) == list(range(300)) and all(got[i] == cands(2, i) for i in got)
    (check,) = sqlite3.connect(tmp_path / CACHE_DIR / DATABASE).execute("PRAGMA integrity_check").fetchone()
    assert check == "ok"


def test_the_cache_lives_beside_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "src").mkdir()
    assert cache_root([tmp_path / "src"]) == tmp_path / CACHE_DIR
    bare = tmp_path / "elsewhere"
    bare.mkdir()
    assert cache_root([bare / "m.py"]) in (bare / CACHE_DIR, tmp_path / CACHE_DIR)
    assert not clean(tmp_path / CACHE_DIR)  # nothing there yet
    PredictionCache(tmp_path / CACHE_DIR).put(FP, [(key(0), cands(1))])
    assert clean(tmp_path / CACHE_DIR) and not (tmp_path / CACHE_DIR).exists()


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TYPETOOL_NO_CACHE"}
    return subprocess.run([sys.executable, "-m", "typetool", *args], capture_output=True, text=True, cwd=cwd,
                          env=env)


def test_a_hit_writes_what_a_miss_writes(tiny_model: Path, tmp_path: Path) -> None:
    """Annotate a copy cold (every slot a miss), then another copy warm from the first one's cache (every slot a
    hit): byte-identical files. The tiny model without its calibration writes every prediction (whether the
    calibrated one writes anything here at all depends on typetool's own source, which it is trained on)."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    (model / "calibration.json").unlink()
    copies = []
    for name in ("cold", "warm"):
        copies.append(tmp_path / name / "inventory")
        shutil.copytree(EXAMPLE, copies[-1])
    # --no-gate: the checker engine would leave out most of the tiny model's types, and this is about the cache
    args = ["--model", str(model), "--sites", "params,returns,variables,attributes", "--epsilon", "0.4", "--no-gate"]
    assert run("annotate", "inventory", *args, cwd=copies[0].parent).returncode == 0
    shutil.copytree(copies[0] / CACHE_DIR, copies[1] / CACHE_DIR)
    assert run("annotate", "inventory", *args, cwd=copies[1].parent).returncode == 0
    files = [sorted((p.relative_to(c), p.read_bytes()) for p in c.rglob("*.py")) for c in copies]
    assert files[0] == files[1]
    assert any(a != b for (_, a), (_, b) in zip(files[0], sorted((p.relative_to(EXAMPLE), p.read_bytes())
                                                                  for p in EXAMPLE.rglob("*.py"))))


def test_no_cache_opens_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typetool.cli_common import open_cache

    class Predictor:
        store: object = None

        def use_cache(self, store: object) -> None:
            self.store = store

    monkeypatch.delenv("TYPETOOL_NO_CACHE", raising=False)
    for no_cache, env, opened in ((True, None, False), (False, "1", False), (False, None, True)):
        if env:
            monkeypatch.setenv("TYPETOOL_NO_CACHE", env)
        else:
            monkeypatch.delenv("TYPETOOL_NO_CACHE", raising=False)
        predictor = Predictor()
        open_cache(predictor, [tmp_path], no_cache)  # type: ignore[arg-type]
        assert isinstance(predictor.store, PredictionCache) is opened
        if opened:
            assert predictor.store.directory == tmp_path / CACHE_DIR  # type: ignore[attr-defined]


def test_an_edit_repredicts_only_the_changed_slices(tiny_model: Path, tmp_path: Path) -> None:
    from typetool.pipeline import load_project, predict_project
    from typetool.predictions import TypePredictor

    project_dir = tmp_path / "inventory"
    shutil.copytree(EXAMPLE, project_dir)

    def predict() -> tuple[PredictionCache, list[object]]:
        predictor = TypePredictor(tiny_model)
        cache = PredictionCache(tmp_path / CACHE_DIR)
        predictor.use_cache(cache)
        preds = predict_project(load_project([project_dir]), predictor)
        cache.close()
        return cache, preds

    cold, first = predict()
    assert cold.hits == 0 and cold.misses == len(first) > 10
    warm, again = predict()
    assert (warm.hits, warm.misses) == (len(first), 0) and again == first
    target = next(p for p in project_dir.rglob("*.py") if "def " in p.read_text())
    text = target.read_text()
    name = text.split("def ", 1)[1].split("(", 1)[0]
    target.write_text(text + f"\n\ndef uses_it(value):\n    return {name}(value)\n")
    edited, _ = predict()
    assert 0 < edited.misses < len(first) // 2  # the new function's slots and those whose slices now differ
    assert edited.hits >= len(first) - edited.misses


# -- the second table: write-back's proven plans of files (`proofstore`, `writeback.ProofMemo`) -------------------


def test_outcome_blobs_come_back_exactly_and_are_bounded(tmp_path: Path) -> None:
    cache = PredictionCache(tmp_path / CACHE_DIR)
    blobs = {f"k{i}": bytes(range(256)) * i + b"\0" for i in range(30)}
    cache.put_outcomes(blobs.items(), max_entries=20)
    found = cache.get_outcomes(list(blobs))
    assert len(found) == 20 and all(found[k] == blobs[k] for k in found)
    assert cache.get_outcomes(["missing"]) == {} and cache.get_outcomes([]) == {}
    cache.close()
    again = PredictionCache(tmp_path / CACHE_DIR)  # another run reads them
    assert again.get_outcomes(list(found)) == found
    assert again.get(FP, [key(0)]) == {}  # the tables are apart


def test_an_old_cache_gets_the_outcomes_table(tmp_path: Path) -> None:
    """A database made before the outcomes table existed (only `candidates`) keeps its candidates."""
    directory = tmp_path / CACHE_DIR
    directory.mkdir()
    db = sqlite3.connect(directory / DATABASE)
    db.execute("CREATE TABLE candidates (key TEXT PRIMARY KEY, value BLOB NOT NULL, used REAL NOT NULL)")
    db.commit()
    db.close()
    cache = PredictionCache(directory)
    cache.put(FP, [(key(0), cands(2))])
    cache.put_outcomes([("k", b"v")])
    assert cache.get_outcomes(["k"]) == {"k": b"v"} and cache.get(FP, [key(0)]) == {0: cands(2)}


def test_a_damaged_cache_gives_no_outcome(tmp_path: Path) -> None:
    directory = tmp_path / CACHE_DIR
    first = PredictionCache(directory)
    first.put_outcomes([(f"k{i}", b"x" * 5000) for i in range(100)])
    first.close()
    (directory / DATABASE).write_bytes(b"this is not a database" * 100)
    warnings: list[str] = []
    cache = PredictionCache(directory, warn=warnings.append)
    assert cache.get_outcomes(["k1"]) == {}
    assert len(warnings) == 1 and "rebuilt" in warnings[0]

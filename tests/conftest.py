"""Shared fixtures. `pytest --update-golden` rewrites golden files instead of comparing with them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files with the current output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path) -> Ran:
    """The CLI in-process (fast), in directory `cwd`; unexpected exceptions propagate."""
    from typer.testing import CliRunner

    from typetool.cli import app

    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def check_golden(path: Path, actual: str, update: bool) -> None:
    """Compare `actual` with the golden file (or rewrite it with --update-golden)."""
    if update or not path.exists():
        if not update:
            pytest.fail(f"golden file {path} is missing: run pytest --update-golden to create it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path} (run pytest --update-golden to accept)"


def train_tiny_model(work: Path, records: list[dict[str, object]], packages: list[str]) -> Path:
    """Train a tiny model in seconds on `records` (shuffled), with type priors and a real calibration on the
    first 200; the model directory."""
    import json
    import random

    import torch

    from typetool.evaluation import Record, calibrate, write_priors
    from typetool.model.train import train
    from typetool.predictions import TypePredictor

    random.Random(0).shuffle(records)
    lines = [json.dumps(r) + "\n" for r in records]
    (work / "train.jsonl").write_text("".join(lines), encoding="utf-8")
    (work / "valid.jsonl").write_text("".join(lines[:32]), encoding="utf-8")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(work / "train.jsonl", work / "valid.jsonl", work / "model", preset="tiny", max_steps=60,
              batch_size=16, lr=3e-3, vocab_size=600, eval_every=0, log_every=1000, checkpoint_minutes=1e9,
              valid_limit=16, warmup_steps=5, threads=1, cache_dir=work / "cache", log=lambda _line: None)
    finally:
        torch.set_num_threads(threads)
    model_dir = work / "model"
    write_priors(work / "train.jsonl", model_dir)
    predictor = TypePredictor(model_dir)
    sample = [Record(str(r["input"]), tuple(str(n) for n in r["names"]),  # type: ignore[attr-defined]
                     str(r["target"]), str(r["kind"]), str(r["id"])) for r in records[:200]]
    calibrate(predictor, sample, batch_size=64, packages=packages)
    return model_dir


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny) model directory, trained here in seconds on the labelled slices of typetool's own
    annotated source, with type priors and a real calibration.json. Tests of the front ends use it so they
    do not depend on the shipped model in models/."""
    from typetool.corpus import CorpusPackage
    from typetool.python.corpus import records_for_package

    source_root = Path(__file__).resolve().parent.parent
    records = records_for_package(CorpusPackage("train", "typetool==0"), source_root / "typetool").records
    return train_tiny_model(tmp_path_factory.mktemp("tiny_model"), list(records), ["typetool"])


TS_CORPUS = DATA / "ts_projects"


@pytest.fixture(scope="session")
def tiny_ts_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny) TypeScript model directory, trained here in seconds (as `tiny_model`) on the labelled
    slices of the annotated TypeScript projects under tests/data/ts_projects/ (records as
    `typetool.ts.corpus.records_for_ts_package` makes them), with type priors, a real calibration.json and
    `"language": "ts"` in its card.json."""
    import json

    from typetool.predictions import TypePredictor
    from typetool.ts.corpus import records_for_ts_package
    from typetool.ts.npm import NpmPackage

    records: list[dict[str, object]] = []
    for project in sorted(p for p in TS_CORPUS.iterdir() if p.is_dir()):
        records += records_for_ts_package(NpmPackage("train", project.name, "0.0.0"), project).records
    records = [r for r in records if r["reachable"]]
    assert len(records) >= 100, "the TypeScript test corpus is too small to train on"
    model_dir = train_tiny_model(tmp_path_factory.mktemp("tiny_ts_model"), records,
                                 [p.name for p in TS_CORPUS.iterdir() if p.is_dir()])
    card = json.loads((model_dir / "card.json").read_text(encoding="utf-8"))
    assert card.get("language") == "ts", "train() did not tag the model as TypeScript"
    assert TypePredictor(model_dir).language == "ts"
    return model_dir

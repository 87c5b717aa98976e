"""`typetool predict` and `typetool evaluate` end to end with a real (tiny) model trained in the test session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent / "data" / "projects" / "inventory"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "typetool", *args], capture_output=True, text=True)


def test_predict_json_has_a_record_per_unannotated_slot(tiny_model: Path) -> None:
    proc = run("predict", str(EXAMPLE), "--format", "json", "--model", str(tiny_model), "--top-k", "3",
               "--sites", "params,returns,variables,attributes")  # (the default is annotate's: params,returns)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["version"] == 1 and data["calibrated"] is True
    preds = data["predictions"]
    ids = {p["id"] for p in preds}
    slices = json.loads(run("slices", str(EXAMPLE), "--format", "json", "--unannotated").stdout)["slices"]
    assert ids == {s["id"] for s in slices}
    for p in preds:
        assert 1 <= len(p["candidates"]) <= 3
        assert 0.0 <= p["confidence"] <= 1.0
        assert p["status"] in ("full", "partial", "none")
        assert (p["type"] is None) == (p["status"] == "none")
        assert p["file"] in data["files"]


def test_missing_model_is_a_clear_usage_error(tmp_path: Path) -> None:
    proc = run("predict", str(EXAMPLE), "--model", str(tmp_path))
    assert proc.returncode == 2
    assert "no model at" in proc.stderr and "Traceback" not in proc.stderr


def test_evaluate_reports_model_and_baselines(tiny_model: Path, tmp_path: Path) -> None:
    src = Path(__file__).resolve().parent.parent / "typetool" / "predsets.py"
    proc = run("evaluate", str(src), "--model", str(tiny_model), "--format", "json", "--report", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["n"] > 10
    assert {"model", "most-frequent", "heuristic"} <= set(data["metrics"])
    row = data["metrics"]["model"]["all (param+return)"]
    assert 0.0 <= row["exact"] <= row["top5"] <= 1.0
    assert (tmp_path / "reliability.html").read_text().count("<svg") == 1
    assert [p["epsilon"] for p in data["pac"]] == [0.05, 0.1, 0.2]
    # the written guarantee (the default): what is written, and the wrong share among it, per epsilon; on the
    # calibration sites a looser epsilon never writes less (its accepted rules include the stricter one's)
    assert {p["guarantee"] for p in data["pac"]} == {"written"}
    for p in data["pac"]:
        assert 0.0 <= p["written"] <= 1.0 and 0.0 <= p["wrong_written"] <= 1.0
        assert abs(p["written"] - p["written_full"] - p["written_partial"]) < 1e-9
        assert set(p["rules"]) == {"param", "return", "variable+attribute"}
    for group in ("param", "return", "variable+attribute"):
        counts = [(p["rules"][group] or {"written": 0})["written"] for p in data["pac"]]
        assert counts == sorted(counts), (group, counts)
    marginal = run("evaluate", str(src), "--model", str(tiny_model), "--format", "json", "--guarantee", "sites")
    assert marginal.returncode == 0, marginal.stderr
    assert {p["guarantee"] for p in json.loads(marginal.stdout)["pac"]} == {"sites"}


def test_evaluate_over_several_packages_reports_macro_micro_and_each_package(tiny_model: Path) -> None:
    """Each PATH is a package: the headline is the macro figure (each rate averaged over the packages), beside
    the micro one (over sites) and one row per package (issue 19)."""
    from typetool.evaluation import run_evaluations
    from typetool.predictions import TypePredictor

    pkg = Path(__file__).resolve().parent.parent / "typetool"
    paths = [pkg / "predsets.py", pkg / "calibration.py"]  # a file is a package too
    (result,) = run_evaluations(paths, TypePredictor(tiny_model))
    data = json.loads(json.dumps(result.as_json()))
    assert set(data["packages"]) == {"predsets.py", "calibration.py"}
    for predictor in ("model", "most-frequent", "heuristic"):
        rows = [data["packages"][p][predictor]["all (param+return)"] for p in ("predsets.py", "calibration.py")]
        macro, micro = data["macro"][predictor]["all (param+return)"], data["metrics"][predictor]["all (param+return)"]
        assert macro["packages"] == 2 and macro["n"] == micro["n"] == rows[0]["n"] + rows[1]["n"]
        for rate in ("exact", "precision", "coverage", "parametric", "top5"):
            assert abs(macro[rate] - (rows[0][rate] + rows[1][rate]) / 2) < 1e-9
            weighted = (rows[0][rate] * rows[0]["n"] + rows[1][rate] * rows[1]["n"]) / micro["n"]
            if rate != "precision":  # precision's denominator is the answered sites
                assert abs(micro[rate] - weighted) < 1e-9
    text = result.text()
    assert "macro (each rate averaged over 2 packages)" in text and "per package (param+return)" in text


def test_evaluate_is_strict_by_default(monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> None:
    """The strict protocol (imports only annotations used are gone) is the default; `--lenient` keeps them."""
    from typer.testing import CliRunner

    from typetool import evaluation
    from typetool.cli import app

    seen: list[bool] = []

    def fake(paths: object, predictor: object, **kw: object) -> list[object]:
        seen.append(bool(kw["code_imports_only"]))
        raise SystemExit(0)

    monkeypatch.setattr(evaluation, "run_evaluations", fake)
    for extra in ([], ["--lenient"], ["--strict"]):
        CliRunner().invoke(app, ["evaluate", str(EXAMPLE), "--model", str(tiny_model), *extra])
    assert seen == [True, False, True]


def test_annotate_states_its_guarantee(tiny_model: Path, tmp_path: Path) -> None:
    """After its table, annotate says in one sentence what epsilon bounds and on which calibration sample."""
    import shutil

    shutil.copytree(EXAMPLE, tmp_path / "p")
    written = run("annotate", str(tmp_path / "p"), "--model", str(tiny_model), "--diff", "--no-cache")
    assert written.returncode == 0, written.stderr
    flat = " ".join(written.stderr.split())
    assert "Guarantee: at most 10% of the annotations written miss the true type" in flat, flat
    assert "with probability 90% over the calibration sample (200 sites of 1 package it never trained on: " \
           "typetool)" in flat, flat
    marginal = run("annotate", str(tmp_path / "p"), "--model", str(tiny_model), "--diff", "--no-cache",
                   "--guarantee", "sites", "--epsilon", "0.2")
    assert marginal.returncode == 0, marginal.stderr
    assert "Guarantee (marginal): the written types, holes included, cover the true type at all but 20% of all " \
           "sites" in " ".join(marginal.stderr.split())
    bad = run("annotate", str(tmp_path / "p"), "--model", str(tiny_model), "--guarantee", "most")
    assert bad.returncode == 2 and "guarantee must be written or sites" in bad.stderr

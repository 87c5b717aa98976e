"""`typetool predict` and `typetool evaluate` end to end with a real (tiny) model trained in the test session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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

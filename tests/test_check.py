"""`typetool check`: the rules (unit), the git diff reader, the four output formats (SARIF validated against
the vendored SARIF 2.1.0 schema), exit codes, and end to end with the tiny model."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from typetool import check as C
from typetool.predictions import Prediction, Scored
from typetool.predsets import TAU_GRID, node_costs
from typetool.slots import Slot, SlotKind
from typetool.typeexpr import parse_type

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"

SRC = '''"""Inventory."""
import json


class Stock:
    def __init__(self, name, count=0):
        self.name = name
        self.count = count

    def add(self, amount):
        self.count += amount
        return self.count

    def label(self, prefix="item"):
        return prefix + ": " + self.name


def load(path):
    with open(path) as f:
        return json.load(f)


def total(items: list, start: int = 0) -> int:
    return start + sum(i.count for i in items)
'''
# loose settings so that even the tiny test model has sets to report
PYPROJECT = '[tool.typetool]\nepsilon = 0.5\ndelta = 0.5\nmin-confidence = 0.0\n'


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


run = run_cli


def git(*args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def uncalibrated_copy(model: Path, dest: Path) -> Path:
    """The tiny model without calibration.json: raw probabilities and full types (never all holes), so every
    unannotated slot has a prediction to report at min-confidence 0 however good the tiny model is."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in model.iterdir():
        if f.is_file() and f.name != "calibration.json":
            shutil.copyfile(f, dest / f.name)
    return dest


@pytest.fixture(scope="module")
def raw_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return uncalibrated_copy(tiny_model, tmp_path_factory.mktemp("raw_model"))


def use_model(project: Path, model: Path) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + f'model = "{model.as_posix()}"\n', encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, raw_model: Path) -> Path:
    use_model(tmp_path, raw_model)
    (tmp_path / "stock.py").write_text(SRC, encoding="utf-8")
    return tmp_path


# ------------------------------------------------------------------------------------------------- the rules

def slot(name: str = "x", annotation: str | None = None, kind: SlotKind = SlotKind.PARAM) -> Slot:
    return Slot(Slot.make_id("m.py", kind, "f", name), "m.py", kind, "f", name, 3, 8, annotation)


def pred(s: Slot, partial: str | None, confidence: float, top: str = "int", costs: object = None) -> Prediction:
    holes = partial.count("?") if partial else 0
    return Prediction(s, (Scored(top, -0.1, confidence),), partial, holes, confidence, (), costs)  # type: ignore[arg-type]


def test_missing_rule_needs_a_set_and_the_confidence() -> None:
    preds = [pred(slot("a"), "int", 0.9), pred(slot("b"), "int", 0.4), pred(slot("c"), None, 0.99),
             pred(slot("d", "str"), "int", 0.99), pred(slot("e"), "dict[str, ?]", 0.6, top="dict[str, int]")]
    found = C.missing_findings(preds, 0.5, 0.1)
    assert [f.name for f in found] == ["a", "e"]
    assert found[1].predicted == "dict[str, Any]" and found[1].holes == 1
    assert found[0].line == 3 and found[0].column == 9  # 1-based column
    assert "parameter 'e' of f has no annotation; typetool predicts dict[str, Any] (confidence 0.60 for " \
           "dict[str, int])" == found[1].message
    assert [f.name for f in C.missing_findings(preds, 0.0, 0.1)] == ["a", "b", "e"]


def test_annotation_outside_the_set() -> None:
    s = parse_type
    assert C.annotation_outside(s("int"), "str") is True
    assert C.annotation_outside(s("int"), "int") is False
    assert C.annotation_outside(s("int | None"), "Optional[int]") is False  # normalized first
    assert C.annotation_outside(s("dict[str, ?]"), "Dict[str, List[int]]") is False
    assert C.annotation_outside(s("dict[str, ?]"), "dict[int, str]") is True
    assert C.annotation_outside(s("list[int]"), "list[Any]") is False  # Any matches anything at its place
    assert C.annotation_outside(s("list[int]"), "set[Any]") is True
    assert C.annotation_outside(s("int"), "Any") is None  # all Any: not judged
    assert C.annotation_outside(s("int"), "not a [type") is None
    assert C.overlaps(s("int | ?"), s("? | str")) and not C.overlaps(s("int | ?"), s("str | bytes | None"))


def test_suspicious_rule_uses_the_strict_set() -> None:
    # top-1 `dict[str, int]`: the outer type is sure, the value type is not
    text = "dict[str, int]"
    offsets = [(0, 4), (4, 5), (5, 8), (8, 9), (9, 13), (13, 14)]
    nc = node_costs(text, [-0.01, -0.01, -0.01, -0.01, -3.0, -0.01], offsets)
    tau = TAU_GRID[87]  # budget -log(tau) ~1.45: drops the costly `int` only
    pac = {"taus": list(TAU_GRID), "max_holes": 4}
    preds = [pred(slot("a", "dict[str, str]"), None, 0.5, text, nc), pred(slot("b", "list[int]"), None, 0.5, text, nc),
             pred(slot("c", "dict[str, Any]"), None, 0.5, text, nc), pred(slot("d"), None, 0.5, text, nc)]
    found = C.suspicious_findings(preds, pac, 0.05, tau)
    assert [(f.name, f.predicted, f.annotation, f.rule) for f in found] == \
        [("b", "dict[str, Any]", "list[int]", C.SUSPICIOUS)]
    assert "is annotated list[int], outside typetool's prediction set dict[str, Any] at epsilon 0.05" in \
        found[0].message
    # at the loosest tau the whole type is a hole: nothing is ever flagged
    assert C.suspicious_findings(preds, pac, 0.05, TAU_GRID[-1]) == []


def test_parse_diff_and_quoted_paths() -> None:
    diff = (
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -3 +3 @@\n-x\n+y\n@@ -10,0 +11,2 @@\n+p\n+q\n"
        "@@ -20,2 +22,0 @@\n-gone\n-gone\n"
        "diff --git a/old.py b/dead.py\n--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
        'diff --git "a/sp ace\\303\\251.py" "b/sp ace\\303\\251.py"\n--- "a/sp ace\\303\\251.py"\n'
        '+++ "b/sp ace\\303\\251.py"\n@@ -0,0 +1,3 @@\n+a\n+b\n+c\n'
        "diff --git a/t.py b/t.py\n--- a/t.py\n+++ b/t.py\t\n@@ -1 +1 @@\n-a\n+b\n"
    )
    assert C.parse_diff(diff) == {"a.py": [(3, 3), (11, 12)], "sp ace\u00e9.py": [(1, 3)], "t.py": [(1, 1)]}
    assert C._unquote('"tab\\there \\"q\\" \\\\"') == 'tab\there "q" \\'


def test_github_escaping() -> None:
    f = C.Finding(C.MISSING, "a,b:c%.py", 2, 5, "id", "param", "f", "x", "int", "int", 0.9, 0, 0.1)
    line = C.format_github([f])
    assert line == ("::warning file=a%2Cb%3Ac%25.py,line=2,col=5,title=typetool missing-annotation::"
                    "parameter 'x' of f has no annotation; typetool predicts int (confidence 0.90)\n")


def sarif_validator() -> Any:
    import jsonschema  # type: ignore[import-untyped]

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    assert {"uri", "uri-reference"} <= set(cls.FORMAT_CHECKER.checkers), \
        "install the dev extra (rfc3986-validator) so that URIs are checked"
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_sarif_is_valid_for_unusual_paths_and_diagnostics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typetool.diagnostics import Diagnostic, Severity

    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path / "repo")  # finding paths are relative to the working directory

    findings = [
        C.Finding(C.MISSING, "sub dir/ü nicode.py", 1, 1, "i1", "return", "f", "return", "dict[str, Any]",
                  "dict[str, int]", 0.61, 1, 0.1),
        C.Finding(C.SUSPICIOUS, "../outside.py", 7, 3, "i2", "variable", "<module>", "v", "int", "int", 0.9, 0,
                  0.05, annotation="str"),
    ]
    diags = [Diagnostic("bad.py", "syntax-error", "syntax error", Severity.ERROR, 2, 4), Diagnostic("x", "e", "m")]
    log = C.sarif_log(findings, diags, tmp_path / "repo")
    errors = [e.message for e in sarif_validator().iter_errors(log)]
    assert errors == []
    results = log["runs"][0]["results"]
    loc = results[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "sub%20dir/%C3%BC%20nicode.py", "uriBaseId": "%SRCROOT%"}
    assert results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("file:///")
    assert results[1]["properties"]["annotation"] == "str"
    # the validator really is strict: a 0 line and an unknown property are rejected
    results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    results[1]["bogus"] = 1
    assert len(list(sarif_validator().iter_errors(log))) == 2


# ----------------------------------------------------------------------------------------------- end to end

def expected_missing(project: Path, model: Path, min_confidence: float = 0.0) -> set[tuple[str, int, int]]:
    """What `typetool predict` says the check must report: unannotated slots with a set and the confidence
    (`--no-gate`: the check reports what is missing; the gate judges what annotate writes)."""
    proc = run("predict", "stock.py", "--format", "json", "--epsilon", "0.5", "--delta", "0.5",
               "--sites", "params,returns", "--model", str(model), "--no-gate", cwd=project)
    assert proc.returncode == 0, proc.stderr
    preds = json.loads(proc.stdout)["predictions"]
    return {(p["file"], p["line"], p["column"] + 1) for p in preds
            if p["type"] is not None and p["confidence"] >= min_confidence}


def test_check_text_matches_the_predictions(project: Path, raw_model: Path) -> None:
    want = expected_missing(project, raw_model)
    assert len(want) == 9  # every unannotated parameter and return
    proc = run("check", "stock.py", cwd=project)
    assert proc.returncode == 1, proc.stderr
    got = set()
    for line in proc.stdout.splitlines():
        m = re.fullmatch(r"(stock\.py):(\d+):(\d+): missing-annotation: .+ has no annotation; typetool predicts "
                         r".+ \(confidence \d\.\d\d( for .+)?\)", line)
        assert m, line
        got.add((m.group(1), int(m.group(2)), int(m.group(3))))
    assert got == want
    assert f"typetool check: {len(want)} finding" in proc.stderr and "slots checked" in proc.stderr
    assert (project / "stock.py").read_text(encoding="utf-8") == SRC  # writes nothing

    clean = run("check", "stock.py", "--min-confidence", "1.0", cwd=project)
    assert (clean.returncode, clean.stdout) == (0, "") and "no findings" in clean.stderr
    assert run("check", "stock.py", "--exit-zero", "-q", cwd=project).returncode == 0


def test_check_formats(project: Path) -> None:
    data = json.loads(run("check", "-f", "json", cwd=project).stdout)  # default path: the current directory
    assert data["summary"]["findings"] == len(data["findings"]) > 0
    assert data["settings"]["epsilon"] == 0.5 and data["settings"]["min_confidence"] == 0.0
    first = data["findings"][0]
    assert {"rule", "file", "line", "column", "predicted", "confidence", "slot", "message"} <= set(first)

    proc = run("check", "-f", "sarif", "-o", "out.sarif", "--verify", "--verify-epsilon", "0.5", cwd=project)
    assert proc.returncode == 1 and proc.stdout == ""
    log = json.loads((project / "out.sarif").read_text(encoding="utf-8"))
    assert [e.message for e in sarif_validator().iter_errors(log)] == []
    run_ = log["runs"][0]
    assert [r["id"] for r in run_["tool"]["driver"]["rules"]] == [C.MISSING, C.SUSPICIOUS]
    assert len(run_["results"]) >= len(data["findings"])
    for r in run_["results"]:
        region = r["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert r["properties"]["predictedType"] in r["message"]["text"]
        assert f"{r['properties']['confidence']:.2f}"[:3] in r["message"]["text"]
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "stock.py"

    gh = run("check", "-f", "github", cwd=project).stdout.splitlines()
    assert len(gh) == len(data["findings"])
    assert all(re.fullmatch(r"::warning file=stock\.py,line=\d+,col=\d+,title=typetool missing-annotation::.+", g)
               for g in gh)


def test_calibrated_model_and_verify(project: Path, tiny_model: Path) -> None:
    proc = run("check", "-f", "json", "--verify", cwd=project)
    assert "--verify skipped: the model has no calibration.json" in proc.stderr

    use_model(project, tiny_model)
    plain = json.loads(run("check", "-f", "json", cwd=project).stdout)
    assert {(f["file"], f["line"], f["column"]) for f in plain["findings"]} == expected_missing(project, tiny_model)
    proc = run("check", "-f", "json", "--verify", "--verify-epsilon", "0.5", cwd=project)
    data = json.loads(proc.stdout)
    suspicious = [f for f in data["findings"] if f["rule"] == C.SUSPICIOUS]
    assert [f for f in data["findings"] if f["rule"] == C.MISSING] == plain["findings"]
    for f in suspicious:
        assert f["annotation"] in ("list", "int") and f["name"] in ("items", "start", "return")
        assert C.annotation_outside(parse_type(f["predicted"].replace("Any", "?")), f["annotation"])
    assert data["settings"]["verify_epsilon"] == 0.5


def test_changed_only(project: Path) -> None:
    git("init", "-q", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-qm", "base", cwd=project)
    base_json = json.loads(run("check", "-f", "json", cwd=project).stdout)["findings"]
    assert run("check", "--changed-only", cwd=project).returncode == 0  # nothing changed since HEAD

    # new code at the end, one edited line, and an untracked file
    lines = SRC.splitlines(keepends=True)
    lines[9] = "    def add(self, amount, note=None):\n"
    (project / "stock.py").write_text("".join(lines) + "\n\ndef scale(value, factor=2):\n    return value * factor\n",
                                      encoding="utf-8")
    (project / "extra.py").write_text("def shout(text):\n    return text.upper()\n", encoding="utf-8")
    full = json.loads(run("check", "-f", "json", cwd=project).stdout)["findings"]
    proc = run("check", "-f", "json", "--changed-only", cwd=project)
    changed = json.loads(proc.stdout)["findings"]
    keep = {("stock.py", 10), ("stock.py", 27), ("stock.py", 28)}
    assert changed == [f for f in full if (f["file"], f["line"]) in keep or f["file"] == "extra.py"]
    assert {(f["file"], f["line"]) for f in base_json} - keep  # some findings were really filtered out
    assert json.loads(run("check", "-f", "json", "--base", "HEAD", cwd=project).stdout)["findings"] == changed

    # a branch: the diff is taken from the merge base, like a pull request's
    git("checkout", "-qb", "feature", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-qm", "feature", cwd=project)
    git("checkout", "-q", "-", cwd=project)
    (project / "other.py").write_text("def more(a):\n    return a\n", encoding="utf-8")
    git("add", "other.py", cwd=project)
    git("commit", "-qm", "main moves on", cwd=project)
    main = git("rev-parse", "--abbrev-ref", "HEAD", cwd=project).strip()
    git("checkout", "-q", "feature", cwd=project)
    pr = json.loads(run("check", "-f", "json", "--changed-only", "--base", main, cwd=project).stdout)
    assert pr["findings"] == changed and pr["settings"]["changed_since"] == main

    bad = run("check", "--changed-only", "--base", "no-such-ref", cwd=project)
    assert bad.returncode == 2 and "unknown git ref 'no-such-ref'" in bad.stderr


def test_usage_errors(project: Path, tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> None:
    outside = tmp_path_factory.mktemp("not_a_repo")
    (outside / "a.py").write_text("def f(x):\n    return x\n", encoding="utf-8")
    proc = run("check", "--changed-only", "--model", str(tiny_model), cwd=outside)
    assert proc.returncode == 2 and "not inside a git repository" in proc.stderr
    assert run("check", "missing.py", cwd=project).returncode == 2
    proc = run("check", "stock.py", "--model", str(outside), cwd=project)
    assert proc.returncode == 2 and "no model at" in proc.stderr
    assert run("check", "stock.py", "--format", "xml", cwd=project).returncode == 2
    assert run("check", "stock.py", "--min-confidence", "1.5", cwd=project).returncode == 2
    (project / "pyproject.toml").write_text("[tool.typetool]\nmin-confidence = 2\n", encoding="utf-8")
    proc = run("check", "stock.py", cwd=project)
    assert proc.returncode == 2 and "min-confidence must be between 0 and 1" in proc.stderr


def test_internal_error_exit_code(project: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from typetool.cli import main

    def boom(*_args: object, **_kw: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(C, "run_check", boom)
    monkeypatch.setattr(sys, "argv", ["typetool", "check", str(project / "stock.py")])
    monkeypatch.chdir(project)
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 123
    assert "internal error: RuntimeError: boom" in capsys.readouterr().err

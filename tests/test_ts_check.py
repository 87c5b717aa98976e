"""`typetool check` on TypeScript: the rules read TypeScript annotations and print TypeScript types (unit), and
end to end with the tiny TypeScript model: text, JSON and SARIF reports (declaration and JavaScript files left
out), `--verify` on an annotated file, `--changed-only` on TypeScript files."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_cli
from test_check import git, sarif_validator

from typetool import check as C
from typetool.predictions import Prediction, Scored
from typetool.predsets import TAU_GRID, node_costs
from typetool.slots import Slot, SlotKind
from typetool.ts.project import TsProject
from typetool.ts.slots import extract_ts_slots
from typetool.ts.typeexpr import normalize_ts, parse_ts_type
from typetool.typeexpr import parse_type

CART = """// Warenkorb: ünïcode before the slots 😀
export function total(prices, rate = 0.2) {
  let sum = 0;
  for (const p of prices) {
    sum += p;
  }
  return sum * (1 + rate);
}

/* 😀 */ export const double = (x) => x * 2;

export class Cart {
  items: string[] = [];
  add(item) {
    this.items.push(item);
    return this.items.length;
  }
}

export function label(name: string, count: number): string {
  return `${count} × ${name}`;
}
"""
VIEW = "export function Hello(name) {\n  return <b>{name}</b>;\n}\n"
TYPED = """export function scale(values: number[], factor: number): number[] {
  return values.map((v) => v * factor);
}

export function greet(name: string): string {
  return "hi " + name;
}

export function lookup(table: Map<string, number>, key: string): number | undefined {
  return table.get(key);
}
"""
PYPROJECT = '[tool.typetool]\nepsilon = 0.5\ndelta = 0.5\nmin-confidence = 0.0\n'

run = run_cli


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def raw_ts_model(tiny_ts_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny TypeScript model without calibration.json: every top-1 type is a full set, so every unannotated
    slot has a prediction to report at min-confidence 0."""
    dest = tmp_path_factory.mktemp("raw_ts_model")
    for f in tiny_ts_model.iterdir():
        if f.is_file() and f.name != "calibration.json":
            shutil.copyfile(f, dest / f.name)
    return dest


def use_model(project: Path, model: Path) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + f'model = "{model.as_posix()}"\n', encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, raw_ts_model: Path) -> Path:
    use_model(tmp_path, raw_ts_model)
    src = tmp_path / "src"
    src.mkdir()
    (src / "cart.ts").write_text(CART, encoding="utf-8")
    (src / "view.tsx").write_text(VIEW, encoding="utf-8")
    (src / "types.d.ts").write_text("export declare function f(x): number;\n", encoding="utf-8")
    (src / "legacy.js").write_text("function g(y) {\n  return y;\n}\n", encoding="utf-8")
    return tmp_path


def expected_missing(project: Path) -> set[tuple[str, int, int]]:
    """Every unannotated parameter and return of the TypeScript sources (1-based columns in code points): what
    the uncalibrated model at min-confidence 0 must report."""
    ts = TsProject.load([project / "src"], root=project)
    return {(s.slot.file, s.slot.line, s.slot.column + 1) for m in ts.modules.values() for s in extract_ts_slots(m)
            if s.slot.annotation is None and s.slot.kind in (SlotKind.PARAM, SlotKind.RETURN)}


def is_typescript_type(text: str) -> bool:
    """Printed as TypeScript (`string[]`, `Map<K, V>`), not in the bracket form (`Array[string]`)."""
    parse_ts_type(text)
    return not re.search(r"\w\[[^\]]", text)


# ------------------------------------------------------------------------------------------------- the rules

def ts_slot(name: str, annotation: str | None = None, kind: SlotKind = SlotKind.PARAM) -> Slot:
    return Slot(Slot.make_id("m.ts", kind, "f", name), "m.ts", kind, "f", name, 3, 8, annotation)


def test_typescript_annotations_are_read_as_typescript() -> None:
    s = parse_type
    assert C.annotation_outside(s("number"), "string", "ts") is True
    assert C.annotation_outside(s("Array[number]"), "number[]", "ts") is False
    assert C.annotation_outside(s("Array[number]"), "Array<number>", "ts") is False
    assert C.annotation_outside(s("string | null"), "null | string", "ts") is False  # normalized first
    assert C.annotation_outside(s("Map[string, ?]"), "Map<string, boolean[]>", "ts") is False
    assert C.annotation_outside(s("Map[string, number]"), "Map<string, any>", "ts") is False  # `any` is a hole
    assert C.annotation_outside(s("Map[string, number]"), "Set<any>", "ts") is True
    assert C.annotation_outside(s("number"), "any", "ts") is None  # all `any`: not judged
    assert C.annotation_outside(s("number"), "{ a: number }", "ts") is None  # no bracket form
    assert C.annotation_outside(s("number"), "Any", "ts") is True  # `Any` is just a name in TypeScript


def test_findings_print_typescript_types() -> None:
    missing = [Prediction(ts_slot("a"), (Scored("Array[string]", -0.1, 0.9),), "Array[?]", 1, 0.9, ()),
               Prediction(ts_slot("b"), (Scored("Callable[[number], string]", -0.1, 0.8),),
                          "Callable[[number], string]", 0, 0.8, ())]
    found = C.missing_findings(missing, 0.5, 0.1)
    assert [(f.predicted, f.top, f.language) for f in found] == [
        ("any[]", "string[]", "ts"), ("(arg0: number) => string", "(arg0: number) => string", "ts")]
    assert found[0].message == "parameter 'a' of f has no annotation; typetool predicts any[] (confidence 0.90 " \
                               "for string[])"
    assert found[0].to_json()["language"] == "ts"

    # top-1 `Map[string, number]`: the outer type is sure, the value type is not
    text = "Map[string, number]"
    offsets = [(0, 3), (3, 4), (4, 10), (10, 11), (11, 18), (18, 19)]
    nc = node_costs(text, [-0.01, -0.01, -0.01, -0.01, -3.0, -0.01], offsets)
    tau = TAU_GRID[87]  # drops the costly `number` only
    pac = {"taus": list(TAU_GRID), "max_holes": 4}
    preds = [Prediction(ts_slot(n, ann), (Scored(text, -0.1, 0.5),), None, 0, 0.5, (), nc)
             for n, ann in (("a", "Map<string, string>"), ("b", "Set<number>"), ("c", "Map<string, any>"),
                            ("d", "any"), ("e", None))]
    found = C.suspicious_findings(preds, pac, 0.05, tau)
    assert [(f.name, f.predicted, f.annotation) for f in found] == [("b", "Map<string, any>", "Set<number>")]
    assert "is annotated Set<number>, outside typetool's prediction set Map<string, any> at epsilon 0.05" in \
        found[0].message


# ----------------------------------------------------------------------------------------------- end to end

def test_check_text_and_json(project: Path) -> None:
    want = expected_missing(project)
    assert len(want) == 9 and {f for f, _l, _c in want} == {"src/cart.ts", "src/view.tsx"}
    proc = run("check", "src", cwd=project)
    assert proc.returncode == 1, proc.stderr
    got = set()
    for line in proc.stdout.splitlines():
        m = re.fullmatch(r"(src/[\w.]+):(\d+):(\d+): missing-annotation: .+ has no annotation; typetool predicts "
                         r"(.+) \(confidence \d\.\d\d( for .+)?\)", line)
        assert m, line
        got.add((m.group(1), int(m.group(2)), int(m.group(3))))
        assert is_typescript_type(m.group(4)), line
    assert got == want
    assert ("src/cart.ts", 10, len("/* 😀 */ export const double = (") + 1) in got  # columns in code points
    assert f"typetool check: {len(want)} findings" in proc.stderr
    assert (project / "src" / "cart.ts").read_text(encoding="utf-8") == CART  # writes nothing

    data = json.loads(run("check", "src", "-f", "json", cwd=project).stdout)
    assert {(f["file"], f["line"], f["column"]) for f in data["findings"]} == want
    for f in data["findings"]:
        assert f["language"] == "ts" and f["rule"] == C.MISSING
        assert is_typescript_type(f["predicted"]) and is_typescript_type(f["top"])
        assert f["predicted"] in f["message"]
    assert not any(d["path"].endswith((".d.ts", ".js")) for d in data["diagnostics"] if d["severity"] != "info")


def test_check_sarif(project: Path) -> None:
    proc = run("check", "src", "-f", "sarif", "-o", "out.sarif", cwd=project)
    assert proc.returncode == 1 and proc.stdout == ""
    log = json.loads((project / "out.sarif").read_text(encoding="utf-8"))
    assert [e.message for e in sarif_validator().iter_errors(log)] == []
    results = log["runs"][0]["results"]
    assert {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"],
             r["locations"][0]["physicalLocation"]["region"]["startColumn"]) for r in results} == \
        expected_missing(project)
    for r in results:
        assert r["properties"]["language"] == "ts" and is_typescript_type(r["properties"]["predictedType"])
        assert r["properties"]["predictedType"] in r["message"]["text"]


def test_verify_an_annotated_file(project: Path, tiny_ts_model: Path) -> None:
    (project / "src" / "typed.ts").write_text(TYPED, encoding="utf-8")
    use_model(project, tiny_ts_model)
    plain = json.loads(run("check", "src/typed.ts", "-f", "json", cwd=project).stdout)
    assert plain["findings"] == []  # every slot of it is annotated
    proc = run("check", "src/typed.ts", "-f", "json", "--verify", "--verify-epsilon", "0.5",
               "--sites", "params,returns", cwd=project)
    assert proc.returncode in (0, 1), proc.stderr
    assert "--verify skipped" not in proc.stderr  # the calibration has sets at this epsilon
    data = json.loads(proc.stdout)
    annotations = {s.slot.annotation for m in TsProject.load([project / "src" / "typed.ts"], root=project)
                   .modules.values() for s in extract_ts_slots(m)}
    for f in data["findings"]:
        assert f["rule"] == C.SUSPICIOUS and f["language"] == "ts" and f["annotation"] in annotations
        assert is_typescript_type(f["predicted"])
        pset = normalize_ts(C._any_as_holes(parse_ts_type(f["predicted"]), "any"))
        assert C.annotation_outside(pset, f["annotation"], "ts") is True
    assert data["settings"]["verify_epsilon"] == 0.5


def test_changed_only_on_typescript(project: Path) -> None:
    git("init", "-q", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-qm", "base", cwd=project)
    assert run("check", "src", "--changed-only", cwd=project).returncode == 0  # nothing changed since HEAD
    (project / "src" / "cart.ts").write_text(CART + "\nexport function shout(text) {\n  return text;\n}\n",
                                             encoding="utf-8")
    (project / "src" / "extra.ts").write_text("export const half = (n) => n / 2;\n", encoding="utf-8")
    full = json.loads(run("check", "src", "-f", "json", cwd=project).stdout)["findings"]
    changed = json.loads(run("check", "src", "-f", "json", "--changed-only", cwd=project).stdout)["findings"]
    assert changed == [f for f in full if (f["file"], f["line"]) == ("src/cart.ts", 24) or f["file"] == "src/extra.ts"]
    assert {(f["file"], f["line"]) for f in changed} == {("src/cart.ts", 24), ("src/extra.ts", 1)}

"""Inputs that took the whole process down (issue 15), each through the real CLI in a subprocess: 2,000 nested list
literals killed `annotate` with SIGSEGV in libcst's native parser, 2,000 nested parentheses did the same to
`strip`, and a valid 1,000-term `x + x + ... + x` ended both with an internal error (RecursionError in libcst's
code generator) after some files were written and others not, without a summary. Now a file too deep for
libcst is refused with a message naming it, code up to `writeback.MAX_DEPTH` levels deep is rewritten, and the
other files of the run are handled as usual. Also: the limits themselves (`python.parse.too_deep`), a failure inside one
file's rewrite staying that file's outcome, and the other deep inputs the fuzzing (tests/test_fuzz.py) found."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import tree_sitter as ts

from tests.test_fuzz import python_shape
from typetool.python import writeback as wb
from typetool.python.parse import python_language, too_deep
from typetool.writeback import FileStatus, WriteMode, WriteOptions, strip_paths

GOOD = "def good(count):\n    return count + 1\n"
ANNOTATED = "def other(count: int) -> int:\n    return count + 1\n"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "typetool", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600, check=False)


def no_crash(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {proc.stderr[-2000:]}"
    assert proc.returncode != 123, proc.stderr[-2000:]
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]


@pytest.fixture(scope="module")
def uncalibrated(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model without calibration.json: every prediction is written as a full type (the runs below pass
    --no-gate: the checker engine would refuse most of its types, and robustness is the point here)."""
    copy = tmp_path_factory.mktemp("deep_model") / "model"
    shutil.copytree(tiny_model, copy)
    (copy / "calibration.json").unlink()
    return copy


def project(root: Path, deep: str) -> Path:
    d = root / "proj"
    d.mkdir()
    (d / "a_good.py").write_text(GOOD, encoding="utf-8")
    (d / "deep.py").write_text(deep, encoding="utf-8")
    (d / "z_good.py").write_text(ANNOTATED, encoding="utf-8")
    return d


def test_annotate_survives_2000_nested_lists(tmp_path: Path, uncalibrated: Path) -> None:
    d = project(tmp_path, "x = " + "[" * 2000 + "]" * 2000 + "\n")
    before = (d / "deep.py").read_text(encoding="utf-8")
    proc = run("annotate", "proj", "--model", str(uncalibrated), "--no-gate", "--sites", "params,returns,variables",
               cwd=tmp_path)
    no_crash(proc)
    assert proc.returncode == 1, proc.stderr  # the deep file is an error: it was not annotated
    assert "proj/deep.py:1: error: code nested too deeply to rewrite safely (more than 200 brackets" in proc.stderr
    assert "slots seen" in proc.stdout + proc.stderr  # the summary
    assert (d / "deep.py").read_text(encoding="utf-8") == before
    assert (d / "a_good.py").read_text(encoding="utf-8") != GOOD  # the others were annotated


def test_strip_survives_2000_nested_parentheses(tmp_path: Path) -> None:
    d = project(tmp_path, "def f(a: int) -> int:\n    return " + "(" * 2000 + "a" + ")" * 2000 + "\n")
    before = (d / "deep.py").read_text(encoding="utf-8")
    proc = run("strip", "proj", cwd=tmp_path)
    no_crash(proc)
    assert proc.returncode == 1
    assert "proj/deep.py:2: error: code nested too deeply to rewrite safely" in proc.stderr
    assert "Oh no! 1 file stripped, 1 file left unchanged, 1 file refused." in proc.stderr
    assert (d / "deep.py").read_text(encoding="utf-8") == before
    assert (d / "z_good.py").read_text(encoding="utf-8") == "def other(count):\n    return count + 1\n"


CHAIN = "def total(x: int, y):\n    return " + " + ".join(["x"] * 1000) + "\n"


def test_strip_rewrites_a_1000_term_chain(tmp_path: Path) -> None:
    d = project(tmp_path, CHAIN)
    proc = run("strip", "proj", cwd=tmp_path)
    no_crash(proc)
    assert proc.returncode == 0, proc.stderr
    assert "All done! 2 files stripped, 1 file left unchanged." in proc.stderr
    after = (d / "deep.py").read_text(encoding="utf-8")
    assert after == CHAIN.replace("x: int", "x")
    assert python_shape(after.encode()) == python_shape(CHAIN.encode())


def test_annotate_rewrites_a_1000_term_chain(tmp_path: Path, uncalibrated: Path) -> None:
    d = project(tmp_path, CHAIN)
    proc = run("annotate", "proj", "--model", str(uncalibrated), "--no-gate", cwd=tmp_path)
    no_crash(proc)
    assert proc.returncode == 0, proc.stderr
    after = (d / "deep.py").read_text(encoding="utf-8")
    assert after != CHAIN and "def total(x: int, y: " in after, after[:200]
    assert python_shape(after.encode()) == python_shape(CHAIN.encode())
    assert (d / "a_good.py").read_text(encoding="utf-8") != GOOD


def test_a_chain_past_the_limit_is_refused_and_the_rest_goes_on(tmp_path: Path) -> None:
    deep = "def total(x: int):\n    return " + " - ".join(["x"] * 3000) + "\n"
    d = project(tmp_path, deep)
    proc = run("strip", "proj", cwd=tmp_path)
    no_crash(proc)
    assert proc.returncode == 1
    assert (f"proj/deep.py:2: error: code nested too deeply to rewrite safely (more than {wb.MAX_DEPTH:,} levels at "
            "line 2); not written [too-deep]") in proc.stderr
    assert (d / "deep.py").read_text(encoding="utf-8") == deep
    assert (d / "z_good.py").read_text(encoding="utf-8") == "def other(count):\n    return count + 1\n"


# -- found by tests/test_fuzz.py -------------------------------------------------------------------------------

def test_slices_survive_deeply_nested_typescript(tmp_path: Path) -> None:
    d = tmp_path / "proj"
    d.mkdir()
    (d / "good.ts").write_text("export function good(count: number) {\n  return count + 1;\n}\n", encoding="utf-8")
    (d / "deep.ts").write_text("const y = " + "[" * 20_000 + "]" * 20_000 + ";\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "typetool", "slices", "proj", "--format", "json"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600, check=False)
    no_crash(proc)
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert "proj/good.ts::param::good::count" in {s["id"] for s in data["slices"]}
    assert ["too-deep"] == [x["code"] for x in data["diagnostics"] if x["path"] == "proj/deep.ts"]


@pytest.mark.parametrize("payload", [
    "[" * 100_000 + "]" * 100_000,  # json recursed until RecursionError
    json.dumps({"version": 1, "files": {"proj/good.py": {"sha256": "0" * 64}},
                "predictions": [{"id": "proj/good.py::param::good::count", "file": "proj/good.py", "type": "int",
                                 "confidence": 10 ** 400}]}),  # float() raised OverflowError
])
def test_apply_survives_odd_predictions_files(tmp_path: Path, payload: str) -> None:
    d = tmp_path / "proj"
    d.mkdir()
    (d / "good.py").write_text(GOOD, encoding="utf-8")
    (tmp_path / "preds.json").write_text(payload, encoding="utf-8")
    proc = run("apply", "preds.json", cwd=tmp_path)
    no_crash(proc)
    assert proc.returncode in (1, 2), proc.stderr
    assert (d / "good.py").read_text(encoding="utf-8") == GOOD


# -- the limits --------------------------------------------------------------------------------------------------

def _depth(text: str) -> int:
    """The smallest `max_depth` that `too_deep` lets `text` through with."""
    root = ts.Parser(python_language()).parse(text.encode()).root_node
    lo, hi = 0, 1
    while too_deep(root, hi, 10**9) is not None:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if too_deep(root, mid, 10**9) is None:
            hi = mid
        else:
            lo = mid
    return hi


@pytest.mark.parametrize(("text", "depth"), [
    ("x = 1\n", 4),
    ("x = a + b + c + d\n", 7),  # binary operators nest leftwards in both trees
    ("if a:\n    pass\nelif b:\n    pass\nelif c:\n    pass\nelse:\n    pass\n", 9),  # one level per `elif`
    ('x = ("a"\n     "b"\n     "c")\n', 10),  # one level per implicitly concatenated part
    ("import a.b.c.d\n", 8),  # one level per dotted name
])
def test_depth_counts_what_libcst_nests(text: str, depth: int) -> None:
    assert _depth(text) == depth


def test_brackets_are_counted_as_python_counts_them() -> None:
    def brackets(text: str) -> int | None:
        found = too_deep(ts.Parser(python_language()).parse(text.encode()).root_node, 10**9, 2)
        return found.brackets if found is not None else None

    assert brackets("x = a[0][1][2](3)(4).b\n") is None  # trailers close before the next opens
    assert brackets("x = [(a, {1: 2})]\n") == 3
    assert brackets("x = f(g(h(1)))\n") == 3
    assert brackets("x = f'{f(a[1])}'\n") == 3  # (an f-string's braces count: conservative)


@pytest.mark.parametrize(("make", "limit"), [
    (lambda n: "x = " + "[" * n + "]" * n + "\n", "brackets"),
    (lambda n: "x = " + "-" * n + "a\n", "depth"),
])
def test_the_limits_are_exact(tmp_path: Path, make: Callable[[int], str], limit: str,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wb, "MAX_DEPTH", 300)
    top = wb.MAX_BRACKETS if limit == "brackets" else 300 - _depth(make(0))
    monkeypatch.chdir(tmp_path)
    for n, refused in ((top, False), (top + 1, True)):
        Path("m.py").write_text(make(n), encoding="utf-8")
        (outcome,) = strip_paths([Path("m.py")], WriteMode.CHECK, WriteOptions()).files
        assert (outcome.status == FileStatus.REFUSED) == refused, (n, outcome)
        assert refused == any(d.code == "too-deep" for d in outcome.diagnostics)


def test_a_failure_inside_one_file_is_that_files_outcome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a.py", "b.py", "c.py", "d.py"):
        (tmp_path / name).write_text(ANNOTATED, encoding="utf-8")
    real = wb.strip_annotations

    def flaky(text: object, relpath: str, options: WriteOptions) -> wb.Rewrite:
        if relpath.endswith("b.py"):
            raise RecursionError("maximum recursion depth exceeded")
        if relpath.endswith("c.py"):
            raise RuntimeError("a bug")
        return real(text, relpath, options)  # type: ignore[arg-type]

    monkeypatch.setattr(wb, "strip_annotations", flaky)
    monkeypatch.chdir(tmp_path)
    result = strip_paths([Path(".")], WriteMode.WRITE, WriteOptions())
    status = {f.path: f.status for f in result.files}
    assert status == {"a.py": FileStatus.CHANGED, "b.py": FileStatus.REFUSED, "c.py": FileStatus.FAILED,
                      "d.py": FileStatus.CHANGED}
    by_path = {f.path: f.diagnostics for f in result.files}
    assert by_path["b.py"][0].code == "too-deep"
    assert by_path["c.py"][0].code == "internal-error" and "RuntimeError: a bug" in by_path["c.py"][0].message
    assert result.exit_code == 123
    assert (tmp_path / "b.py").read_text(encoding="utf-8") == ANNOTATED
    assert (tmp_path / "c.py").read_text(encoding="utf-8") == ANNOTATED
    assert (tmp_path / "d.py").read_text(encoding="utf-8") == "def other(count):\n    return count + 1\n"

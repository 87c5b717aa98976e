"""The checker engine (pyrefly, a real process) and the engine stage.

Golden cases from issue 20 with the real engine: a float literal return, a constructor call return, `any(...)`,
parameters typed by their call sites, `__init__` returning None; the engine's absence or crash is a clear error
that leaves files untouched, and `--no-engine` still predicts. The engine stage: an engine type absent from the
model's candidates joins them, agreement sharpens, no engine type leaves the slot alone, and `fit` learns to
trust an engine that is right.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from typetool.languages import EngineError
from typetool.model.engine_stage import ABSENT_LOGP, EngineStage, fit
from typetool.python.engine import infer_types, search_roots, sure

SMALL = '''\
class MyClass:
    def __init__(self, n):
        self.n = n


def f():
    return 42.5


def g(a, b):
    return a + b


def h():
    x = MyClass(3)
    return x


def k(xs):
    return any([x for x in xs])


def use():
    return g(1, 2)


def annotated(a: str) -> str:
    return a
'''


def _types(text: str, name: str = "pkg/m.py") -> dict[str, str]:
    files = {name: text}
    if "/" in name:
        files[name.rsplit("/", 1)[0] + "/__init__.py"] = ""
    return infer_types(files).types


def test_engine_golden_cases() -> None:
    types = _types(SMALL)
    assert types["pkg/m.py::return::f::return"] == "float"
    assert types["pkg/m.py::return::h::return"] == "MyClass"
    assert types["pkg/m.py::return::k::return"] == "bool"
    assert types["pkg/m.py::return::MyClass.__init__::return"] == "None"
    # parameters typed by the arguments at the call sites the engine resolves
    assert types["pkg/m.py::param::g::a"] == "int"
    assert types["pkg/m.py::param::g::b"] == "int"
    assert types["pkg/m.py::param::MyClass.__init__::n"] == "int"
    # the user's own annotations are not the engine's
    assert "pkg/m.py::return::annotated::return" not in types
    assert "pkg/m.py::param::annotated::a" not in types


def test_engine_resolves_across_files_and_drops_unsure_types() -> None:
    files = {"pkg/__init__.py": "", "pkg/a.py": "def make():\n    return [1, 2]\n",
             "pkg/b.py": "from pkg.a import make\n\n\ndef use():\n    return make()\n\n\ndef anyret(x):\n    return x\n"}
    types = infer_types(files).types
    assert types["pkg/b.py::return::use::return"] == "list[int]"
    assert "pkg/b.py::return::anyret::return" not in types  # unknown: not sure, dropped
    assert sure("list[int]") and not sure("list[Any]") and not sure("Unknown") and not sure("")


def test_search_roots_follow_packages() -> None:
    files = {"src/pkg/__init__.py": "", "src/pkg/sub/__init__.py": "", "src/pkg/sub/m.py": "", "tool.py": ""}
    assert search_roots(files) == [".", "src"]


def test_engine_never_writes_outside_its_copy(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SMALL, encoding="utf-8")
    _types(SMALL, "m.py")
    assert (tmp_path / "m.py").read_text(encoding="utf-8") == SMALL
    assert infer_types({"../escape.py": "def f():\n    return 1\n", "/abs.py": ""}).types == {}


def _fake_engine(tmp_path: Path, code: int) -> str:
    script = tmp_path / "fake-pyrefly"
    script.write_text(f"#!/bin/sh\necho 'boom' >&2\nexit {code}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_engine_crash_and_absence_are_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TYPETOOL_PYREFLY", _fake_engine(tmp_path, 3))
    with pytest.raises(EngineError, match=r"failed \(exit 3\): boom"):
        _types(SMALL)
    monkeypatch.setenv("TYPETOOL_PYREFLY", str(tmp_path / "missing"))
    with pytest.raises(EngineError, match="not an executable"):
        _types(SMALL)


def _annotate(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "typetool", "annotate", str(project), "--quiet", *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=project,
                          check=False)


def test_annotate_without_engine_leaves_files_untouched(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "m.py").write_text(SMALL, encoding="utf-8")
    ran = _annotate(project, env={"TYPETOOL_PYREFLY": _fake_engine(tmp_path, 3)})
    assert ran.returncode == 2, ran.stderr
    assert "checker engine (pyrefly) failed" in ran.stderr and "no file was changed" in ran.stderr
    assert (project / "m.py").read_text(encoding="utf-8") == SMALL
    checked = subprocess.run([sys.executable, "-m", "typetool", "check", str(project)], capture_output=True,
                             text=True, env={**os.environ, "TYPETOOL_PYREFLY": _fake_engine(tmp_path, 3)},
                             cwd=project, check=False)
    assert checked.returncode == 2 and "checker engine (pyrefly) failed" in checked.stderr  # check runs it too
    ran = _annotate(project, "--no-engine", env={"TYPETOOL_PYREFLY": _fake_engine(tmp_path, 3)})
    assert ran.returncode in (0, 1), ran.stderr  # model-only predictions: the broken engine is never started
    assert "Traceback (most recent call last)" not in ran.stderr


# the engine stage, on its own


def test_stage_adds_an_absent_engine_type_and_sharpens_agreement() -> None:
    stage = EngineStage([3.0, 4.0, 0.0, 5.0, 0.0, 0.0, 0.0])
    model = [("str", -0.5), ("int", -1.5)]
    new = stage.rescore(model, "float", "return")
    assert new is not None and new[0][0] == "float"  # ABSENT_LOGP + 4 + 5 = 1 > -0.5
    assert {t for t, _ in new} == {"str", "int", "float"}
    assert abs(sum(pow(2.718281828459045, s) for _, s in new) - 1) < 1e-6
    agree = stage.rescore(model, "str", "return")
    assert agree is not None and agree[0][0] == "str" and agree[0][1] > -0.1  # sharper than the model's -0.5
    assert stage.rescore(model, None, "return") is None
    weak = EngineStage([1.0, 4.0, 0.0, 5.0, 0.0, 0.0, 0.0])  # a parameter's weight smaller than a return's
    param = weak.rescore(model, "float", "param")
    assert param is not None and ABSENT_LOGP + 1.0 + 5.0 < -0.5 and param[0][0] == "str"


def test_fit_learns_to_trust_a_right_engine() -> None:
    ranked = [[("str", -0.3), ("int", -1.6)], [("list[str]", -0.4), ("None", -1.2)]] * 50
    engines = ["int", "None"] * 50
    golds = ["int", "None"] * 50
    stage = fit(ranked, engines, ["param", "return"] * 50, golds)
    assert stage.weights[0] > 0 and stage.weights[1] > 0
    assert stage.fit_report["top1_before"] == 0.0 and stage.fit_report["top1_after"] == 1.0
    wrong = fit(ranked, ["bool", "bytes"] * 50, ["param", "return"] * 50, ["str", "list[str]"] * 50)
    assert wrong.fit_report["top1_after"] == 1.0  # an engine that is always wrong is not followed


def test_stage_round_trips_and_refuses_another_version(tmp_path: Path) -> None:
    stage = EngineStage([1.0, 2.0, 0.0, 0.5, -1.0, 0.0, 0.25], {"slots": 3.0})
    stage.save(tmp_path)
    back = EngineStage.load(tmp_path)
    assert back is not None and back.weights == stage.weights
    (tmp_path / "engine.json").write_text('{"version": 99}', encoding="utf-8")
    with pytest.raises(ValueError, match="re-fit"):
        EngineStage.load(tmp_path)
    assert EngineStage.load(tmp_path / "none") is None


# the gate: real project, real write-back, real engine; the planned types stand in for the model's


GATED = '''\
def g(a, b):
    return a


def use():
    return g(1, 2)


def h(x):
    return x + 1


def names():
    return [1, 2]
'''


def test_gate_leaves_out_an_annotation_that_breaks_a_call_site(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from typetool.pipeline import _apply, _gate, load_project
    from typetool.predictions import Prediction
    from typetool.python.slots import iter_sites
    from typetool.writeback import ProofMemo, WriteMode, WriteOptions

    (tmp_path / "m.py").write_text(GATED, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    project = load_project([Path("m.py")])
    slots = {s.slot.id: s.slot for s in iter_sites(project.part("py"))}  # type: ignore[arg-type]
    planned = {"m.py::param::g::a": "str", "m.py::param::g::b": "int", "m.py::param::h::x": "int",
               "m.py::return::h::return": "int", "m.py::return::names::return": "list[str]"}
    chosen = {sid: Prediction(slots[sid], (), t, 0, 0.99, ()) for sid, t in planned.items()}

    class Engine:  # the predictor's one attribute the gate reads
        use_engine = True

    memo = ProofMemo(None)
    options = WriteOptions()
    plan = _apply(project, list(chosen.values()), Engine(), WriteMode.CHECK, options, memo)  # type: ignore[arg-type]
    gated, left_out = _gate(project, plan, chosen, Engine(), options, memo,  # type: ignore[arg-type]
                            lambda label, total: None)
    softened = left_out.pop("m.py::return::names::return")
    assert left_out == {"m.py::param::g::a": None}  # a bare name has no argument to hollow: left out
    assert softened is not None and softened.partial == "list[?]" and softened.holes == 1
    assert set(chosen) == {"m.py::param::g::b", "m.py::param::h::x", "m.py::return::h::return",
                           "m.py::return::names::return"}
    refused = [d for d in project.diagnostics if d.code == "gate-refused"]
    assert len(refused) == 1 and "`str` for param a of g" in refused[0].message
    assert "bad-argument-type" in refused[0].message and refused[0].line == 1
    text = next(f.data for f in gated.files if f.data is not None).decode()
    assert "def g(a, b: int):" in text and "def h(x: int) -> int:" in text
    assert "def names() -> list[Any]:" in text and "from typing import Any" in text  # `list[str]` made it fail
    assert any(d.code == "gate-softened" and "`list[?]`" in d.message for d in project.diagnostics)
    assert (tmp_path / "m.py").read_text(encoding="utf-8") == GATED  # a plan: nothing written


def test_calibration_with_the_engine_feature_raises_an_agreeing_candidate(tiny_model: Path, tmp_path: Path) -> None:
    """A calibration fitted with the engine feature keeps one offset per engine key (`predictions.engine_key`):
    the same candidate scores higher when the engine gave that type, lower when it gave another."""
    import json
    import shutil

    from typetool.predictions import TypePredictor, engine_key

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    cal = json.loads((model / "calibration.json").read_text(encoding="utf-8"))
    cal["features"] = ["margin", "engine"]
    for scaler in cal["confidence"]["scalers"]:
        scaler["kind_bias"] = [["engine-agrees", 2.0], ["engine-differs", -2.0]]
    (model / "calibration.json").write_text(json.dumps(cal), encoding="utf-8")
    predictor = TypePredictor(model)
    types, logps = ["int", "str"], [-0.7, -1.2]
    none = predictor.confidences(types, logps, "param")
    agree = predictor.confidences(types, logps, "param", engine="int")
    differ = predictor.confidences(types, logps, "param", engine="bytes")
    assert agree[0] > none[0] > differ[0]
    assert agree[1] < none[1]  # "str" is not the engine's type
    assert [engine_key("int", None), engine_key("int", "int"), engine_key("int", "str")] == [
        "engine-none", "engine-agrees", "engine-differs"]


def test_protocol_methods_get_their_fixed_types(tmp_path: Path) -> None:
    """`__exit__`'s three exception parameters, `__eq__`'s `object` and `bool`, `__repr__`'s `str`: the data
    model's fixed types join the engine's (issue 20); a module-level function of such a name and an annotated
    slot get none."""
    from typetool.python.language import LANGUAGE
    from typetool.python.project import PythonProject

    (tmp_path / "m.py").write_text('''\
class Box:
    def __eq__(self, other):
        return isinstance(other, Box)

    def __exit__(self, exc_type, exc, tb):
        return None

    def __repr__(self) -> str:
        return "Box()"

    def __len__(self):
        return 0


def __len__(x):
    return 1
''', encoding="utf-8")
    types = LANGUAGE.engine_types(PythonProject.load([tmp_path / "m.py"], root=tmp_path))
    assert types is not None
    assert types["m.py::param::Box.__eq__::other"] == "object"
    assert types["m.py::return::Box.__eq__::return"] == "bool"
    assert [types[f"m.py::param::Box.__exit__::{n}"] for n in ("exc_type", "exc", "tb")] == [
        "type[BaseException] | None", "BaseException | None", "TracebackType | None"]
    assert types["m.py::return::Box.__len__::return"] == "int"
    assert "m.py::return::Box.__repr__::return" not in types  # annotated by the user
    assert "m.py::param::__len__::x" not in types  # not a method: no protocol rule (and no call site)

"""The editor core (`typetool.ide`) without a model: positions, edits, settings, hints, hovers and actions on
hand-made predictions. The LSP end-to-end tests (with a real model and client) are in test_lsp.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from typetool import ide
from typetool.diagnostics import Diagnostic
from typetool.predictions import Prediction, Scored
from typetool.python.writeback import verify_rewrite
from typetool.settings import Settings
from typetool.slices import UsageSlice

# Non-ASCII before slots on the same line: BMP letters (1 UTF-16 unit), CJK (3 UTF-8 bytes), an emoji (2 UTF-16
# units, a surrogate pair).
SOURCE = '''\
import os


def grüße(名前, s="😀", n=1, *rest, **options):
    """Say hello 😀."""
    text = "😀 " + 名前
    return text * n


class Ünit:
    scale = 2

    def __init__(self, value):
        self.value = value

    def doubled(self):
        return self.value * self.scale
'''

# slot id suffix -> (line, UTF-16 column) where its annotation goes
ANCHORS = {
    "param::grüße::名前": (3, 12),
    "param::grüße::s": (3, 15),
    "param::grüße::n": (3, 23),
    "param::grüße::rest": (3, 32),
    "param::grüße::options": (3, 43),
    "return::grüße::return": (3, 44),
    "variable::grüße::text": (5, 8),
    "attribute::Ünit::scale": (10, 9),
    "param::Ünit.__init__::value": (12, 28),
    "return::Ünit.__init__::return": (12, 29),
    "attribute::Ünit::value": (13, 18),
    "return::Ünit.doubled::return": (15, 21),
}
ALL = ide.EditorSettings(Settings(sites="params,returns,variables,attributes"))


def analyse(text: str = SOURCE, encoding: ide.Encoding = "utf-16", path: Path = Path("/nowhere/mod.py")
            ) -> ide.DocumentAnalysis:
    return ide.analyse_document("file:///nowhere/mod.py", 1, text, path, "mod.py", encoding)


def fake(view: ide.SlotView, partial: str | None, confidence: float = 0.9, holes: int = 0,
         others: tuple[str, ...] = ("bytes",)) -> Prediction:
    top = partial.replace("?", "int") if partial else "int"
    cands = (Scored(top, -0.1, confidence),) + tuple(Scored(t, -2.0, 0.05) for t in others)
    return Prediction(view.site.slot, cands, partial, holes, confidence, ("value: = 1", "calls: print(#0)"))


def predicted(analysis: ide.DocumentAnalysis, types: dict[str, str | None]) -> ide.DocumentAnalysis:
    """Attach hand-made predictions (slot id suffix -> partial type)."""
    analysis.predicted_for = ALL.view_key
    for v in analysis.slots:
        suffix = v.id.split("::", 1)[1]
        if suffix in types:
            t = types[suffix]
            analysis.predictions[v.id] = fake(v, t, holes=(t or "").count("?"))
    return analysis


# ---------------------------------------------------------------------------------------------- positions

def test_line_index_counts_utf16_utf8_and_utf32_columns() -> None:
    text = "a😀b\r\nc\rd\né"
    for encoding, col in (("utf-16", 3), ("utf-8", 5), ("utf-32", 2)):
        idx = ide.LineIndex(text, encoding)  # type: ignore[arg-type]
        assert idx.position(2) == ide.Position(0, col)
        assert idx.offset(ide.Position(0, col)) == 2
    idx = ide.LineIndex(text)
    assert [idx.position(o) for o in (5, 7, 9, 10)] == [ide.Position(1, 0), ide.Position(2, 0), ide.Position(3, 0),
                                                        ide.Position(3, 1)]
    assert idx.offset(ide.Position(0, 2)) == 1  # inside the surrogate pair: clamped to its start
    assert idx.offset(ide.Position(0, 99)) == 3  # past the end of the line: its end, before \r\n
    assert idx.offset(ide.Position(99, 0)) == len(text)
    assert idx.byte_to_offset(len("a😀".encode())) == 2


def test_slot_anchors_are_exact_utf16_positions() -> None:
    a = analyse()
    positions = {v.id.split("::", 1)[1]: a.index.position(v.anchor) for v in a.slots}
    got = {k: (p.line, p.character) for k, p in positions.items()}
    assert got == ANCHORS
    assert a.index.range(*a.by_id()["mod.py::param::grüße::名前"].name_span) == ide.Range(ide.Position(3, 10),
                                                                                      ide.Position(3, 12))
    utf8 = analyse(encoding="utf-8")
    assert utf8.index.position(utf8.by_id()["mod.py::param::grüße::n"].anchor) == ide.Position(3, 31)  # UTF-8 bytes


def test_a_syntax_error_keeps_the_rest_and_refuses_edits() -> None:
    text = "def ok(a):\n    return a\n\ndef broken(b:\n    pass\n\ndef fine(c):\n    return c\n"
    a = analyse(text)
    assert any(d.code.startswith("syntax") for d in a.diagnostics)
    names = {v.id.split("::", 2)[2] for v in a.slots}
    assert {"ok::a", "fine::c"} <= names
    with pytest.raises(ide.EditError, match="does not parse"):
        ide.Engine().edit_plan(a, {"mod.py::param::ok::a": "int"}, ALL)


def test_a_buffer_nested_too_deeply_for_libcst_refuses_edits() -> None:
    """2,000 nested lists crash libcst's native parser: the editor refuses edits before it is called."""
    text = "def ok(a):\n    return a\n\nx = " + "[" * 2000 + "]" * 2000 + "\n"
    a = analyse(text)
    with pytest.raises(ide.EditError, match="nested too deeply"):
        ide.Engine().edit_plan(a, {"mod.py::param::ok::a": "int"}, ALL)


def test_a_buffer_with_nul_bytes_is_not_analysed() -> None:
    a = analyse("x = 1\x00\n")
    assert a.slots == [] and a.diagnostics


def test_buffer_source_reads_the_coding_cookie() -> None:
    src = ide.buffer_source("# -*- coding: latin-1 -*-\nx = 'é'\n", Path("m.py"), "m.py")
    assert not isinstance(src, Diagnostic) and src.encoding == "latin-1"
    src = ide.buffer_source("x = 1\r\n", Path("m.py"), "m.py")
    assert not isinstance(src, Diagnostic) and (src.encoding, src.newline) == ("utf-8", "\r\n")


# -------------------------------------------------------------------------------------------------- edits

def test_text_edits_are_insertions_where_annotations_go() -> None:
    old = 'def f(名前, n=1):\n    return n\n'
    new = 'from typing import Any\ndef f(名前: str, n: int = 1) -> Any:\n    return n\n'
    edits = ide.text_edits(old, new, ide.LineIndex(old))
    assert ide.apply_text_edits(old, edits) == new
    assert all(e.range.start == e.range.end for e in edits)  # pure insertions
    assert edits[0] == ide.TextEdit(ide.Range(ide.Position(0, 0), ide.Position(0, 0)), "from typing import Any\n")
    assert edits[1] == ide.TextEdit(ide.Range(ide.Position(0, 8), ide.Position(0, 8)), ": str")


@settings(max_examples=150, deadline=None)
@given(st.text(st.sampled_from("ab😀é\n\r:= "), max_size=30), st.text(st.sampled_from("ab😀é\n\r:= "), max_size=30))
def test_text_edits_round_trip(old: str, new: str) -> None:
    assert ide.apply_text_edits(old, ide.text_edits(old, new, ide.LineIndex(old))) == new


def test_edit_plan_writes_through_the_safe_write_back() -> None:
    a = predicted(analyse(), {"param::grüße::名前": "str", "param::grüße::n": "int",
                              "param::grüße::options": "dict[str, ?]", "return::Ünit.doubled::return": "int"})
    engine = ide.Engine()
    plan = engine.edit_plan(a, dict(ide.file_types(a, ALL)), ALL)
    assert ide.apply_text_edits(SOURCE, plan.edits) == plan.new_text
    assert {s.slot_id.split("::", 1)[1] for s in plan.written} == {
        "param::grüße::名前", "param::grüße::n", "param::grüße::options", "return::Ünit.doubled::return"}
    assert "def grüße(名前: str, s=\"😀\", n: int = 1, *rest, **options: dict[str, Any]):" in plan.new_text
    verify_rewrite(SOURCE, plan.new_text, frozenset({("typing", "Any")}))
    assert ide.TextEdit(ide.Range(ide.Position(3, 12), ide.Position(3, 12)), ": str") in plan.edits
    assert ast.parse(plan.new_text)


def test_edit_plan_for_one_slot_touches_only_that_slot() -> None:
    a = predicted(analyse(), {"param::Ünit.__init__::value": "float"})
    plan = ide.Engine().edit_plan(a, {"mod.py::param::Ünit.__init__::value": "float"}, ALL)
    assert plan.edits == (ide.TextEdit(ide.Range(ide.Position(12, 28), ide.Position(12, 28)), ": float"),)
    assert plan.summary() == "1 annotation written"


def test_edit_plan_reports_what_it_leaves_alone() -> None:
    a = predicted(analyse(), {"param::grüße::n": "NoSuchClass"})
    plan = ide.Engine().edit_plan(a, {"mod.py::param::grüße::n": "NoSuchClass"}, ALL)
    assert plan.edits == () and not plan.written
    assert "NoSuchClass" in (plan.skipped[0].reason or "")


# ------------------------------------------------------------------------------------- hints, hover, actions

def test_hints_show_partial_types_and_flag_low_confidence() -> None:
    a = predicted(analyse(), {"param::grüße::名前": "str", "param::grüße::options": "dict[str, ?]",
                              "return::grüße::return": None})
    a.predictions["mod.py::param::grüße::名前"] = replace_conf(a.predictions["mod.py::param::grüße::名前"], 0.2)
    found = {h.slot_id.split("::", 1)[1]: h for h in ide.hints(a, 0, len(SOURCE), ALL)}
    assert (found["param::grüße::名前"].label, found["param::grüße::名前"].low) == (": str", True)
    assert (found["param::grüße::options"].label, found["param::grüße::options"].low) == (": dict[str, ?]", False)
    ret = found["return::grüße::return"]
    assert (ret.label, ret.padding_left, ret.low, ret.position) == ("-> ?", True, True, ide.Position(3, 44))
    assert "1 hole" in found["param::grüße::options"].tooltip
    line3 = a.index.offset(ide.Position(3, 0)), a.index.offset(ide.Position(4, 0))
    assert {h.slot_id for h in ide.hints(a, *line3, ALL)} == {
        "mod.py::param::grüße::名前", "mod.py::param::grüße::options", "mod.py::return::grüße::return"}
    assert ide.hints(a, 0, len(SOURCE), ide.EditorSettings(ALL.settings, hints=False)) == []
    only_returns = ide.EditorSettings(Settings(sites="returns"))
    assert {h.slot_id for h in ide.hints(a, 0, len(SOURCE), only_returns)} == {"mod.py::return::grüße::return"}


def replace_conf(p: Prediction, confidence: float) -> Prediction:
    from dataclasses import replace

    return replace(p, confidence=confidence)


def test_hover_shows_candidates_prediction_set_and_evidence() -> None:
    a = predicted(analyse(), {"param::grüße::options": "dict[str, ?]"})
    view = a.slot_at(a.index.offset(ide.Position(3, 38)), ALL.kinds)
    assert view is not None and view.id == "mod.py::param::grüße::options"
    text = ide.hover_markdown(a, view, ALL, None)
    assert "parameter `options` of `grüße`" in text
    assert "Prediction set at ε = 0.1, δ = 0.1: `dict[str, ?]` (1 hole, written as `Any`)" in text
    assert "| `dict[str, int]` | 90% |" in text and "| `bytes` | 5% |" in text
    assert "```text\nvalue: = 1\ncalls: print(#0)\n```" in text
    assert "no calibration" in text


def test_actions_for_a_slot_its_function_and_the_file() -> None:
    a = predicted(analyse(), {"param::grüße::名前": "str", "param::grüße::n": "int", "return::grüße::return": None})
    at = a.index.offset(ide.Position(3, 11))
    specs = ide.actions(a, at, at, ALL)
    assert [(s.scope, s.title, s.preferred) for s in specs] == [
        ("slot", "typetool: annotate `名前: str` (90%)", True),
        ("slot", "typetool: annotate `名前: bytes` (5%, candidate)", False),
        ("function", "typetool: annotate function `grüße` (2 types)", False),
        ("file", "typetool: annotate file with predicted types", False),
    ]
    assert specs[2].types == (("mod.py::param::grüße::名前", "str"), ("mod.py::param::grüße::n", "int"))
    inside_body = a.index.offset(ide.Position(6, 5))
    assert [s.scope for s in ide.actions(a, inside_body, inside_body, ALL)] == ["function", "file"]


# ---------------------------------------------------------------------------------------- engine, settings

class FakePredictor:
    """Stands in for `TypePredictor`: predicts `int` for everything and counts model calls."""

    def __init__(self) -> None:
        self.epsilon, self.delta, self.calibrated, self.model_dir = 0.1, 0.1, False, Path("fake")
        self.calls: list[int] = []

    def reset_thresholds(self) -> None:
        """(A fake has no thresholds derived from epsilon and delta.)"""

    def predict(self, slices: list[UsageSlice], batch_size: int = 64, consistency: bool = True
                ) -> list[Prediction]:
        assert not consistency, "the editor predicts slot by slot: no consistency stage"
        self.calls.append(len(slices))
        return [Prediction(s.slot, (Scored("int", -0.1, 0.9),), "int", 0, 0.9, ()) for s in slices]


def test_predictions_are_cached_by_model_input_across_versions() -> None:
    fake_model = FakePredictor()
    engine = ide.Engine(ide.ModelState(fake_model, model_dir="fake"))  # type: ignore[arg-type]
    first = analyse()
    assert engine.predict(first, first.slots, ALL) == len(ANCHORS)
    # an edit inside doubled() changes the evidence of its return and of the attributes it uses; everything
    # else comes from the cache
    edited = analyse(SOURCE.replace("return self.value * self.scale", "return str(self.value)"))
    assert engine.predict(edited, edited.slots, ALL) == 3
    assert fake_model.calls == [len(ANCHORS) - 4, 4, 3]  # in chunks of ide.PREDICT_CHUNK
    assert set(edited.predictions) == set(first.predictions)
    moved = analyse("# a new first line\n" + SOURCE)  # positions move, slices do not
    assert engine.predict(moved, moved.slots, ALL) == 0
    assert moved.predictions["mod.py::return::grüße::return"].slot.line == 5
    fresh = analyse(SOURCE.replace("n=1", "n=2.5"))  # a new slice: needs the model, which is told to stop
    with pytest.raises(ide.Stale):
        engine.predict(fresh, fresh.slots, ALL, should_stop=lambda: True)


def test_a_missing_model_is_a_message_not_an_exception(tmp_path: Path) -> None:
    state = ide.load_model(str(tmp_path / "missing"))
    assert state.predictor is None and state.error is not None
    assert "no model at" in state.error and "typetool.model" in state.error


def test_client_settings_are_read_and_checked() -> None:
    overrides, hints, problems = ide.client_overrides({
        "epsilon": 0.2, "delta": None, "sites": ["params", "variables"], "targetVersion": "py39",
        "minConfidence": "high", "path": ["/usr/bin/typetool"], "inlayHints": {"enable": False}})
    assert overrides == {"epsilon": 0.2, "sites": "params,variables", "target_version": "py39"}
    assert hints is False
    assert problems == ["typetool.minConfidence: expected int or float, not 'high'"]
    assert ide.client_overrides("nonsense")[2] == ["typetool settings must be an object, not str"]


def test_settings_layer_pyproject_editor_and_command_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.typetool]\nepsilon = 0.2\nmodel = "models/m"\n'
                                             'sites = "params"\n')
    (tmp_path / "pkg").mkdir()
    doc = tmp_path / "pkg" / "mod.py"
    reported: list[str] = []
    resolver = ide.SettingsResolver(reported.append)
    s = resolver.for_path(doc).settings
    assert (s.epsilon, s.model, s.sites) == (0.2, str(tmp_path / "models/m"), "params")
    resolver.set_client({"epsilon": 0.3, "delta": 0.05})
    s = resolver.for_path(doc).settings
    assert (s.epsilon, s.delta, s.sites) == (0.3, 0.05, "params")
    resolver.set_client({"epsilon": 3.0})
    assert resolver.for_path(doc).settings.epsilon == 0.2 and "between 0 and 1" in reported[-1]
    fixed = ide.SettingsResolver(fixed={"model": "/cli/model", "device": None})
    assert fixed.for_path(doc).settings.model == "/cli/model"
    (tmp_path / "pyproject.toml").write_text("[tool.typetool]\nbogus = 1\n")
    assert resolver.for_path(doc).settings.epsilon == 0.1 and "unknown key 'bogus'" in reported[-1]


def test_document_relpath() -> None:
    roots = [Path("/w"), Path("/w/sub")]
    assert ide.document_relpath(Path("/w/sub/pkg/m.py"), roots) == "pkg/m.py"
    assert ide.document_relpath(Path("/w/a.py"), roots) == "a.py"
    assert ide.document_relpath(Path("/elsewhere/b.py"), roots) == "b.py"

"""The consistency stage (`typetool/model/consistency.py`): a slot's candidates re-scored by its namesakes' votes.

Pure tests pin the votes (a slot's own candidates never vote for it; groups and kinds never mix), the re-scoring
(a softmax over the slot's candidates), the fit (it learns to follow informative votes) and the file; the
integration tests run it through `TypePredictor` on a real project with the shipped model, and fit it end to
end on the tiny model as `ship-model` does."""

from __future__ import annotations

import json
import math
import random
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from typetool.evaluation import Record, fit_consistency, fit_linker, run_model
from typetool.model.consistency import (
    ANNOTATED,
    CONSISTENCY_FILE,
    FEATURES,
    KEEP,
    PREDICTED,
    Consistency,
    fit,
    key_of,
    namesake_key,
)
from typetool.pipeline import slice_paths
from typetool.predictions import ModelNotFound, TypePredictor, canonical
from typetool.slices import render_slice

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "typetool-py-compact"
INVENTORY = Path(__file__).resolve().parent / "data" / "projects" / "inventory"

PARAM = "<py> param node of visit_{}(self, node)\nuses: .value"
RET = "<py> return of visit_Name(self, node)\nreturns: True"


def only(name: str) -> list[float]:
    """Weights that score by one feature alone."""
    return [1.0 if f == name else 0.0 for f in FEATURES]


def lp(p: float) -> float:
    return math.log(p)


def test_namesake_keys() -> None:
    assert namesake_key("pkg", PARAM.format("A")) == ("pkg", "param", "node")
    assert namesake_key("pkg", RET) == ("pkg", "return", "visit_Name")
    assert namesake_key("pkg", "<py> attribute size of class Box\ndefined: 0 (int literal)") is None
    assert namesake_key("pkg", "<ts> param node of visit(node)\nuses: .kind") == ("pkg", "param", "node")
    # a parameter and a function of the same name are no namesakes
    assert namesake_key(0, "<py> param visit of run(visit)") != namesake_key(0, "<py> return of visit(x)")


def test_votes_come_from_namesakes_only_and_rescore_is_a_softmax() -> None:
    # score = the vote alone: a's namesake b says Y, so a flips to Y although it prefers X itself
    a = [("X", lp(0.6)), ("Y", lp(0.4))]
    b = [("Y", lp(0.9)), ("X", lp(0.1))]
    keys = [("p", "param", "node"), ("p", "param", "node")]
    out = Consistency(only("vote")).rescore([a, b], keys)
    assert out[0] is not None and out[1] is not None
    assert [t for t, _ in out[0]] == ["Y", "X"]
    assert [t for t, _ in out[1]] == ["X", "Y"]  # b's vote comes from a: X 0.6, Y 0.4 (its own never counts)
    assert out[0][0][1] - out[0][1][1] == pytest.approx(0.9 - 0.1, abs=1e-9)  # log-softmax of the votes
    assert out[1][0][1] - out[1][1][1] == pytest.approx(0.6 - 0.4, abs=1e-9)
    for ranked in out:
        assert ranked is not None and sum(math.exp(v) for _t, v in ranked) == pytest.approx(1.0)


def test_no_namesakes_other_groups_and_other_kinds_leave_a_slot_alone() -> None:
    a = [("X", lp(0.6)), ("Y", lp(0.4))]
    b = [("Y", lp(0.9)), ("X", lp(0.1))]
    stage = Consistency(only("vote"))
    assert stage.rescore([a], [("p", "param", "node")]) == [None]  # alone in its group
    assert stage.rescore([a, b], [("p", "param", "node"), ("q", "param", "node")]) == [None, None]  # packages
    assert stage.rescore([a, b], [("p", "param", "node"), ("p", "return", "node")]) == [None, None]  # kinds
    assert stage.rescore([a, b], [None, None]) == [None, None]
    out = stage.rescore([a, []], [("p", "param", "n"), ("p", "param", "n")])  # a namesake without candidates
    assert out[1] is None
    assert out[0] is not None and [t for t, _ in out[0]] == ["X", "Y"]  # no votes at all: the order is kept


def test_return_weights_act_on_returns_only() -> None:
    a = [("X", lp(0.6)), ("Y", lp(0.4))]
    b = [("Y", lp(0.9)), ("X", lp(0.1))]
    stage = Consistency(only("return_vote"))
    params = stage.rescore([a, b], [("p", "param", "f"), ("p", "param", "f")])
    returns = stage.rescore([a, b], [("p", "return", "f"), ("p", "return", "f")])
    assert params[0] is not None and [t for t, _ in params[0]] == ["X", "Y"]  # all scores 0: order kept
    assert returns[0] is not None and [t for t, _ in returns[0]] == ["Y", "X"]


def test_duplicate_types_count_once() -> None:
    a = [("X", lp(0.5)), ("X", lp(0.3)), ("Y", lp(0.2))]
    b = [("Y", lp(0.7)), ("X", lp(0.3))]
    out = Consistency(only("logp")).rescore([a, b], [("p", "param", "n")] * 2)
    assert out[0] is not None and [t for t, _ in out[0]] == ["X", "Y"]
    # b's votes: X 0.5 (a's best spelling only, not 0.5 + 0.3), Y 0.2
    votes = Consistency(only("vote")).rescore([a, b], [("p", "param", "n")] * 2)[1]
    assert votes is not None and [t for t, _ in votes] == ["X", "Y"]
    assert votes[0][1] - votes[1][1] == pytest.approx(0.5 - 0.2, abs=1e-9)


def test_a_candidate_scored_minus_infinity_stays_last() -> None:
    a = [("X", lp(0.6)), ("Y", -math.inf)]
    b = [("Y", lp(0.9)), ("X", lp(0.1))]
    out = Consistency(only("logp")).rescore([a, b], [("p", "param", "n")] * 2)[0]
    assert out is not None and [t for t, _ in out] == ["X", "Y"] and all(not math.isnan(v) for _t, v in out)


def synthetic(n_groups: int, seed: int, gold_first: float = 0.7, p_low: float = 0.4
              ) -> tuple[list[list[tuple[str, float]]], list[tuple[str, str, str]], list[str]]:
    """Groups of 3-6 namesakes sharing a gold type; each slot ranks the gold first with probability
    `gold_first` (its own log-prob for its first candidate drawn from [p_low, 0.8]), else second behind a random
    wrong type: the namesakes' votes carry what the slot's own ranking misses."""
    rng = random.Random(seed)
    ranked, keys, golds = [], [], []
    types = [f"T{i}" for i in range(30)]
    for g in range(n_groups):
        gold = rng.choice(types)
        for _ in range(rng.randint(3, 6)):
            wrong = rng.choice([t for t in types if t != gold])
            p = rng.uniform(p_low, 0.8)
            first, second = (gold, wrong) if rng.random() < gold_first else (wrong, gold)
            ranked.append([(first, lp(p)), (second, lp(1 - p))])
            keys.append(("pkg", "param", f"name{g}"))
            golds.append(gold)
    return ranked, keys, golds


def test_fit_learns_to_follow_informative_votes() -> None:
    ranked, keys, golds = synthetic(150, 0)
    stage = fit(ranked, keys, golds)
    assert stage.info["top1_before"] == pytest.approx(0.7, abs=0.06)
    assert float(stage.info["top1_after"]) > float(stage.info["top1_before"]) + 0.15  # type: ignore[arg-type]
    # and it generalizes to fresh groups
    test_ranked, test_keys, test_golds = synthetic(150, 1)
    after = stage.rescore(test_ranked, test_keys)
    right = sum(a is not None and a[0][0] == g for a, g in zip(after, test_golds))
    before = sum(r[0][0] == g for r, g in zip(test_ranked, test_golds))
    assert right > before + 0.15 * len(test_golds)


def test_fit_without_namesakes_keeps_the_ranking() -> None:
    ranked = [[("A", lp(0.7)), ("B", lp(0.3))], [("B", lp(0.6)), ("A", lp(0.4))]]
    stage = fit(ranked, [("p", "param", "x"), ("p", "param", "y")], ["B", "A"])
    assert stage.weights == [1.0] + [0.0] * (len(FEATURES) - 1)
    assert stage.info["with_namesakes"] == 0 and stage.info["top1_after"] == stage.info["top1_before"] == 0.0


def test_file_round_trip_and_refusals(tmp_path: Path) -> None:
    stage = Consistency([0.5, -1.0, 0.5, 0.5, 5.0, -0.5, -0.25, 0.2, 0.4, 0.6, 4.5, -0.4], {"sites": 3})
    stage.save(tmp_path)
    back = Consistency.load(tmp_path)
    assert back is not None and back.weights == stage.weights and back.info == {"sites": 3}
    data = json.loads((tmp_path / CONSISTENCY_FILE).read_text(encoding="utf-8"))
    assert data["features"] == list(FEATURES) and data["keep"] == KEEP
    old = dict(data, version=1, features=["logp", *PREDICTED], weights=stage.weights[:1 + len(PREDICTED)])
    (tmp_path / CONSISTENCY_FILE).write_text(json.dumps(old), encoding="utf-8")
    before = Consistency.load(tmp_path)  # fitted before annotations voted: they weigh nothing
    assert before is not None and before.weights == stage.weights[:1 + len(PREDICTED)] + [0.0] * len(ANNOTATED)
    for stale in (dict(data, features=["logp"]), dict(data, version=0), dict(data, keep=KEEP + 1), [1, 2]):
        # the calibration beside it was fitted with the stage: one that cannot be used is an error
        (tmp_path / CONSISTENCY_FILE).write_text(json.dumps(stale), encoding="utf-8")
        with pytest.raises(ValueError):
            Consistency.load(tmp_path)
    (tmp_path / CONSISTENCY_FILE).write_text(json.dumps(dict(data, weights=[math.inf] * len(FEATURES))),
                                             encoding="utf-8")
    with pytest.raises(ValueError):
        Consistency.load(tmp_path)
    assert Consistency.load(tmp_path / "missing") is None


def test_a_damaged_consistency_file_is_a_clear_model_error(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(MODEL_DIR, model)
    for damaged in ("{not json", "[1, 2]", json.dumps({"version": 1})):
        (model / CONSISTENCY_FILE).write_text(damaged, encoding="utf-8")
        with pytest.raises(ModelNotFound, match="cannot be loaded"):
            TypePredictor(model)
    Consistency([1.0] + [0.0] * (len(FEATURES) - 1)).save(model)
    (model / "linker.safetensors").unlink()  # fitted on the linker's output: useless without it
    with pytest.raises(ModelNotFound, match="linker"):
        TypePredictor(model)


# ------------------------------------------------------------------------------------ through the predictor

@pytest.fixture(scope="module")
def shipped() -> TypePredictor:
    return TypePredictor(MODEL_DIR)


def test_the_shipped_model_ships_the_stage(shipped: TypePredictor) -> None:
    assert shipped.consistency is not None
    assert shipped.consistency.info["with_namesakes"] > 0  # type: ignore[operator]


def test_predict_runs_the_stage_over_the_run(shipped: TypePredictor) -> None:
    """`predict` equals the linker's candidates re-scored by hand, candidates keep score == sum of token
    log-probs (the prediction sets read them), and a slot without namesakes is predicted as without the stage."""
    slices = slice_paths([INVENTORY]).slices
    texts = [render_slice(s) for s in slices]
    scopes = [s.scope_names for s in slices]
    stage = shipped.consistency
    assert stage is not None
    base = shipped.candidates(texts, scopes, [0] * len(texts), consistency=False, keep=KEEP)
    keys = [namesake_key(0, t) for t in texts]
    expected = stage.rescore([[(canonical(c.type), c.score) for c in cands] for cands in base], keys)
    got = shipped.candidates(texts, scopes, [0] * len(texts))
    with_namesakes = [i for i, e in enumerate(expected) if e is not None]
    assert with_namesakes, "the inventory project has no namesakes: pick another"
    for i, (cands, exp) in enumerate(zip(got, expected)):
        assert len(cands) <= 5
        if exp is None:
            assert [(c.type, c.score) for c in cands] == [(c.type, c.score) for c in base[i][:5]]
            continue
        assert [canonical(c.type) for c in cands] == [t for t, _ in exp[:5]]
        for c, (_t, score) in zip(cands, exp):
            assert c.score == pytest.approx(score, abs=1e-9)
            assert sum(c.token_logprobs) == pytest.approx(c.score, abs=1e-4)
    preds = shipped.predict(slices)
    plain = shipped.predict(slices, consistency=False)
    for i, (p, q) in enumerate(zip(preds, plain)):
        top = canonical(got[i][0].type) if got[i] else None
        assert (p.candidates[0].type if p.candidates else None) == top
        if expected[i] is None:
            assert p == q
    alone = [slices[with_namesakes[0]]]
    assert shipped.predict(alone) == shipped.predict(alone, consistency=False)


def test_records_of_different_packages_never_vote_for_each_other(shipped: TypePredictor) -> None:
    slices = slice_paths([INVENTORY]).slices
    recs = [Record(render_slice(s), s.scope_names, "int", s.slot.kind.value, s.slot.id, f"pkg{i}")
            for i, s in enumerate(slices)]
    separate = run_model(shipped, recs)
    plain = run_model(shipped, recs, consistency=False)
    assert separate.ranked == plain.ranked and separate.logps == plain.logps
    # one package: one run, as `candidates` over the slices makes it, and not the plain output
    together = run_model(shipped, [replace(r, package="one") for r in recs])
    run = shipped.candidates([r.input for r in recs], [r.names for r in recs], [0] * len(recs))
    assert together.ranked == [[canonical(c.type) for c in cands] for cands in run]
    assert together.logps == [[c.score for c in cands] for cands in run]
    assert together.ranked != plain.ranked or together.logps != plain.logps


def test_fit_consistency_end_to_end_on_the_tiny_model(tiny_model: Path, tmp_path: Path) -> None:
    """As `ship-model` fits it: on held-out records, written beside the model and loaded with it."""
    from typetool.corpus import CorpusPackage
    from typetool.python.corpus import records_for_package

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    records = records_for_package(CorpusPackage("train", "typetool==0"), ROOT / "typetool").records
    every = [Record(str(r["input"]), tuple(r["names"]), str(r["target"]), str(r["kind"]), str(r["id"]),
                    "held" if i % 4 == 0 else "names") for i, r in enumerate(records)]
    held = [r for r in every if r.package == "held" and r.kind in ("param", "return")][:300]
    tp = TypePredictor(model)
    assert tp.consistency is None
    with pytest.raises(ValueError, match="linker first"):
        fit_consistency(tp, held)
    fit_linker(tp, every, held)  # as ship-model does: the linker, then the stage on its output
    info = fit_consistency(tp, held, batch_size=64)
    assert (model / CONSISTENCY_FILE).is_file()
    assert info["sites"] == len(held) and 0 < info["with_namesakes"] <= len(held)
    again = TypePredictor(model)
    assert again.consistency is not None and again.consistency.weights == pytest.approx(info["weights"], abs=1e-4)


CODE = '''class Node:
    pass


def visit_a(node, depth):
    return node.children[depth]


def visit_b(node, depth):
    print(node, depth + 1)


def visit_c(node, depth):
    if depth > 3:
        return None
    return node
'''


def test_check_changed_only_reports_what_a_check_of_the_touched_files_reports(tmp_path: Path) -> None:
    """With the stage, `check --changed-only` predicts the touched files whole (the namesakes on unchanged lines
    vote) and reports the slots on changed lines as a check of those files does."""
    import os

    from typetool.check import ChangedLines, run_check

    src = tmp_path / "visitors.py"
    src.write_text(CODE, encoding="utf-8")
    tp = TypePredictor(MODEL_DIR)
    assert tp.consistency is not None
    sizes: list[int] = []
    inner = tp.predict

    def predict(slices: list[object], **kw: object) -> list[object]:
        sizes.append(len(slices))
        return inner(slices, **kw)  # type: ignore[arg-type]

    tp.predict = predict  # type: ignore[assignment,method-assign]
    line = CODE.splitlines().index("def visit_b(node, depth):") + 1
    changed = ChangedLines("HEAD", {os.path.realpath(src): [(line, line)]})
    part = run_check([src], lambda: tp, min_confidence=0.0, changed=changed)
    full = run_check([src], lambda: tp, min_confidence=0.0)
    assert 0 < part.slots_checked < full.slots_checked
    assert sizes == [full.slots_checked, full.slots_checked]  # the touched file whole, both times
    assert part.findings and {f.line for f in part.findings} == {line}
    by_id = {f.slot_id: f for f in full.findings}
    assert all(f == by_id[f.slot_id] for f in part.findings)


# ------------------------------------------------------------------------------------------ annotated votes

def test_annotated_namesakes_vote_with_certainty() -> None:
    a = [("X", lp(0.7)), ("Y", lp(0.3))]
    key = ("p", "param", "node")
    stage = Consistency(only("annotated_vote"))
    out = stage.rescore([a], [key], [(key, "Y"), (key, "Y"), (key, "X")])  # no predicted namesakes needed
    assert out[0] is not None and [t for t, _ in out[0]] == ["Y", "X"]
    assert out[0][0][1] - out[0][1][1] == pytest.approx(2 / 3 - 1 / 3, abs=1e-9)
    # other groups' and other kinds' annotations do not vote; without any, the slot is left alone
    assert stage.rescore([a], [key], [(("q", "param", "node"), "Y"), (("p", "return", "node"), "Y")]) == [None]
    # annotated returns vote through the return weights too
    ret = ("p", "return", "f")
    assert Consistency(only("return_annotated_vote")).rescore([a], [ret], [(ret, "Y")])[0][0][0] == "Y"  # type: ignore[index]
    assert Consistency(only("return_annotated_vote")).rescore([a], [key], [(key, "Y")])[0][0][0] == "X"  # type: ignore[index]


def test_key_of_matches_the_rendered_slices() -> None:
    assert key_of(0, "param", "_node", "f") == namesake_key(0, PARAM.format("A")) == (0, "param", "node")
    assert key_of(0, "return", "return", "visit_Name") == namesake_key(0, RET)
    assert key_of(0, "attribute", "x", "") is None


def synthetic_annotated(n_groups: int, seed: int) -> tuple[list[list[tuple[str, float]]], list[tuple[str, str, str]],
                                                           list[str]]:
    """As `synthetic`, but each slot ranks the gold first only 40% of the time: its namesakes' predictions say
    little, their annotations (the gold) much."""
    return synthetic(n_groups, seed, gold_first=0.4, p_low=0.5)


def test_fit_learns_annotated_votes_without_moving_the_predicted_ones() -> None:
    ranked, keys, golds = synthetic_annotated(600, 0)
    stage = fit(ranked, keys, golds)
    alone = fit(ranked, keys, golds, annotated_share=0.0)  # no slot annotated: the annotation weights stay 0
    assert stage.weights[:1 + len(PREDICTED)] == pytest.approx(alone.weights[:1 + len(PREDICTED)])
    assert alone.weights[1 + len(PREDICTED):] == [0.0] * len(ANNOTATED)
    assert 0 < int(stage.info["annotated_sites"]) < len(ranked)  # type: ignore[call-overload]
    # the others: with the predicted votes alone, then with the annotations' too
    assert float(stage.info["top1_rest_after"]) > float(stage.info["top1_rest_before"]) + 0.03  # type: ignore[arg-type]


PARTLY = '''class Node:
    pass


class Ledger:
    def __init__(self) -> None:
        self.rows: list[int] = []


def visit_a(node: Ledger, depth: int) -> None:
    print(node.rows, depth)


def visit_b(node: Ledger, depth: int) -> None:
    print(node.rows[depth])


def visit_c(node: Ledger, depth: int) -> int:
    return len(node.rows) + depth


def visit_d(node: Ledger) -> bool:
    return bool(node.rows)


def visit_e(node, depth):
    print(node.rows, depth)
'''


def test_a_run_over_partly_annotated_code_reads_its_annotations(tmp_path: Path, shipped: TypePredictor) -> None:
    from typetool.pipeline import annotated_slots, load_project, predict_project, slice_project

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "walk.py").write_text(PARTLY, encoding="utf-8")
    project = load_project([tmp_path])
    notes = annotated_slots(project)
    assert {(a.kind, a.name, a.function, a.type) for a in notes if a.function == "visit_a"} == {
        ("param", "node", "visit_a", "Ledger"), ("param", "depth", "visit_a", "int"),
        ("return", "return", "visit_a", "None")}
    assert len(notes) == 12  # four visitors' params and returns, and __init__'s return
    slices = slice_project(project, only_unannotated=True)
    with_notes = {p.slot.name: p for p in shipped.predict(slices, annotated=notes)}
    without = {p.slot.name: p for p in shipped.predict(slices)}
    assert {p.slot.name: p for p in predict_project(project, shipped)} == with_notes  # what annotate runs

    def logp(p: object, t: str) -> float:
        return next((c.logp for c in p.candidates if c.type == t), -math.inf)  # type: ignore[attr-defined]

    assert logp(with_notes["node"], "Ledger") > logp(without["node"], "Ledger") + 1.0
    assert with_notes["depth"].candidates[0].type == "int"
    assert with_notes["depth"].confidence > without["depth"].confidence + 0.2


def test_too_few_slots_reached_by_annotations_leave_their_weights_at_zero() -> None:
    ranked, keys, golds = synthetic_annotated(100, 0)  # about 450 slots: too few others reached
    stage = fit(ranked, keys, golds)
    assert 0 < int(stage.info["reached_by_annotations"]) < 1000  # type: ignore[call-overload]
    assert stage.weights[1 + len(PREDICTED):] == [0.0] * len(ANNOTATED)
    assert any(stage.weights[1:1 + len(PREDICTED)])


def test_a_property_setter_return_is_nobody_s_namesake(tmp_path: Path) -> None:
    from typetool.pipeline import annotated_slots, load_project

    setter = "<py> return of Box.size(self, value)\ncontext: decorators @size.setter"
    assert namesake_key(0, setter) is None
    assert namesake_key(0, "<py> return of Box.size(self)\ncontext: decorators @property") == (0, "return", "size")
    (tmp_path / "box.py").write_text("""class Box:
    @property
    def size(self) -> int:
        return 1

    @size.setter
    def size(self, value: int) -> None:
        pass
""", encoding="utf-8")
    notes = annotated_slots(load_project([tmp_path]))
    assert sorted((a.kind, a.function, a.type) for a in notes) == [
        ("param", "size", "int"), ("return", "size", "int")]  # the setter's `-> None` is left out

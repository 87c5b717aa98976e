"""Name links (typetool.model.linking) and how the predictor and the ship step use them."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from typetool.model.linking import linked_type
from typetool.model.predict import Candidate, with_bonus


@pytest.mark.parametrize(("text", "names", "expected"), [
    ("<py> param node of f(node)\nnames: CSTNode ; Foo", ["CSTNode", "Foo"], "CSTNode"),
    ("<py> param options of f(options=None)\nevidence: default literal None ; default = None\nnames: Options",
     ["Options"], "Options | None"),
    ("<py> param base_visitor of f(base_visitor)", ["CSTVisitor", "Other"], "CSTVisitor"),
    ("<py> param metadata_wrapper of f(x)", ["MetadataWrapper"], "MetadataWrapper"),
    ("<ts> param visitor of f(visitor)\nevidence: default = None", ["CSTVisitor"], "CSTVisitor"),  # no py rule
    ("<py> param _private_node of f(x)", ["_InternalNode"], "_InternalNode"),
])
def test_links(text: str, names: list[str], expected: str) -> None:
    assert linked_type(text, names) == expected


@pytest.mark.parametrize(("text", "names"), [
    ("<py> param visitor of f(visitor)", ["CSTVisitor", "BaseVisitor"]),  # two matches: no link
    ("<py> param node of f(node)", ["np.Node", "node_type"]),  # dotted or lower-case names never link
    ("<py> param id of f(id)", ["UserId"]),  # a last word under 3 letters links only as the whole name
    ("<py> return of f()\nreturns: CSTNode()", ["CSTNode"]),  # returns are not linked
    ("<py> param count of f(count)", ["Widget"]),
])
def test_no_links(text: str, names: list[str]) -> None:
    assert linked_type(text, names) is None


def test_bonus_is_capped_at_certainty() -> None:
    c = Candidate("CSTNode", -9.0, [-8.0, -0.5, -0.5], ["CST", "Node", "</s>"], [(0, 3), (3, 7), (7, 7)])
    assert with_bonus(c, 3.0).token_logprobs == [-5.0, -0.5, -0.5] and with_bonus(c, 3.0).score == -6.0
    assert with_bonus(c, 8.5).token_logprobs == [0.0, -0.0, -0.5] and with_bonus(c, 8.5).score == -0.5
    assert with_bonus(c, 30.0).token_logprobs == [0.0, 0.0, 0.0] and with_bonus(c, 30.0).score == 0.0
    assert with_bonus(c, 0.0) == c


def test_predictor_adds_the_link_and_the_fit_chooses_a_bonus(tiny_model: Path, tmp_path: Path) -> None:
    """With a bonus, the linked class joins the candidates with the model's own token log-probs plus the bonus on
    its first token; without one, outputs are the model's alone. The fit writes its choice to decoding.json."""
    from typetool.evaluation_run import Record, fit_link_bonus
    from typetool.predictions import TypePredictor

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    text = "<py> param widget_node of render(widget_node)\nuses: .children\nnames: WidgetNode ; Other"
    pred = TypePredictor(model)
    plain = pred.predictor.predict([text], [["WidgetNode", "Other"]], top_k=3)[0]
    forced = pred.predictor.linked([text], [["WidgetNode", "Other"]])[0]
    assert forced is not None and forced.type == "WidgetNode" and math.isclose(
        forced.score, sum(forced.token_logprobs))
    pred.predictor.settings.link_bonus = 50.0
    linked = pred.predictor.predict([text], [["WidgetNode", "Other"]], top_k=3)[0]
    assert linked[0].type == "WidgetNode" and linked[0].score == 0.0
    assert [c.type for c in linked[1:]] == [c.type for c in plain if c.type != "WidgetNode"][:2]
    pred.predictor.settings.link_bonus = 0.0
    assert [c.type for c in pred.predictor.predict([text], [["WidgetNode", "Other"]], top_k=3)[0]] == \
        [c.type for c in plain]

    records = [Record(text.replace("widget_node", f"widget_node{i}"), ("WidgetNode", "Other"), "WidgetNode",
                      "param", f"x::param::f::widget_node{i}") for i in range(6)]
    fit = fit_link_bonus(pred, records)
    assert fit["links"] == 0  # `widget_node0` ... end in digits: the last word no longer matches
    records = [Record(text, ("WidgetNode", "Other"), "WidgetNode", "param", f"x{i}::param::f::widget_node")
               for i in range(6)]
    fit = fit_link_bonus(pred, records)
    assert fit["links"] == 6 and fit["top1"][max(fit["top1"])] == 1.0 and fit["bonus"] > 0
    assert json.loads((model / "decoding.json").read_text())["link_bonus"] == fit["bonus"]
    assert TypePredictor(model).predictor.settings.link_bonus == fit["bonus"]

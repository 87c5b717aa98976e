"""Name links (typetool.model.name_rule) and how the predictor and the ship step use them."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from typetool.model.decoder import Candidate, as_link
from typetool.model.name_rule import linked_type


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


def test_a_link_carries_its_probability_on_its_first_token() -> None:
    c = Candidate("CSTNode", -9.0, [-8.0, -0.5, -0.5], ["CST", "Node", "</s>"], [(0, 3), (3, 7), (7, 7)])
    link = as_link(c, math.log(0.6))
    assert link.token_logprobs == [math.log(0.6), 0.0, 0.0] and link.score == math.log(0.6)
    assert (link.type, link.tokens, link.offsets) == (c.type, c.tokens, c.offsets)


def test_predictor_adds_the_link_and_the_fit_measures_it(tiny_model: Path, tmp_path: Path) -> None:
    """With a link probability, the linked class joins the candidates scored log p (ahead of every candidate
    the model scores lower); without one, outputs are the model's alone. The fit measures p on the records and
    writes log p to decoding.json."""
    from typetool.evaluation import Record, fit_link_prob
    from typetool.predictions import TypePredictor

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    text = "<py> param widget_node of render(widget_node)\nuses: .children\nnames: WidgetNode ; Other"
    names = [["WidgetNode", "Other"]]
    pred = TypePredictor(model)
    plain = pred.predictor.predict([text], names, top_k=3)[0]
    link = pred.predictor.linked([text], names)[0]
    assert link is not None and link.type == "WidgetNode" and link.tokens[-1] == "</s>"
    assert link.score == 0.0 and len(link.token_logprobs) == len(link.tokens) == len(link.offsets)
    assert pred.predictor.linked([text], [["Other"]])[0] is None  # no class in scope matches
    pred.predictor.settings.link_logprob = math.log(0.999)
    linked = pred.predictor.predict([text], names, top_k=3)[0]
    assert linked[0].type == "WidgetNode" and linked[0].score == math.log(0.999)
    assert [c.type for c in linked[1:]] == [c.type for c in plain if c.type != "WidgetNode"][:2]
    pred.predictor.settings.link_logprob = -1000.0  # below everything: last, and cut by top_k
    assert "WidgetNode" not in [c.type for c in pred.predictor.predict([text], names, top_k=3)[0]] or \
        "WidgetNode" in [c.type for c in plain]
    pred.predictor.settings.link_logprob = None
    assert [c.type for c in pred.predictor.predict([text], names, top_k=3)[0]] == [c.type for c in plain]

    right = [Record(text, ("WidgetNode", "Other"), "WidgetNode", "param", f"x{i}::param::f::widget_node")
             for i in range(6)]
    wrong = [Record(text, ("WidgetNode", "Other"), "int", "param", f"y{i}::param::f::widget_node")
             for i in range(2)]
    fit = fit_link_prob(pred, right + wrong)
    assert (fit["links"], fit["right"]) == (8, 6) and math.isclose(fit["p"], 7 / 10)
    assert fit["top1_with"] >= 6 / 8 - 1e-9
    assert math.isclose(json.loads((model / "decoding.json").read_text())["link_logprob"], math.log(0.7))
    assert math.isclose(TypePredictor(model).predictor.settings.link_logprob or 0.0, math.log(0.7))

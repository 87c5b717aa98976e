"""The learned name linker (typetool.model.linker): slot parsing, features, fitting, saving, and the predictor
reranking its beam with it."""

from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path

import pytest
import torch

from typetool.model.linker import (
    LINKER_META,
    N_COMBINER,
    N_FEATURES,
    SHORTLIST_FIRST,
    BeamSite,
    Linker,
    Slot,
    candidate_names,
    fit_combiner,
    fit_name_model,
    gold_index,
    pair_features,
    rerank,
    shortlist,
)
from typetool.predictions import canonical


def canon(t: str) -> str:
    return canonical(t, "py")


def _weights(*first: float) -> torch.Tensor:
    """Combiner weights: the given first ones, zeros after."""
    return torch.tensor([*first, *[0.0] * (N_COMBINER - len(first))])


@pytest.mark.parametrize(("text", "kind", "var", "function", "cls", "default_none"), [
    ("<py> param node of visit(self, node) in class Walker(Base)\nuses: .children", "param", "node", "visit",
     "Walker", False),
    ("<py> param options of f(options=None)\nevidence: default = None", "param", "options", "f", "", True),
    ("<py> return of get_config(path)\nreturns: Config(path)", "return", "get_config", "get_config", "", False),
    ("<py> attribute _parser of class Reader(object)\nvalue: = parser in __init__", "attribute", "parser", "",
     "Reader", False),
    ("<py> variable best in function biggest\nvalue: = None", "variable", "best", "biggest", "", False),
    ("<ts> param visitor of walk(visitor)", "param", "visitor", "walk", "", False),
    ("<ts> field owner of class Cart", "attribute", "owner", "", "Cart", False),
    ("<ts> param base of Immer.createDraft(base)", "param", "base", "createDraft", "Immer", False),
    ("<ts> return of get enableMapSet.DraftMap.size()", "return", "size", "size", "DraftMap", False),
    ("<ts> return of async Client.send(request)", "return", "send", "send", "Client", False),
    ("<py> param event of async _anop(self, event, *args)", "param", "event", "_anop", "", False),
    ("<ts> variable state in function currentImpl", "variable", "state", "currentImpl", "", False),
])
def test_slot_parse(text: str, kind: str, var: str, function: str, cls: str, default_none: bool) -> None:
    s = Slot.parse(text)
    assert (s.kind, s.var, s.function, s.cls, s.default_none) == (kind, var, function, cls, default_none)


def test_slot_body_leaves_out_the_header_and_the_names() -> None:
    s = Slot.parse("<py> param node of f(node)\nuses: .kids\nnames: Node ; Tree")
    assert s.body == "uses: .kids"


def test_candidate_names_are_undotted_capitalized_project_names() -> None:
    names = ["Node", "np.Array", "helper", "Any", "Path", "Mapping", "_Private", "int", "Node", "CONSTANT"]
    assert candidate_names(names, "py") == ["Node", "_Private", "CONSTANT"]
    assert candidate_names(["Node", "Promise", "string", "$Ref"], "ts") == ["Node", "$Ref"]


def test_pair_features_have_one_row_per_name_and_a_none_row() -> None:
    slot = Slot.parse("<py> param cst_node of visit(cst_node)\ncalls: isinstance(#0, Leaf)\nreturns: Tree(x)")
    rows = pair_features(slot, [("CSTNode", 0), ("Leaf", 1), ("Tree", 2)])
    assert len(rows) == 4 and all(len(r) == N_FEATURES for r in rows)
    assert [r[0] for r in rows] == [0.0, 0.0, 0.0, 1.0]  # the none flag
    assert rows[0][1] == 1.0 and rows[1][1] == 0.0  # cst_node is CSTNode, word for word
    isinstance_col = 1 + 6 + 6 + 1
    assert rows[1][isinstance_col] == 1.0 and rows[0][isinstance_col] == 0.0


def test_the_shortlist_keeps_the_first_names_and_later_ones_with_evidence() -> None:
    scope = [f"Class{i:03d}" for i in range(300)] + ["ClassDef", "Mentioned", "Walker", "Unrelated"]
    slot = Slot.parse("<py> param node of visit_ClassDef(self, node) in class Walker(Base)\n"
                      "calls: Mentioned.check(#0)")
    names = dict(shortlist(slot, scope))
    assert [n for n in names if n.startswith("Class0")] == [f"Class{i:03d}" for i in range(SHORTLIST_FIRST)]
    assert {"ClassDef", "Mentioned", "Walker"} <= set(names) and "Unrelated" not in names
    assert names["ClassDef"] == 300  # its place among all the candidates


def test_gold_index_reads_optional_classes() -> None:
    assert gold_index("Optional[Tree]", ["Node", "Tree"], canon) == 1
    assert gold_index("Node", ["Node", "Tree"], canon) == 0
    assert gold_index("list[Node]", ["Node", "Tree"], canon) == 2  # none of them


CLASSES = ["Widget", "Gadget", "Sprocket", "Lever", "Pulley", "Gear", "Spring", "Bolt"]


def _examples(n: int, seed: int) -> list[tuple[str, list[str], str]]:
    """Synthetic slots: a parameter named after one of the classes in scope has that type; one named
    `count` is an int; a few named after no class have another class (noise)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        scope = rng.sample(CLASSES, 5)
        r = rng.random()
        if r < 0.6:
            cls = rng.choice(scope)
            out.append((f"<py> param my_{cls.lower()} of f(my_{cls.lower()})\nuses: .run()", scope, cls))
        elif r < 0.9:
            out.append(("<py> param count of f(count)\nops: _ + 1", scope, "int"))
        else:
            out.append(("<py> param thing of f(thing)\nuses: .run()", scope, rng.choice(scope)))
    return out


def test_the_name_model_learns_to_link_and_to_abstain() -> None:
    model, info = fit_name_model(_examples(600, 0), canon, epochs=20)
    assert 0.5 < info["gold_is_a_class"] < 0.8
    test = _examples(200, 1)
    linker = Linker(model, torch.zeros(N_COMBINER), {})
    right = 0
    for text, scope, gold in test:
        _, cands, lp = linker.name_logps(text, scope)
        assert math.isclose(sum(math.exp(x) for x in lp), 1.0, rel_tol=1e-5)
        best = max(range(len(lp)), key=lambda k: lp[k])
        right += best == gold_index(gold, cands, canon)
    assert right / len(test) > 0.85  # the noisy 10% caps it near 0.9 at best


def _sites(n: int, seed: int) -> list[BeamSite]:
    """Beam outputs that never contain the class, and are right about ints."""
    out = []
    for text, scope, gold in _examples(n, seed):
        out.append(BeamSite(text, scope, [("int", -0.2), ("str", -2.0)], canon(gold)))
    return out


def test_the_combiner_lets_links_beat_the_beam_only_where_they_should() -> None:
    names, _ = fit_name_model(_examples(600, 0), canon, epochs=20)
    w, info = fit_combiner(names, _sites(400, 2), canon)
    assert info["top1_beam"] < 0.4 < info["top1_linked"]
    linker = Linker(names, w, {})
    widget = rerank(linker, BeamSite("<py> param my_widget of f(my_widget)\nuses: .run()", ["Widget", "Gear"],
                                     [("int", -0.2), ("str", -2.0)]), canon)
    assert widget[0][0] == "Widget"
    assert math.isclose(sum(math.exp(s) for _, s in widget), 1.0, rel_tol=1e-5)
    count = rerank(linker, BeamSite("<py> param count of f(count)\nops: _ + 1", ["Widget", "Gear"],
                                    [("int", -0.2), ("str", -2.0)]), canon)
    assert count[0][0] == "int"


def test_a_linked_class_with_default_none_is_optional() -> None:
    names, _ = fit_name_model(_examples(300, 0), canon, epochs=10)
    linker = Linker(names, _weights(1.0, 0.0, 1.0, 2.0, 0.0, 0.0), {})
    text = "<py> param my_gear of f(my_gear=None)\nevidence: default literal None ; default = None"
    types = [t for t, _ in rerank(linker, BeamSite(text, ["Gear"], [("int", -1.0)]), canon)]
    assert "Gear | None" in types and "Gear" not in types


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    names, _ = fit_name_model(_examples(200, 0), canon, epochs=3)
    linker = Linker(names, _weights(0.9, -1.0, 1.1, 0.3, 0.2, 0.05), {"fitted_on": "synthetic"})
    linker.save(tmp_path)
    again = Linker.load(tmp_path)
    assert again is not None and again.info == {"fitted_on": "synthetic"}
    site = BeamSite("<py> param my_bolt of f(my_bolt)", ["Bolt", "Gear"], [("int", -0.5)])
    assert rerank(again, site, canon) == rerank(linker, site, canon)
    assert Linker.load(tmp_path / "nowhere") is None
    meta = json.loads((tmp_path / LINKER_META).read_text())
    meta["features"] = N_FEATURES + 1
    (tmp_path / LINKER_META).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="refit"):
        Linker.load(tmp_path)


def test_the_predictor_reranks_its_beam_with_a_shipped_linker(tiny_model: Path, tmp_path: Path) -> None:
    """With linker.safetensors beside the model, a linked class the beam lacks becomes the top candidate, scored
    on its first token; beam candidates keep their tokens with their per-token log-probs summing to their new
    score. Without it, the outputs are the model's own."""
    from typetool.predictions import TypePredictor

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    text = "<py> param my_widget of f(my_widget)\nuses: .run()\nnames: Widget ; Gear"
    scope = [["Widget", "Gear"]]
    plain = TypePredictor(model).predictor.predict([text], scope, top_k=3)[0]
    assert "Widget" not in [c.type for c in plain]
    names, _ = fit_name_model(_examples(600, 0), canon, epochs=20)
    Linker(names, _weights(1.0, 0.0, 1.0, 2.0, 0.0, 0.0), {}).save(model)
    pred = TypePredictor(model).predictor
    assert pred.linker is not None
    linked = pred.predict([text], scope, top_k=3)[0]
    assert linked[0].type == "Widget" and linked[0].token_logprobs[1:] == [0.0] * (len(linked[0].tokens) - 1)
    beam_order = [c.type for c in plain]
    kept = [c.type for c in linked if c.type in beam_order]
    assert kept == [t for t in beam_order if t in kept]  # the beam's candidates keep their order
    for c in linked:
        assert math.isclose(sum(c.token_logprobs), c.score, abs_tol=1e-4)
        assert len(c.tokens) == len(c.token_logprobs) == len(c.offsets)
    assert sum(math.exp(c.score) for c in linked) <= 1.0 + 1e-4  # the top 3 of one softmax over the union
    assert len({c.type for c in linked}) == len(linked) == 3
    one = pred.predict([text], scope, top_k=1)[0]  # the combiner still sees the beam it was fitted on
    assert [c.type for c in one] == [linked[0].type] and math.isclose(one[0].score, linked[0].score)


def test_the_shipped_model_links_classes_of_other_project_modules_and_imports_them(tmp_path: Path) -> None:
    """End to end with the shipped Python model and its linker: parameters named like classes defined in another
    module of the project, which the file does not import, get those classes, and the annotated file imports
    them under TYPE_CHECKING (the write-back's proof passes)."""
    from conftest import run_cli

    pkg = tmp_path / "shop"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text(
        "class Customer:\n    email = ''\n\n\nclass ShoppingCart:\n    items = ()\n\n\n"
        "class PaymentGateway:\n    def charge(self, amount):\n        return amount > 0\n")
    checkout = pkg / "checkout.py"
    checkout.write_text(
        "def checkout(customer, shopping_cart, payment_gateway):\n"
        "    total = len(shopping_cart.items) * 10.0\n"
        "    if payment_gateway.charge(total):\n"
        "        return customer.email\n"
        "    return ''\n")
    ran = run_cli("predict", "shop", "--format", "json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    records = json.loads(ran.stdout)
    records = records["predictions"] if isinstance(records, dict) else records
    top = {r["name"]: r["candidates"][0]["type"] for r in records
           if r["file"].endswith("checkout.py") and r["kind"] == "param"}
    assert top == {"customer": "Customer", "shopping_cart": "ShoppingCart", "payment_gateway": "PaymentGateway"}
    ran = run_cli("annotate", "shop", "--epsilon", "0.5", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    text = checkout.read_text()
    assert "from shop.models import" in text and "if TYPE_CHECKING:" in text
    assert 'shopping_cart: "ShoppingCart"' in text


@pytest.mark.parametrize("damage", ["garbage", "no-meta"])
def test_a_damaged_linker_is_a_clear_error_and_nothing_is_written(tiny_model: Path, tmp_path: Path,
                                                                    damage: str) -> None:
    from conftest import run_cli

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    names, _ = fit_name_model(_examples(100, 0), canon, epochs=1)
    Linker(names, _weights(1.0), {}).save(model)
    if damage == "garbage":
        (model / "linker.safetensors").write_bytes(b"not a safetensors file")
    else:
        (model / LINKER_META).unlink()
    src = tmp_path / "code.py"
    src.write_text("def f(widget):\n    return widget.run()\n")
    before = src.read_bytes()
    ran = run_cli("annotate", str(src), "--model", str(model), cwd=tmp_path)
    assert ran.returncode == 2
    assert "cannot be loaded" in ran.stderr and str(model) in ran.stderr
    assert src.read_bytes() == before

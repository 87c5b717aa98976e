"""Renaming project types in training records (typetool.model.augment) and its use by prepare()."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from typetool.model.augment import name_parts, rename_record, rename_records, renameable
from typetool.model.data import prepare
from typetool.model.tokenizer import train_tokenizer
from typetool.typeexpr import is_well_formed

RECORD = {
    "input": "<py> param node of visit(node, extra)\nops: isinstance(_, CSTNode)\ncalls: cst.CSTNode.check(#0)\n"
             "names: CSTNode ; _Visitor ; Optional ; Path ; CSTNodeChild",
    "target": "Optional[CSTNode] | Mapping[str, _Visitor] | Path",
    "names": ["CSTNode", "_Visitor", "Optional", "Path", "CSTNodeChild"],
    "package": "p", "kind": "param",
}
PARTS = ["Batch", "Node", "Proxy", "Visitor", "HTTP"]


def test_renameable_names() -> None:
    assert renameable("CSTNode", "py") and renameable("_Visitor", "py") and renameable("ImmerState", "ts")
    for name in ("str", "Optional", "Path", "Logger", "np.ndarray", "T", "_T", "lowercase", "Promise"):
        assert not renameable(name, "ts" if name == "Promise" else "py"), name


def test_rename_is_consistent_and_leaves_known_names() -> None:
    out = rename_record(RECORD, PARTS, random.Random(3), "py")
    new_node = out["names"][0]  # type: ignore[index]
    new_visitor = out["names"][1]  # type: ignore[index]
    assert new_node != "CSTNode" and new_visitor.startswith("_") and new_visitor != "_Visitor"
    assert out["target"] == f"Optional[{new_node}] | Mapping[str, {new_visitor}] | Path"
    text = str(out["input"])
    assert not re.search(r"(?<!\w)CSTNode(?!\w)", text) and not re.search(r"(?<!\w)_Visitor(?!\w)", text)
    assert f"isinstance(_, {new_node})" in text and f"cst.{new_node}.check" in text
    assert "CSTNodeChild" in text and out["names"][2:] == ["Optional", "Path", "CSTNodeChild"]  # type: ignore[index]
    assert is_well_formed(str(out["target"]))
    assert RECORD["target"] == "Optional[CSTNode] | Mapping[str, _Visitor] | Path"  # the input record is untouched


def test_names_not_in_the_input_are_kept() -> None:
    rec = {**RECORD, "target": "Widget | CSTNode"}
    out = rename_record(rec, PARTS, random.Random(0), "py")
    assert str(out["target"]).startswith("Widget | ") and "CSTNode" not in str(out["target"])


def test_rename_records_is_deterministic_and_respects_the_probability() -> None:
    recs = [dict(RECORD) for _ in range(400)]
    a, b = rename_records(recs, PARTS, 0.5, 7, "py"), rename_records(recs, PARTS, 0.5, 7, "py")
    assert a == b
    changed = sum(r["target"] != RECORD["target"] for r in a)
    assert 150 < changed < 250
    assert rename_records(recs, PARTS, 0.0, 7, "py") == recs
    assert rename_records(recs, PARTS, 0.5, 8, "py") != a


def test_name_parts() -> None:
    parts = name_parts(["Optional[CSTNodeVisitor]", "HTTPProxyState | None", "str"], "py")
    assert parts == ["CST", "HTTP", "Node", "Proxy", "State", "Visitor"]


def test_prepare_renames_into_its_own_cache(tmp_path: Path) -> None:
    lines = [json.dumps({**RECORD, "input": RECORD["input"] + f" ; v{i}"}) + "\n" for i in range(50)]
    lines += [json.dumps({"input": "<py> param x of f(x)\nuses: x + 1", "target": "HTTPClientProxy",
                          "package": "p", "kind": "param"}) + "\n"]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(lines))
    tok = train_tokenizer([json.loads(line)["input"] for line in lines] * 4, 300)
    plain = prepare(path, tok, tmp_path / "cache", 256, 128)
    renamed = prepare(path, tok, tmp_path / "cache", 256, 128, rename_prob=1.0, seed=1)
    assert plain.cache_file != renamed.cache_file and len(plain) == len(renamed) == 51
    differ = sum(not (plain.target(i).shape == renamed.target(i).shape
                      and bool((plain.target(i) == renamed.target(i)).all())) for i in range(51))
    assert differ == 50  # every record with a renameable name in its input, not the last one
    again = prepare(path, tok, tmp_path / "cache", 256, 128, rename_prob=1.0, seed=1)
    assert again.from_cache and bool((again.targets == renamed.targets).all())


def test_fresh_names_are_never_reserved_or_builtin() -> None:
    from typetool.model.augment import fresh_name

    tricky = ["None", "Optional", "False", "Any", "IO", "List", "Promise", "Map", "Node", "Visitor", "Class"]
    for lang in ("py", "ts"):
        for seed in range(300):
            new = fresh_name("CSTNode", tricky, random.Random(seed), "", lang)
            reserved = ("None", "False", "True", "Optional", "Any", "List", "IO") if lang == "py" else ("Promise", "Map")
            assert renameable(new, lang) and new not in reserved, new


def test_typescript_dollar_names_are_whole_words() -> None:
    rec = {"input": "<ts> param x of f(x)\nnames: $Store ; Store", "target": "Store", "names": ["$Store", "Store"]}
    out = rename_record(rec, PARTS, random.Random(1), "ts")
    assert out["names"][0] == "$Store" and out["names"][1] != "Store"  # type: ignore[index]
    assert "$Store" in str(out["input"])


def test_training_with_renaming_keeps_the_original_type_vocabulary(tmp_path: Path) -> None:
    from typetool.model.train import train

    lines = [json.dumps({**RECORD, "input": RECORD["input"] + f" ; v{i}"}) + "\n" for i in range(40)]
    (tmp_path / "t.jsonl").write_text("".join(lines))
    train(tmp_path / "t.jsonl", tmp_path / "t.jsonl", tmp_path / "m", preset="tiny", max_steps=2, batch_size=8,
          vocab_size=300, eval_every=0, valid_limit=4, threads=1, cache_dir=tmp_path / "c", rename_prob=1.0,
          max_target_len=128, log=lambda m: None)
    known = set(json.loads((tmp_path / "m" / "type_vocab.json").read_text())["names"])
    original = set(re.findall(r"[A-Za-z_]\w*", str(RECORD["target"])))
    assert {"CSTNode", "_Visitor"} <= known <= original, known - original

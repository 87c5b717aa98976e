"""Tests for typetool.model: tokenizer, grammar, data cache, training/resume, save/load parity, constrained
decoding. Everything runs on a tiny model and a synthetic dataset made here, in a few seconds on CPU."""

from __future__ import annotations

import ast
import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest
import torch

from typetool.model.config import ModelSettings, new_model
from typetool.model.data import bucketed_batches, prepare
from typetool.model.decoder import Candidate, TypeDecoder
from typetool.model.grammar import NAME_RE, State, TypeGrammar, TypeVocab, builtin_names
from typetool.model.saving import load_model, save_model
from typetool.model.tokenizer import EOS_ID, encode_targets, train_tokenizer
from typetool.model.train import FIT_AFTER_STEPS as FIT_STEPS
from typetool.model.train import main as train_main
from typetool.model.train import train
from typetool.typeexpr import is_well_formed

VARS = ["count", "name", "items", "path", "flag", "ratio", "index", "data", "mapping", "widget", "node", "size"]
TEMPLATES: list[tuple[str, str]] = [
    ("<py> param {v} | default: {n} | uses: {v} + 1 ; range({v})", "int"),
    ("<py> param {v} | default: '{v}' | uses: {v}.upper() ; {v}.split(',')", "str"),
    ("<py> param {v} | uses: {v}.items() ; {v}[key] += 1", "dict[str, int]"),
    ("<py> variable {v} | uses: {v}.append(name) ; for x in {v}: x.lower()", "list[str]"),
    ("<py> param {v} | default: None | uses: {v}.exists() ; {v}.read_text()", "Path | None"),
    ("<py> param {v} | default: True | uses: if {v}: ; not {v}", "bool"),
    ("<py> return of {v} | uses: return {v} / 2.0 ; math.sqrt({v})", "float"),
    ("<py> param {v} | scope: Widget | uses: {v}.render() ; {v}.parent", "Widget"),
    ("<py> param {v} | uses: {v}.get(k, []) ; {v}[k].append(1)", "dict[str, list[int]]"),
    ("<py> param {v} | uses: {v}(x) ; callable({v})", "Callable[[int], str]"),
]
SYNTH_TYPES = [t for _, t in TEMPLATES] + ["tuple[int, ...]", "Optional[List[int]]", "os.PathLike[str]"]


def make_records(n: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        tpl, target = rng.choice(TEMPLATES)
        v = rng.choice(VARS) + rng.choice(["", "_a", "_b", "2"])
        out.append({"input": tpl.format(v=v, n=rng.randint(0, 99)), "target": target, "package": "synth",
                    "kind": "param"})
    return out


def write_jsonl(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Any:
    """One torch thread: as fast for these tiny models, and immune to the OpenMP slowdown (13x measured) when
    other processes share the two cores."""
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("data")
    return {"train": write_jsonl(d / "train.jsonl", make_records(320, 0)),
            "valid": write_jsonl(d / "valid.jsonl", make_records(48, 1)), "cache": d / "cache", "dir": d}


TRAIN_KW: dict[str, Any] = {"preset": "tiny", "batch_size": 16, "lr": 3e-3, "vocab_size": 400, "eval_every": 0,
                            "log_every": 5, "checkpoint_minutes": 1e9, "valid_limit": 32, "warmup_steps": 5,
                            "threads": 1}


@pytest.fixture(scope="module")
def trained(data: dict[str, Path]) -> tuple[Path, dict[str, Any]]:
    out = data["dir"] / "model"
    summary = train(data["train"], data["valid"], out, max_steps=150, cache_dir=data["cache"], log=lambda m: None,
                    **TRAIN_KW)
    return out, summary


@pytest.fixture(scope="module")
def tok_vocab(data: dict[str, Path]) -> tuple[Any, TypeVocab]:
    recs = make_records(320, 0)
    texts = [r["input"] for r in recs] + [r["target"] for r in recs] + SYNTH_TYPES * 5
    return train_tokenizer(texts, 400), TypeVocab.from_targets(SYNTH_TYPES)


# --------------------------------------------------------------------------------------------------- grammar


def walk(g: TypeGrammar, ctx: Any, ids: list[int], max_len: int = 32) -> bool:
    """Does the grammar accept the token sequence `ids` (ending with EOS)?"""
    s = State()
    for t, tok in enumerate(ids):
        if tok not in torch.cat(g.allowed(s, ctx, max_len - t)).tolist():
            return False
        if tok != EOS_ID:
            s = g.advance(s, tok, ctx)
    return True


def test_tokenizer_splits_type_punctuation(tok_vocab: tuple[Any, TypeVocab]) -> None:
    tok, _ = tok_vocab
    assert tok.encode("dict[str, list[int]]").tokens == ["dict", "[", "str", ",", "list", "[", "int", "]", "]"]
    assert tok.encode("tuple[int, ...]").tokens[-2:] == ["...", "]"]
    assert tok.encode("os.PathLike").tokens[:2] == ["os", "."]
    assert [tok.token_to_id(s) for s in ("<pad>", "</s>", "<unk>", "<py>", "<ts>")] == [0, 1, 2, 3, 4]


def test_grammar_accepts_and_renders_canonical_types(tok_vocab: tuple[Any, TypeVocab]) -> None:
    tok, vocab = tok_vocab
    g = TypeGrammar(tok, vocab)
    ctx = g.context("py", ["MyWidget"])
    for t in SYNTH_TYPES + ["Callable[..., Any]", "Callable[[], None]", "MyWidget | None", "dict[str, MyWidget]",
                            "Union[int, str]", "list[dict[str, tuple[int, ...]]] | None"]:
        ids = encode_targets(tok, [t])[0]
        assert walk(g, ctx, ids), t
        text, spans = g.render(ids[:-1])
        assert text == t
        assert spans[0][0] == 0 and spans[-1][1] == len(t)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))  # the spans partition the text
    for bad in ["dict[", "int]", "[int]", "int,", "int | ", "MyWidget[int]", "Callable[int, str]",
                "tuple[..., int]", "list[]", "Literal['a']", "NotAName", "int int"]:
        assert not walk(g, ctx, encode_targets(tok, [bad])[0]), bad


def test_length_budget_always_leaves_room_to_close(tok_vocab: tuple[Any, TypeVocab]) -> None:
    tok, vocab = tok_vocab
    g = TypeGrammar(tok, vocab)
    ctx = g.context("py", [])
    rng = random.Random(0)
    for max_len in (2, 4, 7, 12):
        for _ in range(100):  # random walks through the allowed sets always end with EOS in time
            s, ids = State(), list[int]()
            for t in range(max_len):
                allowed = torch.cat(g.allowed(s, ctx, max_len - t)).tolist()
                assert allowed, (ids, s)
                tok_id = rng.choice(allowed)
                ids.append(tok_id)
                if tok_id == EOS_ID:
                    break
                s = g.advance(s, tok_id, ctx)
            assert ids[-1] == EOS_ID
            ast.parse(g.render(ids[:-1])[0], mode="eval")


# ------------------------------------------------------------------------------------------------------ data


def test_prepare_caches_tokenized_data(data: dict[str, Path], tok_vocab: tuple[Any, TypeVocab],
                                       tmp_path: Path) -> None:
    tok, _ = tok_vocab
    first = prepare(data["train"], tok, tmp_path, max_input_len=24, max_target_len=32)
    again = prepare(data["train"], tok, tmp_path, max_input_len=24, max_target_len=32)
    assert not first.from_cache and again.from_cache and first.cache_file == again.cache_file
    assert (first.inputs == again.inputs).all() and (first.target_offsets == again.target_offsets).all()
    assert len(first) == 320 and first.input_lengths.max() == 24 and first.input(0)[-1] == EOS_ID
    short = prepare(data["train"], tok, tmp_path, max_input_len=24, max_target_len=4)  # long targets dropped
    assert short.cache_file != first.cache_file and 0 < len(short) < 320
    b = first.batch([0, 1, 2])
    assert b["input_ids"].shape == b["attention_mask"].shape and b["labels"].shape[0] == 3
    batches = bucketed_batches(first.input_lengths, 16, seed=0, epoch=0)
    assert sorted(int(i) for bb in batches for i in bb) == list(range(320))
    assert all((x == y).all() for x, y in zip(batches, bucketed_batches(first.input_lengths, 16, 0, 0)))


# -------------------------------------------------------------------------------------------------- training


def test_training_lowers_the_loss(trained: tuple[Path, dict[str, Any]]) -> None:
    out, summary = trained
    losses = [h["loss"] for h in summary["history"]]
    assert summary["step"] == 150 and summary["stopped"] == "max_steps"
    assert sum(losses[-3:]) / 3 < 0.5 * sum(losses[:2]) / 2, losses
    for f in ("config.json", "model.safetensors", "tokenizer.json", "type_vocab.json", "decoding.json",
              "card.json", "checkpoint/state.json", "checkpoint/optimizer.safetensors"):
        assert (out / f).exists(), f
    assert not list(out.rglob("*.bin")) and not list(out.rglob("*.pt")) and not list(out.rglob("*.pkl"))
    vocab = TypeVocab.load(out / "type_vocab.json")
    assert vocab.names["int"] > 0 and "dict" in vocab.generic and "Widget" in vocab.names
    assert vocab.types["dict[str, int]"] > 0 and sum(vocab.types.values()) == 320


def test_trained_model_predicts_its_training_types(trained: tuple[Path, dict[str, Any]]) -> None:
    pred = load_model(trained[0])
    recs = make_records(30, 7)
    res = pred.predict([r["input"] for r in recs], top_k=3)
    top1 = sum(c[0].type == r["target"] for c, r in zip(res, recs))
    assert top1 >= 15, [(c[0].type, r["target"]) for c, r in zip(res, recs)]


def test_resume_continues_from_checkpoint_step(data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    logs: list[str] = []
    args = ["--train", str(data["train"]), "--valid", str(data["valid"]), "--out", str(out), "--preset", "tiny",
            "--max-steps", "4", "--batch-size", "8", "--vocab-size", "400", "--eval-every", "0",
            "--valid-limit", "8", "--cache-dir", str(data["cache"]), "--threads", "1"]
    assert train_main(args) == 0  # the command-line entry point
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["step"] == 4 and state["batch_in_epoch"] == 4
    kw = {**TRAIN_KW, "batch_size": 8, "valid_limit": 8}
    summary = train(data["train"], data["valid"], out, max_steps=7, cache_dir=data["cache"], log=logs.append,
                    **kw)
    assert summary["start_step"] == 4 and summary["step"] == 7
    assert any("resuming at step 4" in m for m in logs)
    from safetensors.torch import load_file

    opt = load_file(str(out / "checkpoint" / "optimizer.safetensors"))
    assert float(opt["0.step"]) == 7  # AdamW's own step counter came back with the checkpoint
    ckpt_w, final_w = (load_file(str(p)) for p in (out / "checkpoint/model.safetensors", out / "model.safetensors"))
    assert all(torch.equal(ckpt_w[k], final_w[k]) for k in final_w)
    # continue a shipped model directory: same tokenizer and weights, fresh optimizer and step count
    cont = train(data["train"], data["valid"], tmp_path / "cont", max_steps=2, resume_from=out,
                 cache_dir=data["cache"], log=lambda m: None, **kw)
    assert cont["start_step"] == 0 and cont["step"] == 2
    assert (tmp_path / "cont" / "tokenizer.json").read_text() == (out / "tokenizer.json").read_text()


# ------------------------------------------------------------------------------------------- save / load / decode


def test_save_load_parity(tok_vocab: tuple[Any, TypeVocab], tmp_path: Path) -> None:
    tok, vocab = tok_vocab
    model = new_model("tiny", tok.get_vocab_size(), seed=3)
    model.train(False)
    save_model(model, tok, vocab, tmp_path / "m", {"note": "test"}, ModelSettings(preset="tiny"))
    pred = load_model(tmp_path / "m")
    x = torch.tensor([tok.encode("<py> param count | uses: count + 1").ids + [EOS_ID]])
    y = torch.tensor([[0] + tok.encode("dict[str, int]").ids])
    with torch.inference_mode():
        a = model(input_ids=x, decoder_input_ids=y).logits
        b = pred.model(input_ids=x, decoder_input_ids=y).logits
    assert torch.equal(a, b)
    inputs = [r["input"] for r in make_records(6, 2)]
    direct = TypeDecoder(model, tok, vocab, ModelSettings(), "cpu").predict(inputs, top_k=3)
    assert direct == pred.predict(inputs, top_k=3)
    assert pred.settings.preset == "tiny" and json.loads((tmp_path / "m" / "card.json").read_text())["note"]


def check_candidate(c: Candidate, allowed: set[str], max_len: int) -> None:
    ast.parse(c.type, mode="eval")
    assert c.type.count("[") == c.type.count("]")
    depth = 0
    for ch in c.type:
        depth += (ch == "[") - (ch == "]")
        assert depth >= 0
    used = set(NAME_RE.findall(c.type))
    assert used <= allowed, used - allowed
    assert abs(sum(c.token_logprobs) - c.score) < 1e-3 and all(lp <= 1e-6 for lp in c.token_logprobs)
    assert len(c.tokens) == len(c.token_logprobs) == len(c.offsets) <= max_len and c.tokens[-1] == "</s>"
    for tok, (a, b) in zip(c.tokens[:-1], c.offsets):
        assert c.type[a:b].strip() == tok, (c.type, tok, a, b)


@pytest.mark.parametrize("seed,scale,max_len", [(0, 1.0, 32), (1, 30.0, 32), (2, 8.0, 10)])
def test_constrained_decoding_on_random_weights(tok_vocab: tuple[Any, TypeVocab], seed: int, scale: float,
                                                max_len: int) -> None:
    tok, vocab = tok_vocab
    model = new_model("tiny", tok.get_vocab_size(), seed=seed)
    with torch.no_grad():
        model.shared.weight.mul_(scale)  # larger scale: peakier random distributions, longer nested types
    pred = TypeDecoder(model, tok, vocab, ModelSettings(max_target_len=max_len), "cpu")
    rng = random.Random(seed)
    inputs = [r["input"] for r in make_records(60, seed)]
    scopes = [rng.sample(["MyWidget", "Node", "Tree_2", "pkg.Config", "bad-name", "Literal"], 3) for _ in inputs]
    results = pred.predict(inputs, scopes, top_k=4, batch_size=16)
    base = set(vocab.names) | set(builtin_names("py"))
    for cands, scope in zip(results, scopes):
        assert len(cands) == 4 and [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)
        assert len({c.type for c in cands}) == 4
        for c in cands:
            check_candidate(c, base | (set(scope) - {"bad-name", "Literal"}), max_len)
            assert is_well_formed(c.type), c.type
    # the beam scores are the constrained, renormalized log-probs that `score` recomputes
    firsts = [c[0] for c in results[:5]]
    rescored = pred.score(inputs[:5], [c.type for c in firsts], scopes[:5])
    assert all(abs(a - c.score) < 1e-3 for a, c in zip(rescored, firsts))


def test_scope_only_name_can_be_predicted(tok_vocab: tuple[Any, TypeVocab]) -> None:
    tok, vocab = tok_vocab
    assert "MyWidget" not in vocab.names and "MyWidget" not in builtin_names("py")
    model = new_model("tiny", tok.get_vocab_size(), seed=0)
    bias = torch.zeros(tok.get_vocab_size())
    bias[tok.encode("MyWidget").ids + [EOS_ID]] = 50.0  # a model that wants to say MyWidget
    model.lm_head.register_forward_hook(lambda mod, inp, out: out + bias)
    pred = TypeDecoder(model, tok, vocab, ModelSettings(), "cpu")
    inputs = ["<py> param w | uses: w.render()"] * 2
    with_scope, without = pred.predict(inputs[:1], [["MyWidget"]], top_k=3)[0], pred.predict(inputs[1:])[0]
    assert with_scope[0].type == "MyWidget"
    assert all("MyWidget" not in c.type for c in without)
    assert pred.score(inputs[1:], ["MyWidget"], allow_type_names=False) == [float("-inf")]
    assert pred.score(inputs[1:], ["MyWidget"])[0] > -1.0  # its names join the scope: finite, and likely here
    assert pred.score(inputs[1:], ["MyWidget[int] | None"])[0] > float("-inf")


def test_time_budget_stops_and_saves(data: dict[str, Path], tmp_path: Path) -> None:
    kw = {**TRAIN_KW, "batch_size": 8, "valid_limit": 8, "log_every": 10}
    summary = train(data["train"], data["valid"], tmp_path / "tb", time_budget_minutes=0.12, cache_dir=data["cache"],
                    log=lambda m: None, **kw)
    assert summary["stopped"] in ("time_budget", "max_steps") and summary["step"] > FIT_STEPS
    assert summary["train_seconds"] < 30 and (tmp_path / "tb" / "model.safetensors").exists()


def poisoned_models(calls: dict[str, int], poison: Any) -> Any:
    """A `new_model` whose models count their training forwards in `calls["n"]` and return a NaN loss on the
    ones where `poison(n)` holds."""

    def make(preset: str, vocab_size: int, seed: int = 0) -> Any:
        model = new_model(preset, vocab_size, seed)

        def hook(module: Any, args: Any, kwargs: Any, out: Any) -> Any:
            if module.training and out.loss is not None:
                calls["n"] += 1
                if poison(calls["n"]):
                    out.loss = out.loss * float("nan")
            return out

        model.register_forward_hook(hook, with_kwargs=True)
        return model

    return make


def test_non_finite_gradients_skip_the_update(data: dict[str, Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """An overflow (here a NaN loss injected into the third training forward) skips that optimizer step: the
    weights stay finite and training goes on, where an unguarded step would write NaN into every weight."""
    import typetool.model.train as train_mod

    calls = {"n": 0}
    monkeypatch.setattr(train_mod, "new_model", poisoned_models(calls, lambda n: n == 3))
    logs: list[str] = []
    summary = train(data["train"], data["valid"], tmp_path / "nan", max_steps=6, cache_dir=data["cache"],
                    log=logs.append, **TRAIN_KW)
    assert calls["n"] == 6 and summary["step"] == 6 and summary["skipped_steps"] == 1
    from safetensors.torch import load_file

    weights = load_file(str(tmp_path / "nan" / "model.safetensors"))
    assert all(bool(torch.isfinite(w).all()) for w in weights.values())
    assert any("1 non-finite steps skipped" in m for m in logs)


def test_keep_best_saves_the_best_evaluated_weights(data: dict[str, Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With keep_best the saved model is the one of the evaluation with the highest exact match (scripted here:
    step 4 of 2, 4, 6 and the final one), not the last; without it, the last."""
    import typetool.model.train as train_mod

    real_evaluate = train_mod.evaluate
    em = {2: 0.5, 4: 0.9, 6: 0.2}
    seen: dict[int, dict[str, torch.Tensor]] = {}

    def scripted(model: Any, *args: Any) -> dict[str, float]:
        res = real_evaluate(model, *args)
        step = len(seen) * 2 + 2
        seen[step] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return {**res, "valid_exact_match": em[min(step, 6)]}

    monkeypatch.setattr(train_mod, "evaluate", scripted)
    kw = {**TRAIN_KW, "eval_every": 2}
    summary = train(data["train"], data["valid"], tmp_path / "best", max_steps=6, cache_dir=data["cache"],
                    log=lambda m: None, keep_best=True, **kw)
    assert summary["best_step"] == 4 and summary["valid_exact_match"] == 0.9
    assert summary["final_step_valid_exact_match"] == 0.2
    from safetensors.torch import load_file

    saved = load_file(str(tmp_path / "best" / "model.safetensors"))
    assert all(torch.equal(saved[k], seen[4][k]) for k in saved)
    assert not all(torch.equal(saved[k], seen[6][k]) for k in saved)
    # the checkpoint keeps the latest state, so a resumed run continues from step 6
    ckpt = load_file(str(tmp_path / "best" / "checkpoint" / "model.safetensors"))
    assert all(torch.equal(ckpt[k], seen[6][k]) for k in ckpt)


def test_a_run_of_non_finite_gradients_stops_and_still_saves(data: dict[str, Path], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Once every update overflows (NaN losses from the second training forward on), training stops after
    MAX_BAD_STEPS of them in a row and still writes a finite model (here the one of step 1)."""
    import typetool.model.train as train_mod

    calls = {"n": 0}
    monkeypatch.setattr(train_mod, "new_model", poisoned_models(calls, lambda n: n >= 2))
    monkeypatch.setattr(train_mod, "MAX_BAD_STEPS", 3)
    summary = train(data["train"], data["valid"], tmp_path / "stop", max_steps=20, cache_dir=data["cache"],
                    log=lambda m: None, **TRAIN_KW)
    assert summary["stopped"] == "non_finite" and summary["step"] == 4 and summary["skipped_steps"] == 3
    from safetensors.torch import load_file

    weights = load_file(str(tmp_path / "stop" / "model.safetensors"))
    assert all(bool(torch.isfinite(w).all()) for w in weights.values())

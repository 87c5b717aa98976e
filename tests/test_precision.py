"""`--precision bf16`: a bfloat16 copy of the encoder in the default search (decoder, output layer and scores
stay float32). It must really run in bfloat16, stay close to float32 on the shipped model (same top type for
nearly every slot), reject unknown precisions everywhere (TypeDecoder, settings, CLI), and work from the CLI.
Also the linker's grammar check (`TypeDecoder._grammar_allows`), which replaced building the masks, must agree
with `_grammar_masks` and with a walk over the search's own masks on every type."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.conftest import run_cli
from typetool.ide import client_overrides
from typetool.ide import load_model as load_ide_model
from typetool.model.decoder import TypeDecoder
from typetool.model.grammar import State
from typetool.model.linker import _is_subsequence
from typetool.model.saving import load_model
from typetool.model.tokenizer import EOS_ID, encode_targets
from typetool.pipeline import slice_paths
from typetool.predictions import TypePredictor
from typetool.settings import Settings, SettingsError, load_settings, validate
from typetool.slices import render_slice

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "typetool-py-compact"
INVENTORY = Path(__file__).resolve().parent / "data" / "projects" / "inventory"


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


@pytest.fixture(scope="module")
def records() -> list[tuple[str, list[str]]]:
    run = slice_paths([INVENTORY])
    recs = [(render_slice(s), list(s.scope_names)) for s in run.slices]
    assert len(recs) >= 40
    return recs


@pytest.fixture(scope="module")
def fp32() -> TypeDecoder:
    return load_model(MODEL_DIR)


def test_bf16_encoder_runs_in_bfloat16_and_stays_close(fp32: TypeDecoder,
                                                       records: list[tuple[str, list[str]]]) -> None:
    bf16 = load_model(MODEL_DIR, precision="bf16")
    assert bf16.precision == "bf16"
    inputs, scopes = [r[0] for r in records], [r[1] for r in records]
    a = fp32.predict(inputs, scopes)
    b = bf16.predict(inputs, scopes)  # makes the bfloat16 copy inside inference mode, as in production
    encoder = bf16._encoder()
    assert all(p.dtype == torch.bfloat16 and not p.requires_grad for p in encoder.parameters())
    assert all(p.dtype == torch.float32 for p in bf16.model.parameters())  # the model itself is untouched
    x = torch.tensor([[5, 6, 7, 1]])
    encoder(input_ids=x)  # usable outside inference mode too (no inference tensors)
    assert all(len(x) == len(y) == 5 for x, y in zip(a, b))
    same_top = sum(x[0].type == y[0].type for x, y in zip(a, b))
    assert same_top >= 0.9 * len(records), (same_top, len(records))
    diffs = [abs(x[0].score - y[0].score) for x, y in zip(a, b) if x[0].type == y[0].type]
    assert max(diffs) > 1e-6  # bfloat16 did change the arithmetic ...
    assert sorted(diffs)[len(diffs) // 2] < 0.05  # ... by little
    bf16.set_precision("fp32")
    c = bf16.predict(inputs, scopes)
    assert [[(x.type, x.score) for x in xs] for xs in c] == [[(x.type, x.score) for x in xs] for xs in a]


def test_unknown_precision_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16"):
        load_model(MODEL_DIR, precision="fp16")
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16"):  # not "cannot be loaded"
        TypePredictor(MODEL_DIR, precision="fp16")
    overrides, _, problems = client_overrides({"precision": 16})
    assert "precision" not in overrides and problems and "typetool.precision" in problems[0]
    with pytest.raises(SettingsError, match="precision must be fp32 or bf16"):
        validate(Settings(precision="int8"))
    (tmp_path / "m.py").write_text("def f(x):\n    return x + 1\n", encoding="utf-8")
    ran = run_cli("predict", "m.py", "--precision", "fp16", cwd=tmp_path)
    assert ran.returncode == 2
    assert "precision must be fp32 or bf16" in ran.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.typetool]\nprecision = "half"\n', encoding="utf-8")
    ran = run_cli("annotate", "m.py", "--diff", cwd=tmp_path)
    assert ran.returncode == 2
    assert "precision must be fp32 or bf16" in ran.stderr


def test_precision_reaches_the_predictors_from_settings_and_editor(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.typetool]\nprecision = "bf16"\n', encoding="utf-8")
    settings = load_settings(tmp_path)
    assert settings.precision == "bf16"
    assert client_overrides({"precision": "bf16"})[0] == {"precision": "bf16"}
    tp = TypePredictor(MODEL_DIR, precision=settings.precision)
    assert tp.predictor.precision == "bf16"
    assert tp.for_language("ts").predictor.precision == "bf16"  # the other language's model too
    state = load_ide_model(str(MODEL_DIR), "cpu", "bf16")
    assert state.predictor is not None and state.predictor.predictor.precision == "bf16"


def test_predict_and_annotate_with_bf16_from_the_cli(tmp_path: Path) -> None:
    project = tmp_path / "inventory"
    shutil.copytree(INVENTORY, project)
    before = {p: p.read_bytes() for p in project.rglob("*.py")}
    ran = run_cli("predict", str(project), "--precision", "bf16", "--format", "json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    payload = json.loads(ran.stdout)
    assert len(payload["predictions"]) >= 20
    ran = run_cli("annotate", str(project), "--precision", "bf16", "--diff", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "+++" in ran.stdout and "->" in ran.stdout
    assert {p: p.read_bytes() for p in project.rglob("*.py")} == before  # --diff writes nothing


def test_decodable_memo_gives_what_a_fresh_check_gives(records: list[tuple[str, list[str]]]) -> None:
    pred = load_model(MODEL_DIR)
    types = ["int", "Product", "list[Product] | None", "NotInScope", "dict[str]"]
    first = [[pred._decodable(t, text, scope) for t in types] for text, scope in records[:6]]
    again = [[pred._decodable(t, text, scope) for t in types] for text, scope in records[:6]]
    assert pred._decodable_memo and again == first
    pred._contexts.clear()
    pred._decodable_memo.clear()
    fresh = [[pred._decodable(t, text, scope) for t in types] for text, scope in records[:6]]
    assert [[(c.type, c.tokens) if c else None for c in row] for row in fresh] == [
        [(c.type, c.tokens) if c else None for c in row] for row in first]
    assert any(c is None for row in first for c in row) and any(c is not None for row in first for c in row)
    for _ in range(4100):  # a full context memo is cleared, and the decodable memo with it
        pred.context(f"<py> param x{_}", [f"C{_}"])
    assert len(pred._contexts) < 4096 and len(pred._decodable_memo) == 0


@pytest.mark.parametrize("short,long,expected", [
    ("", "", True), ("abc", "aXbXc", True), ("abc", "acb", False), ("aa", "a", False), ("aa", "aba", True),
    ("cfg", "config", True), ("x", "", False),
])
def test_is_subsequence(short: str, long: str, expected: bool) -> None:
    assert _is_subsequence(short, long) is expected


@pytest.mark.parametrize("type_text", [
    "int", "list[str]", "dict[str, list[int]] | None", "Callable[[int, str], bool]", "tuple[int, ...]",
    "Product", "list[Product] | None", "NotInScope", "dict[str]", "Callable[int]", "list[" * 12 + "int" + "]" * 12,
    "tuple[()]", "Literal['a']",
])
def test_grammar_check_agrees_with_the_masks(fp32: TypeDecoder, records: list[tuple[str, list[str]]],
                                            type_text: str) -> None:
    for text, scope in records[:5] + [("<py> param x", ["Product", "Order"])]:
        ctx = fp32.context(text, scope)
        target = encode_targets(fp32.tokenizer, [type_text])[0]
        assert fp32._grammar_allows(ctx, target) == (fp32._grammar_masks(ctx, target) is not None)
        assert fp32._grammar_allows(ctx, target) == mask_walk_allows(fp32, ctx, target)


def mask_walk_allows(pred: TypeDecoder, ctx: object, target: list[int]) -> bool:
    """An independent oracle: step through `target` with the search's own full-vocabulary masks
    (`_allowed_mask`), as the decoder applies them."""
    L = pred.settings.max_target_len
    if len(target) > L:
        return False
    s = State()
    for t, tok in enumerate(target):
        if not bool(pred._allowed_mask([s], [ctx], L - t)[0][tok]):  # type: ignore[list-item]
            return False
        if tok != EOS_ID:
            s = pred.grammar.advance(s, tok, ctx)  # type: ignore[arg-type]
    return True

"""`--precision bf16`: a bfloat16 copy of the encoder in the default search (decoder, output layer and scores
stay float32). It must really run in bfloat16, stay close to float32 on the shipped model (same top type for
nearly every slot), reject unknown precisions everywhere (Predictor, settings, CLI), and work from the CLI.
Also the linker's grammar check (`Predictor._grammar_allows`), which replaced building the masks, must agree
with `_grammar_masks` on every type."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.conftest import run_cli
from typetool.model.predict import Predictor
from typetool.model.saving import load_model
from typetool.model.tokenizer import encode_targets
from typetool.pipeline import slice_paths
from typetool.settings import Settings, SettingsError, validate
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
def fp32() -> Predictor:
    return load_model(MODEL_DIR)


def test_bf16_encoder_runs_in_bfloat16_and_stays_close(fp32: Predictor,
                                                       records: list[tuple[str, list[str]]]) -> None:
    bf16 = load_model(MODEL_DIR, precision="bf16")
    assert bf16.precision == "bf16"
    encoder = bf16._encoder()
    assert all(p.dtype == torch.bfloat16 for p in encoder.parameters())
    assert all(p.dtype == torch.float32 for p in bf16.model.parameters())  # the model itself is untouched
    inputs, scopes = [r[0] for r in records], [r[1] for r in records]
    a = fp32.predict(inputs, scopes)
    b = bf16.predict(inputs, scopes)
    assert all(len(x) == len(y) == 5 for x, y in zip(a, b))
    same_top = sum(x[0].type == y[0].type for x, y in zip(a, b))
    assert same_top >= 0.9 * len(records), (same_top, len(records))
    diffs = [abs(x[0].score - y[0].score) for x, y in zip(a, b) if x[0].type == y[0].type]
    assert max(diffs) > 1e-6  # bfloat16 did change the arithmetic ...
    assert sorted(diffs)[len(diffs) // 2] < 0.05  # ... by little
    bf16.set_precision("fp32")
    c = bf16.predict(inputs, scopes)
    assert [[(x.type, x.score) for x in xs] for xs in c] == [[(x.type, x.score) for x in xs] for xs in a]


def test_unknown_precision_is_refused(fp32: Predictor, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16"):
        load_model(MODEL_DIR, precision="fp16")
    with pytest.raises(SettingsError, match="precision must be fp32 or bf16"):
        validate(Settings(precision="int8"))
    (tmp_path / "m.py").write_text("def f(x):\n    return x + 1\n", encoding="utf-8")
    ran = run_cli("predict", "m.py", "--precision", "fp16", cwd=tmp_path)
    assert ran.returncode == 2
    assert "--precision must be fp32 or bf16" in ran.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.typetool]\nprecision = "half"\n', encoding="utf-8")
    ran = run_cli("annotate", "m.py", "--diff", cwd=tmp_path)
    assert ran.returncode == 2
    assert "precision must be fp32 or bf16" in ran.stderr


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


@pytest.mark.parametrize("type_text", [
    "int", "list[str]", "dict[str, list[int]] | None", "Callable[[int, str], bool]", "tuple[int, ...]",
    "Product", "list[Product] | None", "NotInScope", "dict[str]", "Callable[int]", "list[" * 12 + "int" + "]" * 12,
    "tuple[()]", "Literal['a']",
])
def test_grammar_check_agrees_with_the_masks(fp32: Predictor, records: list[tuple[str, list[str]]],
                                            type_text: str) -> None:
    for text, scope in records[:5] + [("<py> param x", ["Product", "Order"])]:
        ctx = fp32.context(text, scope)
        target = encode_targets(fp32.tokenizer, [type_text])[0]
        assert fp32._grammar_allows(ctx, target) == (fp32._grammar_masks(ctx, target) is not None)

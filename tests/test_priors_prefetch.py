"""The calibrated confidence reads a type prior log p(t | empty context) per candidate type. `TypePredictor`
scores the priors of a whole chunk's candidates in one batched pass (`prefetch_priors`) instead of one model
call per prediction that brings a new type: the confidences must be the same, with far fewer model calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from typetool.pipeline import slice_paths
from typetool.predictions import TypePredictor

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "typetool-py-compact"
INVENTORY = Path(__file__).resolve().parent / "data" / "projects" / "inventory"


def counted(tp: TypePredictor, calls: list[int]) -> None:
    inner = tp.predictor.score

    def score(*args: Any, **kwargs: Any) -> list[float]:
        calls.append(len(args[0]))
        return inner(*args, **kwargs)

    tp.predictor.score = score  # type: ignore[method-assign]


def test_prefetched_priors_give_the_same_confidences_with_fewer_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    slices = slice_paths([INVENTORY]).slices
    assert len(slices) >= 40
    fast, slow = TypePredictor(MODEL_DIR), TypePredictor(MODEL_DIR)
    assert fast.calibrated
    fast_calls: list[int] = []
    slow_calls: list[int] = []
    counted(fast, fast_calls)
    counted(slow, slow_calls)
    monkeypatch.setattr(slow, "prefetch_priors", lambda _types: None)
    a = fast.predict(slices, batch_size=16)
    b = slow.predict(slices, batch_size=16)
    assert [[c.type for c in p.candidates] for p in a] == [[c.type for c in p.candidates] for p in b]
    for p, q in zip(a, b):
        assert all(abs(x.confidence - y.confidence) <= 1e-5 for x, y in zip(p.candidates, q.candidates))
    assert sum(fast_calls) == sum(slow_calls)  # the same types were scored ...
    assert len(fast_calls) == 1 < len(slow_calls)  # ... in one batched call (one chunk) instead of many

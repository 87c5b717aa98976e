"""The engine stage: a slot's candidates re-scored by the type the language's checker engine infers for it.

Does: the last stage of `TypePredictor.candidates`, after the consistency stage. A slot for which the engine
(Python: pyrefly, `python/engine.py`) gives a fully known type E gets E as a candidate (when the model's
candidates lack it, scored `ABSENT_LOGP` before the weights), and each candidate c is re-scored by a log-linear
model: its own log-prob (weight 1) plus weights on [c == E] by the slot's kind (parameter, return, other), and on
[c == E] when E was absent from the model's candidates, when E is `None`, when E is a union, and when E is also
the model's first candidate (agreement). A softmax over the candidates gives each its final log-prob, so a slot
where the model and the engine agree becomes sharp, and calibration (fitted after this stage) sees it.
The weights are fitted (`fit`) on the packages the combiner is fitted on (the T5 never trained on them), on the
consistency stage's output there, by the listwise likelihood of the gold type over the slots that have an
engine type; the calibration and the write rules are fitted after it.
Does not: run the engine (the language wing does: `Language.engine_types`), or change a slot the engine gives
no type for; it knows no language: E is a type string in the same canonical form as the candidates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

ENGINE_FILE = "engine.json"
ENGINE_VERSION = 1
FEATURES = ("is_engine_param", "is_engine_return", "is_engine_other", "engine_absent", "engine_none",
            "engine_union", "engine_agrees")
ABSENT_LOGP = -8.0  # the model's log-prob of an engine type it did not propose, before the weights
Ranked = list[tuple[str, float]]  # (canonical type, log-prob), best first


def features(ranked: Ranked, engine: str, kind: str) -> tuple[Ranked, list[list[float]]]:
    """The candidates with E added when absent, and each candidate's feature row (`FEATURES` order)."""
    types = [t for t, _ in ranked]
    absent = engine not in types
    out = list(ranked) + ([(engine, ABSENT_LOGP)] if absent else [])
    agrees = bool(types) and types[0] == engine
    group = kind if kind in ("param", "return") else "other"
    rows: list[list[float]] = []
    for t, _ in out:
        hit = float(t == engine)
        rows.append([hit * (group == "param"), hit * (group == "return"), hit * (group == "other"),
                     hit * absent, hit * (engine == "None"), hit * ("|" in engine), hit * agrees])
    return out, rows


def _log_softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    z = top + math.log(sum(math.exp(s - top) for s in scores))
    return [s - z for s in scores]


@dataclass
class EngineStage:
    """The fitted weights (`FEATURES` order) and what the fit measured."""

    weights: list[float]
    fit_report: dict[str, float] = field(default_factory=dict)

    def rescore(self, ranked: Ranked, engine: str | None, kind: str) -> Ranked | None:
        """The slot's candidates re-scored and re-ranked by the engine's type `engine`; None when it has none."""
        if not engine:
            return None
        cands, rows = features(ranked, engine, kind)
        scores = [lp + sum(w * f for w, f in zip(self.weights, row)) for (_, lp), row in zip(cands, rows)]
        new = [(t, s) for (t, _), s in zip(cands, _log_softmax(scores))]
        return sorted(new, key=lambda p: -p[1])

    def save(self, model_dir: Path) -> None:
        data = {"version": ENGINE_VERSION, "features": list(FEATURES), "absent_logp": ABSENT_LOGP,
                "weights": self.weights, "fit": self.fit_report}
        (model_dir / ENGINE_FILE).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, model_dir: Path) -> EngineStage | None:
        """The model's engine stage, or None when it ships none (the engine's types are then not used). Raises
        ValueError on a file of another version or feature set (re-fit it)."""
        path = model_dir / ENGINE_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != ENGINE_VERSION or tuple(data.get("features", ())) != FEATURES \
                or data.get("absent_logp") != ABSENT_LOGP:
            raise ValueError(f"{path} was fitted for another engine stage: re-fit it (typetool ship-model)")
        return cls([float(w) for w in data["weights"]], {k: float(v) for k, v in data.get("fit", {}).items()})


def fit(ranked: Sequence[Ranked], engines: Sequence[str | None], kinds: Sequence[str], golds: Sequence[str],
        epochs: int = 300, lr: float = 0.05, l2: float = 1e-3) -> EngineStage:
    """Fit the weights by the listwise likelihood of the gold type over the slots with an engine type whose gold
    is among the candidates (E included); report top-1 there before and after (in sample)."""
    xs: list[torch.Tensor] = []
    bases: list[torch.Tensor] = []
    gold_idx: list[int] = []
    n_engine = before = 0
    for r, e, k, g in zip(ranked, engines, kinds, golds):
        if not e:
            continue
        n_engine += 1
        before += int(bool(r) and r[0][0] == g)
        cands, rows = features(r, e, k)
        types = [t for t, _ in cands]
        if g not in types:
            continue
        xs.append(torch.tensor(rows, dtype=torch.float64))
        bases.append(torch.tensor([lp for _, lp in cands], dtype=torch.float64))
        gold_idx.append(types.index(g))
    w = torch.zeros(len(FEATURES), dtype=torch.float64, requires_grad=True)
    if xs:
        width = max(len(b) for b in bases)
        X = torch.zeros(len(xs), width, len(FEATURES), dtype=torch.float64)  # [N, W, F]
        B = torch.full((len(xs), width), -1e9, dtype=torch.float64)  # [N, W]; padding never wins
        for i, (x, b) in enumerate(zip(xs, bases)):
            X[i, :len(b)] = x
            B[i, :len(b)] = b
        gold = torch.tensor(gold_idx)
        opt = torch.optim.Adam([w], lr=lr)
        for _ in range(epochs):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(B + X @ w, gold)
            (loss + l2 * (w ** 2).sum()).backward()  # type: ignore[no-untyped-call]
            opt.step()
    stage = EngineStage([float(v) for v in w.detach()])
    after = 0
    for r, e, k, g in zip(ranked, engines, kinds, golds):
        new = stage.rescore(r, e, k) if e else None
        after += int(new is not None and new[0][0] == g)  # never empty: E is among the candidates
    engine_right = sum(int(e == g) for e, g in zip(engines, golds) if e)
    stage.fit_report = {"slots": float(len(golds)), "with_engine": float(n_engine),
                        "engine_exact": engine_right / max(n_engine, 1), "top1_before": before / max(n_engine, 1),
                        "top1_after": after / max(n_engine, 1)}
    return stage

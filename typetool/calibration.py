"""Calibrated confidence (CASENT-style Platt scaling, with features that separate) and how to measure it.

Does: fits p'(t|x) = sigmoid(w1 * log p(t|x) + w2 * log p(t|empty context) + w3 * margin + b + b_kind), where
the margin is log p(t|x) minus the best other candidate's (clipped to +-MARGIN_CAP: how far ahead of its rivals
a type is, which says more about a site than its own probability) and b_kind an offset per kind of site (a return
is easier than a parameter); the weights are shared within buckets of training-type frequency (unseen, rare,
common, very common), fitted on held-out calibration packages; measures expected calibration error (15
equal-width bins), Brier score and reliability curves, and draws a reliability diagram (self-contained HTML with
inline SVG). A calibration.json from before the margin and kind features reads with those weights at 0.
Does not: decode or choose holes (`typetool.predsets`).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

BUCKET_EDGES = (1, 10, 100, 1000)  # training count: [0,1) unseen, [1,10), [10,100), [100,1000), [1000,inf)
MIN_BUCKET = 80  # fewer calibration sites than this: the bucket uses the global fit


MARGIN_CAP = 10.0
"""Margins are clipped to [-MARGIN_CAP, MARGIN_CAP]; a lone candidate has margin MARGIN_CAP."""


def margins(logps: Sequence[float]) -> list[float]:
    """Each candidate's log-probability minus the best other candidate's, clipped."""
    out: list[float] = []
    for i, lp in enumerate(logps):
        rival = max((v for j, v in enumerate(logps) if j != i), default=None)
        m = MARGIN_CAP if rival is None else lp - rival
        out.append(min(max(m, -MARGIN_CAP), MARGIN_CAP))
    return out


@dataclass(frozen=True, slots=True)
class Platt:
    w1: float
    w2: float
    b: float
    w3: float = 0.0  # the margin's weight
    kind_bias: tuple[tuple[str, float], ...] = ()  # offsets per site kind (a kind not listed: 0)

    def __call__(self, logp: float, logp_prior: float, margin: float = 0.0, kind: str = "") -> float:
        z = self.w1 * logp + self.w2 * logp_prior + self.w3 * margin + self.b + dict(self.kind_bias).get(kind, 0.0)
        return 1.0 / (1.0 + math.exp(-z)) if z > -50 else 0.0


@dataclass(frozen=True, slots=True)
class Calibrator:
    """Per frequency bucket Platt scalers (index i covers BUCKET_EDGES[i-1] <= count < BUCKET_EDGES[i])."""

    scalers: tuple[Platt, ...]
    edges: tuple[int, ...] = BUCKET_EDGES

    def bucket(self, train_count: int) -> int:
        for i, edge in enumerate(self.edges):
            if train_count < edge:
                return i
        return len(self.edges)

    def prob(self, logp: float, logp_prior: float, train_count: int, margin: float = 0.0, kind: str = "") -> float:
        return self.scalers[self.bucket(train_count)](logp, logp_prior, margin, kind)

    def to_json(self) -> dict[str, object]:
        return {"kind": "platt-by-frequency-bucket", "edges": list(self.edges),
                "scalers": [{**asdict(s), "kind_bias": [list(kb) for kb in s.kind_bias]} for s in self.scalers]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibrator:
        scalers = tuple(Platt(float(s["w1"]), float(s["w2"]), float(s["b"]), float(s.get("w3", 0.0)),
                              tuple((str(k), float(v)) for k, v in s.get("kind_bias", ())))
                        for s in data["scalers"])
        edges = tuple(int(e) for e in data["edges"])
        return cls(scalers, edges)

    @classmethod
    def identity(cls) -> Calibrator:
        """exp(log p): the raw sequence probability (used before a calibrator is fitted)."""
        # sigmoid(z) with z = log p - log(1 - p) would be exact; w1 = 1, b = 0 is close for small p and honest
        return cls(tuple(Platt(1.0, 0.0, 0.0) for _ in range(len(BUCKET_EDGES) + 1)))


def fit_platt(x1: Sequence[float], x2: Sequence[float], y: Sequence[int], l2: float = 1e-2,
              iterations: int = 50, x3: Sequence[float] | None = None, kinds: Sequence[str] | None = None) -> Platt:
    """Logistic regression by damped Newton steps (halved until the penalised NLL decreases), small L2 (not on the
    intercept). `x3`: the margins; `kinds`: each site's kind, one offset per kind but the most common."""
    n = len(y)
    names = sorted(set(kinds or ()), key=lambda k: (-list(kinds or ()).count(k), k))[1:]
    columns = [np.asarray(x1, float), np.asarray(x2, float),
               np.asarray(x3, float) if x3 is not None else np.zeros(n)]
    columns += [np.asarray([1.0 if k == name else 0.0 for k in (kinds or ())]) for name in names]
    X = np.column_stack([*columns, np.ones(n)])
    d = X.shape[1]
    t = np.asarray(y, float)  # (n,)
    reg = np.diag([l2] * (d - 1) + [0.0])

    def loss(w: np.ndarray) -> float:
        z = X @ w
        return float(np.sum(np.logaddexp(0, z) - t * z) + 0.5 * w @ reg @ w)

    w = np.zeros(d)
    current = loss(w)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(X @ w, -30, 30)))
        grad = X.T @ (p - t) + reg @ w
        hess = X.T @ (X * (p * (1 - p))[:, None]) + reg + 1e-9 * np.eye(d)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-4:
            candidate = w - scale * step
            value = loss(candidate)
            if value <= current:
                break
            scale /= 2
        else:
            break
        w, improvement, current = candidate, current - value, value
        if improvement < 1e-10:
            break
    return Platt(float(w[0]), float(w[1]), float(w[-1]), float(w[2]),
                 tuple((name, float(w[3 + i])) for i, name in enumerate(names)))


def fit(logp: Sequence[float], logp_prior: Sequence[float], train_counts: Sequence[int],
        correct: Sequence[int], edges: tuple[int, ...] = BUCKET_EDGES, margin: Sequence[float] | None = None,
        kinds: Sequence[str] | None = None) -> Calibrator:
    """Fit one scaler per frequency bucket (the global scaler where a bucket has too few sites)."""
    overall = fit_platt(logp, logp_prior, correct, x3=margin, kinds=kinds)
    probe = Calibrator((overall,) * (len(edges) + 1), edges)
    buckets = [probe.bucket(c) for c in train_counts]
    scalers = []
    for b in range(len(edges) + 1):
        idx = [i for i, bb in enumerate(buckets) if bb == b]
        ys = [correct[i] for i in idx]
        if len(idx) < MIN_BUCKET or len(set(ys)) < 2:
            scalers.append(overall)
        else:
            scalers.append(fit_platt([logp[i] for i in idx], [logp_prior[i] for i in idx], ys,
                                     x3=[margin[i] for i in idx] if margin is not None else None,
                                     kinds=[kinds[i] for i in idx] if kinds is not None else None))
    return Calibrator(tuple(scalers), edges)


@dataclass(frozen=True, slots=True)
class Reliability:
    ece: float
    brier: float
    n: int
    bins: tuple[tuple[float, float, int], ...]  # (mean confidence, accuracy, count) per non-empty bin


def reliability(probs: Sequence[float], correct: Sequence[int], n_bins: int = 15) -> Reliability:
    p = np.clip(np.asarray(probs, float), 0.0, 1.0)
    y = np.asarray(correct, float)
    n = len(p)
    if n == 0:
        return Reliability(0.0, 0.0, 0, ())
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    bins = []
    for b in range(n_bins):
        mask = idx == b
        count = int(mask.sum())
        if count == 0:
            continue
        conf, acc = float(p[mask].mean()), float(y[mask].mean())
        ece += count / n * abs(acc - conf)
        bins.append((conf, acc, count))
    return Reliability(float(ece), float(np.mean((p - y) ** 2)), n, tuple(bins))


def reliability_html(curves: dict[str, Reliability], title: str) -> str:
    """A reliability diagram (accuracy against confidence per bin, one curve per name) as standalone HTML."""
    size, pad = 360, 40
    colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"]

    def xy(conf: float, acc: float) -> tuple[float, float]:
        return pad + conf * size, pad + (1 - acc) * size

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 2 * pad + 220}" height="{size + 2 * pad}">',
             f'<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="none" stroke="#999"/>',
             (f'<line x1="{pad}" y1="{pad + size}" x2="{pad + size}" y2="{pad}" stroke="#bbb" '
             f'stroke-dasharray="4 4"/>')]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = xy(tick, tick)
        parts.append(f'<text x="{x - 8}" y="{pad + size + 16}" font-size="11">{tick:.2f}</text>')
        parts.append(f'<text x="{pad - 34}" y="{y + 4}" font-size="11">{tick:.2f}</text>')
    parts.append(f'<text x="{pad + size / 2 - 40}" y="{pad + size + 34}" font-size="12">confidence</text>')
    parts.append(f'<text x="4" y="{pad - 12}" font-size="12">accuracy</text>')
    for i, (name, rel) in enumerate(curves.items()):
        color = colors[i % len(colors)]
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(c, a) for c, a, _ in rel.bins))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        for c, a, count in rel.bins:
            x, y = xy(c, a)
            r = 2 + min(6.0, math.log10(count + 1) * 2)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{color}" opacity="0.7">'
                         f'<title>{html.escape(name)}: conf {c:.3f} acc {a:.3f} n {count}</title></circle>')
        ly = pad + 20 + 40 * i
        parts.append(f'<rect x="{pad + size + 20}" y="{ly - 10}" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{pad + size + 38}" y="{ly}" font-size="12">{html.escape(name)}</text>')
        parts.append(f'<text x="{pad + size + 38}" y="{ly + 16}" font-size="11">ECE {rel.ece:.3f}  Brier '
                     f'{rel.brier:.3f}  n {rel.n}</text>')
    parts.append("</svg>")
    return (f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<h3 style='font-family:sans-serif'>{html.escape(title)}</h3>" + "".join(parts))


def save(calibrator: Calibrator, extra: dict[str, object], path: Path) -> None:
    data = {"confidence": calibrator.to_json(), **extra}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

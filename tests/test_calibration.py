"""Calibrated confidence: Platt scaling per frequency bucket, ECE, Brier, the reliability diagram."""

from __future__ import annotations

import math
import random

import pytest

from typetool.calibration import Calibrator, fit, fit_platt, reliability, reliability_html


def test_ece_and_brier_by_hand() -> None:
    # two bins: conf 0.05 (acc 0) and conf 0.95 (acc 1/2)
    rel = reliability([0.05, 0.05, 0.95, 0.95], [0, 0, 1, 0], n_bins=10)
    assert rel.ece == pytest.approx(0.5 * 0.05 + 0.5 * 0.45)
    assert rel.brier == pytest.approx((0.05**2 + 0.05**2 + 0.05**2 + 0.95**2) / 4)
    assert [b[2] for b in rel.bins] == [2, 2]


def overconfident_data(n: int, seed: int) -> tuple[list[float], list[float], list[int], list[int]]:
    """Sequence log-probs that claim more than they deliver: true p = sigmoid(0.5 * logp + 1.0)."""
    rng = random.Random(seed)
    logp, prior, counts, y = [], [], [], []
    for _ in range(n):
        lp = -rng.expovariate(0.7)
        true_p = 1 / (1 + math.exp(-(0.5 * lp + 1.0)))
        logp.append(lp)
        prior.append(-rng.uniform(0, 8))
        counts.append(rng.choice([0, 5, 50, 500, 5000]))
        y.append(1 if rng.random() < true_p else 0)
    return logp, prior, counts, y


def test_platt_recovers_the_true_curve() -> None:
    logp, prior, _, y = overconfident_data(20000, 1)
    p = fit_platt(logp, prior, y)
    assert p.w1 == pytest.approx(0.5, abs=0.08)
    assert p.b == pytest.approx(1.0, abs=0.12)
    assert abs(p.w2) < 0.05  # the prior carries no signal here


def test_calibration_lowers_ece_on_held_out_data() -> None:
    logp, prior, counts, y = overconfident_data(6000, 2)
    cal = fit(logp, prior, counts, y)
    t_logp, t_prior, t_counts, t_y = overconfident_data(6000, 3)
    raw = reliability([math.exp(v) for v in t_logp], t_y)
    after = reliability([cal.prob(a, b, c) for a, b, c in zip(t_logp, t_prior, t_counts)], t_y)
    assert after.ece < raw.ece / 2
    assert after.brier < raw.brier
    assert after.ece < 0.04
    again = Calibrator.from_json(cal.to_json())
    assert again.prob(-1.0, -2.0, 50) == pytest.approx(cal.prob(-1.0, -2.0, 50))


def test_reliability_diagram_is_self_contained_html() -> None:
    logp, prior, counts, y = overconfident_data(500, 4)
    page = reliability_html({"raw": reliability([math.exp(v) for v in logp], y)}, "dev-eval")
    assert page.startswith("<!doctype html>") and "<svg" in page and "ECE" in page


def test_margin_and_kind_features_are_learned_and_round_trip() -> None:
    """Sites where the top type is far ahead of its rivals, and returns, are right more often at the same
    log-probability: the fit finds both effects and separates the sites better than logp alone (issue 18)."""
    from typetool.calibration import margins

    rng = random.Random(9)
    logp, prior, margin, kinds, y = [], [], [], [], []
    for _ in range(8000):
        lp = -rng.random() * 3
        m = rng.uniform(-1, 6)
        kind = rng.choice(("param", "return"))
        z = 0.5 * lp + 0.8 * m - 1.5 + (1.0 if kind == "return" else 0.0)
        logp.append(lp), prior.append(-5.0), margin.append(m), kinds.append(kind)
        y.append(int(rng.random() < 1 / (1 + math.exp(-z))))
    p = fit_platt(logp, prior, y, x3=margin, kinds=kinds)
    assert p.w3 == pytest.approx(0.8, abs=0.1)
    offsets = dict(p.kind_bias)
    assert len(offsets) == 1  # one offset per kind but the reference one
    (name, value), = offsets.items()
    assert value == pytest.approx(1.0 if name == "return" else -1.0, abs=0.2)
    cal = fit(logp, prior, [50] * len(y), y, margin=margin, kinds=kinds)
    plain = fit(logp, prior, [50] * len(y), y)
    rich = reliability([cal.prob(a, b, 50, m, k) for a, b, m, k in zip(logp, prior, margin, kinds)], y)
    poor = reliability([plain.prob(a, b, 50) for a, b in zip(logp, prior)], y)
    assert rich.brier < poor.brier - 0.01
    again = Calibrator.from_json(cal.to_json())
    assert again.prob(-1.0, -2.0, 50, 2.0, "return") == pytest.approx(cal.prob(-1.0, -2.0, 50, 2.0, "return"))
    old = {"edges": [1, 10], "scalers": [{"w1": 1.0, "w2": 0.0, "b": 0.0}] * 3}  # a calibration.json of before
    # its margin and kind weights are 0: sigmoid(log p) whatever the margin and kind
    assert Calibrator.from_json(old).prob(-1.0, -2.0, 5, 3.0, "return") == pytest.approx(1 / (1 + math.exp(1.0)))
    assert margins([-0.1, -2.0, -3.0]) == pytest.approx([1.9, -1.9, -2.9])
    assert margins([-0.5]) == [10.0]

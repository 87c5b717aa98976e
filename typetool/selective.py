"""A guarantee on what is written: the share of written annotations that miss the true type is at most epsilon,
with probability at least 1 - delta over the calibration sample (Learn-then-Test, Angelopoulos, Bates, Candes,
Jordan, Lei, 2021; derivation in docs/guarantees.md).

Does: for each calibration site, summarises what the nested prediction sets of `typetool.predsets` do along the
tau grid (`SiteStats`: where the set first covers the true type, where it first has a hole, where it becomes the
whole hole) beside the site's calibrated top-1 confidence; for a grid of write rules lambda = (tau index j,
confidence floor c) (a site is written at lambda when its confidence is at least c and its set at tau_j is not
the whole hole; it is wrong when that set does not contain the true type), tests each null hypothesis "the
share of written sites that are wrong exceeds epsilon" with the exact binomial p-value of the wrong count among
the written calibration sites, at level delta / |grid| (Bonferroni: every rule it accepts is valid at once, with
probability at least 1 - delta), and among the accepted rules picks the one that writes most (then most full
types, then the most specific sets). `choose_rules` does it per group of site kinds, splitting delta among them.
Does not: compute node costs or sets (`typetool.predsets`), calibrate confidences (`typetool.calibration`) or
decide anything about a site at run time (`typetool.predictions` applies the chosen rule).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from typetool.predsets import DEFAULT_MAX_HOLES, TAU_GRID, NodeCosts, nested_keeps, partial_type
from typetool.typeexpr import TypeNode, contains

CONFIDENCE_FLOORS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98)
"""The confidence floors c of the rule grid."""
TAU_STRIDE = 3
"""Every third tau of `predsets.TAU_GRID` is a rule's j (34 values): 34 x 14 = 476 rules, so each is tested at
delta / 476. A finer grid buys little: the sets change slowly along tau, and each doubling of the grid costs
about 0.1 standard errors of margin."""

ALL_KINDS = "all"


@dataclass(frozen=True, slots=True)
class SiteStats:
    """What the nested sets of one calibration site do along the tau grid (grid indices; len(grid) for never)."""

    confidence: float  # calibrated confidence of the top-1 type
    first_covering: int  # the set at index j contains the true type exactly when j >= first_covering
    first_partial: int  # from this index on the set has a hole (below it, the full top-1 type)
    first_empty: int  # from this index on the set is the whole hole: nothing is written
    kind: str = ""


def site_stats(nc: NodeCosts | None, truth: TypeNode | None, confidence: float, kind: str = "",
               taus: Sequence[float] = TAU_GRID, max_holes: int = DEFAULT_MAX_HOLES) -> SiteStats:
    """One calibration site's `SiteStats`; a site with no candidate or no parsable truth is wrong wherever its
    set is not empty, and a site with no candidate is never written."""
    n = len(taus)
    if nc is None:
        return SiteStats(confidence, n, 0, 0, kind)
    keeps = nested_keeps(nc, taus, max_holes)
    total = len(nc.costs)
    first_covering = first_partial = first_empty = n
    for j, keep in enumerate(keeps):
        if first_partial == n and len(keep) < total:
            first_partial = j
        if not keep:
            first_empty = j
            break
    if truth is not None:
        for j, keep in enumerate(keeps[:first_empty]):
            if contains(partial_type(nc, keep), truth):
                first_covering = j
                break
        else:
            first_covering = first_empty  # the whole hole covers everything
    return SiteStats(confidence, first_covering, min(first_partial, first_empty), first_empty, kind)


def stats_to_json(stats: Sequence[SiteStats]) -> dict[str, list[float] | list[int] | list[str]]:
    """Column-wise, as calibration.json stores them."""
    return {"confidence": [round(s.confidence, 6) for s in stats],
            "first_covering": [s.first_covering for s in stats],
            "first_partial": [s.first_partial for s in stats],
            "first_empty": [s.first_empty for s in stats],
            "kind": [s.kind for s in stats]}


def stats_from_json(data: Mapping[str, Sequence[Any]]) -> list[SiteStats]:
    kinds = data.get("kind") or [""] * len(data["confidence"])
    return [SiteStats(float(c), int(fc), int(fp), int(fe), str(k))
            for c, fc, fp, fe, k in zip(data["confidence"], data["first_covering"], data["first_partial"],
                                        data["first_empty"], kinds)]


def binomial_cdf(k: int, n: int, p: float, stop_above: float = math.inf) -> float:
    """P(Binomial(n, p) <= k), exactly (log-space terms); stops summing once the sum exceeds `stop_above`."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    log_term = n * log_q  # i = 0
    for i in range(k + 1):
        if i:
            log_term += math.log(n - i + 1) - math.log(i) + log_p - log_q
        total += math.exp(log_term)
        if total > stop_above:
            return min(total, 1.0)
    return min(total, 1.0)


@dataclass(frozen=True, slots=True)
class WriteRule:
    """A write rule and the calibration facts that justified it. `tau_index` indexes the tau grid; a site is
    written when its confidence is at least `min_confidence` and its set at `tau` is not the whole hole."""

    tau_index: int
    tau: float
    min_confidence: float
    epsilon: float
    delta: float  # the share of delta this rule's family was tested at (delta / groups)
    n: int  # calibration sites of its group
    written: int
    wrong: int
    full: int
    p_value: float
    tested: int  # rules in the family (the Bonferroni divisor)

    @property
    def bound_level(self) -> float:
        return self.delta / self.tested

    def to_json(self) -> dict[str, float | int]:
        return {"tau_index": self.tau_index, "tau": self.tau, "min_confidence": self.min_confidence,
                "epsilon": self.epsilon, "delta": self.delta, "n": self.n, "written": self.written,
                "wrong": self.wrong, "full": self.full, "p_value": self.p_value, "tested": self.tested}


def rule_grid(n_taus: int = len(TAU_GRID), stride: int = TAU_STRIDE,
              floors: Sequence[float] = CONFIDENCE_FLOORS) -> list[tuple[int, float]]:
    return [(j, c) for j in range(0, n_taus, stride) for c in floors]


def choose_rule(stats: Sequence[SiteStats], epsilon: float, delta: float, taus: Sequence[float] = TAU_GRID,
                grid: Sequence[tuple[int, float]] | None = None) -> WriteRule | None:
    """The accepted rule that writes most (ties: more full types, then the more specific set), or None when no
    rule of the grid passes its test (then nothing is written). Every accepted rule has, with probability at
    least 1 - delta over the calibration sample, a wrong share among written sites of at most epsilon."""
    if not 0 < epsilon < 1 or not 0 < delta < 1:
        raise ValueError(f"epsilon and delta must lie in (0, 1), got {epsilon}, {delta}")
    grid = list(grid) if grid is not None else rule_grid(len(taus))
    if not stats or not grid:
        return None
    conf = np.array([s.confidence for s in stats])
    covering = np.array([s.first_covering for s in stats])
    partial = np.array([s.first_partial for s in stats])
    empty = np.array([s.first_empty for s in stats])
    level = delta / len(grid)
    best: WriteRule | None = None
    best_key: tuple[int, int, int] | None = None
    for j, c in grid:
        written = (conf >= c) & (empty > j)
        n_written = int(written.sum())
        if n_written == 0:
            continue
        wrong = int((written & (covering > j)).sum())
        full = int((written & (partial > j)).sum())
        key = (n_written, full, -j)
        if best_key is not None and key <= best_key:
            continue  # cannot beat the best accepted rule: skip its test
        p = binomial_cdf(wrong, n_written, epsilon, stop_above=level)
        if p <= level:
            best_key = key
            best = WriteRule(j, float(taus[j]), c, epsilon, delta, len(stats), n_written, wrong, full, p, len(grid))
    return best


def kind_group(kind: str, groups: Sequence[Sequence[str]]) -> str:
    """The name of the group of `kind` ("+".join of the group's kinds), or `ALL_KINDS`."""
    for g in groups:
        if kind in g:
            return "+".join(g)
    return ALL_KINDS


def choose_rules(stats: Sequence[SiteStats], epsilon: float, delta: float,
                 groups: Sequence[Sequence[str]] = (), taus: Sequence[float] = TAU_GRID
                 ) -> dict[str, WriteRule | None]:
    """A rule per group of site kinds (each group's family tested at delta / number of families, so that all
    hold at once with probability 1 - delta), plus `ALL_KINDS` for the other kinds. No groups: one rule."""
    names = ["+".join(g) for g in groups]
    families: dict[str, list[SiteStats]] = {name: [] for name in names}
    rest: list[SiteStats] = []
    for s in stats:
        name = kind_group(s.kind, groups)
        (families[name] if name in families else rest).append(s)
    pooled = not names or bool(rest)
    shares = len(names) + (1 if pooled else 0)
    out = {name: choose_rule(families[name], epsilon, delta / shares, taus) for name in names}
    if pooled:
        out[ALL_KINDS] = choose_rule(rest if names else list(stats), epsilon, delta / shares, taus)
    return out

"""The guarantee on what is written (`typetool.selective`): the bound by simulation, the exact binomial tail, a
model with no signal writing nothing, and the per-kind rules."""

from __future__ import annotations

import math
import random

import pytest

from typetool.predsets import TAU_GRID, NodeCosts
from typetool.selective import (
    ALL_KINDS,
    SiteStats,
    binomial_cdf,
    choose_rule,
    choose_rules,
    site_stats,
    stats_from_json,
    stats_to_json,
)
from typetool.typeexpr import parse_type

N_TAUS = len(TAU_GRID)


def pool_site(rng: random.Random, kind: str = "param") -> SiteStats:
    """A synthetic site: the more confident, the likelier its top-1 type is right (from 1/2 to 1); a wrong top-1 is covered by
    its holes half the time once its set has holes, and never before."""
    conf = rng.random()
    first_empty = rng.randint(40, N_TAUS)
    first_partial = rng.randint(10, first_empty)
    if rng.random() < 0.5 + 0.5 * conf:
        first_covering = 0
    elif rng.random() < 0.5:
        first_covering = rng.randint(first_partial, first_empty)
    else:
        first_covering = first_empty
    return SiteStats(conf, first_covering, first_partial, first_empty, kind)


def risk(pool: list[SiteStats], j: int, c: float) -> float:
    written = [s for s in pool if s.confidence >= c and s.first_empty > j]
    return sum(1 for s in written if s.first_covering > j) / len(written) if written else 0.0


def test_binomial_cdf_is_exact() -> None:
    for n in (1, 7, 30):
        for p in (0.05, 0.1, 0.5):
            for k in range(-1, n + 1):
                brute = sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(0, k + 1))
                assert binomial_cdf(k, n, p) == pytest.approx(brute, rel=1e-9, abs=1e-15)
    # large n stays finite (log-space terms): 10,000 sites, 900 wrong at eps 0.1 is well below the mean
    assert 0.0 < binomial_cdf(900, 10_000, 0.1) < 1e-3


def test_the_bound_holds_by_simulation() -> None:
    """Over many calibration draws, the chosen rule's true wrong share among written sites exceeds epsilon in at
    most delta of them; the rule chosen by the empirical share alone (no bound) exceeds it far more often, so the
    test can tell a valid procedure from an invalid one."""
    rng = random.Random(7)
    pool = [pool_site(rng) for _ in range(20_000)]
    eps, delta, runs, n = 0.1, 0.1, 150, 600
    violations = naive_violations = 0
    for _ in range(runs):
        sample = rng.sample(pool, n)
        rule = choose_rule(sample, eps, delta)
        if rule is not None and risk(pool, rule.tau_index, rule.min_confidence) > eps:
            violations += 1
        # the naive choice: the rule that writes most among those whose empirical wrong share is at most eps
        best: tuple[int, int, float] | None = None
        for j in range(0, N_TAUS, 3):
            for c in (0.0, 0.2, 0.4, 0.6, 0.8):
                written = [s for s in sample if s.confidence >= c and s.first_empty > j]
                if written and sum(s.first_covering > j for s in written) <= eps * len(written):
                    if best is None or len(written) > best[0]:
                        best = (len(written), j, c)
        if best is not None and risk(pool, best[1], best[2]) > eps:
            naive_violations += 1
    assert violations / runs <= delta
    assert naive_violations / runs > 2 * delta


def test_chosen_rule_writes_and_respects_the_sample() -> None:
    rng = random.Random(3)
    sample = [pool_site(rng) for _ in range(5000)]
    rule = choose_rule(sample, 0.1, 0.1)
    assert rule is not None
    assert rule.written > 0.2 * len(sample)  # informative: it writes a good share
    assert rule.wrong / rule.written < 0.1
    assert rule.p_value <= rule.delta / rule.tested
    # a looser epsilon writes at least as much
    looser = choose_rule(sample, 0.2, 0.1)
    assert looser is not None and looser.written >= rule.written


def test_no_signal_writes_nothing() -> None:
    """Confidence unrelated to correctness, and sets that never cover a wrong top-1 type while they write: half
    of what any rule writes is wrong, so no rule passes and nothing is written."""
    rng = random.Random(11)
    sample = [SiteStats(rng.random(), 0 if rng.random() < 0.5 else N_TAUS, N_TAUS, N_TAUS, "param")
              for _ in range(3000)]
    assert choose_rule(sample, 0.1, 0.1) is None
    # ... nor from too few sites, however good they are
    assert choose_rule([SiteStats(0.99, 0, N_TAUS, N_TAUS)] * 15, 0.1, 0.1) is None


def test_rules_per_kind_split_delta() -> None:
    rng = random.Random(5)
    good = [SiteStats(rng.random(), 0, N_TAUS, N_TAUS, "return") for _ in range(2000)]
    rest = [pool_site(rng, "param") for _ in range(2000)] + [pool_site(rng, "variable") for _ in range(500)]
    rules = choose_rules(good + rest, 0.1, 0.1, groups=(("param",), ("return",)))
    assert set(rules) == {"param", "return", ALL_KINDS}
    ret = rules["return"]
    assert ret is not None and ret.written == 2000 and ret.wrong == 0  # all right: all written
    assert ret.delta == pytest.approx(0.1 / 3)
    pooled = choose_rules(good + rest, 0.1, 0.1)
    assert set(pooled) == {ALL_KINDS}
    assert pooled[ALL_KINDS] is not None and pooled[ALL_KINDS].n == 4500


def test_site_stats_follow_the_nested_sets() -> None:
    tree = parse_type("dict[str, int]")
    costs = {(): 0.5, (0,): 0.1, (1,): 4.0}  # the value type is the uncertain part
    nc = NodeCosts(tree, costs)
    right = site_stats(nc, parse_type("dict[str, int]"), 0.7, "return")
    assert right.first_covering == 0
    wrong_value = site_stats(nc, parse_type("dict[str, bytes]"), 0.7, "return")
    # covered from the first tau whose budget drops the value type (a hole there), before the set is empty
    assert 0 < wrong_value.first_covering == wrong_value.first_partial < wrong_value.first_empty <= N_TAUS
    never = site_stats(nc, parse_type("list[str]"), 0.7)
    assert never.first_covering == never.first_empty
    assert site_stats(None, parse_type("int"), 0.0).first_empty == 0  # no candidate: never written
    assert stats_from_json(stats_to_json([right, wrong_value])) == [right, wrong_value]

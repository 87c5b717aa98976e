"""PAC prediction sets: the binomial bound, hole selection on hand-made trees, nesting, and a simulation
with a scorer whose true probabilities are known."""

from __future__ import annotations

import math
import random

import pytest

from typetool.predsets import (
    TAU_GRID,
    NodeCosts,
    best_keep,
    choose_tau,
    first_covering_index,
    kstar,
    nested_keeps,
    node_costs,
    partial_type,
    prediction_set,
)
from typetool.typeexpr import TypeNode, contains, nodes, parse_type, to_str


def test_kstar_matches_the_design_checks() -> None:
    assert kstar(1000, 0.1, 0.05) == 84
    assert kstar(500, 0.1, 0.05) == 38
    # no valid k when n < ln(delta) / ln(1 - eps): 28.4 for eps=0.1, delta=0.05
    assert kstar(28, 0.1, 0.05) is None
    assert kstar(29, 0.1, 0.05) == 0


def costs(type_str: str, by_path: dict[tuple[int, ...], float]) -> NodeCosts:
    tree = parse_type(type_str)
    return NodeCosts(tree, {p: by_path.get(p, 0.0) for p, _ in nodes(tree)})


def test_hole_selection_keeps_the_cheap_nodes() -> None:
    nc = costs("dict[str, list[int]]", {(): 0.1, (0,): 0.2, (1,): 3.0, (1, 0): 0.1})
    assert to_str(partial_type(nc, best_keep(nc, budget=10))) == "dict[str, list[int]]"
    # list costs 3: at a budget of 1 it becomes a hole, and its child goes with it
    assert to_str(partial_type(nc, best_keep(nc, budget=1.0))) == "dict[str, ?]"
    # root too expensive: the whole type is a hole (the empty prediction)
    assert best_keep(nc, budget=0.05) == frozenset()


def test_hole_selection_prefers_more_nodes_then_lower_cost() -> None:
    # budget 1.0 allows either {root, a} (cost .9) or {root, b, c} (cost 1.0): three nodes win
    nc = costs("tuple[A, B, C]", {(): 0.0, (0,): 0.9, (1,): 0.5, (2,): 0.5})
    keep = best_keep(nc, budget=1.0)
    assert keep == frozenset({(), (1,), (2,)})
    assert to_str(partial_type(nc, keep)) == "tuple[?, B, C]"


def test_hole_cap_is_respected() -> None:
    nc = costs("tuple[A, B, C, D]", {(): 0.0, (0,): 5, (1,): 5, (2,): 5, (3,): 5})
    # every child is too expensive: 4 holes are needed; with m = 3 only the empty prediction remains
    assert to_str(partial_type(nc, best_keep(nc, 1.0, max_holes=4))) == "tuple[?, ?, ?, ?]"
    assert best_keep(nc, 1.0, max_holes=3) == frozenset()


def test_sets_are_nested_in_tau() -> None:
    rng = random.Random(7)
    for type_str in ["dict[str, list[int]]", "Callable[[int, str], Awaitable[None]]", "int | str | None",
                     "tuple[int, ...]", "Mapping[str, Sequence[tuple[int, float]]]"]:
        tree = parse_type(type_str)
        for _ in range(20):
            nc = NodeCosts(tree, {p: rng.uniform(0, 3) for p, _ in nodes(tree)})
            keeps = nested_keeps(nc)
            for looser, stricter in zip(keeps, keeps[1:]):
                assert stricter <= looser
            # and the set (as a partial type) of a stricter tau contains that of a looser one
            for j in range(0, len(keeps) - 1, 10):
                assert contains(partial_type(nc, keeps[j + 1]), tree) or keeps[j + 1] == frozenset()
                assert prediction_set(nc, TAU_GRID[j]) == partial_type(nc, keeps[j])


def test_node_costs_charge_tokens_to_their_nodes() -> None:
    s = "dict[str, int]"
    offsets = [(0, 4), (4, 5), (5, 8), (8, 10), (10, 13), (13, 14), (14, 14)]
    lps = [-0.5, -0.1, -1.0, -0.2, -2.0, -0.1, -0.3]
    nc = node_costs(s, lps, offsets)
    # root owns "dict", "[", ", ", "]" and EOS; str and int own themselves
    assert nc.costs[()] == pytest.approx(0.5 + 0.1 + 0.2 + 0.1 + 0.3)
    assert nc.costs[(0,)] == pytest.approx(1.0)
    assert nc.costs[(1,)] == pytest.approx(2.0)


# -- simulation: a scorer whose true per-node probabilities are known -------------------------------------

SHAPES = ["dict[str, list[int]]", "int", "list[str]", "int | None", "tuple[int, str, float]",
          "Callable[[str], bool]", "Mapping[str, Any]"]
WRONG = TypeNode("Wrong")


def draw_site(rng: random.Random) -> tuple[NodeCosts, TypeNode]:
    """A predicted tree whose node v is right with probability q_v (given its parent is right); the cost is
    -log q_v, i.e. a perfectly calibrated scorer. The truth replaces each wrong subtree with `Wrong`."""
    tree = parse_type(rng.choice(SHAPES))
    q = {p: rng.choice([0.99, 0.95, 0.8, 0.6, 0.3]) for p, _ in nodes(tree)}

    def truth(node: TypeNode, path: tuple[int, ...]) -> TypeNode:
        if rng.random() > q[path]:
            return WRONG
        return TypeNode(node.name, tuple(truth(c, path + (i,)) for i, c in enumerate(node.args)))

    return NodeCosts(tree, {p: -math.log(v) for p, v in q.items()}), truth(tree, ())


def test_pac_guarantee_holds_in_simulation() -> None:
    rng = random.Random(1234)
    pool = [draw_site(rng) for _ in range(6000)]
    first = [first_covering_index(nc, truth) for nc, truth in pool]
    eps, delta, n, runs = 0.1, 0.1, 400, 300
    violations = 0
    for _ in range(runs):
        sample = [first[rng.randrange(len(pool))] for _ in range(n)]
        cal = choose_tau(sample, eps, delta)
        assert cal is not None
        j = TAU_GRID.index(cal.tau)
        miscoverage = sum(1 for f in first if f > j) / len(first)  # exact, over the pool distribution
        violations += miscoverage > eps
    # P(miscoverage > eps) <= delta; 300 runs: allow 3 standard deviations of sampling noise
    assert violations / runs <= delta + 3 * math.sqrt(delta * (1 - delta) / runs)
    # and the sets are informative, not trivially all-hole: most sites keep at least their root
    nonempty = sum(1 for nc, _ in pool[:500] if prediction_set(nc, cal.tau).name != "?") / 500
    assert nonempty > 0.5

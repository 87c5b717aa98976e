"""PAC prediction sets for types: per-node costs, holes chosen exactly on the type tree, tau calibrated by the
binomial bound (Khakhar, Mell, Bastani, ICML 2023; see shared/design/prediction-sets.md).

Does: turns a decoded type and its per-token log-probabilities into per-node costs l_v (clipped to [0, 10]);
for a threshold tau keeps the largest downward-closed node set K with sum_{v in K} l_v <= -log(tau) and at
most m holes (an exact DP on the tree, not an integer program); makes sets nested in tau (each stricter tau
searches only inside the previous K); computes k* = max{k : sum_{i<=k} C(n,i) eps^i (1-eps)^(n-i) <= delta}
and picks, on a grid of taus, the loosest tau whose sets miss the true type on at most k* calibration sites.
Does not: decode (`typetool.model`), calibrate confidences (`typetool.calibration`) or write files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from typetool.typeexpr import (
    HOLE,
    NodePath,
    TypeNode,
    contains,
    nodes,
    own_char_positions,
    parse_type,
    partial,
)

MAX_COST = 10.0
DEFAULT_MAX_HOLES = 4
# tau grid, ascending (loosest first): tau_j = exp(-b_j), b from 12 (tau ~ 6e-6) down to 0 (tau = 1, where
# every node but a zero-cost one becomes a hole); 100 values
TAU_GRID: tuple[float, ...] = tuple(math.exp(-12.0 * (99 - j) / 99) for j in range(100))


@dataclass(frozen=True, slots=True)
class NodeCosts:
    """A type tree and the cost of each of its nodes, by path."""

    tree: TypeNode
    costs: dict[NodePath, float]


def node_costs(type_str: str, token_logprobs: Sequence[float],
               offsets: Sequence[tuple[int, int]]) -> NodeCosts:
    """Charge each token's -log p to the node that owns its first character (EOS and anything that cannot be
    placed go to the root). `offsets` are the tokens' [start, end) character spans in `type_str`."""
    tree = parse_type(type_str)
    owner: dict[int, NodePath] = {}
    for path, positions in own_char_positions(tree).items():
        for pos in positions:
            owner[pos] = path
    costs: dict[NodePath, float] = {path: 0.0 for path, _ in nodes(tree)}
    for lp, (start, end) in zip(token_logprobs, offsets):
        path = owner.get(start, ()) if end > start else ()
        if start >= len(type_str) or type_str[start] == " ":
            # a separator's leading space: charge the next non-space character's owner
            j = start
            while j < len(type_str) and type_str[j] == " ":
                j += 1
            path = owner.get(j, ())
        costs[path] = costs.get(path, 0.0) - lp
    return NodeCosts(tree, {p: min(max(c, 0.0), MAX_COST) for p, c in costs.items()})


def children_paths(tree: TypeNode) -> dict[NodePath, list[NodePath]]:
    out: dict[NodePath, list[NodePath]] = {}
    for path, node in nodes(tree):
        out[path] = [path + (i,) for i in range(len(node.args))]
    return out


def best_keep(nc: NodeCosts, budget: float, max_holes: int = DEFAULT_MAX_HOLES,
              allowed: frozenset[NodePath] | None = None) -> frozenset[NodePath]:
    """The largest downward-closed set K (within `allowed`) with cost(K) <= budget and at most `max_holes`
    holes; ties go to the cheaper set. The empty set means the whole type is a hole.

    Exact tree DP: table[v][(k, h)] = least cost of keeping k nodes of v's subtree, v included, with h holes."""
    kids = children_paths(nc.tree)
    eps = 1e-9

    def solve(v: NodePath) -> dict[tuple[int, int], tuple[float, frozenset[NodePath]]]:
        table: dict[tuple[int, int], tuple[float, frozenset[NodePath]]] = {(1, 0): (nc.costs[v], frozenset((v,)))}
        for c in kids[v]:
            options: dict[tuple[int, int], tuple[float, frozenset[NodePath]]] = {(0, 1): (0.0, frozenset())}
            if allowed is None or c in allowed:
                for key, val in solve(c).items():
                    if key not in options or val[0] < options[key][0]:
                        options[key] = val
            merged: dict[tuple[int, int], tuple[float, frozenset[NodePath]]] = {}
            for (k1, h1), (c1, s1) in table.items():
                for (k2, h2), (c2, s2) in options.items():
                    h = h1 + h2
                    if h > max_holes:
                        continue
                    cost = c1 + c2
                    if cost > budget + eps:
                        continue
                    key = (k1 + k2, h)
                    if key not in merged or cost < merged[key][0]:
                        merged[key] = (cost, s1 | s2)
            table = merged
        return {key: val for key, val in table.items() if val[0] <= budget + eps}

    if allowed is not None and () not in allowed:
        return frozenset()
    table = solve(())
    if not table:
        return frozenset()
    _, (_, keep) = max(table.items(), key=lambda kv: (kv[0][0], -kv[1][0]))
    return keep


def partial_type(nc: NodeCosts, keep: frozenset[NodePath]) -> TypeNode:
    return partial(nc.tree, set(keep)) if keep else HOLE


def cost_of(nc: NodeCosts, keep: frozenset[NodePath]) -> float:
    return sum(nc.costs[p] for p in keep)


def nested_keeps(nc: NodeCosts, taus: Sequence[float] = TAU_GRID,
                 max_holes: int = DEFAULT_MAX_HOLES) -> list[frozenset[NodePath]]:
    """K(tau) for each tau, taus given in ascending order (looser first); each K is a subset of the previous.
    A K that still fits the next, smaller budget is kept as it is (it is the largest set within itself)."""
    out: list[frozenset[NodePath]] = []
    allowed: frozenset[NodePath] | None = None
    keep: frozenset[NodePath] | None = None
    for tau in taus:
        budget = -math.log(tau) if tau > 0 else math.inf
        if keep is None or cost_of(nc, keep) > budget + 1e-9:
            keep = best_keep(nc, budget, max_holes, allowed)
        out.append(keep)
        allowed = keep
    return out


def kstar(n: int, epsilon: float, delta: float) -> int | None:
    """max{k : sum_{i=0..k} C(n,i) eps^i (1-eps)^(n-i) <= delta}; None when even k = 0 fails (n too small)."""
    total = 0.0
    best: int | None = None
    log_eps, log_1m = math.log(epsilon), math.log1p(-epsilon)
    for i in range(n + 1):
        total += math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_eps
                          + (n - i) * log_1m)
        if total <= delta:
            best = i
        else:
            break
    return best


@dataclass(frozen=True, slots=True)
class Calibrated:
    epsilon: float
    delta: float
    tau: float
    n: int
    k_star: int
    misses: int  # calibration sites the chosen tau's sets miss


def first_covering_index(nc: NodeCosts, truth: TypeNode, taus: Sequence[float] = TAU_GRID,
                         max_holes: int = DEFAULT_MAX_HOLES) -> int:
    """The first grid index from which the (nested) sets contain `truth`; len(taus) if none does. Because
    sets are nested, the set at index j misses `truth` exactly when j is below this index."""
    for j, keep in enumerate(nested_keeps(nc, taus, max_holes)):
        if contains(partial_type(nc, keep), truth):
            return j
    return len(taus)


def choose_tau(first_covering: Sequence[int], epsilon: float, delta: float,
               taus: Sequence[float] = TAU_GRID) -> Calibrated | None:
    """The loosest tau whose sets miss at most k* of the calibration sites, from their first covering indices."""
    n = len(first_covering)
    k = kstar(n, epsilon, delta)
    if k is None:
        return None
    for j, tau in enumerate(taus):
        misses = sum(1 for f in first_covering if f > j)
        if misses <= k:
            return Calibrated(epsilon, delta, tau, n, k, misses)
    return None


def calibrate_tau(samples: Sequence[tuple[NodeCosts, TypeNode]], epsilon: float, delta: float,
                  taus: Sequence[float] = TAU_GRID, max_holes: int = DEFAULT_MAX_HOLES) -> Calibrated | None:
    """`samples` pairs each calibration site's node costs (for its top-1 type) with its true normalized type."""
    return choose_tau([first_covering_index(nc, truth, taus, max_holes) for nc, truth in samples],
                      epsilon, delta, taus)


def prediction_set(nc: NodeCosts, tau: float, taus: Sequence[float] = TAU_GRID,
                   max_holes: int = DEFAULT_MAX_HOLES) -> TypeNode:
    """The partial type at a calibrated tau (a value of `taus`), along the same nested path as calibration."""
    upto = [t for t in taus if t <= tau * (1 + 1e-12)] or [tau]
    return partial_type(nc, nested_keeps(nc, upto, max_holes)[-1])

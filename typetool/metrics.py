"""The strip-and-recover scores: predictions against the normalized annotations, per predictor and group.

Does: scores ranked answers against labels: exact match over all slots (an abstention counts as wrong),
precision over answered slots, coverage, match up to the parametric type (outer constructor), top-5; split by
slot kind, common vs rare (every name among the 100 most frequent training types, or not) and builtin vs
user-defined (each language's own test, `Language.is_user_defined`); holds a language's labelled slots and
its baselines' answers (`LabelledSites`, made by `Language.labelled`). Baselines beside the model: the most
frequent type per slot kind (here), and each wing's static heuristic and external tools (autotyping for
Python, the compiler's inferFromUsage for TypeScript: `typetool/<wing>/evaluation.py`).
Does not: run the model or any baseline (`evaluation` does), train, calibrate or write to the user's files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from typetool.languages import by_key
from typetool.slices import UsageSlice
from typetool.typeexpr import names as type_names
from typetool.typeexpr import outer, parse_type, to_str


@dataclass
class LabelledSites:
    """A language's annotated slots for strip-and-recover (`Language.labelled`): each slot's annotation-blind
    slice and its normalized label, and per baseline (the static heuristic, autotyping, the compiler's
    inference) its ranked answers, one list per slot (empty: no answer)."""

    slices: list[UsageSlice] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    baselines: dict[str, list[list[str]]] = field(default_factory=dict)


@dataclass
class Tally:
    n: int = 0
    answered: int = 0
    exact: int = 0
    parametric: int = 0
    top5: int = 0

    def add(self, gold: str, ranked: list[str]) -> None:
        self.n += 1
        if not ranked:
            return
        self.answered += 1
        top = ranked[0]
        self.exact += top == gold
        self.parametric += same_outer(top, gold)
        self.top5 += gold in ranked[:5]

    def row(self) -> dict[str, float | int]:
        n = max(self.n, 1)
        return {
            "n": self.n,
            "exact": self.exact / n,
            "precision": self.exact / self.answered if self.answered else 0.0,
            "coverage": self.answered / n,
            "parametric": self.parametric / n,
            "top5": self.top5 / n,
        }


def same_outer(a: str, b: str) -> bool:
    try:
        return outer(parse_type(a)) == outer(parse_type(b))
    except ValueError:
        return False


@dataclass
class Report:
    """Metrics per predictor and per group (all, param, return, variable, attribute, common, rare, ...)."""

    tallies: dict[str, dict[str, Tally]] = field(default_factory=dict)

    def add(self, predictor: str, kind: str, gold: str, ranked: list[str], common_types: set[str],
            language: str = "py") -> None:
        groups = self.tallies.setdefault(predictor, {})
        keys = [kind]
        if kind in ("param", "return"):
            keys.append("all (param+return)")
            keys.append("common" if is_common(gold, common_types) else "rare")
            keys.append("user-defined" if by_key(language).is_user_defined(gold) else "builtin/stdlib")
        for key in keys:
            groups.setdefault(key, Tally()).add(gold, ranked)

    def as_json(self) -> dict[str, dict[str, dict[str, float | int]]]:
        return {p: {g: t.row() for g, t in groups.items()} for p, groups in self.tallies.items()}

    def table(self, groups: Iterable[str] = ("all (param+return)", "param", "return", "common", "rare",
                                             "user-defined", "builtin/stdlib", "variable", "attribute")) -> str:
        lines = [(f"{'predictor':14} {'group':20} {'n':>6} {'exact':>7} {'prec':>7} {'cover':>7} {'param.':>7} "
                 f"{'top5':>7}")]
        for p, tallies in self.tallies.items():
            for g in groups:
                t = tallies.get(g)
                if t is None or t.n == 0:
                    continue
                r = t.row()
                lines.append(f"{p:14} {g:20} {r['n']:6d} {100 * r['exact']:6.1f}% {100 * r['precision']:6.1f}% "
                             f"{100 * r['coverage']:6.1f}% {100 * r['parametric']:6.1f}% {100 * r['top5']:6.1f}%")
        return "\n".join(lines)


def is_common(label: str, common_types: set[str]) -> bool:
    try:
        used = type_names(parse_type(label))
    except ValueError:
        return False
    return all(n in common_types for n in used)


def common_type_names(type_counts: dict[str, int], k: int = 100) -> set[str]:
    """Names of the k most frequent training types (by the names they use)."""
    top = sorted(type_counts.items(), key=lambda kv: -kv[1])[:k]
    out: set[str] = set()
    for t, _ in top:
        try:
            out |= type_names(parse_type(t))
        except ValueError:
            continue
    return out


def canonical(t: str) -> str:
    try:
        return to_str(parse_type(t))
    except ValueError:
        return t

"""Evaluation: strip-and-recover on annotated code, with baselines, in one table.

Does: takes annotated Python code, hides its annotations from the slicer (the same `labelled_slices` as the
corpus), asks each predictor for every annotated slot, and scores the answers against the normalized
annotations: exact match over all slots (an abstention counts as wrong), precision over answered slots,
coverage, match up to the parametric type (outer constructor), top-5; split by slot kind, common vs rare
(every name among the 100 most frequent training types, or not) and builtin vs user-defined.
Baselines: the most frequent type per slot kind; a literal/default-value heuristic (the static evidence of the
slice only); autotyping (`python -m autotyping --aggressive --guess-common-names`, run on a stripped copy).
Does not: train, calibrate or write anything to the user's files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from typetool.python.corpus import LabelledSlice, is_user_defined
from typetool.slices import UsageSlice
from typetool.typeexpr import names as type_names
from typetool.typeexpr import normalize_label, outer, parse_type, to_str


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
            if language == "ts":
                from typetool.ts.corpus import is_user_defined_ts

                user = is_user_defined_ts(gold)
            else:
                user = is_user_defined(gold)
            keys.append("user-defined" if user else "builtin/stdlib")
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


# -- baselines ------------------------------------------------------------------------------------------


_LITERAL = re.compile(r"^(?:default |param default )?literal (\w+)")
_CTOR = re.compile(r"^(?:default )?ctor (\w+)$")


def heuristic_type(s: UsageSlice) -> str | None:
    """What the static evidence alone says (no model): literals, constructors, defaults, `return None` only."""
    ev = list(s.evidence)
    kind = s.slot.kind.value
    if kind == "return":
        if "only raises" in ev:
            return "NoReturn"
        if "generator (yields)" in ev:
            return None
        if "__init__" in ev or "returns None only" in ev or "no return" in ev:
            return "None"
        kinds: set[str] = set()
        for r in s.returns:
            if r == "bare return":
                kinds.add("None")
                continue
            m = re.search(r"\((?:literal|ctor) (\w+)", r)
            if m is None or m.group(1) in ("Generator", "Callable"):
                return None
            kinds.add(m.group(1))
        if len(kinds) == 1:
            return kinds.pop()
        if len(kinds) == 2 and "None" in kinds:
            return f"{(kinds - {'None'}).pop()} | None"
        return None
    for e in ev:
        m = _LITERAL.match(e)
        if m:
            lit = m.group(1)
            if lit == "None":
                return None  # a None default says `X | None` but not X
            return lit if lit not in ("Generator", "Callable") else None
        m = _CTOR.match(e)
        if m:
            return m.group(1)
    if "*args" in ev or "**kwargs" in ev:
        return None
    return None


def predictions_from_annotated_copy(items: Sequence[LabelledSlice], annotations: dict[str, str]) -> list[list[str]]:
    """Turn a {slot id: annotation} map (read back from a tool's output) into ranked lists."""
    out: list[list[str]] = []
    for i in items:
        ann = annotations.get(i.site.slot.id)
        norm = normalize_label(ann) if ann else None
        out.append([norm] if norm else [])
    return out


def canonical(t: str) -> str:
    try:
        return to_str(parse_type(t))
    except ValueError:
        return t

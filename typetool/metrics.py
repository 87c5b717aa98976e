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
    # the checker engine's inferred type per slot (None: it gives none), when the language's engine was run: the
    # engine stage's input (`model/engine_stage.py`); empty when it was not
    engine: list[str | None] = field(default_factory=list)


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


RATES = ("exact", "precision", "coverage", "parametric", "top5")
GROUPS = ("all (param+return)", "param", "return", "common", "rare", "user-defined", "builtin/stdlib", "variable",
          "attribute")
Rows = dict[str, dict[str, dict[str, float | int]]]  # predictor -> group -> {"n", rates...}


@dataclass
class Report:
    """Metrics per predictor and per group (all, param, return, variable, attribute, common, rare, ...), over
    all sites (micro), and the same per package when the sites name theirs (`packages`), from which the macro
    figures (each rate's mean over the packages) are computed: the headline of a dev-eval of several packages,
    which no one package can dominate."""

    tallies: dict[str, dict[str, Tally]] = field(default_factory=dict)
    packages: dict[str, Report] = field(default_factory=dict)

    def add(self, predictor: str, kind: str, gold: str, ranked: list[str], common_types: set[str],
            language: str = "py", package: str = "") -> None:
        keys = [kind]
        if kind in ("param", "return"):
            keys.append("all (param+return)")
            keys.append("common" if is_common(gold, common_types) else "rare")
            keys.append("user-defined" if by_key(language).is_user_defined(gold) else "builtin/stdlib")
        reports = [self, self.packages.setdefault(package, Report())] if package else [self]
        for report in reports:
            groups = report.tallies.setdefault(predictor, {})
            for key in keys:
                groups.setdefault(key, Tally()).add(gold, ranked)

    def as_json(self) -> Rows:
        return {p: {g: t.row() for g, t in groups.items()} for p, groups in self.tallies.items()}

    def macro(self) -> Rows:
        """Per predictor and group, each rate averaged over the packages with sites in the group (`n`: their
        sites, `packages`: how many)."""
        collected: dict[str, dict[str, list[dict[str, float | int]]]] = {}
        for report in self.packages.values():
            for p, groups in report.tallies.items():
                for g, t in groups.items():
                    if t.n:
                        collected.setdefault(p, {}).setdefault(g, []).append(t.row())
        return {p: {g: {"n": sum(int(r["n"]) for r in rows), "packages": len(rows),
                        **{k: sum(float(r[k]) for r in rows) / len(rows) for k in RATES}}
                    for g, rows in groups.items()} for p, groups in collected.items()}

    def table(self, groups: Iterable[str] = GROUPS) -> str:
        """The micro figures (over all sites)."""
        return format_rows(self.as_json(), groups)

    def macro_table(self, groups: Iterable[str] = GROUPS) -> str:
        return format_rows(self.macro(), groups)

    def package_table(self, group: str = "all (param+return)") -> str:
        """One line per package and predictor, for one group."""
        lines = [(f"{'package':28} {'predictor':14} {'n':>6} {'exact':>7} {'prec':>7} {'cover':>7} {'param.':>7} "
                  f"{'top5':>7}")]
        for name in sorted(self.packages):
            for p, groups in self.packages[name].tallies.items():
                t = groups.get(group)
                if t is None or t.n == 0:
                    continue
                r = t.row()
                lines.append(f"{name[:28]:28} {p:14} {r['n']:6d} " + " ".join(f"{100 * float(r[k]):6.1f}%"
                                                                             for k in RATES))
        return "\n".join(lines)


def format_rows(rows: Rows, groups: Iterable[str] = GROUPS) -> str:
    lines = [(f"{'predictor':14} {'group':20} {'n':>6} {'exact':>7} {'prec':>7} {'cover':>7} {'param.':>7} "
             f"{'top5':>7}")]
    wanted = list(groups)
    for p, by_group in rows.items():
        for g in wanted:
            r = by_group.get(g)
            if r is None or not r["n"]:
                continue
            lines.append(f"{p:14} {g:20} {int(r['n']):6d} " + " ".join(f"{100 * float(r[k]):6.1f}%" for k in RATES))
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

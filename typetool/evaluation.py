"""Running evaluations and calibrations end to end (the model, the baselines, the prediction sets).

Does: `run_evaluation` strips-and-recovers annotated code with the model and the baselines and measures the
calibrated confidence (ECE, Brier, reliability) and the PAC sets (empirical miscoverage, fraction of nodes
turned into holes, exact match of what would be written) for several epsilons; `calibrate` fits the
confidence calibrator and stores the calibration sites' first covering indices (from which tau is chosen for
any epsilon and delta) in the model directory's calibration.json. Both work on rendered records, so they run
from a corpus JSONL or from live code.
Does not: train, or write to user files.
"""

from __future__ import annotations

import copy
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typetool.calibration import Reliability, fit, margins, reliability, reliability_html
from typetool.diagnostics import Diagnostic
from typetool.languages import by_key, default_language, languages
from typetool.metrics import Report, common_type_names
from typetool.model.tokenizer import py_or_ts
from typetool.predictions import TypePredictor, canonical, engine_key, normalizer
from typetool.predsets import (
    DEFAULT_MAX_HOLES,
    TAU_GRID,
    node_costs,
    prediction_set,
)
from typetool.selective import site_stats, stats_to_json
from typetool.settings import GUARANTEES
from typetool.slices import render_slice
from typetool.sources import relpath_for
from typetool.typeexpr import hole_count, parse_type, size, to_str
from typetool.workspace import Workspace

EPSILONS = (0.05, 0.1, 0.2)


@dataclass(frozen=True, slots=True)
class Record:
    """One labelled site as the model sees it (from a corpus JSONL or from live code)."""

    input: str
    names: tuple[str, ...]
    target: str
    kind: str
    id: str
    package: str = ""
    engine: str = ""  # the checker engine's inferred type at this slot ("" : none, or not run)

    @property
    def language(self) -> str:
        return py_or_ts(self.input)


def records_from_jsonl(path: Path, limit: int | None = None) -> list[Record]:
    out: list[Record] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            out.append(Record(r["input"], tuple(r.get("names", ())), r["target"], r["kind"], r["id"],
                              r.get("package", ""), r.get("engine") or ""))
            if limit is not None and len(out) >= limit:
                break
    return out


def load_priors(model_dir: Path) -> tuple[dict[str, str], dict[str, int]]:
    path = model_dir / "type_priors.json"
    if not path.is_file():
        return {}, {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return dict(data["most_frequent_by_kind"]), {k: int(v) for k, v in data["type_counts"].items()}


def write_priors(train_jsonl: Path, model_dir: Path) -> None:
    """Training type frequencies (calibration buckets, common/rare) and the most frequent type per kind."""
    counts: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    for r in records_from_jsonl(train_jsonl):
        counts[r.target] += 1
        by_kind.setdefault(r.kind, Counter())[r.target] += 1
    data = {"most_frequent_by_kind": {k: c.most_common(1)[0][0] for k, c in by_kind.items()},
            "type_counts": dict(counts.most_common())}
    (model_dir / "type_priors.json").write_text(json.dumps(data) + "\n", encoding="utf-8")


@dataclass
class ModelOutputs:
    """Per record: ranked candidate types, their log-probs, calibrated confidences, and the top-1 node costs."""

    ranked: list[list[str]] = field(default_factory=list)
    logps: list[list[float]] = field(default_factory=list)
    confidences: list[list[float]] = field(default_factory=list)
    costs: list[Any] = field(default_factory=list)  # NodeCosts | None


def _compiler_allows(r: Record, type_text: str) -> bool:
    """Whether the TypeScript compiler's rules allow `type_text` at record `r`'s slot (always, for Python):
    evaluation filters candidates as prediction does."""
    from typetool.languages import by_key

    lang = by_key(r.language)
    return not lang.checks_candidates or lang.admits(r.kind, r.input, type_text)


def run_model(predictor: TypePredictor, records: Sequence[Record], batch_size: int = 64,
              top_k: int = 5, keep: int | None = None, consistency: bool = True) -> ModelOutputs:
    """The model's candidates for `records` as prediction makes them, each package a run of its own (the
    consistency stage groups namesakes by package); `keep`/`consistency` as `TypePredictor.candidates`."""
    raw = predictor.candidates([r.input for r in records], [r.names for r in records], [r.package for r in records],
                               top_k, batch_size, consistency=consistency, keep=keep,
                               engine=[r.engine or None for r in records], kinds=[r.kind for r in records])
    out = ModelOutputs()
    predictor.prefetch_priors(c.type for cands in raw for c in cands)
    for cands, r in zip(raw, records):
        cands = [c for c in cands if _compiler_allows(r, c.type)]
        types = [canonical(c.type, r.language) for c in cands]
        logps = [c.score for c in cands]
        out.ranked.append(types)
        out.logps.append(logps)
        out.confidences.append(predictor.confidences(types, logps, r.kind, r.engine or None) if types else [])
        nc = None
        if cands:
            try:
                nc = node_costs(cands[0].type, cands[0].token_logprobs, cands[0].offsets)
            except ValueError:
                nc = None
        out.costs.append(nc)
    return out


def _truth(target: str, language: str = "py") -> Any:
    try:
        return normalizer(language)(parse_type(target))
    except ValueError:
        return None


def fit_link_prob(predictor: TypePredictor, records: Sequence[Record], batch_size: int = 64) -> dict[str, Any]:
    """Measure how often name links (`model/name_rule.py`) are right on `records` (the calibration split), store
    the log of that share (Laplace-smoothed) as the links' score in the model's decoding.json, and return
    {"p", "links", "right", "n", "top1_without", "top1_with"}. Calibration must follow, on the same records,
    since links change the candidates it calibrates."""
    settings = predictor.predictor.settings
    settings.link_logprob = None
    outputs = run_model(predictor, records, batch_size, consistency=False)
    links = predictor.predictor.linked([r.input for r in records], [list(r.names) for r in records])
    golds = [canonical(r.target, r.language) for r in records]
    linked = [canonical(c.type, r.language) if c is not None and _compiler_allows(r, c.type) else None
              for r, c in zip(records, links)]
    n_links = sum(t is not None for t in linked)
    right = sum(t is not None and t == g for t, g in zip(linked, golds))
    p = (right + 1) / (n_links + 2)
    without = with_links = 0
    for gold, ranked, logps, link in zip(golds, outputs.ranked, outputs.logps, linked):
        top = ranked[0] if ranked else None
        without += top == gold
        if link is not None and (not logps or math.log(p) >= max(
                [lp for t, lp in zip(ranked, logps) if t != link] or [-math.inf])):
            top = link
        with_links += top == gold
    settings.link_logprob = math.log(p)
    settings.save(predictor.model_dir / "decoding.json")
    n = max(len(records), 1)
    return {"p": p, "links": n_links, "right": right, "n": len(records), "top1_without": without / n,
            "top1_with": with_links / n}


def fit_linker(predictor: TypePredictor, train: Sequence[Record], held: Sequence[Record], batch_size: int = 64,
               log: Any = None) -> dict[str, Any]:
    """Fit the learned name linker (`model/linker.py`) and save it beside the model: the name model on `train`
    less the packages of `held`, the combiner on the model's beam over `held` (packages the model never trained
    on). Turns the rule links off (the linker replaces them). Calibration must follow, on other records, since
    the linker changes the candidates it calibrates. Returns the fit's figures."""
    from typetool.model.linker import BeamSite, Linker, fit_combiner, fit_name_model

    inner = predictor.predictor
    inner.linker = None
    inner.settings.link_logprob = None
    language = predictor.language
    held_packages = sorted({r.package for r in held})
    held_set = set(held_packages)
    names_on = [r for r in train if r.package not in held_set]

    def canon(t: str) -> str:
        return canonical(t, language)

    names, name_info = fit_name_model([(r.input, r.names, r.target) for r in names_on], canon)
    if log is not None:
        log(f"linker: name model fitted on {len(names_on)} training sites: {name_info}")
    outputs = run_model(predictor, held, batch_size, consistency=False)
    sites = [BeamSite(r.input, r.names, list(zip(ranked, logps)), canon(r.target))
             for r, ranked, logps in zip(held, outputs.ranked, outputs.logps)]
    weights, comb_info = fit_combiner(names, sites, canon)
    info: dict[str, Any] = {"name_model": name_info, "combiner": comb_info, "held_packages": held_packages,
                            "combiner_weights": [round(w, 4) for w in weights.tolist()]}
    linker = Linker(names, weights, info)
    linker.save(predictor.model_dir)
    inner.linker = linker
    inner.settings.save(predictor.model_dir / "decoding.json")
    if log is not None:
        log(f"linker: combiner fitted on {len(held)} sites of {', '.join(held_packages)}: {comb_info}")
    return info


def fit_consistency(predictor: TypePredictor, held: Sequence[Record], batch_size: int = 64,
                    log: Any = None) -> dict[str, Any]:
    """Fit the consistency stage (`model/consistency.py`) on the linker's output over `held` (the packages the
    combiner was fitted on, which the T5 never trained on) and save it beside the model; returns its figures.
    Calibration must follow, on other records, since the stage changes the candidates it calibrates."""
    from typetool.model.consistency import KEEP, fit, namesake_key

    if predictor.predictor.linker is None:
        raise ValueError("the consistency stage is fitted on the name linker's output: fit the linker first")
    predictor.consistency = None
    # the candidates as the stage meets them in `TypePredictor.candidates` (before TypeScript's compiler filter)
    raw = predictor.candidates([r.input for r in held], [r.names for r in held], [r.package for r in held],
                               batch_size=batch_size, consistency=False, keep=KEEP)
    keys = [namesake_key(r.package, r.input) for r in held]
    stage = fit([[(canonical(c.type, r.language), c.score) for c in cands] for r, cands in zip(held, raw)], keys,
                [canonical(r.target, r.language) for r in held])
    stage.save(predictor.model_dir)
    predictor.consistency = stage
    info = dict(stage.info, weights=[round(w, 4) for w in stage.weights])
    if log is not None:
        log(f"consistency: fitted on {len(held)} sites: {info}")
    return info


def fit_engine(predictor: TypePredictor, held: Sequence[Record], batch_size: int = 64,
               log: Any = None) -> dict[str, Any]:
    """Fit the engine stage (`model/engine_stage.py`) on the consistency stage's output over `held` (records of
    packages the T5 never trained on, each with the engine's type, `Record.engine`) and save it beside the model;
    returns its figures. Calibration must follow, on other records."""
    from typetool.model.consistency import KEEP
    from typetool.model.engine_stage import fit

    predictor.engine_stage = None
    raw = predictor.candidates([r.input for r in held], [r.names for r in held], [r.package for r in held],
                               batch_size=batch_size, keep=KEEP)
    ranked: list[list[tuple[str, float]]] = []
    engines: list[str | None] = []
    for r, cands in zip(held, raw):  # the stage's input as prediction builds it
        e, _, model_ranked = predictor.engine_input(cands, r.engine or None, r.input, r.names, r.kind)
        ranked.append(model_ranked)
        engines.append(e)
    stage = fit(ranked, engines, [r.kind for r in held], [canonical(r.target, r.language) for r in held])
    stage.save(predictor.model_dir)
    predictor.engine_stage = stage
    info = dict(stage.fit_report, weights=[round(w, 4) for w in stage.weights])
    if log is not None:
        log(f"engine stage: fitted on {len(held)} sites: {info}")
    return info


def live_records(paths: Sequence[Path], code_imports_only: bool = True, engine: bool = True,
                 baselines: frozenset[str] = frozenset(), project: Workspace | None = None
                 ) -> list[tuple[str, list[Record], dict[str, list[list[str]]]]]:
    """The labelled records of annotated code under `paths` (each PATH a package when there are several), per
    language present in registry order (none present: the default language, no records): (language key,
    records, the baselines' answers), with the engine's type in each record when `engine` (the language's
    checker engine on the stripped code, for the engine stage). `project`: `paths` already loaded."""
    from typetool.pipeline import load_project

    project = project if project is not None else load_project(paths)
    roots = [(relpath_for(p, Path.cwd()), p.name or str(p)) for p in paths] if len(paths) > 1 else []
    wanted = baselines | ({"engine"} if engine else frozenset())
    present = [lang for lang in languages() if (part := project.part(lang.key)) is not None and part.modules]
    out: list[tuple[str, list[Record], dict[str, list[list[str]]]]] = []
    for lang in present or [default_language()]:
        sites = lang.labelled(project.part(lang.key), paths, code_imports_only, wanted)
        found: list[str | None] = sites.engine or [None] * len(sites.labels)
        out.append((lang.key, [Record(render_slice(s), tuple(s.scope_names), label, s.slot.kind.value, s.slot.id,
                                      _package_of(s.slot.file, roots), e or "")
                               for s, label, e in zip(sites.slices, sites.labels, found)], sites.baselines))
    return out


CALIBRATION_FEATURES = ("margin", "engine")
"""The calibrator's features beyond log p and the type prior (`calibration.fit`). Chosen on the dev-eval (Python,
parameters and returns, strict). Before the engine stage (issue 18's note): the margin alone gave the lowest ECE
(0.070, against 0.076 with no feature, 0.092 with the kind offsets, 0.084 with both) and the most sites above 0.9.
With the engine stage (issue 20): an offset per engine key (`predictions.engine_key`: the checker engine gave no
type, this type, or another) beside the margin took dev ECE from 0.071 to 0.040 and Brier from 0.162 to 0.142, and
the written guarantee at epsilon 0.1 from 18.5% written (8.3% of it wrong, worst package 35.1%) to 20.1% (7.4%,
worst 21.3%); at epsilon 0.05 the margin alone wrote nothing."""


def calibrate(predictor: TypePredictor, records: Sequence[Record], batch_size: int = 64,
              packages: Sequence[str] = (), features: Sequence[str] = CALIBRATION_FEATURES) -> dict[str, Any]:
    """Fit the confidence calibrator and the PAC calibration data on held-out calibration packages; write
    calibration.json into the model directory and return it."""
    predictor.calibration = None  # raw scores while fitting
    predictor.__dict__.pop("calibrator", None)
    outputs = run_model(predictor, records, batch_size)
    _, type_counts = load_priors(predictor.model_dir)
    top_types = [r[0] if r else "" for r in outputs.ranked]
    top_logp = [lp[0] if lp else -50.0 for lp in outputs.logps]
    correct = [int(bool(t) and t == canonical(r.target, r.language)) for t, r in zip(top_types, records)]
    priors = predictor.prior_logp([t or "None" for t in top_types])
    top_margin = [margins(lp)[0] if lp else 0.0 for lp in outputs.logps]
    if "engine" in features:  # the offsets are per engine key then (`predictions.engine_key`), not per kind
        kinds = [engine_key(t, canonical(r.engine, r.language) if r.engine else None)
                 for t, r in zip(top_types, records)]
    else:
        kinds = [r.kind for r in records]
    calibrator = fit(top_logp, priors, [type_counts.get(t, 0) for t in top_types], correct,
                     margin=top_margin if "margin" in features else None,
                     kinds=kinds if "kind" in features or "engine" in features else None)
    before = reliability([math.exp(v) for v in top_logp], correct)
    confidences = [calibrator.prob(a, b, type_counts.get(t, 0), m, k)
                   for a, b, t, m, k in zip(top_logp, priors, top_types, top_margin, kinds)]
    after = reliability(confidences, correct)
    # what the nested sets do along the tau grid at each site, beside its calibrated confidence: the write
    # rules of the guarantee on written annotations are chosen from these (`typetool.selective`)
    stats = [site_stats(nc, _truth(r.target, r.language), conf if ranked else 0.0, r.kind)
             for nc, r, conf, ranked in zip(outputs.costs, records, confidences, outputs.ranked)]
    firsts = [s.first_covering for s in stats]  # what `first_covering` gives, without the sets a second time
    data: dict[str, Any] = {
        "confidence": calibrator.to_json(),
        "features": list(features),
        "pac": {"taus": list(TAU_GRID), "max_holes": DEFAULT_MAX_HOLES, "first_covering": firsts,
                "n": len(records), "packages": sorted(set(packages))},
        "selective": stats_to_json(stats),
        "fit": {"n": len(records), "top1_accuracy": sum(correct) / max(len(correct), 1),
                "ece_before": before.ece, "ece_after": after.ece, "brier_before": before.brier,
                "brier_after": after.brier},
    }
    (predictor.model_dir / "calibration.json").write_text(json.dumps(data) + "\n", encoding="utf-8")
    predictor.calibration = data
    predictor.__dict__.pop("calibrator", None)
    predictor.reset_thresholds()
    return data


@dataclass
class PacRow:
    """What the prediction sets write at one epsilon, over the parameter and return sites: `miscoverage` over all
    of them (a site left alone is covered); `written` the share where something is written (a full type or one
    with holes) and `wrong_written` the share of those whose written type misses the true type (the `written`
    guarantee bounds it); per package as well (`packages`: name -> (written, wrong_written, sites)), with their
    mean (`macro_*`) and the worst package."""

    epsilon: float
    delta: float
    tau: float | None  # the marginal guarantee's tau; under the written guarantee, the parameters' rule's tau
    miscoverage: float
    hole_fraction: float
    written_exact: float  # exact match of the written type (a type with holes is not exact), over all sites
    written_full: float  # share of sites written without holes
    written_partial: float
    left_alone: float
    guarantee: str = "sites"
    written: float = 0.0
    wrong_written: float = 0.0
    macro_written: float = 0.0
    macro_wrong_written: float = 0.0
    max_wrong_written: float = 0.0
    packages: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    rules: dict[str, dict[str, float | int] | None] = field(default_factory=dict)


@dataclass
class EvaluationResult:
    report: Report
    pac: list[PacRow]
    calibration_before: Reliability | None
    calibration_after: Reliability | None
    n_sites: int
    diagnostics: list[Diagnostic] = field(default_factory=list)
    heuristic_only_gain: float | None = None
    language: str = "py"
    pac_alternative: list[PacRow] = field(default_factory=list)  # the same under the other guarantee

    def as_json(self) -> dict[str, Any]:
        return {
            "language": by_key(self.language).name,
            "n": self.n_sites,
            "metrics": self.report.as_json(),  # micro: over all sites
            "packages": {name: report.as_json() for name, report in sorted(self.report.packages.items())},
            "macro": self.report.macro(),  # each rate's mean over the packages
            "pac": [vars(p) for p in self.pac],
            "pac_alternative": [vars(p) for p in self.pac_alternative],
            "calibration": {
                name: {"ece": r.ece, "brier": r.brier, "n": r.n}
                for name, r in (("raw", self.calibration_before), ("calibrated", self.calibration_after))
                if r is not None},
        }

    def text(self) -> str:
        lines = [f"{by_key(self.language).name}: {self.n_sites} annotated sites", ""]
        n_packages = len(self.report.packages)
        if n_packages > 1:
            lines += [f"macro (each rate averaged over {n_packages} packages):", self.report.macro_table(), "",
                      "micro (over all sites):"]
        lines += [self.report.table(), ""]
        if n_packages > 1:
            lines += ["per package (param+return):", self.report.package_table(), ""]
        for rows in (self.pac, self.pac_alternative):
            if rows:
                lines += pac_table(rows)
        for name, r in (("raw", self.calibration_before), ("calibrated", self.calibration_after)):
            if r is not None:
                lines.append(f"confidence ({name}): ECE {r.ece:.3f}  Brier {r.brier:.3f}  n {r.n}")
        return "\n".join(lines)


def pac_table(rows: Sequence[PacRow]) -> list[str]:
    """`PacRow`s (one guarantee, several epsilons) as text lines, with the per-package written and wrong shares."""
    lines = [f"prediction sets on parameter and return sites, guarantee: {rows[0].guarantee} "
             "(wrong/written: share of the written annotations that miss the true type)",
             f"{'epsilon':>8} {'delta':>6} {'written':>8} {'wrong/written':>14} {'macro written':>14} "
             f"{'macro wrong':>12} {'worst pkg':>10} {'miscov':>7} {'holes':>6} {'exact':>6} {'full':>6} "
             f"{'partial':>8}"]
    for p in rows:
        lines.append(f"{p.epsilon:8.2f} {p.delta:6.2f} {100 * p.written:7.1f}% {100 * p.wrong_written:13.1f}% "
                     f"{100 * p.macro_written:13.1f}% {100 * p.macro_wrong_written:11.1f}% "
                     f"{100 * p.max_wrong_written:9.1f}% {100 * p.miscoverage:6.1f}% "
                     f"{100 * p.hole_fraction:5.1f}% {100 * p.written_exact:5.1f}% "
                     f"{100 * p.written_full:5.1f}% {100 * p.written_partial:7.1f}%")
    lines.append("")
    if len(rows[0].packages) > 1:
        lines.append("written / wrong among written, per package, at each epsilon:")
        for name in rows[0].packages:
            cells = "  ".join(f"{100 * p.packages[name][0]:5.1f}% / {100 * p.packages[name][1]:4.1f}%"
                              for p in rows if name in p.packages)
            lines.append(f"  {name:<28} {cells}")
        lines.append("")
    return lines


def evaluate_records(predictor: TypePredictor, records: Sequence[Record], batch_size: int = 64,
                     extra: dict[str, list[list[str]]] | None = None,
                     epsilons: Sequence[float] = EPSILONS, delta: float = 0.1,
                     language: str | None = None) -> EvaluationResult:
    """Score the model (and the `extra` predictors' ranked answers) on `records`, all of one language
    (`language`: its key; default: read from the first record's input)."""
    outputs = run_model(predictor, records, batch_size)
    priors_by_kind, type_counts = load_priors(predictor.model_dir)
    common = common_type_names(type_counts)
    rep = Report()
    golds = [canonical(r.target, r.language) for r in records]

    kinds = [r.kind for r in records]
    if language is None:
        language = records[0].language if records else default_language().key
    packages = [r.package for r in records]
    for kind, gold, ranked, package in zip(kinds, golds, outputs.ranked, packages):
        rep.add("model", kind, gold, ranked, common, language, package)
    for kind, gold, package in zip(kinds, golds, packages):
        mf = priors_by_kind.get(kind)
        rep.add("most-frequent", kind, gold, [mf] if mf else [], common, language, package)
    for name, preds in (extra or {}).items():
        for kind, gold, ranked, package in zip(kinds, golds, preds, packages):
            rep.add(name, kind, gold, ranked, common, language, package)
    pac_rows: list[PacRow] = []
    alternative: list[PacRow] = []
    if predictor.calibration is not None:
        other = copy.copy(predictor)
        other.guarantee = next(g for g in GUARANTEES if g != predictor.guarantee)
        for eps in epsilons:
            pac_rows.append(pac_row(outputs, records, golds, eps, delta, predictor))
            alternative.append(pac_row(outputs, records, golds, eps, delta, other))
        if alternative[0].guarantee == pac_rows[0].guarantee:  # a calibration.json without per-site statistics
            alternative = []
    before = after = None
    if outputs.ranked:
        correct = [int(bool(r) and r[0] == g) for r, g in zip(outputs.ranked, golds)]
        before = reliability([math.exp(lp[0]) if lp else 0.0 for lp in outputs.logps], correct)
        if predictor.calibrated:
            after = reliability([c[0] if c else 0.0 for c in outputs.confidences], correct)
    return EvaluationResult(rep, pac_rows, before, after, len(records), language=language,
                            pac_alternative=alternative)


PAC_KINDS = ("param", "return")


def pac_row(outputs: ModelOutputs, records: Sequence[Record], golds: Sequence[str], eps: float, delta: float,
            predictor: TypePredictor) -> PacRow:
    """What `predictor`'s guarantee writes at `eps`, `delta` on the parameter and return sites of `records`, as
    prediction decides it (`TypePredictor._one`): under the written guarantee, a site is written when its top-1
    confidence reaches its kind's rule's floor and the set at the rule's tau is not the whole hole."""
    view = copy.copy(predictor)
    view.epsilon, view.delta = eps, delta
    view.reset_thresholds()
    rules = view.rules
    idx = [i for i, r in enumerate(records) if r.kind in PAC_KINDS]
    n = len(idx)
    rule_json = ({name: (rule.to_json() if rule is not None else None) for name, rule in rules.items()}
                 if rules is not None else {})
    row_tau = view.write_threshold("param")[0]
    if n == 0 or (rules is None and view.tau is None):
        return PacRow(eps, delta, row_tau, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, view.guarantee_in_force,
                      rules=rule_json)
    misses = holes_nodes = total_nodes = exact = full = part = none = wrong = 0
    per: dict[str, list[int]] = {}  # package -> [sites, written, wrong]
    from typetool.typeexpr import contains

    for i in idx:
        nc, r, gold = outputs.costs[i], records[i], golds[i]
        counts = per.setdefault(r.package, [0, 0, 0])
        counts[0] += 1
        truth = _truth(r.target, r.language)
        norm = normalizer(r.language)
        tau, floor = view.write_threshold(r.kind)
        conf = outputs.confidences[i][0] if outputs.confidences[i] else 0.0
        if nc is None or tau is None or conf < floor:
            none += 1
            if nc is None or truth is None:
                misses += 1  # as before: a site with no candidate or no readable truth counts against coverage
            continue
        pt = prediction_set(nc, tau, TAU_GRID)
        total_nodes += size(nc.tree)
        kept = 0 if pt.name == "?" else size(pt) - hole_count(pt)
        holes_nodes += size(nc.tree) - kept
        covered = truth is not None and contains(norm(pt) if pt.name != "?" else pt, truth)
        if not covered:
            misses += 1
        if pt.name == "?":
            none += 1
            continue
        counts[1] += 1
        if not covered:
            wrong += 1
            counts[2] += 1
        if hole_count(pt):
            part += 1
        else:
            full += 1
            exact += to_str(norm(pt)) == gold
    written = full + part
    packages = {name: (c[1] / c[0], c[2] / c[1] if c[1] else 0.0, c[0]) for name, c in sorted(per.items())}
    return PacRow(eps, delta, row_tau, misses / n, holes_nodes / max(total_nodes, 1), exact / n, full / n, part / n,
                  none / n, view.guarantee_in_force, written / n, wrong / written if written else 0.0,
                  sum(v[0] for v in packages.values()) / len(packages),
                  sum(v[1] for v in packages.values()) / len(packages), max(v[1] for v in packages.values()), packages,
                  rule_json)


def run_evaluation(paths: Sequence[Path], predictor: TypePredictor, batch_size: int = 64,
                   autotyping: bool = False, report_dir: Path | None = None, tsc: bool = False,
                   code_imports_only: bool = False) -> EvaluationResult:
    """`typetool evaluate PATH...` on one language (the first present: Python, else TypeScript)."""
    return run_evaluations(paths, predictor, batch_size, autotyping, report_dir, tsc, code_imports_only)[0]


def run_evaluations(paths: Sequence[Path], predictor: TypePredictor, batch_size: int = 64,
                    autotyping: bool = False, report_dir: Path | None = None, tsc: bool = False,
                    code_imports_only: bool = False, baselines: frozenset[str] = frozenset(),
                    engine: bool = True) -> list[EvaluationResult]:
    """`typetool evaluate PATH...`: live strip-and-recover on annotated code, one result per language present
    (in registry order; with no annotated code, one empty result of the default language), each by the model of
    its language, beside the language's heuristic and the baselines asked for by name (`baselines`, each
    language running those of its `Language.baselines`; `autotyping` adds Python's autotyping, `tsc` TypeScript's
    compiler inferFromUsage). `code_imports_only`: Python scope names leave out imports used only by
    annotations (the stricter protocol, `Slicer`)."""
    from typetool.pipeline import load_project

    project = load_project(paths)
    wanted = baselines | {name for name, on in (("autotyping", autotyping), ("tsc-infer", tsc)) if on}
    results = [evaluate_records(predictor.for_language(key), records, batch_size, answers, language=key)
               for key, records, answers in live_records(paths, code_imports_only, engine, wanted, project)]
    diagnostics = list(project.diagnostics)
    for i, result in enumerate(results):
        result.diagnostics = diagnostics
        if report_dir is not None:
            write_report(result, report_dir if i == 0 else report_dir / by_key(result.language).name.lower())
    return results


def _package_of(relpath: str, roots: Sequence[tuple[str, str]]) -> str:
    """The package of a file in a live evaluation: the named path it lies under (each PATH a package), or ""."""
    for root, name in roots:
        if relpath == root or relpath.startswith(root.rstrip("/") + "/"):
            return name
    return ""


def write_report(result: EvaluationResult, report_dir: Path) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "report.json").write_text(json.dumps(result.as_json(), indent=1) + "\n", encoding="utf-8")
    curves = {name: r for name, r in (("raw sequence probability", result.calibration_before),
                                      ("calibrated", result.calibration_after)) if r is not None}
    if curves:
        (report_dir / "reliability.html").write_text(reliability_html(curves, "typetool: reliability of top-1 "
                                                                      "confidence"), encoding="utf-8")

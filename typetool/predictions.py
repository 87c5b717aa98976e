"""Stage 4, predictions: usage slices in, ranked types with calibrated confidence and a PAC partial type out.

Does: runs the shipped model (`typetool.model`) batched over rendered slices with their in-scope names,
re-scores each slot by its namesakes in the same run (`model/consistency.py`, when the model ships that stage
and the caller asks for it), normalizes the candidates, turns sequence log-probs into calibrated probabilities (`calibration`, using
log p(t | empty context) as the type-prior feature, cached per type), and builds the prediction set of the
top-1 type at the configured epsilon/delta (`predsets`), and decides what may be written under the guarantee in
force (`GUARANTEES`): by default a write rule per group of site kinds (`typetool.selective`: a confidence floor
and a tau, chosen from the calibration sites stored in the model directory so that at most epsilon of what is
written misses the true type), or the marginal guarantee (tau alone: at most epsilon of all sites uncovered).
A model directory without calibration.json gives raw probabilities and full types, and says so.
Does not: parse or slice (earlier stages) or write files (`writeback`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typetool.calibration import Calibrator, margins
from typetool.languages import by_key
from typetool.predfile import PredictionRecord
from typetool.predsets import DEFAULT_MAX_HOLES, TAU_GRID, NodeCosts, choose_tau, node_costs, prediction_set
from typetool.selective import ALL_KINDS, WriteRule, choose_rules, kind_group, stats_from_json
from typetool.settings import GUARANTEES
from typetool.slices import UsageSlice, render_slice
from typetool.slots import Annotation, Slot
from typetool.typeexpr import TypeNode, hole_count, parse_type, to_str

if TYPE_CHECKING:
    from typetool.model.consistency import Consistency, Key
    from typetool.model.decoder import Candidate
    from typetool.model.engine_stage import EngineStage
    from typetool.predcache import PredictionCache

# The shipped models live in two places: inside the installed package (a wheel force-includes the repository's
# models/<name> as typetool/models/<name>, see pyproject.toml), and in the repository's models/ (a source
# checkout or an editable install, whose package directory has no models/). `ship-model` writes to the latter.
PACKAGE_MODELS_DIR = Path(__file__).resolve().parent / "models"
REPO_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def default_model_dir(language: str = "py") -> Path:
    """The shipped model for a language (its key; `Language.default_model`, e.g. `typetool-py-compact`): in the
    installed package (`typetool/models/`) if it is there, else in the repository's `models/`. When neither
    has it, the path where this installation should have it (the package's, unless typetool runs from a
    source checkout), so that the "no model at ..." error (`ModelNotFound`) names a useful place."""
    from typetool.languages import by_key

    name = by_key(language).default_model
    for base in (PACKAGE_MODELS_DIR, REPO_MODELS_DIR):
        if (base / name).is_dir():
            return base / name
    checkout = (REPO_MODELS_DIR.parent / "pyproject.toml").is_file()
    return (REPO_MODELS_DIR if checkout else PACKAGE_MODELS_DIR) / name


def model_language(model_dir: Path) -> str:
    """The key of the language a model was trained on, from its card (a model without one, or of a language
    not registered, is the default language's: Python)."""
    from typetool.languages import default_language, languages

    card = model_dir / "card.json"
    lang = json.loads(card.read_text(encoding="utf-8")).get("language") if card.is_file() else None
    return lang if lang in {language.key for language in languages()} else default_language().key


def normalizer(language: str) -> Callable[[TypeNode], TypeNode]:
    """The evaluation normal form of a language: Python's (typing aliases to builtins, ...) or TypeScript's
    (`Set` stays `Set`, `null`/`undefined` last in unions)."""
    from typetool.languages import by_key

    return by_key(language).normalize


@dataclass(frozen=True, slots=True)
class Scored:
    type: str
    logp: float  # sequence log-probability under the constrained decoder
    confidence: float  # calibrated probability that this is the annotation


@dataclass(frozen=True, slots=True)
class Prediction:
    """What typetool knows about one slot."""

    slot: Slot
    candidates: tuple[Scored, ...]
    partial: str | None  # the prediction set as a partial type (`?` holes); None: nothing to write
    holes: int
    confidence: float  # calibrated probability of the top-1 full type
    evidence: tuple[str, ...]  # a few lines of the slice, for hovers and reports
    # the top-1 type's per-node costs (calibrated models only), so that a front end can build the prediction
    # set at another epsilon without decoding again (`typetool check --verify`)
    costs: NodeCosts | None = field(default=None, repr=False, compare=False)

    @property
    def language(self) -> str:
        from typetool.languages import key_of

        return key_of(self.slot.file)

    def shown(self, t: str | None) -> str | None:
        """A type of this prediction as the user reads it: TypeScript syntax for TypeScript slots (`string[]`,
        holes `?`), the bracket form otherwise."""
        return display_type(t, self.language) if t is not None else None

    @property
    def status(self) -> str:
        if self.partial is None:
            return "none"
        return "partial" if self.holes else "full"

    def record(self) -> PredictionRecord | None:
        """This prediction as a predictions-file record (what `apply` writes), None when nothing is to be
        written; the same as its `to_json` read back by `typetool.predfile`."""
        if self.partial is None:
            return None
        s = self.slot
        return PredictionRecord(id=s.id, file=s.file, type=self.partial, kind=s.kind.value, scope=s.scope,
                                name=s.name, line=s.line, column=s.column, confidence=round(self.confidence, 4))

    def to_json(self) -> dict[str, object]:
        s = self.slot
        return {
            "id": s.id, "file": s.file, "line": s.line, "column": s.column, "kind": s.kind.value,
            "scope": s.scope, "name": s.name, "annotation": s.annotation,
            "type": self.partial, "confidence": round(self.confidence, 4), "status": self.status,
            "candidates": [{"type": c.type, "logp": round(c.logp, 4), "confidence": round(c.confidence, 4)}
                           for c in self.candidates],
        }


KIND_GROUPS: tuple[tuple[str, ...], ...] = (("param",), ("return",), ("variable", "attribute"))
"""The groups of site kinds that get a write rule each under the `written` guarantee (delta split among them), so
the bound holds for each group, not only on average over kinds."""


class ModelNotFound(Exception):
    """No usable model: none at the path, or its files cannot be loaded."""


class TypePredictor:
    """The shipped model with its calibration; `predict` turns slices into `Prediction`s."""

    consistency: Consistency | None  # the consistency stage the model ships (`model/consistency.py`), if any
    engine_stage: EngineStage | None  # the engine stage it ships (`model/engine_stage.py`), if any

    def __init__(self, model_dir: Path | None = None, device: str = "cpu", epsilon: float = 0.1,
                 delta: float = 0.1, language: str | None = None, precision: str = "fp32",
                 guarantee: str = "written") -> None:
        if guarantee not in GUARANTEES:
            raise ValueError(f"guarantee must be one of {', '.join(GUARANTEES)}, not {guarantee!r}")
        self.model_dir = model_dir if model_dir is not None else default_model_dir(language or "py")
        if not (self.model_dir / "model.safetensors").is_file():
            raise ModelNotFound(f"no model at {self.model_dir} (expected model.safetensors, tokenizer.json, "
                                f"config.json); pass --model DIR")
        from safetensors import SafetensorError

        from typetool.model import load_model
        from typetool.model.consistency import Consistency
        from typetool.model.engine_stage import EngineStage
        from typetool.settings import check_precision

        check_precision(precision)  # before loading: a ValueError there reads as a damaged model
        self.language = model_language(self.model_dir)
        try:
            self.predictor = load_model(self.model_dir, device, precision)
            self.consistency = Consistency.load(self.model_dir)
            self.engine_stage = EngineStage.load(self.model_dir)
            if self.consistency is not None and self.predictor.linker is None:
                raise ValueError("consistency.json is fitted on the name linker's output, and linker.safetensors "
                                 "is missing")
        except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:  # a damaged or stale file
            raise ModelNotFound(f"the model at {self.model_dir} cannot be loaded ({type(exc).__name__}: {exc}); "
                                "re-ship it, or pass another --model DIR") from exc
        self.predictor.canonical = canonical  # the linker merges candidates as evaluation compares them
        self.device = device
        self.precision = precision
        self.epsilon = epsilon
        self.delta = delta
        self.guarantee = guarantee
        self.use_engine = True  # run the languages' checker engines for the engine stage (`--no-engine`: off)
        self._others: dict[str, TypePredictor] = {}
        self._prior_cache: dict[str, float] = {}
        self._memo: dict[tuple[str, tuple[str, ...], int, int], list[Candidate]] | None = None
        self.store: PredictionCache | None = None  # the prediction cache on disk, when a front end opened one
        cal_path = self.model_dir / "calibration.json"
        self.calibration: dict[str, Any] | None = (
            json.loads(cal_path.read_text(encoding="utf-8")) if cal_path.is_file() else None)
        priors = self.model_dir / "type_priors.json"
        source = priors if priors.is_file() else self.model_dir / "type_vocab.json"
        data = json.loads(source.read_text(encoding="utf-8"))
        # training counts of whole type strings: calibration buckets by type frequency
        self.type_counts: dict[str, int] = {str(k): int(v) for k, v in
                                            (data.get("type_counts") or data.get("types") or {}).items()}

    @cached_property
    def fingerprint(self) -> str:
        """What this model's candidates depend on (`predcache.model_fingerprint`): the key of its cache entries."""
        from typetool.predcache import model_fingerprint

        return model_fingerprint(self.model_dir, self.device, self.precision)

    def use_cache(self, store: PredictionCache | None) -> None:
        """Read and write the model's candidates through `store` (None: no cache), for this predictor and those
        of the other languages."""
        self.store = store
        for other in self._others.values():
            other.store = store

    @cached_property
    def calibrator(self) -> Calibrator | None:
        if self.calibration is None:
            return None
        return Calibrator.from_json(self.calibration["confidence"])

    @cached_property
    def tau(self) -> float | None:
        """tau for (epsilon, delta) from the calibration sites' first covering indices; None: uncalibrated,
        or too few calibration sites for this epsilon and delta (then nothing is written)."""
        if self.calibration is None:
            return None
        pac = self.calibration["pac"]
        cal = choose_tau(pac["first_covering"], self.epsilon, self.delta, tuple(pac["taus"]))
        return cal.tau if cal is not None else None

    @cached_property
    def rules(self) -> dict[str, WriteRule | None] | None:
        """The write rule of each group of site kinds (`KIND_GROUPS`, `selective.ALL_KINDS` for the others) at this
        epsilon and delta under the `written` guarantee; a None rule: no rule passes, nothing of that group is
        written. None: the marginal guarantee is in force (`guarantee="sites"`, or a calibration.json made before
        the write rules, which has no per-site statistics)."""
        if self.guarantee != "written" or self.calibration is None or "selective" not in self.calibration:
            return None
        stats = stats_from_json(self.calibration["selective"])
        taus = tuple(self.calibration["pac"].get("taus", TAU_GRID))
        return choose_rules(stats, self.epsilon, self.delta, KIND_GROUPS, taus)

    def write_threshold(self, kind: str) -> tuple[float | None, float]:
        """(tau, confidence floor) under which a site of `kind` is written: its kind's write rule under the written
        guarantee, tau alone (floor 0) under the marginal one; tau None: nothing of that kind is written."""
        if self.rules is None:
            return self.tau, 0.0
        rule = self.rule_for(kind)
        return (rule.tau, rule.min_confidence) if rule is not None else (None, 0.0)

    def rule_for(self, kind: str) -> WriteRule | None:
        rules = self.rules or {}
        name = kind_group(kind, KIND_GROUPS)
        return rules.get(name) if name in rules else rules.get(ALL_KINDS)

    @property
    def guarantee_in_force(self) -> str:
        """The guarantee predictions are made under: "written", "sites", or "none" (no calibration)."""
        if self.calibration is None:
            return "none"
        return "written" if self.rules is not None else "sites"

    def guarantee_sentence(self) -> str:
        """The guarantee predictions are made under, in one plain sentence, with the calibration sample it rests on."""
        eps, conf = f"{100 * self.epsilon:g}%", f"{100 * (1 - self.delta):g}%"
        cal = self.calibration
        if cal is None:
            return ("No guarantee: this model has no calibration.json, so its confidences are raw probabilities and "
                    "its types are written whole.")
        pac = cal.get("pac", {})
        packages = list(pac.get("packages", []))
        sample = (f"{int(pac.get('n', 0)):,} sites of {len(packages)} package{'s' if len(packages) != 1 else ''} "
                  "it never trained on"
                  + (f": {', '.join(packages[:6])}{', ...' if len(packages) > 6 else ''}" if packages else ""))
        if self.rules is not None:
            names = {"param": "parameters", "return": "returns", "variable+attribute": "variables and attributes"}
            silent = [names.get(name, name) for name, rule in self.rules.items()
                      if rule is None and name != ALL_KINDS]
            return (f"Guarantee: at most {eps} of the annotations written miss the true type, for parameters, "
                    f"returns, and variables and attributes each, with probability {conf} over the calibration "
                    f"sample ({sample})."
                    + (f" At this epsilon no write rule passes for {' or '.join(silent)}: none of them is written."
                       if silent else ""))
        why = "" if self.guarantee == "sites" else " (this calibration.json predates the written guarantee)"
        return (f"Guarantee (marginal{why}): the written types, holes included, cover the true type at all but "
                f"{eps} of all sites, a site left alone counting as covered, with probability {conf} over the "
                f"calibration sample ({sample}).")

    def reset_thresholds(self) -> None:
        """Forget the thresholds derived from epsilon and delta (after changing them)."""
        self.__dict__.pop("tau", None)
        self.__dict__.pop("rules", None)

    @property
    def calibrated(self) -> bool:
        return self.calibration is not None

    def prefetch_priors(self, raw_types: Iterable[str]) -> None:
        """Score the type priors of many candidates (raw type strings) in one batched pass, ahead of
        `confidences` (which would score each prediction's missing ones apart); only when calibrated."""
        if self.calibrator is not None:
            self.prior_logp(list(dict.fromkeys(canonical(t, self.language) for t in raw_types)))

    def prior_logp(self, types: Sequence[str]) -> list[float]:
        missing = [t for t in dict.fromkeys(types) if t not in self._prior_cache]
        if missing:
            scores = self.predictor.score([f"<{self.language}>"] * len(missing), missing)
            for t, s in zip(missing, scores):
                self._prior_cache[t] = s if math.isfinite(s) else -50.0
        return [self._prior_cache[t] for t in types]

    def confidences(self, types: Sequence[str], logps: Sequence[float], kind: str = "",
                    engine: str | None = None) -> list[float]:
        """The calibrated probability that each candidate is the type, from its log-probability, its prior, its
        margin over the best other candidate, and the site's `kind` or, when the calibration was fitted with the
        engine feature, whether the checker engine's type at the site (`engine`) is the candidate
        (`calibration.Calibrator`, `engine_key`)."""
        cal = self.calibrator
        if cal is None:
            return [math.exp(lp) for lp in logps]
        priors = self.prior_logp(types)
        with_engine = "engine" in (self.calibration or {}).get("features", ())
        e = canonical(engine, self.language) if engine else None
        return [cal.prob(lp, pr, self.type_counts.get(t, 0), m, engine_key(t, e) if with_engine else kind)
                for t, lp, pr, m in zip(types, logps, priors, margins(logps))]

    @contextmanager
    def remembering(self) -> Iterator[None]:
        """Within the block, the search and linker's candidates of a slice (its rendered text and scope names)
        are computed once and remembered (for this predictor and those of the other languages): a run that
        predicts its project again after its own writes (`pipeline.annotate`) runs the model only on the slices
        those writes changed. The consistency stage still runs over the whole run each time."""
        if self._memo is not None:  # nested: the outer block owns the memo
            yield
            return
        self._memo = {}
        for other in self._others.values():
            other._memo = {}
        try:
            yield
        finally:
            self._memo = None
            for other in self._others.values():
                other._memo = None

    def for_language(self, language: str) -> TypePredictor:
        """The predictor for slices of `language`: this one, or the shipped model of that language (loaded once,
        with the same device, epsilon, delta and precision). Raises ModelNotFound when there is none."""
        if language == self.language:
            return self
        other = self._others.get(language)
        if other is None:
            other = self._others[language] = TypePredictor(None, self.device, self.epsilon, self.delta, language,
                                                           self.precision, self.guarantee)
            if self._memo is not None:
                other._memo = {}
            other.store = self.store
            other.use_engine = self.use_engine
        return other

    def predict(self, slices: Sequence[UsageSlice], top_k: int = 5, batch_size: int = 64,
                progress: Callable[[int], None] | None = None, consistency: bool = True,
                annotated: Sequence[Annotation] = (), engine: Mapping[str, str] | None = None) -> list[Prediction]:
        """Predictions in the order of `slices`; each slice goes to the model of its language. `consistency`:
        re-score each slot by its namesakes among `slices` and `annotated` (the run's annotated parameters and
        returns, `pipeline.annotated_slots`) (`model/consistency.py`), so the slices should be a whole run (a
        project, the files a hook was given), not an arbitrary few. `engine`: the checker engine's inferred type
        by slot id (`Language.engine_types`), for the engine stage."""
        languages = {s.language for s in slices}
        if languages - {self.language}:
            results: dict[int, Prediction] = {}
            for lang in sorted(languages):
                idx = [i for i, s in enumerate(slices) if s.language == lang]
                preds = self.for_language(lang)._predict([slices[i] for i in idx], top_k, batch_size, progress,
                                                         consistency, annotated, engine)
                results.update(zip(idx, preds))
            return [results[i] for i in range(len(slices))]
        return self._predict(slices, top_k, batch_size, progress, consistency, annotated, engine)

    def candidates(self, texts: Sequence[str], scopes: Sequence[Sequence[str]], groups: Sequence[Hashable],
                   top_k: int = 5, batch_size: int = 64, progress: Callable[[int], None] | None = None,
                   consistency: bool = True, keep: int | None = None,
                   annotated: Sequence[tuple[Key, str]] = (), engine: Sequence[str | None] | None = None,
                   kinds: Sequence[str] | None = None) -> list[list[Candidate]]:
        """The model's candidates for rendered slices `texts` (with their scope names), best first: the search
        and linker (`TypeDecoder.predict`), then, if the model has it and `consistency` is set, the consistency
        stage among slots of the same `groups` entry (a run passes one group; evaluation, each record's
        package) and the `annotated` namesakes ((`consistency.key_of`, canonical type) of annotated slots).
        Last, when the model ships the engine stage and `engine` gives the checker engine's type of each slot
        (None: none; `kinds`, each slot's kind), the engine stage (`model/engine_stage.py`).
        Returns `top_k` per slot, or `keep` (the linker's union, for fitting the stage)."""
        from typetool.model.consistency import KEEP, namesake_key

        stage = self.consistency if consistency else None
        union = keep if keep is not None else (max(top_k, KEEP) if stage is not None else top_k)
        memo = self._memo
        slot_keys = [(t, tuple(s), top_k, union) for t, s in zip(texts, scopes)]
        todo = [i for i, k in enumerate(slot_keys) if memo is None or k not in memo]
        if progress is not None and len(todo) < len(texts):
            progress(len(texts) - len(todo))  # remembered from an earlier round
        found: dict[int, list[Candidate]] = {}
        store = self.store
        if store is not None and todo:  # the prediction cache on disk (`predcache`)
            cached = store.get(self.fingerprint, [slot_keys[i] for i in todo])
            found.update((todo[j], cands) for j, cands in cached.items())
            todo = [i for i in todo if i not in found]
            if progress is not None and cached:
                progress(len(cached))
        step = max(batch_size * 4, 1)
        for start in range(0, len(todo), step):
            idx = todo[start:start + step]
            fresh = self.predictor.predict([texts[i] for i in idx], [list(scopes[i]) for i in idx],
                                           top_k=top_k, batch_size=batch_size, keep=union)
            found.update(zip(idx, fresh))
            if store is not None:
                store.put(self.fingerprint, [(slot_keys[i], cands) for i, cands in zip(idx, fresh)])
            if progress is not None:
                progress(len(idx))
        if memo is None:
            raw = [found[i] for i in range(len(texts))]
        else:
            memo.update((slot_keys[i], cands) for i, cands in found.items())
            raw = [list(memo[k]) for k in slot_keys]
        if stage is not None:  # over the first KEEP candidates, as fitted; any further ones follow unchanged
            from typetool.model.decoder import rescored

            types = [[canonical(c.type, self.language) for c in cands[:KEEP]] for cands in raw]
            ranked = [[(t, c.score) for t, c in zip(ts, cands)] for ts, cands in zip(types, raw)]
            keys = [namesake_key(g, t) for g, t in zip(groups, texts)]
            for i, new in enumerate(stage.rescore(ranked, keys, annotated)):
                if new is not None:
                    by_type: dict[str, Candidate] = {}
                    for t, c in zip(types[i], raw[i]):
                        by_type.setdefault(t, c)  # the best spelling of a type, as the stage dedupes
                    raw[i] = [rescored(by_type[t], score) for t, score in new] + raw[i][KEEP:]
        if self.engine_stage is not None and engine is not None:
            self._engine(raw, texts, scopes, engine, kinds or [""] * len(raw))
        return [cands[:keep if keep is not None else top_k] for cands in raw]

    def engine_usable(self, engine_type: str | None, text: str, scope: Sequence[str], types: Sequence[str],
                      kind: str) -> Candidate | bool:
        """Whether the engine stage can use the engine's type at a slot of `kind` with candidate `types`
        (canonical): False when the language's own rules reject it there (`Language.admits`: Python's `None` for
        a stub body, which the engine reads as returning None); True when it is among the candidates; its
        candidate when the decoding grammar allows it there (its names known or in scope: what the write-back can
        spell); False otherwise (the stage leaves the slot alone)."""
        if not engine_type:
            return False
        lang = by_key(self.language)
        if lang.checks_candidates and not lang.admits(kind, text, engine_type):
            return False
        if engine_type in types:
            return True
        cand = self.predictor.decodable(engine_type, text, list(scope))
        return cand if cand is not None else False

    def engine_input(self, cands: Sequence[Candidate], engine: str | None, text: str, scope: Sequence[str],
                     kind: str) -> tuple[str | None, dict[str, Candidate], list[tuple[str, float]]]:
        """The engine stage's input at one slot, as prediction and `evaluation.fit_engine` both build it: the
        engine's type E (canonical; None when there is none or the stage cannot use it, `engine_usable`), the
        candidates by canonical type (the best spelling of each, and E's own candidate, scored `ABSENT_LOGP`, when
        the model lacks it), and the model's (type, log-prob) list without an absent E (the stage adds it)."""
        from typetool.model.decoder import as_link
        from typetool.model.engine_stage import ABSENT_LOGP

        by_type: dict[str, Candidate] = {}
        for c in cands:
            by_type.setdefault(canonical(c.type, self.language), c)  # the best spelling of each type
        ranked = [(t, c.score) for t, c in by_type.items()]
        e = canonical(engine, self.language) if engine else None
        usable = self.engine_usable(e, text, scope, list(by_type), kind) if e else False
        if usable is False:
            return None, by_type, ranked
        if e is not None and not isinstance(usable, bool):
            by_type[e] = as_link(usable, ABSENT_LOGP)
        return e, by_type, ranked

    def _engine(self, raw: list[list[Candidate]], texts: Sequence[str], scopes: Sequence[Sequence[str]],
                engine: Sequence[str | None], kinds: Sequence[str]) -> None:
        from typetool.model.decoder import rescored

        stage = self.engine_stage
        assert stage is not None
        for i, found in enumerate(engine):
            if not found:
                continue
            e, by_type, ranked = self.engine_input(raw[i], found, texts[i], scopes[i], kinds[i])
            new = stage.rescore(ranked, e, kinds[i])
            if new is not None:
                raw[i] = [rescored(by_type[t], score) for t, score in new]

    def _predict(self, slices: Sequence[UsageSlice], top_k: int, batch_size: int,
                 progress: Callable[[int], None] | None, consistency: bool = True,
                 annotated: Sequence[Annotation] = (), engine: Mapping[str, str] | None = None) -> list[Prediction]:
        from typetool.model.consistency import key_of

        notes = [(k, canonical(" ".join(a.type.split()), self.language))  # a multi-line annotation too
                 for a in (annotated if consistency and self.consistency is not None else ())
                 if a.language == self.language
                 for k in [key_of(0, a.kind, a.name, a.function)] if k is not None]
        raw = self.candidates([render_slice(s) for s in slices], [s.scope_names for s in slices],
                              [0] * len(slices), top_k, batch_size, progress, consistency, annotated=notes,
                              engine=None if engine is None else [engine.get(s.slot.id) for s in slices],
                              kinds=[s.slot.kind.value for s in slices])
        self.prefetch_priors(c.type for cands in raw for c in cands)
        return [self._one(s, cands, engine.get(s.slot.id) if engine else None) for s, cands in zip(slices, raw)]

    def _one(self, s: UsageSlice, cands: Sequence[Any], engine: str | None = None) -> Prediction:
        evidence = tuple(line for line in render_slice(s).split("\n")[1:4])
        lang = by_key(s.language)
        if lang.checks_candidates:  # drop candidates the language's own rules reject (as calibration did)
            text = render_slice(s)
            cands = [c for c in cands if lang.admits(s.slot.kind.value, text, c.type)]
        if not cands:
            return Prediction(s.slot, (), None, 0, 0.0, evidence)
        types = [canonical(c.type, self.language) for c in cands]
        confs = self.confidences(types, [c.score for c in cands], s.slot.kind.value, engine)
        scored = tuple(Scored(t, c.score, p) for t, c, p in zip(types, cands, confs))
        top = cands[0]
        partial: str | None = types[0]
        holes = 0
        nc: NodeCosts | None = None
        if self.calibration is not None:
            try:
                nc = node_costs(top.type, top.token_logprobs, top.offsets)
            except ValueError:
                nc = None
            tau, floor = self.write_threshold(s.slot.kind.value)
            if tau is None or confs[0] < floor:
                partial = None
            else:
                try:
                    pac = self.calibration["pac"]
                    pt = None if nc is None else normalizer(self.language)(
                        prediction_set(nc, tau, tuple(pac["taus"]), int(pac.get("max_holes", DEFAULT_MAX_HOLES))))
                except ValueError:
                    pt = None
                if pt is None or pt.name == "?":
                    partial = None
                else:
                    partial, holes = to_str(pt), hole_count(pt)
        return Prediction(s.slot, scored, partial, holes, confs[0], evidence, nc)


def engine_key(candidate: str, engine: str | None) -> str:
    """The calibration's engine feature of a candidate (`calibration.Calibrator`'s per-key offset): whether the
    checker engine gave the site a type, and whether it is this candidate (both canonical)."""
    if not engine:
        return "engine-none"
    return "engine-agrees" if candidate == engine else "engine-differs"


def display_type(t: str, language: str) -> str:
    """A bracket-form type as the language with key `language` spells it for the user."""
    from typetool.languages import by_key

    return by_key(language).display_type(t)


@lru_cache(maxsize=65536)
def canonical(t: str, language: str = "py") -> str:
    try:
        return to_str(normalizer(language)(parse_type(t)))
    except ValueError:
        return t


"""The pipeline: the only place the stages are chained. Every front end (CLI, pre-commit hook, CI check,
LSP server) calls these functions.

files -> sources -> parse -> project (code property graph) -> slots -> usage slices -> predictor ->
prediction sets -> write-back. Every language goes through the same stages: the pipeline loops over the
languages registered in `typetool.languages` and asks each to load, slice and collect annotation votes from
its own project (`Workspace.parts`); one model per language (chosen by the slice's language tag); write-back
hands each file to its language's writer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from typetool import messages as M
from typetool.diagnostics import Diagnostic, Severity
from typetool.slices import UsageSlice
from typetool.slots import SlotKind
from typetool.sources import DEFAULT_MAX_BYTES
from typetool.workspace import Workspace
from typetool.writeback import (
    FileStatus,
    Predictions,
    ProofMemo,
    RunResult,
    SlotStatus,
    WriteMode,
    WriteOptions,
    apply_predictions,
    write_plan,
)

if TYPE_CHECKING:
    from typetool.predictions import Prediction, TypePredictor
    from typetool.slots import Annotation

ALL_KINDS = frozenset(SlotKind)


@dataclass
class SliceRun:
    """Output of `slice_paths`: the workspace, its slices, and every diagnostic met on the way."""

    project: Workspace
    slices: list[UsageSlice] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.project.diagnostics


def load_project(paths: Sequence[Path], max_bytes: int = DEFAULT_MAX_BYTES, root: Path | None = None) -> Workspace:
    """The files under `paths`, each language's in its own project (`Workspace.parts`, registry order; a
    language only when it has files there or was named a file). A directory goes to every language; a file
    named explicitly to the language whose family it belongs to (a file it never analyses, such as JavaScript
    or a declaration file, gets a note), a file of no known language to the first one, which reports it."""
    from typetool.languages import default_language, language_claiming, languages

    named: dict[str, list[Path]] = {lang.key: [] for lang in languages()}
    explicit: dict[str, bool] = dict.fromkeys(named, False)
    notes: list[Diagnostic] = []
    for p in paths:
        if p.is_dir():
            for key in named:
                named[key].append(p)
            continue
        lang = language_claiming(p.name) or default_language()
        note = lang.note(p.name)
        if note is not None:
            code, message = M.msg(note)
            notes.append(Diagnostic(str(p), code, message, Severity.INFO))
            continue
        named[lang.key].append(p)
        explicit[lang.key] = True
    workspace = Workspace()
    for lang in languages():
        if not named[lang.key]:
            continue
        part = lang.load(named[lang.key], root, max_bytes)
        if part.modules or explicit[lang.key]:
            workspace.parts[lang.key] = part
        # a missing path named for every language is reported once
        workspace.diagnostics.extend(d for d in part.diagnostics if d not in workspace.diagnostics)
    workspace.diagnostics.extend(notes)
    return workspace


def slice_project(project: Workspace, kinds: frozenset[SlotKind] = ALL_KINDS,
                  only_unannotated: bool = False, files: set[str] | None = None) -> list[UsageSlice]:
    """The slices of every language's slots of `kinds` (in `files`, when given), in registry order."""
    from typetool.languages import by_key

    out: list[UsageSlice] = []
    for key, part in project.parts.items():
        out.extend(by_key(key).slices(part, kinds, only_unannotated, files, project.diagnostics))
    return out


def slice_paths(paths: Sequence[Path], kinds: frozenset[SlotKind] = ALL_KINDS, only_unannotated: bool = False,
                max_bytes: int = DEFAULT_MAX_BYTES) -> SliceRun:
    project = load_project(paths, max_bytes=max_bytes)
    return SliceRun(project, slice_project(project, kinds, only_unannotated))


# -- prediction and annotation (the core every front end calls) --------------------------------------------


def annotated_slots(project: Workspace, files: set[str] | None = None) -> list[Annotation]:
    """The parameters and returns annotated in the project's code (every language), without slicing them:
    their types vote for their namesakes' predictions (`model/consistency.py`)."""
    from typetool.languages import by_key

    out: list[Annotation] = []
    for key, part in project.parts.items():
        out.extend(by_key(key).votes(part, _VOTERS, files))
    return out


_VOTERS = frozenset({SlotKind.PARAM, SlotKind.RETURN})


Stage = Callable[[str, "int | None"], None]
"""A front end's progress display: a stage of a long run begins (its label and, when known, how many slots it
predicts; the `progress` callback then counts them)."""


def predict_project(project: Workspace, predictor: TypePredictor, kinds: frozenset[SlotKind] = ALL_KINDS,
                    only_unannotated: bool = True, batch_size: int = 64, files: set[str] | None = None,
                    progress: Callable[[int], None] | None = None, stage: Stage | None = None,
                    label: str = "predicting", top_k: int = 5) -> list[Prediction]:
    """Predict the project's slots as one run: the annotated parameters and returns vote for their namesakes."""
    if stage is not None:
        stage("slicing", None)
    slices = slice_project(project, kinds, only_unannotated, files)
    if stage is not None:
        stage(label, len(slices))
    notes = annotated_slots(project, files) if only_unannotated and predictor.consistency is not None else []
    engine = engine_types(project, predictor, stage)
    return predictor.predict(slices, top_k=top_k, batch_size=batch_size, progress=progress, annotated=notes,
                             engine=engine)


def engine_types(project: Workspace, predictor: TypePredictor, stage: Stage | None = None) -> dict[str, str] | None:
    """The checker engines' inferred types by slot id (`Language.engine_types`), for the languages whose model
    ships the engine stage, unless the run turned the engine off (`TypePredictor.use_engine`); None: no engine
    ran. Raises `languages.EngineError` when an engine fails."""
    from typetool.languages import by_key
    from typetool.predictions import ModelNotFound

    if not predictor.use_engine:
        return None
    found: dict[str, str] | None = None
    for key, part in project.parts.items():
        if not part.modules:
            continue
        try:
            if predictor.for_language(key).engine_stage is None:
                continue
        except ModelNotFound:
            continue
        if stage is not None:
            stage(f"running the {by_key(key).name} checker engine", None)
        types = by_key(key).engine_types(part)
        if types is not None:
            found = {**(found or {}), **types}
    return found


def predictions_payload(project: Workspace, predictions: Sequence[Prediction], predictor: TypePredictor
                        ) -> dict[str, object]:
    """The JSON document `typetool predict --format json` prints and `typetool apply` reads."""
    files = {rel: {"sha256": src.raw_hash} for rel, src in project.source_files().items()}
    return {"version": 1, "model": str(predictor.model_dir), "epsilon": predictor.epsilon,
            "delta": predictor.delta, "calibrated": predictor.calibrated, "files": files,
            "predictions": [p.to_json() for p in predictions]}


def prediction_records(project: Workspace, predictions: Sequence[Prediction]) -> Predictions:
    """What `predictions_payload` holds for `apply`, without the trip through JSON."""
    files = {rel: src.raw_hash for rel, src in project.source_files().items()}
    records = tuple(r for r in (p.record() for p in predictions) if r is not None)
    return Predictions(files, records)


@dataclass
class AnnotateOutcome:
    """Predictions and what write-back did with them. `predictions`: each slot's latest prediction in the run
    (the one written, for a written slot); `rounds`: how many predict-and-plan rounds the run took to reach its
    fixpoint (`annotate`)."""

    predictions: list[Prediction]
    run: RunResult
    rounds: int = 1

    def summary(self, language: str | None = None) -> dict[str, int]:
        """Counts of the run's slots (of one language, "py" or "ts", when given)."""
        written = {o.slot_id for f in self.run.files for o in f.slots if o.status == SlotStatus.WRITTEN}
        counts = {"slots seen": 0, "written fully": 0, "written with holes": 0, "left alone": 0}
        for p in self.predictions:
            if language is not None and p.language != language:
                continue
            counts["slots seen"] += 1
            if p.slot.id in written:
                counts["written with holes" if p.holes else "written fully"] += 1
            else:
                counts["left alone"] += 1
        from typetool.languages import key_of

        mine = [f for f in self.run.files if language is None or key_of(f.path) == language]
        counts["files changed"] = sum(1 for f in mine if f.status == FileStatus.CHANGED)
        counts["files refused"] = sum(1 for f in mine if f.status in (FileStatus.REFUSED, FileStatus.FAILED))
        return counts

    @property
    def languages(self) -> list[str]:
        """The languages of the run's slots, Python first."""
        from typetool.languages import languages

        order = [lang.key for lang in languages()]
        return sorted({p.language for p in self.predictions}, key=order.index)


MAX_ROUNDS = 10
"""Bound on `annotate`'s rounds. A round's writes are evidence for the next (an annotated parameter votes for its
namesakes; a written return type shows in its callers' slices), so one pass would leave work for a second run.
Measured: the README's example takes 2 rounds; @microsoft/signalr at epsilon 0.3 takes 6 (234 slots written in
the first, then 22, 8, 1, 1, 0): a chain of returns through callers. A later round runs the model only on the
slices the writes changed (`TypePredictor.remembering`), at a tenth of the first round's time or less."""


@dataclass
class Plan:
    """`plan_project`'s output: the project as first read, each slot's prediction (`predictions`: the one the
    plan writes, for a slot it writes), the plan's outcome (`RunResult` in check mode: nothing written, each
    changed file's proven bytes in its `FileOutcome.data`), the rounds it took to reach the fixpoint, and how
    many file plans it proved (`proofs`), took from an earlier round instead (`reused`) or from an earlier run
    (`stored`: the prediction cache's store of proven plans)."""

    project: Workspace
    predictions: list[Prediction]
    chosen: list[Prediction]  # the predictions given to write-back (those with something to write)
    run: RunResult
    rounds: int
    proofs: int = 0
    reused: int = 0
    stored: int = 0


def plan_project(paths: Sequence[Path], predictor: TypePredictor, options: WriteOptions | None = None,
                 kinds: frozenset[SlotKind] = ALL_KINDS, batch_size: int = 64,
                 progress: Callable[[int], None] | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_rounds: int = MAX_ROUNDS, stage: Stage | None = None, top_k: int = 5,
                 gate: bool = True) -> Plan:
    """Predict the unannotated slots under `paths` and plan their writes, as one run that reaches its fixpoint:
    what `annotate` writes, and what `predict --format json` prints for `apply` to write.

    Each round predicts the project as the previous rounds' planned writes left it (read from memory through
    `sources.overlay`, nothing written), and plans every prediction kept so far on the original files. The run
    stops when a round writes no slot the previous one did not (or after `max_rounds`). A file whose writer input
    is the same as in an earlier round (its records, the same file on disk, the same options and name index)
    keeps that round's outcome instead of being rewritten and proven again (`writeback.ProofMemo`); with the
    predictor's prediction cache (`predictor.store`), so does one whose input an earlier run proved.
    Last, with `gate` (and the engine on, `TypePredictor.use_engine`), the checker engines judge the final plan
    (`_gate`): an annotation that makes one report a new error is left out.
    """
    from typetool.sources import overlay

    options = options or WriteOptions()
    memo = ProofMemo(getattr(predictor, "store", None))
    stage = stage or (lambda label, total: None)
    with predictor.remembering():
        stage("reading and parsing", None)
        project = load_project(paths, max_bytes=max_bytes)
        preds = predict_project(project, predictor, kinds, True, batch_size, progress=progress, stage=stage,
                                top_k=top_k)
        # slot id -> the slot as found in the files on disk: a later round reads the planned writes, so its
        # positions are shifted by them (imports added at the top, annotations before a slot on its line)
        on_disk = {p.slot.id: p.slot for p in preds}
        latest: dict[str, Prediction] = {}
        chosen: dict[str, Prediction] = {}  # slot id -> the prediction planned for it
        written: dict[str, str | None] = {}  # slot id -> what the plan writes there
        rounds = 1
        while True:
            for p in preds:  # (a slot written in an earlier round is annotated now, so not predicted again)
                if rounds > 1 and p.slot.id in on_disk:
                    p = replace(p, slot=on_disk[p.slot.id])
                latest[p.slot.id] = p
                if p.partial is not None:
                    chosen[p.slot.id] = p
                else:
                    chosen.pop(p.slot.id, None)
            stage("planning the writes" if rounds == 1 else f"round {rounds}: planning", None)
            plan = _apply(project, list(chosen.values()), predictor, WriteMode.CHECK, options, memo)
            now = {o.slot_id: o.annotation for f in plan.files for o in f.slots if o.status == SlotStatus.WRITTEN}
            if now.items() <= written.items() or rounds >= max_rounds:
                break
            written = now
            planned = {Path.cwd() / f.path: f.data for f in plan.files if f.data is not None}
            rounds += 1
            stage(f"round {rounds}: reading the planned writes", None)
            with overlay(planned):
                preds = predict_project(load_project(paths, max_bytes=max_bytes), predictor, kinds, True,
                                        batch_size, progress=progress, stage=stage,
                                        label=f"round {rounds}: predicting", top_k=top_k)
        if gate and predictor.use_engine and chosen:
            plan, gated = _gate(project, plan, chosen, predictor, options, memo, stage)
            for sid, new in gated.items():  # what predict prints for apply: the same
                if sid in latest:
                    latest[sid] = new if new is not None else replace(latest[sid], partial=None, holes=0)
    return Plan(project, [chosen.get(sid) or p for sid, p in latest.items()], list(chosen.values()), plan, rounds,
                memo.misses, memo.hits, memo.stored)


MAX_GATE_ROUNDS = 4  # re-check after leaving out the blamed annotations, at most this often


def _gate(project: Workspace, plan: RunResult, chosen: dict[str, Prediction], predictor: TypePredictor,
          options: WriteOptions, memo: ProofMemo, stage: Stage) -> tuple[RunResult, dict[str, Prediction | None]]:
    """The gate: each language's checker engine (`Language.gate`) compares the project as read with the plan's
    files; an annotation it blames for a new error is softened the first time, when it is a generic type (its
    arguments become holes, `dict[str, int]` -> `dict[?, ?]`: `_hollow`), and removed from `chosen` otherwise or
    the second time (an info diagnostic each, in the project's diagnostics); the plan is made again, until no new
    error is blamed (at most `MAX_GATE_ROUNDS` times). Returns the plan and what changed: slot id -> the softened
    prediction, or None for one left out. Raises `languages.EngineError` when an engine fails."""
    from typetool.languages import by_key
    from typetool.outcomes import SlotStatus

    changed: dict[str, Prediction | None] = {}
    for _ in range(MAX_GATE_ROUNDS):
        written = {o.slot_id for f in plan.files for o in f.slots if o.status == SlotStatus.WRITTEN}
        planned = {f.path: f.data for f in plan.files if f.data is not None}
        blamed: dict[str, str] = {}
        for key, part in project.parts.items():
            mine = part.source_files()
            if not any(rel in mine for rel in planned):
                continue
            before = {rel: src.text for rel, src in mine.items()}
            after = dict(before)
            for rel, data in planned.items():
                if rel in mine:
                    after[rel] = data.decode(mine[rel].encoding, errors="replace").removeprefix("\ufeff")
            lang = by_key(key)
            stage(f"checking the plan with the {lang.name} checker engine", None)
            verdict = lang.gate(before, after, [sid for sid in written if sid.split("::", 1)[0] in mine])
            if verdict is None:
                continue
            blamed.update((sid, error) for sid, error in verdict.blamed.items() if sid in written)
        if not blamed:
            break
        for sid, error in sorted(blamed.items()):
            p = chosen.get(sid)
            if p is None:
                continue
            slot = f"{p.slot.kind.value} {p.slot.name} of {p.slot.scope}"
            hollow = _hollow(p.partial) if sid not in changed else None
            if hollow is not None:
                chosen[sid] = changed[sid] = replace(p, partial=hollow[0], holes=hollow[1])
                code, message = M.msg(M.GATE_SOFTENED, type=p.partial, hollow=hollow[0], slot=slot,
                                      engine="the checker engine", error=error)
            else:
                del chosen[sid]
                changed[sid] = None
                code, message = M.msg(M.GATE_REFUSED, type=p.partial, slot=slot, engine="the checker engine",
                                      error=error)
            project.diagnostics.append(Diagnostic(p.slot.file, code, message, Severity.INFO, p.slot.line))
        plan = _apply(project, list(chosen.values()), predictor, WriteMode.CHECK, options, memo)
    return plan, changed


def _hollow(partial: str | None) -> tuple[str, int] | None:
    """A generic type with its arguments made holes (`dict[str, int]` -> `dict[?, ?]`, `list[C] | None` ->
    `list[?] | None`), and its hole count; None for what has no argument to hollow (a bare name, a Callable, a
    type that is already all holes)."""
    from typetool.typeexpr import HOLE, TypeNode, TypeParseError, hole_count, parse_type, to_str

    if partial is None:
        return None
    try:
        t = parse_type(partial)
    except TypeParseError:
        return None

    def hollow(n: TypeNode) -> TypeNode:
        if n.name == "|":
            return TypeNode("|", tuple(hollow(a) for a in n.args))
        if n.name in ("Callable", "?", "[]", "...", "()") or not n.args:
            return n
        return TypeNode(n.name, tuple(a if a.name in ("...", "()") else HOLE for a in n.args))

    new = hollow(t)
    if new == t:
        return None
    return to_str(new), hole_count(new)


def annotate(paths: Sequence[Path], predictor: TypePredictor, mode: WriteMode = WriteMode.WRITE,
             options: WriteOptions | None = None, kinds: frozenset[SlotKind] = ALL_KINDS, batch_size: int = 64,
             progress: Callable[[int], None] | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
             max_rounds: int = MAX_ROUNDS, stage: Stage | None = None, gate: bool = True) -> AnnotateOutcome:
    """Slice, predict, build prediction sets and write them back safely (or diff/check), as one run that
    reaches its fixpoint (`plan_project`): a second run on the result writes nothing. The final plan is carried
    out once, on the files as read at the start: each changed file gets the bytes the plan proved, written
    atomically if its hash is still the one read at the start (`writeback.write_plan`)."""
    options = options or WriteOptions()
    plan = plan_project(paths, predictor, options, kinds, batch_size, progress, max_bytes, max_rounds, stage,
                        gate=gate)
    run = plan.run
    if mode != WriteMode.CHECK:
        if stage is not None:
            stage("writing" if mode.writes else "diffing", None)
        run = write_plan(prediction_records(plan.project, plan.chosen), plan.run, mode, options)
    run = RunResult(run.mode, run.files, tuple(plan.project.diagnostics) + run.diagnostics)
    return AnnotateOutcome(plan.predictions, run, plan.rounds)


def _apply(project: Workspace, preds: Sequence[Prediction], predictor: TypePredictor, mode: WriteMode,
           options: WriteOptions, memo: ProofMemo | None = None) -> RunResult:
    return apply_predictions(prediction_records(project, preds), mode, options, memo=memo)

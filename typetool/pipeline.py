"""The pipeline: the only place the stages are chained. Every front end (CLI, pre-commit hook, CI check,
LSP server) calls these functions.

files -> sources -> parse -> project (code property graph) -> slots -> usage slices -> predictor ->
prediction sets -> write-back. Python and TypeScript go through the same stages; the language specifics are
the parse/facts/project/slots/slices modules (`typetool.*` for Python, `typetool.ts.*` for TypeScript), one
model per language (chosen by the slice's language tag), and write-back (libcst, or byte-range edits on the
tree-sitter tree).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from typetool import messages as M
from typetool.diagnostics import Diagnostic, Severity
from typetool.project import Project, analysis_context
from typetool.python.slices import Slicer
from typetool.python.slots import SlotSite, extract_slots
from typetool.slices import UsageSlice
from typetool.slots import SlotKind
from typetool.sources import DEFAULT_MAX_BYTES
from typetool.writeback import (
    FileStatus,
    Predictions,
    RunResult,
    SlotStatus,
    WriteMode,
    WriteOptions,
    apply_predictions,
)

if TYPE_CHECKING:
    from typetool.predictions import Annotation, Prediction, TypePredictor
    from typetool.ts.project import TsProject

ALL_KINDS = frozenset(SlotKind)
JS_SUFFIXES = (".js", ".jsx", ".mjs", ".cjs")


@dataclass
class SliceRun:
    """Output of `slice_paths`: the project, its slices, and every diagnostic met on the way."""

    project: Project
    slices: list[UsageSlice] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.project.diagnostics


def load_project(paths: Sequence[Path], max_bytes: int = DEFAULT_MAX_BYTES, root: Path | None = None) -> Project:
    """Python and TypeScript files under `paths`: the Python side in the `Project`, the TypeScript side in its
    `ts` (None when there is none). A file named explicitly goes to the language of its suffix."""
    from typetool.ts.parse import TS_SUFFIXES, is_declaration_file
    from typetool.ts.project import TsProject

    explicit_ts = [p for p in paths if p.suffix in TS_SUFFIXES and not p.is_dir()]
    javascript = [p for p in paths if p.suffix in JS_SUFFIXES and not p.is_dir()]
    py_paths = [p for p in paths if p not in explicit_ts and p not in javascript]
    project = Project.load(py_paths, root=root, max_bytes=max_bytes) if py_paths else Project()
    ts_paths = [p for p in paths if p.is_dir()] + [p for p in explicit_ts if not is_declaration_file(p.name)]
    if ts_paths:
        ts_project = TsProject.load(ts_paths, root=root, max_bytes=max_bytes)
        if ts_project.modules or any(p in explicit_ts for p in ts_paths):
            project.ts = ts_project
            # a missing explicit path is reported once, by the Python side
            project.diagnostics.extend(d for d in ts_project.diagnostics if d not in project.diagnostics)
    for p in javascript:
        code, message = M.msg(M.JAVASCRIPT_FILE)
        project.diagnostics.append(Diagnostic(str(p), code, message, Severity.INFO))
    for p in explicit_ts:
        if is_declaration_file(p.name):
            code, message = M.msg(M.DECLARATION_FILE)
            project.diagnostics.append(Diagnostic(str(p), code, message, Severity.INFO))
    return project


def iter_sites(project: Project, kinds: frozenset[SlotKind] = ALL_KINDS, files: set[str] | None = None,
               skip_too_deep: bool = False) -> Iterator[SlotSite]:
    """The project's Python slot sites of `kinds` (in `files`, when given). `skip_too_deep`: a module nested too
    deep to walk is skipped (its slicing reports it) instead of raising RecursionError."""
    for relpath, module in project.modules.items():
        if files is not None and relpath not in files:
            continue
        try:
            sites = [site for site in extract_slots(module) if site.slot.kind in kinds]
        except RecursionError:
            if not skip_too_deep:
                raise
            continue
        yield from sites


def slice_project(project: Project, kinds: frozenset[SlotKind] = ALL_KINDS,
                  only_unannotated: bool = False, files: set[str] | None = None) -> list[UsageSlice]:
    slicer = Slicer(project)
    out: list[UsageSlice] = []
    with analysis_context():
        for relpath, module in project.modules.items():
            if files is not None and relpath not in files:
                continue
            try:
                for site in extract_slots(module):
                    if site.slot.kind not in kinds or (only_unannotated and site.slot.annotation is not None):
                        continue
                    out.append(slicer.slice(site))
            except RecursionError:  # code nested deeper than the raised limit: report the file, go on
                code, message = M.msg(M.TOO_DEEP)
                project.diagnostics.append(Diagnostic(relpath, code, message, Severity.WARNING))
    if project.ts is not None:
        out.extend(slice_ts(project.ts, kinds, only_unannotated, files, project.diagnostics))
    return out


def slice_ts(ts_project: TsProject, kinds: frozenset[SlotKind] = ALL_KINDS, only_unannotated: bool = False,
             files: set[str] | None = None, diagnostics: list[Diagnostic] | None = None) -> list[UsageSlice]:
    """The TypeScript side's slices; a module nested too deep to slice is reported (in `diagnostics`, default
    the TypeScript project's) and skipped."""
    from typetool.ts.slices import TsSlicer
    from typetool.ts.slots import extract_ts_slots

    slicer = TsSlicer(ts_project)
    out: list[UsageSlice] = []
    for relpath, module in ts_project.modules.items():
        if files is not None and relpath not in files:
            continue
        try:
            found = [slicer.slice(site) for site in extract_ts_slots(module)
                     if site.slot.kind in kinds and not (only_unannotated and site.slot.annotation is not None)]
        except RecursionError:
            code, message = M.msg(M.TOO_DEEP)
            (ts_project.diagnostics if diagnostics is None else diagnostics).append(
                Diagnostic(relpath, code, message, Severity.WARNING))
            continue
        out.extend(found)
    return out


def slice_paths(paths: Sequence[Path], kinds: frozenset[SlotKind] = ALL_KINDS, only_unannotated: bool = False,
                max_bytes: int = DEFAULT_MAX_BYTES) -> SliceRun:
    project = load_project(paths, max_bytes=max_bytes)
    return SliceRun(project, slice_project(project, kinds, only_unannotated))


# -- prediction and annotation (the core every front end calls) --------------------------------------------


def annotated_slots(project: Project, files: set[str] | None = None) -> list[Annotation]:
    """The parameters and returns annotated in the project's code (Python and TypeScript), without slicing
    them: their types vote for their namesakes' predictions (`model/consistency.py`)."""
    from typetool.predictions import Annotation

    out: list[Annotation] = []
    with analysis_context():
        for site in iter_sites(project, _VOTERS, files, skip_too_deep=True):
            slot = site.slot
            if (slot.annotation is not None and site.function is not None
                    and not (slot.kind == SlotKind.RETURN and _is_accessor(site.function.decorator_names))):
                out.append(Annotation("py", slot.kind.value, slot.name, site.function.name, slot.annotation))
    if project.ts is not None:
        from typetool.ts.slots import extract_ts_slots

        for relpath, ts_module in project.ts.modules.items():
            if files is not None and relpath not in files:
                continue
            try:
                ts_sites = list(extract_ts_slots(ts_module))
            except RecursionError:  # (its slicing reports it)
                continue
            for ts_site in ts_sites:
                slot = ts_site.slot
                if slot.annotation is not None and ts_site.function is not None and slot.kind in _VOTERS:
                    out.append(Annotation("ts", slot.kind.value, slot.name, ts_site.function.name, slot.annotation))
    return out


_VOTERS = frozenset({SlotKind.PARAM, SlotKind.RETURN})


def _is_accessor(decorators: Sequence[str]) -> bool:
    """A property's setter or deleter: its return shares its getter's name, not its type."""
    return any(d.endswith((".setter", ".deleter")) for d in decorators)


Stage = Callable[[str, "int | None"], None]
"""A front end's progress display: a stage of a long run begins (its label and, when known, how many slots it
predicts; the `progress` callback then counts them)."""


def predict_project(project: Project, predictor: TypePredictor, kinds: frozenset[SlotKind] = ALL_KINDS,
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
    return predictor.predict(slices, top_k=top_k, batch_size=batch_size, progress=progress, annotated=notes)


def predictions_payload(project: Project, predictions: Sequence[Prediction], predictor: TypePredictor
                        ) -> dict[str, object]:
    """The JSON document `typetool predict --format json` prints and `typetool apply` reads."""
    files = {rel: {"sha256": src.raw_hash} for rel, src in project.source_files().items()}
    return {"version": 1, "model": str(predictor.model_dir), "epsilon": predictor.epsilon,
            "delta": predictor.delta, "calibrated": predictor.calibrated, "files": files,
            "predictions": [p.to_json() for p in predictions]}


def prediction_records(project: Project, predictions: Sequence[Prediction]) -> Predictions:
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
    plan writes, for a slot it writes), the plan's outcome (`RunResult` in check mode: nothing written) and the
    rounds it took to reach the fixpoint."""

    project: Project
    predictions: list[Prediction]
    chosen: list[Prediction]  # the predictions given to write-back (those with something to write)
    run: RunResult
    rounds: int


def plan_project(paths: Sequence[Path], predictor: TypePredictor, options: WriteOptions | None = None,
                 kinds: frozenset[SlotKind] = ALL_KINDS, batch_size: int = 64,
                 progress: Callable[[int], None] | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_rounds: int = MAX_ROUNDS, stage: Stage | None = None, top_k: int = 5) -> Plan:
    """Predict the unannotated slots under `paths` and plan their writes, as one run that reaches its fixpoint:
    what `annotate` writes, and what `predict --format json` prints for `apply` to write.

    Each round predicts the project as the previous rounds' planned writes left it (read from memory through
    `sources.overlay`, nothing written), and plans every prediction kept so far on the original files. The run
    stops when a round writes no slot the previous one did not (or after `max_rounds`).
    """
    from typetool.sources import overlay

    options = options or WriteOptions()
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
            plan = _apply(project, list(chosen.values()), predictor, WriteMode.CHECK, options)
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
    return Plan(project, [chosen.get(sid) or p for sid, p in latest.items()], list(chosen.values()), plan, rounds)


def annotate(paths: Sequence[Path], predictor: TypePredictor, mode: WriteMode = WriteMode.WRITE,
             options: WriteOptions | None = None, kinds: frozenset[SlotKind] = ALL_KINDS, batch_size: int = 64,
             progress: Callable[[int], None] | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
             max_rounds: int = MAX_ROUNDS, stage: Stage | None = None) -> AnnotateOutcome:
    """Slice, predict, build prediction sets and write them back safely (or diff/check), as one run that
    reaches its fixpoint (`plan_project`): a second run on the result writes nothing. The final plan is applied
    once, on the files as read at the start (hash-checked, proven and written atomically as always)."""
    options = options or WriteOptions()
    plan = plan_project(paths, predictor, options, kinds, batch_size, progress, max_bytes, max_rounds, stage)
    run = plan.run
    if mode != WriteMode.CHECK:
        if stage is not None:
            stage("writing" if mode.writes else "diffing", None)
        run = _apply(plan.project, plan.chosen, predictor, mode, options)
    run = RunResult(run.mode, run.files, tuple(plan.project.diagnostics) + run.diagnostics)
    return AnnotateOutcome(plan.predictions, run, plan.rounds)


def _apply(project: Project, preds: Sequence[Prediction], predictor: TypePredictor, mode: WriteMode,
           options: WriteOptions) -> RunResult:
    return apply_predictions(prediction_records(project, preds), mode, options)

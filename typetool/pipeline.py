"""The pipeline: the only place the stages are chained. Every front end (CLI, pre-commit hook, CI check,
LSP server) calls these functions.

files -> sources -> parse -> project (code property graph) -> slots -> usage slices -> (predictor ->
prediction sets -> write-back, in later stages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from typetool import messages as M
from typetool.diagnostics import Diagnostic, Severity
from typetool.project import Project, analysis_context
from typetool.slices import Slicer, UsageSlice
from typetool.slots import SlotKind, SlotSite, extract_slots
from typetool.sources import DEFAULT_MAX_BYTES
from typetool.writeback import (
    RunResult,
    SlotStatus,
    WriteMode,
    WriteOptions,
    apply_predictions,
    predictions_from_json,
)

if TYPE_CHECKING:
    from typetool.predictions import Prediction, TypePredictor

ALL_KINDS = frozenset(SlotKind)


@dataclass
class SliceRun:
    """Output of `slice_paths`: the project, its slices, and every diagnostic met on the way."""

    project: Project
    slices: list[UsageSlice] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.project.diagnostics


def load_project(paths: Sequence[Path], max_bytes: int = DEFAULT_MAX_BYTES, root: Path | None = None) -> Project:
    return Project.load(paths, root=root, max_bytes=max_bytes)


def iter_sites(project: Project, kinds: frozenset[SlotKind] = ALL_KINDS,
               files: set[str] | None = None) -> Iterator[SlotSite]:
    for relpath, module in project.modules.items():
        if files is not None and relpath not in files:
            continue
        for site in extract_slots(module):
            if site.slot.kind in kinds:
                yield site


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
    return out


def slice_paths(paths: Sequence[Path], kinds: frozenset[SlotKind] = ALL_KINDS, only_unannotated: bool = False,
                max_bytes: int = DEFAULT_MAX_BYTES) -> SliceRun:
    project = load_project(paths, max_bytes=max_bytes)
    return SliceRun(project, slice_project(project, kinds, only_unannotated))


# -- prediction and annotation (the core every front end calls) --------------------------------------------


def predict_project(project: Project, predictor: TypePredictor, kinds: frozenset[SlotKind] = ALL_KINDS,
                    only_unannotated: bool = True, batch_size: int = 64, files: set[str] | None = None,
                    progress: Callable[[int], None] | None = None) -> list[Prediction]:
    slices = slice_project(project, kinds, only_unannotated, files)
    return predictor.predict(slices, batch_size=batch_size, progress=progress)


def predictions_payload(project: Project, predictions: Sequence[Prediction], predictor: TypePredictor
                        ) -> dict[str, object]:
    """The JSON document `typetool predict --format json` prints and `typetool apply` reads."""
    files = {rel: {"sha256": m.parsed.source.raw_hash} for rel, m in project.modules.items()}
    return {"version": 1, "model": str(predictor.model_dir), "epsilon": predictor.epsilon,
            "delta": predictor.delta, "calibrated": predictor.calibrated, "files": files,
            "predictions": [p.to_json() for p in predictions]}


@dataclass
class AnnotateOutcome:
    """Predictions and what write-back did with them."""

    predictions: list[Prediction]
    run: RunResult

    def summary(self) -> dict[str, int]:
        written = {o.slot_id for f in self.run.files for o in f.slots if o.status == SlotStatus.WRITTEN}
        counts = {"slots seen": len(self.predictions), "written fully": 0, "written with holes": 0,
                  "left alone": 0}
        for p in self.predictions:
            if p.slot.id in written:
                counts["written with holes" if p.holes else "written fully"] += 1
            else:
                counts["left alone"] += 1
        counts["files changed"] = len(self.run.changed)
        return counts


def annotate(paths: Sequence[Path], predictor: TypePredictor, mode: WriteMode = WriteMode.WRITE,
             options: WriteOptions | None = None, kinds: frozenset[SlotKind] = ALL_KINDS, batch_size: int = 64,
             progress: Callable[[int], None] | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> AnnotateOutcome:
    """Slice, predict, build prediction sets and write them back safely (or diff/check)."""
    project = load_project(paths, max_bytes=max_bytes)
    preds = predict_project(project, predictor, kinds, True, batch_size, progress=progress)
    payload = predictions_payload(project, [p for p in preds if p.partial is not None], predictor)
    run = apply_predictions(predictions_from_json(payload), mode, options or WriteOptions())
    run = RunResult(run.mode, run.files, tuple(project.diagnostics) + run.diagnostics)
    return AnnotateOutcome(preds, run)

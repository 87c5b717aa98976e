"""The pipeline: the only place the stages are chained. Every front end (CLI, pre-commit hook, CI check,
LSP server) calls these functions.

files -> sources -> parse -> project (code property graph) -> slots -> usage slices -> (predictor ->
prediction sets -> write-back, in later stages).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typetool.diagnostics import Diagnostic
from typetool.project import Project
from typetool.slices import Slicer, UsageSlice
from typetool.slots import SlotKind, SlotSite, extract_slots
from typetool.sources import DEFAULT_MAX_BYTES

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
    for site in iter_sites(project, kinds, files):
        if only_unannotated and site.slot.annotation is not None:
            continue
        out.append(slicer.slice(site))
    return out


def slice_paths(paths: Sequence[Path], kinds: frozenset[SlotKind] = ALL_KINDS, only_unannotated: bool = False,
                max_bytes: int = DEFAULT_MAX_BYTES) -> SliceRun:
    project = load_project(paths, max_bytes=max_bytes)
    return SliceRun(project, slice_project(project, kinds, only_unannotated))

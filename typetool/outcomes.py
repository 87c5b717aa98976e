"""Write-back's vocabulary, for every language: what a run is asked to do (`WriteMode`, `WriteOptions`) and what
came of it, per slot, per file and per run (`SlotOutcome`, `FileOutcome`, `RunResult`), the errors a writer
raises, and the per-slot checks every writer makes first (`slot_type`).

Does not: read, rewrite or write any file (`typetool.fileio`, the languages' writers, `typetool.writeback`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from typetool.diagnostics import Diagnostic, Severity
from typetool.messages import (
    ALL_HOLE,
    INVALID_TYPE,
    UNKNOWN_SLOT,
)
from typetool.sources import (
    DEFAULT_MAX_BYTES,
)
from typetool.typeexpr import HOLE, TypeNode, TypeParseError, parse_type, to_str


def diag(path: str, entry: tuple[str, str], severity: Severity = Severity.ERROR, /, line: int | None = None,
          **kw: object) -> Diagnostic:
    code, text = entry
    return Diagnostic(path=path, code=code, message=text.format(**kw), severity=severity, line=line)


def diag_of(path: str, exc: WriteError | Refused) -> Diagnostic:
    return Diagnostic(path=path, code=exc.entry[0], message=str(exc), severity=Severity.ERROR,
                      line=getattr(exc, "line", None))


# ------------------------------------------------------------------------------------------ options, results

class WriteMode(str, Enum):
    """What a writing command does with its result, as black and ruff: write (default), show a diff, check."""

    WRITE = "write"
    DIFF = "diff"  # print a unified diff, write nothing
    CHECK = "check"  # write nothing; exit 1 when something would change
    DIFF_CHECK = "diff-check"  # both

    @classmethod
    def from_flags(cls, diff: bool, check: bool) -> WriteMode:
        return cls.DIFF_CHECK if diff and check else cls.DIFF if diff else cls.CHECK if check else cls.WRITE

    @property
    def writes(self) -> bool:
        return self is WriteMode.WRITE

    @property
    def shows_diff(self) -> bool:
        return self in (WriteMode.DIFF, WriteMode.DIFF_CHECK)

    @property
    def checks(self) -> bool:
        return self in (WriteMode.CHECK, WriteMode.DIFF_CHECK)


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """Settings of write-back (from the CLI now; from `[tool.typetool]` later)."""

    target_version: tuple[int, int] = (3, 10)  # spelling: PEP 604/585 from 3.10, `typing` aliases before
    overwrite: bool = False  # replace existing annotations
    unsafe_fixes: bool = False  # also annotate/strip class bodies of classes that may collect annotations
    verify: bool = True  # prove every rewrite (always on in the CLI; off only to measure its cost)
    max_bytes: int = DEFAULT_MAX_BYTES  # files larger than this are skipped, as in the analysis (--max-file-size)

    @property
    def style(self) -> Literal["pep604", "typing"]:
        return "pep604" if self.target_version >= (3, 10) else "typing"


def parse_target_version(value: str) -> tuple[int, int]:
    """`py39` / `py310` / `3.10` -> (3, 9) / (3, 10). Raises ValueError for anything else."""
    m = re.fullmatch(r"(?:py3|3\.?)(\d{1,2})", value.strip().lower())
    if m is None or not 7 <= int(m.group(1)) <= 14:
        raise ValueError(f"unknown target version {value!r}; expected py37 ... py314")
    return 3, int(m.group(1))


class SlotStatus(str, Enum):
    WRITTEN = "written"  # annotation added, replaced or removed
    UNCHANGED = "unchanged"  # already exactly this
    SKIPPED = "skipped"  # by policy: existing annotation, all-hole type, class field, type comment
    WARNING = "warning"  # not written: the type cannot be written safely here (unknown or shadowed name)
    ERROR = "error"  # bad input: unknown slot id, invalid type string


@dataclass(frozen=True, slots=True)
class SlotOutcome:
    slot_id: str
    status: SlotStatus
    annotation: str | None = None  # what was written (apply) or removed (strip)
    reason: str | None = None
    code: str | None = None  # message code, for warnings and errors


class FileStatus(str, Enum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    REFUSED = "refused"  # left untouched because of the input or the file system (message says why)
    FAILED = "failed"  # left untouched because of an internal error (a rewrite that failed its proof)


@dataclass(frozen=True, slots=True)
class FileOutcome:
    path: str  # as shown to the user (relative to the working directory)
    status: FileStatus
    written: bool = False
    diff: str | None = None
    slots: tuple[SlotOutcome, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    # the proven result as it is (or would be) on disk, for a CHANGED file: what a run that iterates to its
    # fixpoint (`pipeline.annotate`) reads in its next round without writing
    data: bytes | None = field(default=None, repr=False, compare=False)
    # the text `data` encodes (the writer's result before encoding), for the diff of a plan carried out later
    # (`writeback.write_plan`)
    text: str | None = field(default=None, repr=False, compare=False)

    @property
    def changed_slots(self) -> int:
        return sum(1 for s in self.slots if s.status == SlotStatus.WRITTEN)


@dataclass(frozen=True, slots=True)
class RunResult:
    """Outcome of `apply_predictions` / `strip_paths`; `exit_code` follows black: 0, 1, 123."""

    mode: WriteMode
    files: tuple[FileOutcome, ...]
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def changed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == FileStatus.CHANGED]

    @property
    def all_diagnostics(self) -> list[Diagnostic]:
        return [*self.diagnostics, *(d for f in self.files for d in f.diagnostics)]

    @property
    def exit_code(self) -> int:
        if any(f.status == FileStatus.FAILED for f in self.files):
            return 123
        errors = any(d.severity == Severity.ERROR for d in self.all_diagnostics)
        if errors or (self.mode.checks and self.changed):
            return 1
        return 0


class WriteError(OSError):
    """Writing one file failed; it is untouched. `entry` is the message registry entry."""

    def __init__(self, entry: tuple[str, str], **kw: object) -> None:
        super().__init__(entry[1].format(**kw))
        self.entry = entry
        self.kw = kw


class UnsafeRewrite(Exception):
    """A rewrite failed its proof (a bug in typetool): the file must not be written."""


class Refused(Exception):
    """The file cannot be rewritten (syntax error, not reproducible by libcst)."""

    def __init__(self, entry: tuple[str, str], line: int | None = None, **kw: object) -> None:
        super().__init__(entry[1].format(**kw))
        self.entry = entry
        self.line = line
        self.kw = kw



def outcome(sid: str, status: SlotStatus, entry: tuple[str, str], /, **kw: object) -> SlotOutcome:
    return SlotOutcome(sid, status, reason=entry[1].format(**kw), code=entry[0])


def slot_type(slot_id: str, raw: TypeNode | str, known: bool) -> tuple[TypeNode, str] | SlotOutcome:
    """The per-slot checks both write-backs (Python and TypeScript) make first: the slot must exist in the file
    (`known`), the type must parse, and an all-hole type is not written. Returns (type, its text as given)
    to go on with, or the outcome to report."""
    shown = raw if isinstance(raw, str) else to_str(raw)
    if not known:
        return outcome(slot_id, SlotStatus.ERROR, UNKNOWN_SLOT, slot_id=slot_id)
    try:
        t = raw if isinstance(raw, TypeNode) else parse_type(raw)
    except TypeParseError as exc:
        return outcome(slot_id, SlotStatus.ERROR, INVALID_TYPE, slot_id=slot_id, type=shown, reason=exc)
    if t == HOLE:
        return outcome(slot_id, SlotStatus.SKIPPED, ALL_HOLE)
    return t, shown



def slot_diags(shown: str, slots: Iterable[SlotOutcome]) -> list[Diagnostic]:
    severity = {SlotStatus.ERROR: Severity.ERROR, SlotStatus.WARNING: Severity.WARNING}
    return [Diagnostic(shown, s.code or "slot", s.reason or "", severity[s.status])
            for s in slots if s.status in severity]

"""Write-back, the last stage: put predicted types into source files, or take annotations out, safely, in any
language typetool knows.

Does: groups a predictions file's records by file, refuses a file that a language never writes (`.d.ts`,
JavaScript), that has no hash in the predictions or whose bytes changed since they were made (stale), and
records that are malformed (a slot id of another file) or that disagree (two types for one slot); reads the file
and hands what is left to its language's writer (`Language.apply_file`: libcst for Python, byte-range edits on the
tree-sitter tree for TypeScript), which plans, proves and writes it atomically (`typetool.fileio`). `strip_paths`
does the same for taking annotations out. One file's failure is that file's outcome; the others go on.

Does not: know any language (`typetool.languages` finds the writer by the file's name), predict anything, or
decide which slots exist.

The vocabulary (`WriteMode`, `WriteOptions`, the outcomes) is `typetool.outcomes`; the predictions file format is
`typetool.predfile`; both are re-exported here, as this is the module front ends call.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from typetool.diagnostics import Diagnostic, Severity
from typetool.fileio import isolated, map_jobs
from typetool.languages import default_language, language_claiming, source_suffixes
from typetool.messages import BAD_SLOT_ID, CONFLICT, NO_HASH, STALE
from typetool.outcomes import (
    FileOutcome,
    FileStatus,
    RunResult,
    SlotOutcome,
    SlotStatus,
    UnsafeRewrite,
    WriteError,
    WriteMode,
    WriteOptions,
    diag,
    outcome,
    parse_target_version,
)
from typetool.predfile import (
    PredictionRecord,
    Predictions,
    PredictionsError,
    load_predictions,
    predictions_from_json,
)
from typetool.sources import discover, read_source, relpath_for

__all__ = [
    "FileOutcome", "FileStatus", "PredictionRecord", "Predictions", "PredictionsError", "RunResult", "SlotOutcome",
    "SlotStatus", "UnsafeRewrite", "WriteError", "WriteMode", "WriteOptions", "apply_predictions",
    "load_predictions", "parse_target_version", "predictions_from_json", "strip_paths",
]


def apply_predictions(predictions: Predictions, mode: WriteMode = WriteMode.WRITE,
                      options: WriteOptions = WriteOptions(), root: Path | None = None,
                      index: object | None = None, jobs: int = 1) -> RunResult:
    """Apply predictions to the files they name (relative to `root`, default the working directory).

    A file whose hash differs from the one in the predictions is refused; other files are still written.
    `index`: the name index a language's writer resolves bare class names with (built by the language when
    None). `jobs` > 1 processes files in that many worker processes (`index` must then be picklable).
    """
    root = root if root is not None else Path.cwd()
    by_file: dict[str, list[PredictionRecord]] = {}
    for p in predictions.predictions:
        by_file.setdefault(p.file, []).append(p)
    indexes: dict[str, object | None] = {}
    tasks = []
    for rel in sorted(by_file):
        language = language_claiming(rel)
        key = language.key if language is not None else ""
        if key not in indexes:
            mine = [root / f for f in by_file if language_claiming(f) is language]
            indexes[key] = index if index is not None or language is None else language.name_index(mine)
        tasks.append((rel, by_file[rel], predictions.files.get(rel), mode, options, root, indexes[key]))
    return RunResult(mode, tuple(map_jobs(_apply_task, tasks, jobs)), ())


def _apply_task(task: tuple[str, list[PredictionRecord], str | None, WriteMode, WriteOptions, Path, object | None]
                ) -> FileOutcome:
    return _apply_file(*task)


def _apply_file(rel: str, preds: list[PredictionRecord], expected: str | None, mode: WriteMode,
                options: WriteOptions, root: Path, index: object | None) -> FileOutcome:
    path = root / rel
    shown = relpath_for(path, Path.cwd()) if path.is_absolute() else rel
    language = language_claiming(rel)
    if language is not None:
        refused = language.refusal(rel, shown)
        if refused is not None:
            return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(refused,))
    if expected is None:
        return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(diag(shown, NO_HASH),))
    src = read_source(path, root, options.max_bytes)
    if isinstance(src, Diagnostic):
        return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(src,))
    if src.raw_hash != expected:
        return FileOutcome(shown, FileStatus.REFUSED,
                           diagnostics=(diag(shown, STALE, actual=src.raw_hash, expected=expected),))
    types: dict[str, str] = {}
    bad: list[SlotOutcome] = []
    conflicts: set[str] = set()
    prefix = f"{rel}::"
    for p in preds:
        if not p.id.startswith(prefix) or p.id.count("::") < 3:
            bad.append(outcome(p.id, SlotStatus.ERROR, BAD_SLOT_ID, slot_id=p.id, file=rel))
            continue
        if p.id in types and types[p.id] != p.type:
            conflicts.add(p.id)
        types.setdefault(p.id, p.type)
    for sid in sorted(conflicts):
        del types[sid]
        bad.append(outcome(sid, SlotStatus.ERROR, CONFLICT, slot_id=sid))
    # a file of no language's family goes to the first language, whose parser refuses what it cannot read
    writer = language if language is not None else default_language()
    return isolated(shown, lambda: writer.apply_file(src, shown, rel, types, bad, mode, options, index))


def strip_paths(paths: Sequence[Path], mode: WriteMode = WriteMode.WRITE, options: WriteOptions = WriteOptions(),
                jobs: int = 1) -> RunResult:
    """Remove annotations from the files of every language under `paths` (each language skips, with a note,
    the files it never strips: `.pyi` stubs, `.d.ts` declarations)."""
    run_diags: list[Diagnostic] = []
    cwd = Path.cwd()
    tasks: list[tuple[Path, WriteMode, WriteOptions, Path]] = []
    for item in discover(paths, suffixes=source_suffixes()):
        if isinstance(item, Diagnostic):
            run_diags.append(item)
            continue
        language = language_claiming(item.name)
        skipped = language.strip_skip(item.name) if language is not None else None
        if skipped is not None:
            run_diags.append(diag(relpath_for(item, cwd), skipped, Severity.INFO))
        else:
            tasks.append((item, mode, options, cwd))
    return RunResult(mode, tuple(map_jobs(_strip_task, tasks, jobs)), tuple(run_diags))


def _strip_task(task: tuple[Path, WriteMode, WriteOptions, Path]) -> FileOutcome:
    path, mode, options, cwd = task
    shown = relpath_for(path, cwd)
    writer = language_claiming(path.name) or default_language()
    return isolated(shown, lambda: writer.strip_file(path, shown, mode, cwd, options))

"""Write-back, the last stage: put predicted types into source files, or take annotations out, safely, in any
language typetool knows.

Does: groups a predictions file's records by file, refuses a file that a language never writes (`.d.ts`,
JavaScript), that has no hash in the predictions or whose bytes changed since they were made (stale), and
records that are malformed (a slot id of another file) or that disagree (two types for one slot); reads the file
and hands what is left to its language's writer (`Language.apply_file`: libcst for Python, byte-range edits on the
tree-sitter tree for TypeScript), which plans, proves and writes it atomically (`typetool.fileio`). `strip_paths`
does the same for taking annotations out. One file's failure is that file's outcome; the others go on. A run that
plans the same files several times in check mode (`pipeline.plan_project`) hands `apply_predictions` a
`ProofMemo`, so that each file input is rewritten and proven once; `write_plan` then writes (or diffs) the bytes
its final check-mode plan proved, each file hash-checked again, instead of rewriting and proving it again.

Does not: know any language (`typetool.languages` finds the writer by the file's name), predict anything, or
decide which slots exist.

The vocabulary (`WriteMode`, `WriteOptions`, the outcomes) is `typetool.outcomes`; the predictions file format is
`typetool.predfile`; both are re-exported here, as this is the module front ends call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from typetool import proofstore
from typetool.diagnostics import Diagnostic, Severity
from typetool.fileio import deliver, encode_like, isolated, map_jobs
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
from typetool.sources import SourceFile, discover, read_source, relpath_for

__all__ = [
    "FileOutcome", "FileStatus", "PredictionRecord", "Predictions", "PredictionsError", "RunResult", "SlotOutcome",
    "ProofMemo", "SlotStatus", "UnsafeRewrite", "WriteError", "WriteMode", "WriteOptions", "apply_predictions",
    "load_predictions", "parse_target_version", "predictions_from_json", "strip_paths", "write_plan",
]


IndexKey = tuple[object, ...] | None
"""What a name index was built from: ("given", the caller's index), (language key, the files it was built over),
or None (no language: none)."""

MemoKey = tuple[str, Path, Path, "str | None", tuple[tuple[str, str], ...], WriteMode, WriteOptions, IndexKey]
"""A file's input to its writer: (path relative to the root, root, working directory, expected hash, records' slot
ids and types, mode, options, name index)."""


class OutcomeStore(Protocol):
    """Where a `ProofMemo` keeps proven outcomes across runs (`predcache.PredictionCache`): blobs by key."""

    def get_outcomes(self, keys: Sequence[str]) -> dict[str, bytes]: ...

    def put_outcomes(self, items: Iterable[tuple[str, bytes]]) -> None: ...


class ProofMemo:
    """The outcomes of the files a run already planned, so that a run that plans the same files several times
    (`pipeline.plan_project`'s rounds) rewrites and proves each file input once, and builds each name index once.

    A file's input is exactly what its writer reads: the file (its path relative to the root, the root, the
    working directory its shown path is relative to, and the hash it must have, the bytes the writer reads being
    refused otherwise), its records' slot ids and types in order, the mode, the options, and the name index
    (identified by the language and the files it was built over: the same index object is handed out again). The
    files on disk are taken as constant for the memo's life: one planning run; the write that follows the plan
    checks each file's hash again (`write_plan`). Only for modes that write nothing.

    With a `store`, check-mode outcomes also outlive the run (`typetool.proofstore`): an input not seen in this
    run is looked up there, by a key that adds the writer code's fingerprint and what the language's writer reads
    besides its arguments (the name index's `fingerprint` of the file; a language whose name index is None has a
    writer that reads nothing else, as TypeScript's; an index without a fingerprint, or a file of no language,
    is never stored). A stored outcome is used only once the file is read again and has the expected hash (its
    text is then encoded as the file is, as the writer does).
    """

    def __init__(self, store: OutcomeStore | None = None) -> None:
        self.outcomes: dict[MemoKey, FileOutcome] = {}
        self.indexes: dict[IndexKey, object | None] = {}
        self.store = store
        self.hits = 0  # inputs seen earlier in the run
        self.stored = 0  # inputs found in the store
        self.misses = 0  # inputs handed to their writer

    def recall(self, tasks: Sequence[tuple[MemoKey, _Task]], todo: list[int]) -> tuple[list[int], dict[int, str]]:
        """Take from the store the outcomes of `todo` (indexes in `tasks`) it holds; return those left to prove,
        and the store keys of those of them that may be stored."""
        if self.store is None:
            return todo, {}
        keys: dict[int, str] = {}
        for i in todo:
            key = _stored_key(*tasks[i])
            if key is not None:
                keys[i] = key
        found = self.store.get_outcomes(list(keys.values())) if keys else {}
        left = []
        for i in todo:
            blob = found.get(keys[i]) if i in keys else None
            outcome = _stored_outcome(blob, tasks[i][1]) if blob is not None else None
            if outcome is None:
                left.append(i)
                continue
            self.outcomes[tasks[i][0]] = outcome
            self.stored += 1
        return left, {i: keys[i] for i in left if i in keys}

    def keep(self, items: Iterable[tuple[str, FileOutcome]]) -> None:
        """Store the outcomes that may be stored (`proofstore.encode`), by their store keys."""
        if self.store is None:
            return
        blobs = [(key, blob) for key, outcome in items if (blob := proofstore.encode(outcome)) is not None]
        if blobs:
            self.store.put_outcomes(blobs)


def _stored_key(key: MemoKey, task: _Task) -> str | None:
    """The store key of a task (`proofstore.stored_key`), or None when its outcome is not to be stored."""
    rel, root, _, expected, records, mode, options, _ = key
    index = task[6]
    language = language_claiming(rel)
    if language is None:
        return None
    context: str | None = None
    if index is not None:
        fingerprint = getattr(index, "fingerprint", None)
        if not callable(fingerprint):
            return None
        context = str(fingerprint(root / rel))
    return proofstore.stored_key(rel, _shown(rel, root), expected, records, mode, options, language.key, context)


def _stored_outcome(blob: bytes, task: _Task) -> FileOutcome | None:
    """A stored outcome for `task`'s file, if the blob is sound: the file read again and refused as its writer
    would refuse it (stale, unreadable), else the outcome, with the bytes of the proven text in the file's
    encoding (as the writer encodes it)."""
    rel, _, expected, _, options, root, _ = task
    stored = proofstore.decode(blob)
    if stored is None or stored.path != _shown(rel, root):
        return None
    src = _checked_source(rel, expected, options, root)
    if isinstance(src, FileOutcome):
        return src
    if stored.text is None:
        return stored
    try:
        return replace(stored, data=encode_like(src, stored.text))
    except UnicodeError:
        return None


def apply_predictions(predictions: Predictions, mode: WriteMode = WriteMode.WRITE,
                      options: WriteOptions = WriteOptions(), root: Path | None = None,
                      index: object | None = None, jobs: int = 1, memo: ProofMemo | None = None) -> RunResult:
    """Apply predictions to the files they name (relative to `root`, default the working directory).

    A file whose hash differs from the one in the predictions is refused; other files are still written.
    `index`: the name index a language's writer resolves bare class names with (built by the language when
    None). `jobs` > 1 processes files in that many worker processes (`index` must then be picklable). `memo`
    (modes that write nothing): a file whose input it has seen gets the outcome it had then (`ProofMemo`).
    """
    if memo is not None and mode.writes:
        raise ValueError("a ProofMemo is for modes that write nothing")
    tasks = _tasks(predictions, mode, options, root, index, memo)
    if memo is None:
        return RunResult(mode, tuple(map_jobs(_apply_task, [t for _, t in tasks], jobs)), ())
    todo = [i for i, (key, _) in enumerate(tasks) if key not in memo.outcomes]
    memo.hits += len(tasks) - len(todo)
    todo, keys = memo.recall(tasks, todo)
    memo.misses += len(todo)
    for i, done in zip(todo, map_jobs(_apply_task, [tasks[i][1] for i in todo], jobs), strict=True):
        memo.outcomes[tasks[i][0]] = done
    memo.keep((key, memo.outcomes[tasks[i][0]]) for i, key in keys.items())
    return RunResult(mode, tuple(memo.outcomes[key] for key, _ in tasks), ())


_Task = tuple[str, list[PredictionRecord], "str | None", WriteMode, WriteOptions, Path, "object | None"]


def _tasks(predictions: Predictions, mode: WriteMode, options: WriteOptions, root: Path | None,
           index: object | None, memo: ProofMemo | None) -> list[tuple[MemoKey, _Task]]:
    """Each file's input to its writer (sorted by path), with its key in a `ProofMemo`."""
    root = root if root is not None else Path.cwd()
    cwd = Path.cwd()
    by_file: dict[str, list[PredictionRecord]] = {}
    for p in predictions.predictions:
        by_file.setdefault(p.file, []).append(p)
    indexes: dict[str, tuple[IndexKey, object | None]] = {}
    out: list[tuple[MemoKey, _Task]] = []
    for rel in sorted(by_file):
        language = language_claiming(rel)
        lang = language.key if language is not None else ""
        if lang not in indexes:
            ident: IndexKey
            built: object | None
            if index is not None:
                ident, built = ("given", index), index
            elif language is None:
                ident, built = None, None
            else:
                mine = tuple(sorted(root / f for f in by_file if language_claiming(f) is language))
                ident = (lang, mine)
                if memo is not None and ident in memo.indexes:
                    built = memo.indexes[ident]
                else:
                    built = language.name_index(mine)
                    if memo is not None:
                        memo.indexes[ident] = built
            indexes[lang] = (ident, built)
        ident, built = indexes[lang]
        records = by_file[rel]
        expected = predictions.files.get(rel)
        key = (rel, root, cwd, expected, tuple((p.id, p.type) for p in records), mode, options, ident)
        out.append((key, (rel, records, expected, mode, options, root, built)))
    return out


def write_plan(predictions: Predictions, plan: RunResult, mode: WriteMode, options: WriteOptions = WriteOptions(),
               root: Path | None = None, index: object | None = None) -> RunResult:
    """Carry out in `mode` a plan made in check mode (`plan`: `apply_predictions(predictions, WriteMode.CHECK,
    options, root, index)`) as `apply_predictions(predictions, mode, options, root, index)` would, without
    rewriting and proving the files again: each file is read again, and refused as then when it is no longer the
    one the predictions name (its hash); a file the plan changes gets the plan's proven bytes
    (`FileOutcome.data`), its diff shown and the bytes written atomically, the hash checked again right before
    (`fileio.deliver`); a file the plan leaves unchanged keeps its outcome. A file the plan refused or failed is
    handed to its writer again, as `apply_predictions` would (and every file, for a plan of other predictions)."""
    if plan.mode != WriteMode.CHECK:
        raise ValueError("write_plan carries out a plan made in check mode")
    root = root if root is not None else Path.cwd()
    tasks = [task for _, task in _tasks(predictions, mode, options, root, index, None)]
    if [f.path for f in plan.files] != [_shown(task[0], root) for task in tasks]:
        return RunResult(mode, tuple(_apply_task(task) for task in tasks), ())
    out: list[FileOutcome] = []
    for task, planned in zip(tasks, plan.files, strict=True):
        rel, _, expected, _, _, _, _ = task
        data, text = planned.data, planned.text
        if planned.status == FileStatus.UNCHANGED or (planned.status == FileStatus.CHANGED and data is not None
                                                     and text is not None):
            src = _checked_source(rel, expected, options, root)
            if isinstance(src, FileOutcome):
                out.append(src)
            elif data is None or text is None:
                out.append(planned)
            else:
                out.append(_deliver(src, planned, data, text, mode))
        else:
            out.append(_apply_task(task))
    return RunResult(mode, tuple(out), ())


def _deliver(src: SourceFile, planned: FileOutcome, data: bytes, text: str, mode: WriteMode) -> FileOutcome:
    return isolated(planned.path, lambda: deliver(src, planned.path, src.text, text, data, planned.slots,
                                                  list(planned.diagnostics), mode))


def _shown(rel: str, root: Path) -> str:
    path = root / rel
    return relpath_for(path, Path.cwd()) if path.is_absolute() else rel


def _apply_task(task: _Task) -> FileOutcome:
    return _apply_file(*task)


def _checked_source(rel: str, expected: str | None, options: WriteOptions, root: Path) -> SourceFile | FileOutcome:
    """The file `rel` as read now, or its outcome when it is not to be written: a file its language never
    writes, one the predictions give no hash for, one that cannot be read, or one whose hash is not `expected`
    (stale)."""
    shown = _shown(rel, root)
    language = language_claiming(rel)
    if language is not None:
        refused = language.refusal(rel, shown)
        if refused is not None:
            return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(refused,))
    if expected is None:
        return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(diag(shown, NO_HASH),))
    src = read_source(root / rel, root, options.max_bytes)
    if isinstance(src, Diagnostic):
        return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(src,))
    if src.raw_hash != expected:
        return FileOutcome(shown, FileStatus.REFUSED,
                           diagnostics=(diag(shown, STALE, actual=src.raw_hash, expected=expected),))
    return src


def _apply_file(rel: str, preds: list[PredictionRecord], expected: str | None, mode: WriteMode,
                options: WriteOptions, root: Path, index: object | None) -> FileOutcome:
    checked = _checked_source(rel, expected, options, root)
    if isinstance(checked, FileOutcome):
        return checked
    src: SourceFile = checked
    shown = _shown(rel, root)
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
    language = language_claiming(rel)
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

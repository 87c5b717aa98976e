"""Proven plans of files across runs: what lets a second `annotate` over files and predictions that did not change
skip rewriting and proving them (`writeback.ProofMemo` uses it; the blobs live in the prediction cache's database,
`predcache.PredictionCache.get_outcomes` / `put_outcomes`).

Does: the key of a file's check-mode outcome (`stored_key`), a digest of everything its writer reads: the writer
code's fingerprint and each argument of `Language.apply_file(src, shown, rel, types, bad, mode, options, index)` -
the file's bytes by the hash they must have (the file is decoded from them alone; its location is read only
through the context below), the path shown, the path relative to the root, the records' slot ids and types in
order (`types` and `bad` are made from them), the mode, the options, and the context: what the language's writer
reads besides its arguments, the name index's fingerprint of the file (for Python: the file's module name and the
index's table). The outcome's encoding (`encode`, `decode`): the shown path, status, slot outcomes, diagnostics
and, for a changed file, the proven text, with a checksum, so that a damaged entry reads as none. Only proven
outcomes that depend on nothing else are kept: check mode, verification on, a file changed or left unchanged by
its writer (not refused or failed: those are cheap, or may not happen again).

Does not: read or write files, check hashes (the caller reads the file and checks its hash before using an
outcome, and encodes the text as the file is encoded: `fileio.encode_like`), or open the database.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import zlib
from pathlib import Path

from typetool.diagnostics import Diagnostic, Severity
from typetool.outcomes import FileOutcome, FileStatus, SlotOutcome, SlotStatus, WriteMode, WriteOptions

SCHEMA = 1
DISTRIBUTIONS = ("libcst", "tree-sitter", "tree-sitter-python", "tree-sitter-typescript")
_SUM = 32  # bytes of the sha256 checksum that starts a blob


@functools.lru_cache(maxsize=1)
def writer_fingerprint() -> str:
    """What a file's outcome depends on besides its inputs: every file of the typetool package but its models
    (the writers, the core they use, the messages), the grammars' query files, the Python version (the proof
    compares `ast` trees and symbol tables) and the versions of libcst and of the tree-sitter packages."""
    from importlib import metadata

    from typetool.treesitter import grammars_dir

    h = hashlib.sha256(f"proofstore {SCHEMA}\n{sys.version}\n{sys.implementation.cache_tag}\n".encode())
    for name in DISTRIBUTIONS:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{name}=={version}\n".encode())
    package = Path(__file__).resolve().parent
    for base in (package, grammars_dir()):
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = path.relative_to(base)
            if (base == package and rel.parts[0] == "models") or "__pycache__" in rel.parts:
                continue
            h.update(rel.as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def stored_key(rel: str, shown: str, expected: str | None, records: tuple[tuple[str, str], ...], mode: WriteMode,
               options: WriteOptions, language: str, context: str | None) -> str | None:
    """The key of a file's outcome in the store, or None when it is not to be stored (a mode other than check,
    verification off, no expected hash). `context`: what the language's writer reads besides its arguments
    (the name index's fingerprint of the file; None for a writer that reads nothing else)."""
    if mode != WriteMode.CHECK or not options.verify or expected is None:
        return None
    state = [SCHEMA, writer_fingerprint(), rel, shown, expected, [list(r) for r in records], mode.value,
             repr(options), language, context]
    return hashlib.sha256(json.dumps(state, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()


def encode(outcome: FileOutcome) -> bytes | None:
    """A check-mode outcome as a blob, or None for one that is not kept (refused, failed, written, diffed)."""
    if outcome.written or outcome.diff is not None:
        return None
    if outcome.status == FileStatus.CHANGED and outcome.text is not None and outcome.data is not None:
        text: str | None = outcome.text
    elif outcome.status == FileStatus.UNCHANGED:
        text = None
    else:
        return None
    doc = [outcome.path, outcome.status.value,
           [[s.slot_id, s.status.value, s.annotation, s.reason, s.code] for s in outcome.slots],
           [[d.path, d.code, d.message, d.severity.value, d.line, d.column] for d in outcome.diagnostics], text]
    raw = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).digest() + zlib.compress(raw, 6)


def decode(blob: bytes) -> FileOutcome | None:
    """The outcome a blob holds (its `data` left None: the caller encodes `text` as the file is), or None for a
    damaged one."""
    try:
        if len(blob) <= _SUM:
            return None
        raw = zlib.decompress(blob[_SUM:])
        if hashlib.sha256(raw).digest() != blob[:_SUM]:
            return None
        path, status, slots, diags, text = json.loads(raw.decode("utf-8", "surrogatepass"))
        outcome = FileOutcome(
            _str(path), FileStatus(status),
            slots=tuple(SlotOutcome(_str(i), SlotStatus(s), _opt(a), _opt(r), _opt(c)) for i, s, a, r, c in slots),
            diagnostics=tuple(Diagnostic(_str(p), _str(c), _str(m), Severity(s), _int(ln), _int(col))
                              for p, c, m, s, ln, col in diags),
            text=_opt(text))
    except (ValueError, TypeError, zlib.error):
        return None
    if (outcome.status == FileStatus.CHANGED) != (outcome.text is not None) or \
            outcome.status not in (FileStatus.CHANGED, FileStatus.UNCHANGED):
        return None
    return outcome


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _opt(value: object) -> str | None:
    return None if value is None else _str(value)


def _int(value: object) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(value)
    return value

"""The predictions file: what `typetool predict --format json` prints and `typetool apply` reads
(`{"version": 1, "files": {relpath: {"sha256": ...}}, "predictions": [...]}`), one `PredictionRecord` a slot.

Does: parse and validate the document (a clear `PredictionsError` for anything malformed).
Does not: predict (`typetool.predictions`) or write (`typetool.writeback`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class PredictionsError(ValueError):
    """The predictions file cannot be used at all (a usage error, exit code 2)."""


# ------------------------------------------------------------------------------------------------ predictions

@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One record of the predictions JSON (what `typetool predict` emits and `apply` reads)."""

    id: str
    file: str
    type: str  # the type to write, holes as `?` (records with `"type": null` are skipped when loading)
    kind: str | None = None
    scope: str | None = None
    name: str | None = None
    line: int | None = None
    column: int | None = None
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Predictions:
    """`{"version": 1, "files": {relpath: {"sha256": ...}}, "predictions": [...]}`; paths relative to the cwd."""

    files: Mapping[str, str]  # relpath -> sha256 of the bytes the predictions were made for
    predictions: tuple[PredictionRecord, ...]
    version: int = 1

    def to_json(self) -> dict[str, object]:
        return {
            "version": self.version,
            "files": {f: {"sha256": h} for f, h in sorted(self.files.items())},
            "predictions": [
                {"id": p.id, "file": p.file, "line": p.line, "column": p.column, "kind": p.kind, "scope": p.scope,
                 "name": p.name, "type": p.type, "confidence": p.confidence}
                for p in self.predictions
            ],
        }


def load_predictions(path: Path) -> Predictions:
    """Read and validate a predictions file. Raises `PredictionsError` with a message fit for the user."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PredictionsError(f"{path}: cannot read predictions: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PredictionsError(f"{path}: not valid JSON: {exc}") from exc
    except RecursionError as exc:  # (json recurses per nesting level)
        raise PredictionsError(f"{path}: not a predictions file: JSON nested too deeply") from exc
    return predictions_from_json(data, str(path))


def predictions_from_json(data: object, shown: str = "predictions") -> Predictions:
    if not isinstance(data, dict):
        raise PredictionsError(f"{shown}: expected a JSON object with 'version', 'files' and 'predictions'")
    if data.get("version") != 1:
        raise PredictionsError(f"{shown}: unsupported predictions version {data.get('version')!r} (expected 1)")
    files_raw = data.get("files")
    preds_raw = data.get("predictions")
    if not isinstance(files_raw, dict) or not isinstance(preds_raw, list):
        raise PredictionsError(f"{shown}: 'files' must be an object and 'predictions' a list")
    files: dict[str, str] = {}
    for rel, info in files_raw.items():
        sha = info.get("sha256") if isinstance(info, dict) else None
        if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise PredictionsError(f"{shown}: files[{rel!r}] needs a 'sha256' of 64 hex digits")
        files[rel] = sha
    out: list[PredictionRecord] = []
    for i, rec in enumerate(preds_raw):
        if not isinstance(rec, dict):
            raise PredictionsError(f"{shown}: predictions[{i}] is not an object")
        pid, file, typ = rec.get("id"), rec.get("file"), rec.get("type")
        if not isinstance(pid, str) or not isinstance(file, str) or not isinstance(typ, (str, type(None))):
            raise PredictionsError(f"{shown}: predictions[{i}] needs string 'id' and 'file', and a 'type' that "
                                   "is a string or null")
        if typ is None:  # `predict` found nothing worth writing for this slot
            continue
        conf = rec.get("confidence")
        out.append(PredictionRecord(
            id=pid, file=file, type=typ,
            kind=rec.get("kind") if isinstance(rec.get("kind"), str) else None,
            scope=rec.get("scope") if isinstance(rec.get("scope"), str) else None,
            name=rec.get("name") if isinstance(rec.get("name"), str) else None,
            line=rec.get("line") if isinstance(rec.get("line"), int) else None,
            column=rec.get("column") if isinstance(rec.get("column"), int) else None,
            confidence=_confidence(conf),
        ))
    return Predictions(files, tuple(out))


def _confidence(value: object) -> float | None:
    """A prediction's confidence as a float (an integer too large for one, a bool or a string: none)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        return float(value)
    except OverflowError:
        return None

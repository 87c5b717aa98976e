"""The prediction cache: the model's candidates per slot, kept on disk beside the project (`.typetool_cache/`), so
that a run over code that did not change does not run the model again.

Does: stores, for each (model fingerprint, rendered slice, names in scope, number of candidates), the candidates
the search and the name linker gave (`TypePredictor.candidates` looks here before the model and stores what the
model computed). The later stages (consistency, calibration, prediction sets, write-back) run every time: they
are cheap, and the consistency stage depends on the whole run, so a hit gives exactly the output of a miss. The
fingerprint covers the model directory's files, the device kind, the precision and the code that decodes, so a
new model or a new typetool never reads old entries. One SQLite database (the standard library's: atomic
transactions, safe when two runs share it), bounded in entries (the least recently used go first); a database
that cannot be read (truncated, corrupt) is set aside with a warning and rebuilt; a directory that cannot be
written turns the cache off with a warning. The directory holds a `.gitignore` of `*`, as ruff's and mypy's do.
A second table holds write-back's proven plans of files (`get_outcomes`, `put_outcomes`: opaque blobs by digest,
bounded and evicted the same way), which `writeback.ProofMemo` keys and encodes, so that a run over files and
predictions that did not change does not rewrite and prove them again.
Does not: cache parsing or slices (fast, and they depend on the whole project), or the editor's predictions
(`ide.Engine` keeps its own in memory).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typetool.model.decoder import Candidate

CACHE_DIR = ".typetool_cache"
DATABASE = "predictions.sqlite"
MAX_ENTRIES = 400_000  # about 0.5 KB each: some 200 MB at most
SCHEMA = 1
MAX_OUTCOMES = 20_000  # a file's proven plan: its rewritten text, compressed (7 KB on average on tomlkit)
Key = tuple[str, tuple[str, ...], int, int]  # rendered slice, scope names, top_k, candidates kept


def cache_root(paths: Sequence[Path]) -> Path:
    """Where a run over `paths` keeps its cache: beside the project's pyproject.toml, else in the first directory
    named (a file's own directory), as ruff and mypy do."""
    from typetool.settings import find_pyproject

    first = paths[0] if paths else Path.cwd()
    found = find_pyproject(first)
    if found is not None:
        return found.parent / CACHE_DIR
    base = first if first.is_dir() else first.parent
    return base / CACHE_DIR


def model_fingerprint(model_dir: Path, device: str, precision: str) -> str:
    """What the candidates of a model depend on: its files (every file of the directory but the card), the kind
    of device, the precision, and the source of the code that decodes (typetool/model/ and predictions.py)."""
    h = hashlib.sha256(f"schema {SCHEMA} {device.split(':')[0]} {precision}\n".encode())
    for path in sorted(p for p in model_dir.iterdir() if p.is_file() and p.name != "README.md"):
        h.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    package = Path(__file__).resolve().parent
    for path in sorted((package / "model").glob("*.py")) + [package / "predictions.py"]:
        h.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:32]


def _digest(fingerprint: str, key: Key) -> str:
    text, scope, top_k, keep = key
    raw = "\0".join((fingerprint, text, "\x01".join(scope), str(top_k), str(keep)))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _encode(cands: Sequence[Candidate]) -> bytes:
    rows = [[c.type, c.score, c.token_logprobs, c.tokens, c.offsets] for c in cands]
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode("utf-8", "surrogatepass"), 6)


def _decode(blob: bytes) -> list[Candidate]:
    from typetool.model.decoder import Candidate

    rows = json.loads(zlib.decompress(blob).decode("utf-8", "surrogatepass"))
    return [Candidate(str(t), float(s), [float(x) for x in lps], [str(x) for x in toks],
                      [(int(a), int(b)) for a, b in offs]) for t, s, lps, toks, offs in rows]


class PredictionCache:
    """The on-disk store of one run (`cache_root`): `get` and `put` by (fingerprint, key). Never raises: a cache
    that fails is turned off for the run, with one warning through `warn`."""

    def __init__(self, directory: Path, warn: Callable[[str], None] = lambda _m: None,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.directory = directory
        self.warn = warn
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._db: sqlite3.Connection | None = None
        self._off = False

    @property
    def path(self) -> Path:
        return self.directory / DATABASE

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is not None or self._off:
            return self._db
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# written by typetool: its prediction cache\n*\n", encoding="utf-8")
            self._db = self._open()
        except sqlite3.DatabaseError as exc:  # not a database (truncated, overwritten): set aside, start again
            self._set_aside(exc)
            try:
                self._db = self._open()
            except (sqlite3.Error, OSError) as again:
                self._turn_off(again)
        except OSError as exc:
            self._turn_off(exc)
        return self._db

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS candidates (key TEXT PRIMARY KEY, value BLOB NOT NULL, "
                       "used REAL NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS outcomes (key TEXT PRIMARY KEY, value BLOB NOT NULL, "
                       "used REAL NOT NULL)")
            db.execute("SELECT count(*) FROM candidates").fetchone()  # reads the pages: a damaged file fails here
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _set_aside(self, exc: Exception) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self.warn(f"typetool: the prediction cache {self.path} cannot be read ({exc}); it is rebuilt")
        for suffix in ("", "-wal", "-shm"):
            try:
                os.replace(f"{self.path}{suffix}", f"{self.path}{suffix}.corrupt")
            except OSError:
                pass

    def _turn_off(self, exc: Exception) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if not self._off:
            self.warn(f"typetool: no prediction cache this run ({self.directory}: {exc})")
        self._off = True

    def get(self, fingerprint: str, keys: Sequence[Key]) -> dict[int, list[Candidate]]:
        """The cached candidates of those of `keys` that have them, by index in `keys`."""
        db = self._connect()
        if db is None or not keys:
            self.misses += len(keys)
            return {}
        digests = [_digest(fingerprint, k) for k in keys]
        try:
            found = self._fetch(db, "candidates", digests)
            out: dict[int, list[Candidate]] = {}
            for i, d in enumerate(digests):
                if d in found:
                    try:
                        out[i] = _decode(found[d])
                    except (ValueError, TypeError, zlib.error):  # a damaged entry: computed again, overwritten
                        continue
            self._touch(db, "candidates", [digests[i] for i in out])
        except sqlite3.DatabaseError as exc:
            self._set_aside(exc)
            self.misses += len(keys)
            return {}
        except sqlite3.Error as exc:  # locked for longer than the timeout, read-only, ...
            self._turn_off(exc)
            self.misses += len(keys)
            return {}
        self.hits += len(out)
        self.misses += len(keys) - len(out)
        return out

    def put(self, fingerprint: str, items: Iterable[tuple[Key, Sequence[Candidate]]]) -> None:
        self._store("candidates", [(_digest(fingerprint, k), _encode(c)) for k, c in items], self.max_entries)

    def get_outcomes(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The blobs stored under those of `keys` that the outcomes table has (`writeback.ProofMemo`)."""
        db = self._connect()
        if db is None or not keys:
            return {}
        try:
            found = self._fetch(db, "outcomes", keys)
            self._touch(db, "outcomes", list(found))
        except sqlite3.DatabaseError as exc:
            self._set_aside(exc)
            return {}
        except sqlite3.Error as exc:
            self._turn_off(exc)
            return {}
        return found

    def put_outcomes(self, items: Iterable[tuple[str, bytes]], max_entries: int = MAX_OUTCOMES) -> None:
        """Store blobs by key in the outcomes table (the least recently used go beyond `max_entries`)."""
        self._store("outcomes", list(items), max_entries)

    @staticmethod
    def _fetch(db: sqlite3.Connection, table: str, keys: Sequence[str]) -> dict[str, bytes]:
        """The values of `table` under those of `keys` it has (raises sqlite3.Error)."""
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            rows = db.execute(f"SELECT key, value FROM {table} WHERE key IN ({','.join('?' * len(chunk))})",
                              chunk).fetchall()
            found.update((str(k), bytes(v)) for k, v in rows)
        return found

    @staticmethod
    def _touch(db: sqlite3.Connection, table: str, keys: Sequence[str]) -> None:
        """Mark `keys` of `table` as used now (raises sqlite3.Error)."""
        if keys:
            now = time.time()
            db.execute("BEGIN")
            db.executemany(f"UPDATE {table} SET used = ? WHERE key = ?", [(now, k) for k in keys])
            db.execute("COMMIT")

    def _store(self, table: str, items: Sequence[tuple[str, bytes]], max_entries: int) -> None:
        """Insert or replace `items` (key, value) in `table`; beyond `max_entries` the least recently used go. A
        damaged file is set aside, an unusable one turns the cache off."""
        db = self._connect()
        if db is None or not items:
            return
        now = time.time()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(f"INSERT OR REPLACE INTO {table} (key, value, used) VALUES (?, ?, ?)",
                           [(k, v, now) for k, v in items])
            (count,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
            if count > max_entries:
                db.execute(f"DELETE FROM {table} WHERE key IN (SELECT key FROM {table} ORDER BY used LIMIT ?)",
                           (count - max_entries,))
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._set_aside(exc)
        except sqlite3.Error as exc:
            self._turn_off(exc)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def clean(directory: Path) -> bool:
    """Remove a cache directory (only one typetool made: it holds the cache's .gitignore); whether it was there."""
    import shutil

    if not (directory / ".gitignore").is_file() or not directory.name == CACHE_DIR:
        return False
    shutil.rmtree(directory)
    return True

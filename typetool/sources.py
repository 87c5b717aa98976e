"""Stage 0, sources: find the files to analyse and read them into `SourceFile`s.

Does: walks the given paths (skipping VCS, virtualenv, cache and vendored directories, and symlink loops),
decodes each file the way Python itself would (BOM, PEP 263 coding cookie, UTF-8 default), remembers the
encoding, BOM and line ending so write-back can reproduce them, and turns every unreadable, binary, oversized
or undecodable file into a `Diagnostic` instead of an exception.
Does not: parse anything, or decide which slots exist.
"""

from __future__ import annotations

import codecs
import io
import os
import tokenize
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from typetool import messages as M
from typetool.diagnostics import Diagnostic, Severity

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", "node_modules",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist", "_vendor", "vendor", "site-packages",
    }
)
PYTHON_SUFFIXES = (".py", ".pyi")
DEFAULT_MAX_BYTES = 2_000_000


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One decoded source file.

    `data` is the UTF-8 encoding of `text` (what tree-sitter parses; all byte offsets refer to it).
    `encoding`, `bom` and `newline` describe the file on disk, for a faithful write-back.
    """

    path: Path  # as given or found (not resolved), used to read and write
    relpath: str  # posix path relative to the project root, used in slot ids
    text: str
    data: bytes
    encoding: str
    bom: bool
    newline: str
    raw_hash: str  # sha256 of the bytes on disk, to detect stale predictions

    @property
    def line_count(self) -> int:
        return self.text.count("\n") + (0 if self.text.endswith("\n") or not self.text else 1)


def _diag(path: str, entry: tuple[str, str], severity: Severity = Severity.WARNING, **kw: object) -> Diagnostic:
    code, text = M.msg(entry, **kw)
    return Diagnostic(path=path, code=code, message=text, severity=severity)


def discover(
    paths: Iterable[Path], suffixes: tuple[str, ...] = PYTHON_SUFFIXES, skip_dirs: frozenset[str] = SKIP_DIRS
) -> Iterator[Path | Diagnostic]:
    """Yield files under `paths` (sorted, deduplicated by real path) or diagnostics for paths that fail.

    A path given explicitly is always yielded if it is a file, whatever its suffix: the user asked for it.
    """
    seen: set[str] = set()
    for root in paths:
        if not os.path.lexists(root):
            yield _diag(str(root), M.NOT_FOUND, Severity.ERROR)
            continue
        if root.is_symlink() and not root.exists():
            yield _diag(str(root), M.SYMLINK_LOOP if _is_loop(root) else M.NOT_FOUND, Severity.ERROR)
            continue
        if root.is_file():
            real = os.path.realpath(root)
            if real not in seen:
                seen.add(real)
                yield root
            continue
        if not root.is_dir():
            yield _diag(str(root), M.NOT_A_FILE)
            continue
        yield from _walk(root, suffixes, skip_dirs, seen, {os.path.realpath(root)})


def _is_loop(path: Path) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == 40  # ELOOP
    return False


def _walk(
    directory: Path, suffixes: tuple[str, ...], skip_dirs: frozenset[str], seen: set[str], active: set[str]
) -> Iterator[Path | Diagnostic]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        yield _diag(str(directory), M.UNREADABLE, reason=exc.strerror or str(exc))
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError:
            is_dir = is_file = False
        if not is_dir and not is_file:
            if entry.name.endswith(suffixes):
                if entry.is_symlink():  # dangling, or a loop
                    yield _diag(str(path), M.SYMLINK_LOOP if _is_loop(path) else M.NOT_FOUND)
                else:  # a FIFO, socket or device named like a source file
                    yield _diag(str(path), M.NOT_A_FILE)
            continue
        if is_dir:
            if entry.name in skip_dirs or entry.name.startswith(".") or entry.name.endswith(".egg-info"):
                continue
            real = os.path.realpath(path)
            if real in active:
                yield _diag(str(path), M.SYMLINK_LOOP)
                continue
            yield from _walk(path, suffixes, skip_dirs, seen, active | {real})
        elif is_file and entry.name.endswith(suffixes):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                yield path


_OVERLAY: ContextVar[Mapping[str, bytes] | None] = ContextVar("typetool_source_overlay", default=None)


@contextmanager
def overlay(contents: Mapping[Path, bytes]) -> Iterator[None]:
    """Within the block, `read_source` reads these files (by real path) from `contents` instead of the disk:
    a run that iterates to its fixpoint reads its own planned writes without writing them."""
    token = _OVERLAY.set({os.path.realpath(p): data for p, data in contents.items()})
    try:
        yield
    finally:
        _OVERLAY.reset(token)


def read_source(path: Path, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceFile | Diagnostic:
    """Read and decode one file, or explain why not. Never raises for problems with the file itself."""

    shown = str(path)
    planned = _OVERLAY.get()
    if planned:
        data = planned.get(os.path.realpath(path))
        if data is not None:
            return decode_source(data, path, relpath_for(path, root))
    try:
        size = path.stat().st_size
        if not path.is_file():
            return _diag(shown, M.NOT_A_FILE)
        if size > max_bytes:
            return _diag(shown, M.TOO_LARGE, size=size / 1e6, limit=max_bytes / 1e6)
        raw = path.read_bytes()
    except OSError as exc:
        if exc.errno == 40:
            return _diag(shown, M.SYMLINK_LOOP, Severity.ERROR)
        return _diag(shown, M.UNREADABLE, Severity.ERROR, reason=exc.strerror or str(exc))
    return decode_source(raw, path, relpath_for(path, root))


def relpath_for(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return Path(os.path.relpath(path, root)).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def decode_source(raw: bytes, path: Path, relpath: str) -> SourceFile | Diagnostic:
    """Decode bytes as Python does: BOM, then a PEP 263 cookie in the first two lines, else UTF-8."""
    import hashlib

    shown = str(path)
    if b"\x00" in raw:
        # A few NULs in otherwise textual data is a corrupt source file; many is a binary file.
        return _diag(shown, M.BINARY if raw.count(b"\x00") > 8 or _looks_binary(raw) else M.NUL_BYTES)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:
        if "invalid or missing encoding declaration" in str(exc):
            # no usable coding cookie and the first lines are not UTF-8 (say cp1252 text): say where
            return _diag(shown, M.BAD_ENCODING, Severity.ERROR, encoding="utf-8",
                         reason=_utf8_error(raw) + " and there is no PEP 263 coding declaration")
        return _diag(shown, M.UNKNOWN_ENCODING, Severity.ERROR, reason=str(exc))
    bom = raw.startswith(codecs.BOM_UTF8)
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        reason = str(exc)
        if isinstance(exc, UnicodeDecodeError):
            line = raw[: exc.start].count(b"\n") + 1
            reason = f"invalid byte 0x{raw[exc.start]:02x} on line {line}"
        return _diag(shown, M.BAD_ENCODING, Severity.ERROR, encoding=encoding, reason=reason)
    except UnicodeError as exc:  # codecs may raise other UnicodeErrors
        return _diag(shown, M.BAD_ENCODING, Severity.ERROR, encoding=encoding, reason=str(exc))
    text = text.removeprefix("\ufeff")
    newline = "\r\n" if "\r\n" in text[:10000] else ("\r" if "\r" in text[:10000] else "\n")
    return SourceFile(
        path=path,
        relpath=relpath,
        text=text,
        data=text.encode("utf-8", "surrogatepass"),
        encoding=encoding,
        bom=bom,
        newline=newline,
        raw_hash=hashlib.sha256(raw).hexdigest(),
    )


def _utf8_error(raw: bytes) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return f"invalid byte 0x{raw[exc.start]:02x} on line {line}"
    return "the first two lines are not valid UTF-8"


def _looks_binary(raw: bytes) -> bool:
    head = raw[:4096]
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return control > len(head) // 20


def find_project_root(path: Path) -> Path:
    """The directory that Python would put on sys.path to import `path`: the first ancestor that is not a package."""
    path = path.resolve()
    current = path if path.is_dir() else path.parent
    while (current / "__init__.py").exists() and current.parent != current:
        current = current.parent
    return current

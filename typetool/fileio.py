"""Writing files safely, for every language: the bytes a text becomes in its file's encoding (`encode_like`), the
atomic, hash-checked write (`atomic_write`), the diff and write of proven bytes every writer ends with
(`write_result`, `deliver`), the unified diff shown to the user (`file_diff`), and the isolation each file's
rewrite runs in (`isolated`: its own thread with a large stack; whatever goes wrong is that file's outcome) and
across worker processes (`map_jobs`).

Does not: decide what to write (the languages' writers) or prove it (they do, before calling `write_result`;
`deliver` is given bytes a writer already proved).
"""

from __future__ import annotations

import codecs
import difflib
import errno
import hashlib
import os
import stat
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from typetool.diagnostics import Diagnostic
from typetool.messages import (
    CHANGED_ON_DISK,
    INTERNAL,
    OUT_OF_MEMORY,
    READ_ONLY,
    TOO_DEEP_TO_WRITE,
    UNENCODABLE,
    UNSAFE,
    WRITE_FAILED,
)
from typetool.outcomes import FileOutcome, FileStatus, SlotOutcome, WriteError, WriteMode, diag, diag_of
from typetool.sources import (
    SourceFile,
    decode_source,
)

ISOLATED_STACK = 256 * 1024 * 1024  # bytes of stack for a file's libcst work (address space; used as touched)
ISOLATED_RECURSION = 20_000  # Python frames for it (the Python writer's MAX_DEPTH levels need up to ~7,500)

_T = TypeVar("_T")
_R = TypeVar("_R")


# ------------------------------------------------------------------------------------------------- files, I/O

def encode_like(src: SourceFile, text: str) -> bytes:
    """`text` encoded as `src` was on disk: same encoding, BOM kept (line endings are in the text)."""
    encoding = "utf-8" if src.encoding.lower().replace("_", "-") in ("utf-8-sig", "utf8-sig") else src.encoding
    data = text.encode(encoding, "surrogateescape" if encoding.lower().startswith("utf") else "strict")
    return (codecs.BOM_UTF8 if src.bom else b"") + data


def _write_all(fd: int, data: bytes) -> None:
    """Write `data` to `fd` entirely (a separate function so that tests can make it fail)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def atomic_write(path: Path, data: bytes, expected_sha256: str) -> None:
    """Replace the file at `path` (through symlinks) with `data`, atomically, keeping its mode and owner.

    Refuses (`WriteError`) when the file is read-only or no longer has the hash it had when read; any failure
    leaves the file untouched and removes the temporary file.
    """
    target = Path(os.path.realpath(path))
    try:
        st = os.stat(target)
    except OSError as exc:
        raise WriteError(WRITE_FAILED, reason=exc.strerror or str(exc)) from exc
    if not (st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) or not os.access(target, os.W_OK):
        raise WriteError(READ_ONLY)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".typetool-tmp")
    except OSError as exc:
        raise WriteError(WRITE_FAILED, reason=f"cannot create a temporary file next to it: "
                                              f"{exc.strerror or exc}") from exc
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except OSError:
                pass
        if _sha256_of(target) != expected_sha256:
            raise WriteError(CHANGED_ON_DISK)
        os.replace(tmp, target)
    except WriteError:
        _unlink(tmp)
        raise
    except OSError as exc:
        _unlink(tmp)
        reason = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise WriteError(WRITE_FAILED, reason=reason) from exc
    except BaseException:
        _unlink(tmp)
        raise
    try:
        dfd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_result(src: SourceFile, shown: str, old: str, new: str, slots: tuple[SlotOutcome, ...],
                 diags: list[Diagnostic], mode: WriteMode, decodes_back: Callable[[SourceFile], bool] | None
                 ) -> FileOutcome:
    """The last steps of every writer, after its proof: encode `new` as `src` was on disk (refused when the
    encoding cannot hold it), check that the bytes decode back to the same file (`decodes_back`, given the
    decoded file; skipped when None), show the diff (`mode`) and write atomically (refused when the file
    changed on disk since it was read)."""
    try:
        data = encode_like(src, new)
    except UnicodeEncodeError as exc:
        diags.append(diag(shown, UNENCODABLE, encoding=src.encoding, reason=exc.reason))
        return FileOutcome(shown, FileStatus.REFUSED, slots=slots, diagnostics=tuple(diags))
    if decodes_back is not None:
        back = decode_source(data, src.path, src.relpath)
        if isinstance(back, Diagnostic) or not decodes_back(back):
            diags.append(diag(shown, UNSAFE, detail="the encoded result does not decode back to the same text"))
            return FileOutcome(shown, FileStatus.FAILED, slots=slots, diagnostics=tuple(diags))
    return deliver(src, shown, old, new, data, slots, diags, mode)


def deliver(src: SourceFile, shown: str, old: str, new: str, data: bytes, slots: tuple[SlotOutcome, ...],
            diags: list[Diagnostic], mode: WriteMode) -> FileOutcome:
    """The last step of every write, once the rewrite is proven and encoded (`data`, the bytes of `new`): show the
    diff from `old` (`mode`) and write `data` atomically over `src` (refused when the file no longer has the hash
    `src` was read with). `write_result` calls it right after the proof; `writeback.write_plan` calls it later
    with the bytes a plan proved, on the file read again."""
    diff = file_diff(old, new, shown) if mode.shows_diff else None
    if mode.writes:
        try:
            atomic_write(src.path, data, src.raw_hash)
        except WriteError as exc:
            diags.append(diag_of(shown, exc))
            return FileOutcome(shown, FileStatus.REFUSED, slots=slots, diagnostics=tuple(diags))
    return FileOutcome(shown, FileStatus.CHANGED, written=mode.writes, diff=diff, slots=slots,
                       diagnostics=tuple(diags), data=data, text=new)


def file_diff(old: str, new: str, shown: str) -> str:
    """A unified diff of one file: `a/PATH` and `b/PATH` headers for a file under the working directory (as
    git writes them, for `git apply` and `patch -p1`), the absolute path for any other file."""
    if shown.startswith("../") or shown == ".." or os.path.isabs(shown):
        heads = (os.path.abspath(shown),) * 2
    else:
        heads = (f"a/{shown}", f"b/{shown}")
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=heads[0], tofile=heads[1])
    out = []
    for line in lines:
        out.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    return "".join(out)



def map_jobs(fn: Callable[[_T], _R], items: Sequence[_T], jobs: int) -> list[_R]:
    """`map`, in `jobs` worker processes when that is worth it (libcst parsing is the bottleneck)."""
    if jobs <= 1 or len(items) < 4:
        return [fn(x) for x in items]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(jobs, len(items))) as pool:
        return list(pool.map(fn, items, chunksize=1))


def isolated(shown: str, work: Callable[[], FileOutcome]) -> FileOutcome:
    """`work()` (one file's parse, plan, proof and write), run in a thread of its own with `ISOLATED_STACK` bytes
    of stack and a recursion limit of at least `ISOLATED_RECURSION`, so that code nested up to `MAX_DEPTH` is
    handled whatever the platform's stack, and whatever goes wrong is this file's outcome: a RecursionError or
    MemoryError refuses the file, any other exception fails it (an internal error, exit code 123); the other
    files go on and the run's summary is printed. Nothing is written by a `work` that raised: the write is its
    last step, and atomic."""
    box: list[FileOutcome | BaseException] = []

    def target() -> None:
        try:
            box.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            box.append(exc)

    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, ISOLATED_RECURSION))
    try:
        thread: threading.Thread | None = None
        try:
            old_size = threading.stack_size(ISOLATED_STACK)
        except (ValueError, RuntimeError):  # cannot be set here: the main thread's stack is the larger one
            pass
        else:
            try:
                thread = threading.Thread(target=target, name="typetool-file", daemon=True)
                thread.start()
            except RuntimeError:  # no thread can be started (address-space limits): run it here
                thread = None
            finally:
                threading.stack_size(old_size)
        if thread is None:
            target()
        else:
            thread.join()
    finally:
        sys.setrecursionlimit(old_limit)
    result = box[0]
    if isinstance(result, FileOutcome):
        return result
    if isinstance(result, RecursionError):
        refused = diag(shown, TOO_DEEP_TO_WRITE, what=f"RecursionError: {result}")
    elif isinstance(result, MemoryError):
        refused = diag(shown, OUT_OF_MEMORY)
    elif isinstance(result, Exception):
        if os.environ.get("TYPETOOL_DEBUG"):
            traceback.print_exception(result)
        detail = f"{type(result).__name__}: {result}"
        return FileOutcome(shown, FileStatus.FAILED, diagnostics=(diag(shown, INTERNAL, detail=detail),))
    else:
        raise result  # KeyboardInterrupt, SystemExit
    return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(refused,))

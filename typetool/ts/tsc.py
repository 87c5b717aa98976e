"""The TypeScript compiler as a baseline and a syntax checker, through Node (`tools/tsc-infer`).

Does: runs `node tools/tsc-infer/infer.js` (typescript@5.9.3's "inferFromUsage" code fix, applied per file with
`getCombinedCodeFix`) and returns its edits with UTF-8 byte offsets of the files on disk; runs
`tools/tsc-infer/check.js` for TypeScript's own syntactic diagnostics; and turns the fix's edits into
`(byte offset, type text)` insertions (`edits_to_insertions`) that a caller matches to its own slots by where
`: T` goes. Raises `TscNotInstalled` (saying to run `npm ci --prefix tools/tsc-infer`) when node or the pinned
typescript is missing, `TscFailed` when node fails or runs past the timeout.
Does not: apply edits, write files, decide which slots the baseline should have filled, or use a globally
installed typescript (only the pinned one under tools/tsc-infer).

What the fix produces (typescript 5.9.3, noImplicitAny): `: T` after parameters (also optional `x?`, rest and
destructured ones, setter parameters), after `let x;` declarations whose type TypeScript could not determine,
after members and getter `()`; `: any` where usage says nothing. It does not add return types to ordinary
functions or annotate variables that have an initializer. It also inserts "(" and ")" around a lone
arrow-function parameter (`x => ...`, as three edits "(", ": T", ")"), `this: T` as a first parameter, and
import specifiers/declarations for the types it names; `edits_to_insertions` keeps only the `: T` insertions.
JSDoc edits only happen in JavaScript files, which are not given to it (allowJs is off).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

TYPESCRIPT_VERSION = "5.9.3"
INSTALL_HINT = "run `npm ci --prefix tools/tsc-infer` (needs Node.js 18 or newer on PATH)"
DEFAULT_TIMEOUT_S = 600.0
NODE_FLAGS = ("--max-old-space-size=4096",)


class TscNotInstalled(RuntimeError):
    """node, or typescript@5.9.3 under tools/tsc-infer, is missing."""


class TscFailed(RuntimeError):
    """node ran but failed, answered something unreadable, or ran past the timeout."""


@dataclass(frozen=True, slots=True)
class Edit:
    """One text change of the fix: replace bytes [start, end) of the file on disk with `new_text`."""

    start: int
    end: int
    new_text: str


def tools_dir() -> Path:
    """`tools/tsc-infer` of this checkout (TYPETOOL_TSC_INFER overrides it)."""
    override = os.environ.get("TYPETOOL_TSC_INFER")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "tools" / "tsc-infer"


def ensure_installed() -> tuple[str, Path]:
    """(node executable, tools dir), or TscNotInstalled saying how to install."""
    node = shutil.which("node")
    if node is None:
        raise TscNotInstalled(f"`node` is not on PATH: install Node.js, then {INSTALL_HINT}")
    tools = tools_dir()
    if not (tools / "infer.js").is_file():
        raise TscNotInstalled(f"{tools / 'infer.js'} is missing (tools/tsc-infer ships with the repository)")
    manifest = tools / "node_modules" / "typescript" / "package.json"
    try:
        version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        raise TscNotInstalled(f"typescript is not installed in {tools}: {INSTALL_HINT}") from None
    if version != TYPESCRIPT_VERSION:
        raise TscNotInstalled(f"{tools} has typescript {version}, typetool needs {TYPESCRIPT_VERSION}: {INSTALL_HINT}")
    return node, tools


def _run(script: str, root: Path, files: Sequence[str], timeout: float) -> list[dict[str, object]]:
    node, tools = ensure_installed()
    request = json.dumps({"root": str(Path(root).resolve()), "files": list(files)})
    try:
        done = subprocess.run([node, *NODE_FLAGS, str(tools / script)], input=request, check=False,
                              capture_output=True, text=True, encoding="utf-8", timeout=timeout, cwd=tools)
    except subprocess.TimeoutExpired:
        raise TscFailed(f"{script} ran past {timeout:g} s on {len(files)} files under {root}") from None
    if done.returncode != 0:
        if "Cannot find module 'typescript'" in done.stderr:
            raise TscNotInstalled(f"node cannot load typescript: {INSTALL_HINT}")
        raise TscFailed(f"{script} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    out: list[dict[str, object]] = []
    for line in done.stdout.splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            raise TscFailed(f"{script} printed a line that is not JSON: {line[:200]!r}") from None
        if not isinstance(item, dict) or not isinstance(item.get("file"), str):
            raise TscFailed(f"{script} printed an unexpected line: {line[:200]!r}")
        out.append(item)
    if [item["file"] for item in out] != list(files):
        raise TscFailed(f"{script} answered for {len(out)} of {len(files)} files")
    return out


def infer_from_usage(root: Path, files: Sequence[str], timeout: float = DEFAULT_TIMEOUT_S,
                     errors: dict[str, str] | None = None) -> dict[str, list[Edit]]:
    """Edits of TypeScript's inferFromUsage fix per file (paths relative to `root`, as given), with UTF-8 byte
    offsets. One language service sees all `files` (and whatever they import under `root`), so give a
    project's files in one call. A file TypeScript could not handle (unreadable, not UTF-8, a compiler crash)
    gets no edits; its message goes into `errors` when given."""
    result: dict[str, list[Edit]] = {}
    for item in _run("infer.js", root, files, timeout):
        rel = str(item["file"])
        raw_edits = item.get("edits")
        edits: list[Edit] = []
        for e in raw_edits if isinstance(raw_edits, list) else []:
            try:
                edits.append(Edit(int(e["start"]), int(e["end"]), str(e["newText"])))
            except (TypeError, KeyError, ValueError):
                raise TscFailed(f"infer.js printed a malformed edit for {rel}: {e!r}") from None
        result[rel] = edits
        if errors is not None and item.get("error"):
            errors[rel] = str(item["error"])
    return result


def syntax_errors(root: Path, files: Sequence[str], timeout: float = DEFAULT_TIMEOUT_S) -> dict[str, list[str]]:
    """TypeScript's syntactic diagnostics per file ("line:col TScode: message"); an empty list means the file
    parses. Type errors are not reported."""
    result: dict[str, list[str]] = {}
    for item in _run("check.js", root, files, timeout):
        messages = item.get("errors")
        result[str(item["file"])] = [str(m) for m in messages] if isinstance(messages, list) else []
    return result


ANNOTATION = re.compile(r"^:\s*(?P<type>\S.*?)\s*$", re.DOTALL)


def _follows_declared_name(source: bytes, offset: int) -> bool:
    """Whether `: T` inserted at `offset` would follow a name (`x`, `x?`), a destructuring pattern (`}`, `]`)
    or a getter's `()`."""
    if offset <= 0 or offset > len(source):
        return False
    before = source[offset - 1]
    return before >= 0x80 or chr(before).isalnum() or chr(before) in "_$?)]}"


def edits_to_insertions(source: bytes, edits: Iterable[Edit]) -> list[tuple[int, str]]:
    """The fix's `: T` insertions as (byte offset where `: T` goes, "T"), sorted by offset, duplicates removed.

    Keeps only pure insertions whose text is `: T` right after a declared name (see `_follows_declared_name`);
    drops "(" / ")" around a lone arrow parameter (the `: T` between them is kept, at the parameter's end),
    `this: T` parameters, import edits and anything that replaces text. A type printed over several lines is
    joined into one line. `any` is kept: it is what the fix writes when usage tells it nothing."""
    seen: set[tuple[int, str]] = set()
    out: list[tuple[int, str]] = []
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start != edit.end:
            continue
        m = ANNOTATION.match(edit.new_text)
        if m is None or not _follows_declared_name(source, edit.start):
            continue
        text = re.sub(r"\s*\n\s*", " ", m.group("type"))
        key = (edit.start, text)
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out

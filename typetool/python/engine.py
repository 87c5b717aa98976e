"""The type checker engine for Python: pyrefly, driven through its command line, behind one small interface.

Does: given the files of a project as the user has them (their texts: the files on disk, a fixpoint round's
planned writes, or stripped code in evaluation), writes them into a private temporary directory under their
project-relative paths, runs `pyrefly infer` there once (one process per run, all files at once: the engine
resolves call sites across the project), and reads back, with this wing's own slot finder, the annotation the
engine wrote at each unannotated slot: `{slot id: type}`. Those are the engine's inferred types: a return's from
its body, a parameter's from the arguments at the call sites it resolves (and its default), an attribute's
from what is assigned. Types with `Any`, `Unknown` or `@` (pyrefly's unsolved variables) parts are dropped: the
engine is not sure of them. The user's files are never touched; the copy is deleted.
Why pyrefly: measured on the dev-eval packages (docs/engine.md): it runs in about a second on a 10k-line package
on these 2 cores, and where it writes a type it matches the authors' annotation more often than autotyping's
guesses. ty and basedpyright infer as much only through an LSP session (inlay hints), a slower round trip.
Does not: decide anything (the engine stage, `typetool/model/engine_stage.py`, weighs the engine's type against
the model's candidates), run the model, or write the user's files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from typetool.languages import EngineError, GateVerdict

ENGINE_NAME = "pyrefly"
TIMEOUT_S = 600.0  # one run over a whole project; a larger project is cut off with a clear error
# the engine's own words for "not known": any of them in a type makes it unsure
_UNSURE = re.compile(r"\b(?:Any|Unknown)\b|@")


@dataclass(frozen=True, slots=True)
class EngineRun:
    """What one engine run gives: the inferred type per slot id, and what it cost."""

    types: dict[str, str]
    seconds: float
    files: int


def engine_binary() -> Path:
    """The `pyrefly` executable: `$TYPETOOL_PYREFLY` when set, else the one installed beside this Python (the
    package's dependency), else on PATH."""
    named = os.environ.get("TYPETOOL_PYREFLY")
    if named:
        if not (Path(named).is_file() and os.access(named, os.X_OK)):
            raise EngineError(f"the type checker engine named by TYPETOOL_PYREFLY ({named}) is not an executable "
                              "file; unset it, or run with --no-engine for model-only predictions")
        return Path(named)
    here = Path(sys.executable).parent / ENGINE_NAME
    if here.is_file() and os.access(here, os.X_OK):
        return here
    try:  # where pip put the binary of the installed distribution (another environment's, through a .pth)
        from importlib.metadata import PackageNotFoundError, files

        for f in files(ENGINE_NAME) or ():
            if f.name == ENGINE_NAME and "bin" in f.parts:
                located = Path(str(f.locate()))
                if located.is_file() and os.access(located, os.X_OK):
                    return located
    except PackageNotFoundError:
        pass
    found = shutil.which(ENGINE_NAME)
    if found is None:
        raise EngineError(f"the type checker engine ({ENGINE_NAME}) is not installed: `pip install {ENGINE_NAME}` "
                          "(a dependency of typetool), or run with --no-engine for model-only predictions")
    return Path(found)


def sure(type_text: str) -> bool:
    """Whether an engine type is fully known (no `Any`/`Unknown` part, no unsolved type variable)."""
    return bool(type_text.strip()) and _UNSURE.search(type_text) is None


def _safe_relpath(relpath: str) -> PurePosixPath | None:
    """A project-relative path that stays inside the copy (no absolute path, no `..`), else None."""
    p = PurePosixPath(relpath.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or not p.parts:
        return None
    return p


def search_roots(files: Mapping[str, str]) -> list[str]:
    """The import roots of `files`, as the slot finder names modules: the directory above each file's topmost
    package (the first ancestor without an `__init__.py` among the files)."""
    present = {PurePosixPath(r.replace("\\", "/")) for r in files}
    roots: set[str] = set()
    for path in present:
        d = path.parent
        while d != d.parent and (d / "__init__.py") in present:
            d = d.parent
        roots.add(str(d))
    return sorted(roots)


def _write_copy(root: Path, files: Mapping[str, str]) -> list[Path]:
    """Write the Python files of `files` under `root` at their project-relative paths; the paths written."""
    written: list[Path] = []
    for relpath, text in files.items():
        rel = _safe_relpath(relpath)
        if rel is None or rel.suffix != ".py":
            continue
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        written.append(dest)
    return written


def _run(cmd: list[str], root: Path, timeout: float, files: int) -> subprocess.CompletedProcess[str]:
    """Run the engine in `root`; EngineError when it cannot start, runs past `timeout` or fails (exit 0 and 1,
    errors found in the code, are answers)."""
    try:
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise EngineError(f"the type checker engine ({ENGINE_NAME}) ran past {timeout:.0f} s on {files} files; "
                          "run with --no-engine") from exc
    except OSError as exc:
        raise EngineError(f"the type checker engine ({ENGINE_NAME}) could not start: {exc}") from exc
    if proc.returncode not in (0, 1):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise EngineError(f"the type checker engine ({ENGINE_NAME}) failed (exit {proc.returncode}): "
                          + (" | ".join(tail) or "it printed nothing"))
    return proc


def _common_args(root: Path, files: Mapping[str, str]) -> list[str]:
    # the Python running typetool (the user's environment) is the one whose site-packages resolve imports
    return ["--color", "never", "--python-interpreter-path", sys.executable, "--use-ignore-files=false", "--disable-project-excludes-heuristics",
            "--project-excludes", "**/__pycache__",
            *(arg for r in search_roots(files) for arg in ("--search-path", str(root / r)))]


def infer_types(files: Mapping[str, str], timeout: float = TIMEOUT_S) -> EngineRun:
    """The engine's inferred type at every unannotated slot of `files` ({project-relative path: text}), by slot
    id. Raises EngineError when the engine is missing, crashes or runs past `timeout` seconds."""
    import time

    from typetool.python.project import PythonProject
    from typetool.python.slots import iter_sites

    binary = engine_binary()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="typetool-engine-") as tmp:
        root = Path(tmp)
        written = _write_copy(root, files)
        if not written:
            return EngineRun({}, 0.0, 0)
        # the slots annotated before the engine ran are the user's, not the engine's
        before = {site.slot.id: site.slot.annotation
                  for site in iter_sites(PythonProject.load(written, root=root), skip_too_deep=True)}
        _run([str(binary), "infer", "--imports=false", "--containers=true", *_common_args(root, files), "."], root,
             timeout, len(written))
        types: dict[str, str] = {}
        for site in iter_sites(PythonProject.load(written, root=root), skip_too_deep=True):
            ann = site.slot.annotation
            if ann and before.get(site.slot.id) is None and sure(ann):
                types[site.slot.id] = " ".join(ann.split())
    return EngineRun(types, time.perf_counter() - start, len(written))


@dataclass(frozen=True, slots=True)
class EngineDiagnostic:
    """One error the engine reports: where (project-relative path, 1-based line), its kind and its message."""

    path: str
    line: int
    name: str
    description: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies the error across an edit that moves lines (annotations, imports added)."""
        return (self.path, self.name, self.description)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.name}: {self.description}"


def check_errors(files: Mapping[str, str], timeout: float = TIMEOUT_S) -> list[EngineDiagnostic]:
    """The errors the engine reports on `files` (`pyrefly check --preset default`, JSON)."""
    import json

    binary = engine_binary()
    with tempfile.TemporaryDirectory(prefix="typetool-gate-") as tmp:
        root = Path(tmp)
        written = _write_copy(root, files)
        if not written:
            return []
        proc = _run([str(binary), "check", "--output-format", "json", "--preset", "default",
                     *_common_args(root, files), "."], root, timeout, len(written))
        try:
            data = json.loads(proc.stdout or "{}")
        except json.JSONDecodeError as exc:
            raise EngineError(f"the type checker engine ({ENGINE_NAME}) printed no JSON: {exc}") from exc
    out: list[EngineDiagnostic] = []
    for e in data.get("errors", []):
        if e.get("severity", "error") != "error":
            continue
        path = str(e.get("path", ""))
        # the concise message, without the copy's temporary path (it differs from one run to the next): the
        # same error before and after the annotations reads the same
        text = str(e.get("concise_description") or e.get("description", "")).split("\n", 1)[0]
        out.append(EngineDiagnostic(path[len(str(root)) + 1:] if path.startswith(str(root)) else path,
                                    int(e.get("line", 0)), str(e.get("name", "")),
                                    text.replace(str(root) + "/", "").replace(str(root), ".")))
    return out


_CHECKED: dict[str, list[EngineDiagnostic]] = {}  # fingerprint of the files -> their errors (a few, newest last)


def _check_memo(files: Mapping[str, str], timeout: float) -> list[EngineDiagnostic]:
    """`check_errors(files)`, remembered for the last few sets of files (by their paths and texts)."""
    import hashlib

    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode("utf-8", "surrogatepass") + b"\0" + files[rel].encode("utf-8", "surrogatepass") + b"\0")
    key = h.hexdigest()
    if key not in _CHECKED:
        _CHECKED[key] = check_errors(files, timeout)
        while len(_CHECKED) > 4:
            _CHECKED.pop(next(iter(_CHECKED)))
    return _CHECKED[key]


_IN_FUNCTION = re.compile(r"in function `([\w.]+)`")
_PARAMETER = re.compile(r"parameter `(\w+)`")
_OVERRIDE = re.compile(r"Class member `[\w.]+?\.(\w+)` overrides parent class `(\w+)`")


def gate(before: Mapping[str, str], after: Mapping[str, str], written: Iterable[str],
         timeout: float = TIMEOUT_S) -> GateVerdict:
    """The engine's errors in `after` (the files with the planned annotations) that `before` (as the user has
    them) does not have, and the written slots (`written`, slot ids) to blame for each: the parameter an
    argument error names (`parameter p ... in function f`), else the written slots of the innermost function
    around the error, else a written slot on the error's line; an error none of these explains blames every
    written slot of its file."""
    from collections import Counter

    from typetool.python.project import PythonProject
    from typetool.python.slots import iter_sites

    old = _check_memo(before, timeout)  # the same project as read in every gate round of a run: checked once
    new = check_errors(after, timeout)
    seen = Counter(e.key for e in old)
    fresh: list[EngineDiagnostic] = []
    for e in new:
        if seen[e.key] > 0:
            seen[e.key] -= 1
        else:
            fresh.append(e)
    if not fresh:
        return GateVerdict((), {})
    wanted = set(written)
    with tempfile.TemporaryDirectory(prefix="typetool-gate-") as tmp:
        root = Path(tmp)
        paths = _write_copy(root, {rel: text for rel, text in after.items() if rel in {e.path for e in fresh}
                                   or any(s.startswith(rel + "::") for s in wanted)})
        sites = [s for s in iter_sites(PythonProject.load(paths, root=root), skip_too_deep=True)
                 if s.slot.id in wanted]
    by_file: dict[str, list[Any]] = {}
    for s in sites:
        by_file.setdefault(s.slot.file, []).append(s)
    blamed: dict[str, str] = {}
    for e in fresh:
        lines = after.get(e.path, "").splitlines()
        text = lines[e.line - 1] if 0 < e.line <= len(lines) else ""
        found = _blame(e, text, sites, by_file.get(e.path, [])) or {s.slot.id for s in by_file.get(e.path, [])}
        for sid in found:
            blamed.setdefault(sid, str(e))
    return GateVerdict(tuple(str(e) for e in fresh), blamed)


_CALLED = re.compile(r"([A-Za-z_]\w*)\s*\(")


def _blame(e: EngineDiagnostic, text: str, sites: list[Any], in_file: list[Any]) -> set[str]:
    """The written slots to blame for `e` (`text`: its line in the planned file), in this order: the parameter
    an argument error names; a base method's slots that its overrides now contradict; the written returns of
    the functions called on the error's line (`f(x).replace` fails when `f` was given a wrong return); the
    written slots of the innermost function around the line; a written slot on the line. Empty: none."""
    override = _OVERRIDE.search(e.description)
    if override is not None:  # one wrong annotation of a base method breaks every override: blame the base's
        member, parent = override.groups()
        scope = re.compile(rf"(^|\.){re.escape(parent)}\.{re.escape(member)}(@\d+)?$")
        hits = {s.slot.id for s in sites if s.slot.kind.value in ("param", "return") and scope.search(s.slot.scope)}
        if hits:
            return hits
    fn, param = _IN_FUNCTION.search(e.description), _PARAMETER.search(e.description)
    if fn is not None and param is not None:
        name = fn.group(1).rsplit(".", 1)[-1]
        hits = {s.slot.id for s in sites if s.slot.kind.value == "param" and s.slot.name == param.group(1)
                and s.function is not None and s.function.name == name}
        if hits:
            return hits
    called = set(_CALLED.findall(text))
    if called:
        hits = {s.slot.id for s in sites if s.slot.kind.value == "return"
                and s.slot.scope.rsplit(".", 1)[-1].split("@", 1)[0] in called}
        if hits:
            return hits
    around = [s for s in in_file if s.function is not None
              and s.function.node.start_point[0] + 1 <= e.line <= s.function.node.end_point[0] + 1]
    if around:
        inner = max(around, key=lambda s: s.function.node.start_point[0])
        return {s.slot.id for s in around if s.function is inner.function}
    return {s.slot.id for s in in_file if s.slot.line == e.line}


# The fixed signatures of Python's protocol methods: what the data model requires or what nearly every typed
# project writes (measured on the 37 unpacked corpus packages, strict labels: each rule's type is the authors'
# at 85-100% of its sites, `__eq__`'s `other: object` at 56%, the rest writing the class or Any).
PROTOCOL_RETURNS: dict[str, str] = {
    "__repr__": "str", "__str__": "str", "__format__": "str", "__bytes__": "bytes", "__hash__": "int",
    "__len__": "int", "__index__": "int", "__int__": "int", "__float__": "float", "__bool__": "bool",
    "__contains__": "bool", "__eq__": "bool", "__ne__": "bool", "__setattr__": "None", "__delattr__": "None",
    "__setitem__": "None", "__delitem__": "None", "__set_name__": "None", "__init_subclass__": "None",
    "__init__": "None", "__dir__": "list[str]",
}
PROTOCOL_PARAMS: dict[str, tuple[str, ...]] = {  # by position after self
    "__exit__": ("type[BaseException] | None", "BaseException | None", "TracebackType | None"),
    "__aexit__": ("type[BaseException] | None", "BaseException | None", "TracebackType | None"),
    "__eq__": ("object",), "__ne__": ("object",), "__getattr__": ("str",), "__getattribute__": ("str",),
    "__setattr__": ("str",), "__delattr__": ("str",), "__format__": ("str",), "__contains__": ("object",),
}


def protocol_types(project: Any, annotated_too: bool = False) -> dict[str, str]:
    """The protocol methods' fixed types at the unannotated slots of `project` (a `PythonProject`; with
    `annotated_too`, at the annotated ones as well: strip-and-recover), by slot id: a method of a class named
    like a data-model method (`PROTOCOL_RETURNS`, `PROTOCOL_PARAMS`)."""
    from typetool.python.slots import iter_sites

    out: dict[str, str] = {}
    for site in iter_sites(project, skip_too_deep=True):
        fn, slot = site.function, site.slot
        if (slot.annotation and not annotated_too) or fn is None or fn.cls is None or not fn.name.startswith("__"):
            continue
        if slot.kind.value == "return" and fn.name in PROTOCOL_RETURNS:
            out[slot.id] = PROTOCOL_RETURNS[fn.name]
        elif slot.kind.value == "param" and site.param is not None and fn.name in PROTOCOL_PARAMS:
            position = site.param.index - 1  # after self
            rule = PROTOCOL_PARAMS[fn.name]
            if 0 <= position < len(rule) and site.param.kind in ("positional", "posonly"):
                out[slot.id] = rule[position]
    return out

"""The editor core behind `typetool lsp`: documents in, hints, hovers and safe edits out (no LSP types here).

Does: analyses the text of one editor buffer (saved or not) through its language's `LanguageAdapter`, which runs
the same stages as the CLI (project, slots, slices, write-back) in its wing, and answers what an editor asks:
inlay hints for the unannotated slots in a range (the partial type, holes `?`, flagged low when the calibrated
confidence is below `min-confidence`), hover text (top candidates with calibrated probabilities, the prediction
set at the configured epsilon/delta, the usage evidence), and the text edits that insert one slot's annotation,
a whole function's or a whole file's, computed by the write-back stage, proven safe as `typetool apply` proves
them (re-parse and compare, comments and scopes kept, a second application changes nothing) and turned into
minimal edits with line/column positions in the editor's unit (UTF-16 code units unless negotiated otherwise).
Predictions are cached by model input (the rendered slice and the names in scope), so an edit re-predicts
only the slots whose evidence changed; the model is loaded once and shared by every epsilon/delta.
One core for every language: positions, edits, settings, the model and its cache, and the answers are here;
what differs (finding the slots and where the editor shows them, how a type is printed, how the edits are made
and proven) is a `LanguageAdapter` that lives in the language's wing (`typetool/python/editor.py`,
`typetool/ts/editor.py`), reached through the registry (`Language.editor`, `adapter(key)`) and chosen per
document by `document_language` (a file's suffix, else the editor's languageId: `Language.editor_ids`).
A file a language claims but does not analyse by suffix (JavaScript) gets nothing.
Does not: import a language wing, speak LSP, schedule work or talk to the client (`typetool.lsp_server`), or
write files.

Threading: an `Engine` and the `DocumentAnalysis` objects it returns are used from one worker thread at a
time (the server runs all analysis on one thread; torch uses its own).
"""

from __future__ import annotations

import bisect
import copy
import difflib
import functools
import hashlib
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, cast

from typetool import messages as M
from typetool.diagnostics import Diagnostic, Severity
from typetool.languages import by_key, default_language, language_claiming, languages
from typetool.settings import Settings, SettingsError, find_pyproject, load_settings, validate
from typetool.slices import UsageSlice, render_slice
from typetool.slots import Slot, SlotKind
from typetool.sources import SourceFile, decode_source

if TYPE_CHECKING:
    from typetool.predictions import Prediction, TypePredictor
    from typetool.writeback import SlotOutcome

Encoding = Literal["utf-16", "utf-8", "utf-32"]
SITE_KINDS = {"params": SlotKind.PARAM, "returns": SlotKind.RETURN, "variables": SlotKind.VARIABLE,
              "attributes": SlotKind.ATTRIBUTE}
KIND_WORDS = {SlotKind.PARAM: "parameter", SlotKind.RETURN: "return type", SlotKind.VARIABLE: "variable",
              SlotKind.ATTRIBUTE: "attribute"}
PREDICT_CHUNK = 8  # slots per model call between cancellation checks
CACHE_SIZE = 50_000  # predictions kept across document versions (a few hundred bytes each)
_UNIT = re.compile(r"\r\n|.", re.DOTALL)
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)
T = TypeVar("T")


class Stale(Exception):
    """The document changed (or the request was cancelled) while the work ran; its result would be wrong."""


class EditError(Exception):
    """The edits cannot be made (the file does not parse, or a rewrite failed its proof); says why."""


# ------------------------------------------------------------------------------------------------ positions

@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A position as the editor counts: 0-based line, 0-based column in the negotiated unit (UTF-16 by
    default)."""

    line: int
    character: int


@dataclass(frozen=True, slots=True)
class Range:
    start: Position
    end: Position


@dataclass(frozen=True, slots=True)
class TextEdit:
    range: Range
    new_text: str


def _units(s: str, encoding: Encoding) -> int:
    if encoding == "utf-32" or s.isascii():
        return len(s)
    if encoding == "utf-8":
        return len(s.encode("utf-8", "surrogatepass"))
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


class LineIndex:
    """Converts between character offsets, UTF-8 byte offsets (what tree-sitter reports) and editor positions.

    Lines end at `\\n`, `\\r\\n` or `\\r`, as in LSP. Columns count `encoding` code units; a position past the
    end of a line (or inside a surrogate pair or a multi-byte character) is clamped, as the LSP asks."""

    def __init__(self, text: str, encoding: Encoding = "utf-16") -> None:
        self.text = text
        self.encoding = encoding
        self.ascii = text.isascii()
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
        self._byte_starts: list[int] | None = None  # UTF-8 offsets of the `\n`-separated lines
        self._char_starts: list[int] | None = None

    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        return Position(line, offset - start if self.ascii else _units(self.text[start:offset], self.encoding))

    def offset(self, pos: Position) -> int:
        if pos.line < 0:
            return 0
        if pos.line >= len(self.starts):
            return len(self.text)
        start = self.starts[pos.line]
        end = self.starts[pos.line + 1] if pos.line + 1 < len(self.starts) else len(self.text)
        line = self.text[start:end].rstrip("\r\n")
        want = max(0, pos.character)
        if self.ascii or self.encoding == "utf-32":
            return start + min(want, len(line))
        count = 0
        for i, c in enumerate(line):
            width = _units(c, self.encoding)
            if count + width > want:
                return start + i
            count += width
        return start + len(line)

    def byte_to_offset(self, byte: int) -> int:
        """Character offset of a UTF-8 byte offset into `text.encode()` (tree-sitter's unit)."""
        if self.ascii:
            return byte
        if self._byte_starts is None:
            self._byte_starts, self._char_starts, b, c = [], [], 0, 0
            for line in self.text.split("\n"):
                self._byte_starts.append(b)
                self._char_starts.append(c)
                b += len(line.encode("utf-8", "surrogatepass")) + 1
                c += len(line) + 1
        assert self._char_starts is not None
        i = bisect.bisect_right(self._byte_starts, byte) - 1
        start = self._byte_starts[i]
        line = self.text[self._char_starts[i]:]
        prefix = line.encode("utf-8", "surrogatepass")[:byte - start]
        return self._char_starts[i] + len(prefix.decode("utf-8", "ignore"))

    def range(self, start: int, end: int) -> Range:
        return Range(self.position(start), self.position(end))


def text_edits(old: str, new: str, index: LineIndex) -> list[TextEdit]:
    """Minimal edits that turn `old` into `new`: a line diff, refined to characters inside changed lines (so
    that inserting an annotation is an insertion, not a replaced line). Non-overlapping, in document order,
    all relative to `old`, as LSP requires."""
    if old == new:
        return []
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    edits: list[TextEdit] = []

    def add(start: int, end: int, text: str) -> None:
        edits.append(TextEdit(index.range(start, end), text))

    def refine(base: int, x: str, y: str) -> None:
        # compare characters, with `\r\n` as one unit: an edit must not split a line break in two
        xs, ys = _UNIT.findall(x), _UNIT.findall(y)
        at = [0]
        for u in xs:
            at.append(at[-1] + len(u))
        sm = difflib.SequenceMatcher(None, xs, ys, autojunk=False)
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag != "equal":
                add(base + at[i1], base + at[i2], "".join(ys[j1:j2]))

    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            for k in range(i2 - i1):
                if a[i1 + k] != b[j1 + k]:
                    refine(starts[i1 + k], a[i1 + k], b[j1 + k])
        elif tag == "replace" and len("".join(a[i1:i2])) + len("".join(b[j1:j2])) < 4000:
            refine(starts[i1], "".join(a[i1:i2]), "".join(b[j1:j2]))
        else:
            add(starts[i1], starts[i2], "".join(b[j1:j2]))
    return edits


def apply_text_edits(text: str, edits: Sequence[TextEdit], encoding: Encoding = "utf-16") -> str:
    """Apply LSP-style edits (all relative to `text`) as an editor does; for tests and for `annotate workspace`
    summaries."""
    index = LineIndex(text, encoding)
    spans = sorted(((index.offset(e.range.start), index.offset(e.range.end), e.new_text) for e in edits),
                   key=lambda s: (s[0], s[1]))
    out: list[str] = []
    pos = 0
    for start, end, new in spans:
        if start < pos:
            raise ValueError("overlapping edits")
        out.append(text[pos:start])
        out.append(new)
        pos = end
    out.append(text[pos:])
    return "".join(out)


# ------------------------------------------------------------------------------------------------- settings

@dataclass(frozen=True, slots=True)
class EditorSettings:
    """`[tool.typetool]` with the editor's own settings laid over it, plus what only an editor has."""

    settings: Settings = field(default_factory=Settings)
    hints: bool = True  # show inlay hints at all

    @property
    def kinds(self) -> frozenset[SlotKind]:
        return frozenset(SITE_KINDS[p.strip()] for p in self.settings.sites.split(",") if p.strip() in SITE_KINDS)

    @property
    def view_key(self) -> tuple[float, float, str]:
        """What a prediction's set depends on besides the slice: epsilon, delta and the guarantee."""
        return (self.settings.epsilon, self.settings.delta, self.settings.guarantee)


# editor setting (camelCase, as VS Code spells it) -> (Settings field, accepted Python types)
_CLIENT_KEYS: dict[str, tuple[str, tuple[type, ...]]] = {
    "model": ("model", (str,)), "device": ("device", (str,)), "precision": ("precision", (str,)),
    "epsilon": ("epsilon", (int, float)), "delta": ("delta", (int, float)), "guarantee": ("guarantee", (str,)),
    "targetVersion": ("target_version", (str,)), "minConfidence": ("min_confidence", (int, float)), "batchSize": ("batch_size", (int,)),
    "sites": ("sites", (str, list)),
}


def client_overrides(raw: object) -> tuple[dict[str, Any], bool | None, list[str]]:
    """Read the editor's `typetool` settings: (Settings overrides, whether hints are on (None: not said),
    problems). Unknown keys are ignored (the extension has its own, such as `path`); `null` means "not set"."""
    problems: list[str] = []
    overrides: dict[str, Any] = {}
    hints: bool | None = None
    if raw is None:
        return overrides, hints, problems
    if not isinstance(raw, Mapping):
        return overrides, hints, [f"typetool settings must be an object, not {type(raw).__name__}"]
    for key, (name, kinds) in _CLIENT_KEYS.items():
        value = raw.get(key, raw.get(name))
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, kinds):
            problems.append(f"typetool.{key}: expected {' or '.join(k.__name__ for k in kinds)}, not {value!r}")
            continue
        if name == "sites" and isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                problems.append(f"typetool.sites: expected a list of names, not {value!r}")
                continue
            value = ",".join(value)
        overrides[name] = float(value) if name in ("epsilon", "delta", "min_confidence") else value
    inlay = raw.get("inlayHints")
    if isinstance(inlay, Mapping) and isinstance(inlay.get("enable"), bool):
        hints = inlay["enable"]
    elif inlay is not None and not isinstance(inlay, Mapping):
        problems.append("typetool.inlayHints must be an object")
    return overrides, hints, problems


class SettingsResolver:
    """Settings for a document: its nearest pyproject.toml's `[tool.typetool]` (re-read when the file
    changes), then the editor's settings on top. Problems are reported once each through `report`."""

    def __init__(self, report: Callable[[str], None] = lambda _m: None,
                 fixed: Mapping[str, Any] | None = None) -> None:
        self.report = report
        self.fixed = {k: v for k, v in (fixed or {}).items() if v is not None}  # command-line options: win
        self.overrides: dict[str, Any] = {}
        self.hints = True
        self._files: dict[Path, tuple[float, Settings]] = {}
        self._reported: set[str] = set()

    def set_client(self, raw: object) -> None:
        overrides, hints, problems = client_overrides(raw)
        self.overrides = overrides
        self.hints = True if hints is None else hints
        for p in problems:
            self._once(p)

    def _once(self, message: str) -> None:
        if message not in self._reported:
            self._reported.add(message)
            self.report(message)

    def project_settings(self, start: Path) -> Settings:
        pyproject = find_pyproject(start)
        if pyproject is None:
            return Settings()
        try:
            mtime = pyproject.stat().st_mtime
        except OSError:
            return Settings()
        cached = self._files.get(pyproject)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            found = load_settings(pyproject.parent)
            if found.model is not None and not Path(found.model).is_absolute():
                found = replace(found, model=str(pyproject.parent / found.model))
        except SettingsError as exc:
            self._once(f"{exc}; using the defaults")
            found = Settings(source=str(pyproject))
        self._files[pyproject] = (mtime, found)
        return found

    def for_path(self, path: Path | None, fallback: Path | None = None) -> EditorSettings:
        start = path.parent if path is not None else fallback
        base = self.project_settings(start) if start is not None else Settings()
        try:
            merged = base.with_overrides(**self.overrides).with_overrides(**self.fixed)
            validate(merged, "editor settings")
        except (SettingsError, TypeError) as exc:
            self._once(f"{exc}; ignoring the editor's typetool settings")
            merged = base.with_overrides(**self.fixed)
        return EditorSettings(merged, self.hints)


# ------------------------------------------------------------------------------------------------- analysis

@functools.cache
def adapter(key: str) -> LanguageAdapter:
    """The editor's adapter of the language `key` (from its wing, through the registry; made once)."""
    return by_key(key).editor()


def language_ids() -> dict[str, str]:
    """The LSP languageIds the editor serves, each with the key of its language."""
    return {language_id: lang.key for lang in languages() for language_id in lang.editor_ids}


def language_name(key: str) -> str:
    """The language `key` as users read it ("Python"); the key itself when no language has it."""
    try:
        return by_key(key).name
    except KeyError:
        return key


def document_language(name: str, language_id: str | None = None) -> str | None:
    """The key of a document's language, by its file name's suffix (a `.d.ts` file is TypeScript's: its adapter
    says why it has no slots), else by the editor's languageId (a document without either is the default
    language's); None for a file of a language's family it does not analyse (JavaScript) and anything else
    typetool does not analyse."""
    for lang in languages():
        if name.endswith(lang.suffixes):
            return lang.key
    if language_claiming(name) is not None:
        return None
    if language_id is None:
        return default_language().key
    return language_ids().get(language_id)


def document_name(relpath: str, language: str, language_id: str | None = None) -> str:
    """The name a document of `language` is analysed under: `relpath`, with the suffix its languageId gives an
    unnamed buffer (`Language.editor_ids`: `.ts`, `.tsx` for typescriptreact; none for Python) when it has
    none of the language's suffixes (an untitled buffer)."""
    lang = by_key(language)
    if relpath.endswith(lang.suffixes):
        return relpath
    ids = lang.editor_ids
    if language_id is not None and language_id in ids:
        return relpath + ids[language_id]
    return relpath + next(iter(ids.values()), "")


def buffer_source(text: str, path: Path, relpath: str, coding_cookie: bool = True) -> SourceFile | Diagnostic:
    """A `SourceFile` for an editor buffer: the text is what the editor shows (already decoded), so only the
    encoding the file declares (`coding_cookie`: in a `# coding:` comment on one of its first two lines, as
    Python's PEP 263 has it) is taken from it (write-back skips types that encoding cannot hold); otherwise
    UTF-8."""
    if "\x00" in text:
        return decode_source(text.encode("utf-8", "surrogatepass"), path, relpath)  # the NUL diagnostic
    encoding = "utf-8"
    for line in (text.splitlines()[:2] if coding_cookie else ()):
        m = _CODING.match(line)
        if m:
            encoding = m.group(1)
            break
        if line.strip() and not line.lstrip().startswith("#"):
            break
    data = text.encode("utf-8", "surrogatepass")
    newline = "\r\n" if "\r\n" in text[:10000] else ("\r" if "\r" in text[:10000] else "\n")
    return SourceFile(path=path, relpath=relpath, text=text, data=data, encoding=encoding, bom=False,
                      newline=newline, raw_hash=hashlib.sha256(data).hexdigest())


class Site(Protocol):
    """A language's slot site: the shared `Slot` with whatever facts its wing found it with."""

    @property
    def slot(self) -> Slot: ...


@dataclass(eq=False, slots=True)
class SlotView:
    """One unannotated slot of a document, with where the editor shows it."""

    site: Site  # the wing's own site (`python.slots.SlotSite`, `ts.slots.TsSlotSite`)
    anchor: int  # character offset where the annotation goes (after the name; after `)` for returns)
    name_span: tuple[int, int]  # character offsets of the name (of the function, for returns): hover target
    function: str | None  # qualified name of the function the slot belongs to ("annotate function")
    usage: UsageSlice | None = None  # sliced on demand

    @property
    def id(self) -> str:
        return self.site.slot.id

    @property
    def kind(self) -> SlotKind:
        return self.site.slot.kind


@dataclass(eq=False)
class DocumentAnalysis:
    """One version of one document: its slots and whatever has been predicted for them so far."""

    key: str  # the document's URI (or any stable name)
    version: int | None
    text: str
    path: Path
    relpath: str
    index: LineIndex
    slots: list[SlotView] = field(default_factory=list)
    functions: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # qualname -> (start, end, name)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    source: SourceFile | None = None
    slicer: object | None = None  # the adapter's slicer over the document's project
    predictions: dict[str, Prediction] = field(default_factory=dict)
    predicted_for: tuple[float, float, str] | None = None  # (epsilon, delta, guarantee) the predictions were made with
    elapsed: float = 0.0  # seconds the analysis took
    language: str = "py"  # the language's key: which `LanguageAdapter` handles this document
    edit_tree: object = None  # the adapter's own parse of the text for edits (or the `EditError`), made once

    @property
    def adapter(self) -> LanguageAdapter:
        return adapter(self.language)

    def by_id(self) -> dict[str, SlotView]:
        return {s.id: s for s in self.slots}

    def slots_in(self, start: int, end: int, kinds: frozenset[SlotKind]) -> list[SlotView]:
        return [s for s in self.slots if s.kind in kinds and start <= s.anchor <= end]

    def slot_at(self, offset: int, kinds: frozenset[SlotKind]) -> SlotView | None:
        """The slot whose name (or whose annotation point) is at `offset`."""
        for s in self.slots:
            if s.kind in kinds and (s.name_span[0] <= offset <= s.name_span[1] or offset == s.anchor):
                return s
        return None

    def function_at(self, offset: int) -> str | None:
        """The innermost function with unannotated slots whose text holds `offset`."""
        best: tuple[int, str] | None = None
        for qualname, (start, end, _name) in self.functions.items():
            if start <= offset <= end and (best is None or end - start < best[0]):
                best = (end - start, qualname)
        return best[1] if best else None


# -------------------------------------------------------------------------------------------- the languages

class LanguageAdapter:
    """What differs between languages in the editor core (everything else is shared); each wing has one
    (`typetool.<wing>.editor`), which its `Language.editor` returns."""

    name: str  # the language's key
    hole_text: str  # how a hole is written (`Any`, `any`)

    def analyse(self, analysis: DocumentAnalysis, context: Iterable[SourceFile]) -> None:
        """Fill in the analysis' source, diagnostics, slicer, unannotated slots and their functions."""
        raise NotImplementedError

    def slice(self, analysis: DocumentAnalysis, view: SlotView) -> UsageSlice:
        raise NotImplementedError

    def show(self, type_: str, hole: str = "?") -> str:
        """A type in the shared bracket form (holes `?`) as this language writes it."""
        return type_ if hole == "?" else type_.replace("?", hole)

    def hint_label(self, view: SlotView, shown: str) -> tuple[str, bool]:
        """The inlay hint's text at the slot's anchor and whether it needs space on its left."""
        return f": {shown}", False

    def annotation_text(self, view: SlotView, shown: str) -> str:
        """The slot with its annotation, as a code action's title shows it."""
        return f"{view.site.slot.name}: {shown}"

    def edit_plan(self, engine: Engine, analysis: DocumentAnalysis, types: Mapping[str, str],
                  settings: EditorSettings, overwrite: bool) -> EditPlan:
        """The edits that write `types` into the document, proven safe; `EditError` with the reason."""
        raise NotImplementedError


def too_deep(analysis: DocumentAnalysis) -> None:
    """What an adapter does when the document is nested too deeply to analyse: a diagnostic, no slots."""
    code, message = M.msg(M.TOO_DEEP)
    analysis.diagnostics.append(Diagnostic(analysis.relpath, code, message, Severity.WARNING))
    analysis.slots.clear()
    analysis.functions.clear()


def collect_slots(analysis: DocumentAnalysis, sites: Callable[[], Iterable[Any]],
                  view: Callable[[Any, LineIndex], SlotView | None],
                  function_span: Callable[[Any], tuple[int, int]]) -> None:
    """Add to `analysis` the unannotated slots among `sites()` (each a site with `.slot` and `.function`) that
    `view` places, and the byte span (`function_span`) of every function that owns one; a document nested too
    deeply to walk gets the too-deep diagnostic and no slots (`too_deep`)."""
    from typetool.workspace import analysis_context

    index = analysis.index
    with analysis_context():
        try:
            for site in sites():
                if site.slot.annotation is not None:
                    continue
                shown = view(site, index)
                if shown is None:
                    continue
                analysis.slots.append(shown)
                fn = site.function
                if shown.function is not None and fn is not None and shown.function not in analysis.functions:
                    start, end = function_span(fn)
                    analysis.functions[shown.function] = (index.byte_to_offset(start), index.byte_to_offset(end),
                                                          fn.name)
        except RecursionError:
            too_deep(analysis)


def analyse_document(key: str, version: int | None, text: str, path: Path, relpath: str,
                     encoding: Encoding = "utf-16", context: Iterable[SourceFile] = (),
                     language: str | None = None) -> DocumentAnalysis:
    """Parse one buffer and find its unannotated slots (slices are made on demand). Never raises for bad
    input: a file that cannot be analysed gives no slots and a diagnostic. `language`: a language's key
    (default: from `relpath`'s suffix, see `document_language`; a buffer whose name has none of its language's
    suffixes is analysed under `document_name`, such as `relpath` + ".ts"); a document of no language typetool
    handles (JavaScript) gives an empty analysis. `context`: other files whose definitions take part in
    resolution (none by default: the editor analyses the buffer alone)."""
    started = time.perf_counter()
    index = LineIndex(text, encoding)
    lang = language if language is not None else document_language(relpath)
    known = lang is not None and any(found.key == lang for found in languages())
    if known:
        assert lang is not None
        relpath = document_name(relpath, lang)
    analysis = DocumentAnalysis(key, version, text, path, relpath, index, language=lang or default_language().key)
    if not known:
        return analysis
    analysis.adapter.analyse(analysis, context)
    analysis.slots.sort(key=lambda s: (s.anchor, s.id))
    analysis.elapsed = time.perf_counter() - started
    return analysis


def _usage(analysis: DocumentAnalysis, view: SlotView) -> UsageSlice | None:
    if view.usage is None and analysis.slicer is not None:
        from typetool.workspace import analysis_context

        with analysis_context():
            try:
                view.usage = analysis.adapter.slice(analysis, view)
            except RecursionError:
                return None
    return view.usage


# ------------------------------------------------------------------------------------------------- the model

@dataclass(frozen=True, slots=True)
class ModelState:
    predictor: TypePredictor | None = None
    error: str | None = None  # why there is no model, for the user
    model_dir: str | None = None
    device: str = "cpu"
    seconds: float = 0.0


def load_model(model: str | None, device: str = "cpu", precision: str = "fp32") -> ModelState:
    """Load the model once (`model`: a directory, None for the shipped one). Never raises: a missing or broken
    model gives a state with an error message that says what to do."""
    from typetool.predictions import ModelNotFound, TypePredictor, default_model_dir

    started = time.perf_counter()
    shown = model or str(default_model_dir())
    try:
        predictor = TypePredictor(Path(model) if model else None, device=device, precision=precision)
    except ModelNotFound as exc:
        return ModelState(error=f"typetool: {exc}. Set `typetool.model` in the editor settings or `model` in "
                                f"[tool.typetool] of pyproject.toml. No types will be predicted until then.",
                          model_dir=shown, device=device)
    except Exception as exc:  # noqa: BLE001 - a corrupt model must not take the server down
        return ModelState(error=f"typetool: cannot load the model at {shown}: {type(exc).__name__}: {exc}",
                          model_dir=shown, device=device)
    return ModelState(predictor, None, str(predictor.model_dir), device, time.perf_counter() - started)


class Engine:
    """The loaded model, the prediction cache and what the adapters cache from the project's files (`cached`),
    shared by every document."""

    def __init__(self, model: ModelState | None = None, cache_size: int = CACHE_SIZE) -> None:
        self.model = model or ModelState(error="typetool: the model is not loaded yet")
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[object, ...], Prediction] = OrderedDict()
        self._views: dict[tuple[str, float, float, str], TypePredictor] = {}
        self._cached: dict[Hashable, object] = {}
        self.missing: dict[str, str] = {}  # language -> why there is no model for it (for the user)
        self.stats = {"predicted": 0, "cached": 0}

    def set_model(self, model: ModelState) -> None:
        self.model = model
        self._views.clear()
        self._cache.clear()
        self.missing.clear()

    def forget_indexes(self) -> None:
        """Project classes may have changed (a file was saved): what `cached` holds is made again next time."""
        self._cached.clear()

    def cached(self, key: Hashable, factory: Callable[[], T]) -> T:
        """What an adapter keeps across documents until a file is saved (a project's class names), under `key`
        (which starts with the language's key); `factory` makes it the first time."""
        found = self._cached.get(key)
        if found is None:
            self._cached[key] = found = factory()
        return cast(T, found)

    def view(self, settings: EditorSettings, language: str = "py") -> TypePredictor | None:
        """The model for `language` (a language's key: the loaded model, or the shipped model of that language
        when the loaded one is of the other) seen at `settings`' epsilon and delta (the weights are shared, not
        reloaded). None when there is none; then `missing[language]` says why."""
        from typetool.predictions import ModelNotFound

        base = self.model.predictor
        if base is None:
            return None
        key = (language, *settings.view_key)
        found = self._views.get(key)
        if found is None:
            if language != getattr(base, "language", "py"):  # a model without a card is Python
                if language in self.missing:
                    return None
                try:
                    base = base.for_language(language)
                except ModelNotFound as exc:
                    self.missing[language] = (f"typetool: {exc}. Set `typetool.model` to a "
                                              f"{language_name(language)} model to see its types.")
                    return None
                except Exception as exc:  # noqa: BLE001 - a corrupt model must not take the server down
                    self.missing[language] = f"typetool: cannot load the {language} model: {type(exc).__name__}: {exc}"
                    return None
            found = copy.copy(base)
            found.epsilon, found.delta, found.guarantee = settings.view_key
            found.reset_thresholds()  # the cached tau and rules belong to the other epsilon/delta
            if hasattr(found, "_others"):
                found._others = {}  # this view predicts its own language only
            self._views[key] = found
        return found

    def predict(self, analysis: DocumentAnalysis, views: Sequence[SlotView], settings: EditorSettings,
                should_stop: Callable[[], bool] = lambda: False, batch_size: int | None = None) -> int:
        """Predict the slots in `views` that have no prediction yet (in chunks; `should_stop` is asked between
        them and raises `Stale` when it says so). Returns how many went through the model."""
        predictor = self.view(settings, analysis.language)
        if predictor is None:
            return 0
        if analysis.predicted_for != settings.view_key:
            analysis.predictions.clear()
            analysis.predicted_for = settings.view_key
        todo: list[tuple[SlotView, UsageSlice, tuple[object, ...]]] = []
        for view in views:
            if view.id in analysis.predictions:
                continue
            usage = _usage(analysis, view)
            if usage is None:
                continue
            key: tuple[object, ...] = (str(predictor.model_dir), settings.view_key, render_slice(usage),
                                       usage.scope_names)
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                analysis.predictions[view.id] = hit if hit.slot == usage.slot else replace(hit, slot=usage.slot)
                self.stats["cached"] += 1
            else:
                todo.append((view, usage, key))
        ran = 0
        for start in range(0, len(todo), PREDICT_CHUNK):
            if should_stop():
                raise Stale()
            chunk = todo[start:start + PREDICT_CHUNK]
            # slot by slot (no consistency stage): a chunk is whatever the editor asked for, not a project, and
            # a slot's prediction is cached by its slice alone
            preds = predictor.predict([u for _v, u, _k in chunk], batch_size=batch_size or settings.settings.batch_size,
                                      consistency=False)
            for (view, _usage_slice, key), pred in zip(chunk, preds):
                analysis.predictions[view.id] = pred
                self._cache[key] = pred
            ran += len(chunk)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        self.stats["predicted"] += ran
        return ran

    # -- write-back ------------------------------------------------------------------------------------------

    def edit_plan(self, analysis: DocumentAnalysis, types: Mapping[str, str], settings: EditorSettings,
                  overwrite: bool = False) -> EditPlan:
        """The edits that write `types` (slot id -> type with `?` holes) into the document, made by the
        write-back stage of the document's language and proven as `typetool apply` proves them. Raises
        `EditError` with the reason."""
        return analysis.adapter.edit_plan(self, analysis, types, settings, overwrite)


def plan_edits(analysis: DocumentAnalysis, new_text: str, slots: Sequence[SlotOutcome],
               edits: Sequence[TextEdit] | None = None) -> EditPlan:
    """The plan for an adapter's rewrite: its edits (by default the minimal diff of the texts) and slot
    outcomes."""
    from typetool.writeback import SlotStatus

    written = tuple(s for s in slots if s.status == SlotStatus.WRITTEN)
    skipped = tuple(s for s in slots if s.status != SlotStatus.WRITTEN)
    if edits is None:
        edits = text_edits(analysis.text, new_text, analysis.index)
    return EditPlan(tuple(edits), written, skipped, new_text)


@dataclass(frozen=True, slots=True)
class EditPlan:
    edits: tuple[TextEdit, ...]
    written: tuple[SlotOutcome, ...]
    skipped: tuple[SlotOutcome, ...]  # with the reason each was left alone
    new_text: str

    def summary(self) -> str:
        n = len(self.written)
        text = f"{n} annotation{'s' if n != 1 else ''} written"
        if self.skipped:
            text += f", {len(self.skipped)} left alone"
        return text


# -------------------------------------------------------------------------------------------- editor answers

def writable(pred: Prediction | None) -> bool:
    """Only the prediction set is written (holes as `Any`); an all-hole prediction is shown, never written."""
    return pred is not None and pred.partial is not None


def is_low(pred: Prediction, settings: EditorSettings) -> bool:
    return pred.partial is None or pred.confidence < settings.settings.min_confidence


@dataclass(frozen=True, slots=True)
class Hint:
    slot_id: str
    position: Position
    label: str  # `: dict[str, ?]` or `-> int`
    padding_left: bool
    tooltip: str  # markdown
    confidence: float
    low: bool  # below min-confidence (or nothing to write): the editor draws it dimmed


def _percent(p: float) -> str:
    if not math.isfinite(p):
        return "?"
    return f"{p * 100:.0f}%" if p >= 0.01 else "<1%"


def _shown_type(pred: Prediction, adapter: LanguageAdapter) -> str:
    """The prediction set as the editor shows it: in the document's language, holes `?`."""
    return adapter.show(pred.partial) if pred.partial is not None else "?"


def hints(analysis: DocumentAnalysis, start: int, end: int, settings: EditorSettings) -> list[Hint]:
    """Inlay hints for the predicted slots whose annotation point lies in [start, end]."""
    out: list[Hint] = []
    if not settings.hints:
        return out
    adapter = analysis.adapter
    for view in analysis.slots_in(start, end, settings.kinds):
        pred = analysis.predictions.get(view.id)
        if pred is None or not pred.candidates:
            continue
        shown = _shown_type(pred, adapter)
        label, padding_left = adapter.hint_label(view, shown)
        low = is_low(pred, settings)
        tip = f"typetool: {_md_code(shown)} · {_percent(pred.confidence)}"
        if pred.holes:
            tip += f" · {pred.holes} hole{'s' if pred.holes != 1 else ''} (`?`, written as `{adapter.hole_text}`)"
        if pred.partial is None:
            tip += " · not written (the prediction set is all holes)"
        elif low:
            tip += f" · below min-confidence {settings.settings.min_confidence:g}"
        out.append(Hint(view.id, analysis.index.position(view.anchor), label, padding_left, tip, pred.confidence,
                        low))
    return out


def _what(view: SlotView) -> str:
    slot = view.site.slot
    if slot.kind == SlotKind.RETURN:
        return f"return type of `{slot.scope}`"
    if slot.kind == SlotKind.PARAM:
        return f"parameter `{slot.name}` of `{slot.scope}`"
    if slot.kind == SlotKind.ATTRIBUTE:
        return f"attribute `{slot.name}` of `{slot.scope}`"
    where = "module" if slot.scope == "<module>" else f"`{slot.scope}`"
    return f"variable `{slot.name}` in {where}"


def _md_code(text: str) -> str:
    ticks = "``" if "`" in text else "`"
    return f"{ticks}{text}{ticks}"


def hover_markdown(analysis: DocumentAnalysis, view: SlotView, settings: EditorSettings,
                   predictor: TypePredictor | None, detailed: bool = False) -> str:
    """What typetool knows about one slot: the candidates with calibrated probabilities, the prediction set at
    the configured epsilon/delta, and the usage evidence it came from."""
    pred = analysis.predictions.get(view.id)
    s = settings.settings
    adapter = analysis.adapter
    lines = [f"**typetool** · {_what(view)}", ""]
    if pred is None or not pred.candidates:
        lines.append("No prediction for this slot.")
        return "\n".join(lines)
    calibrated = predictor is not None and predictor.calibrated
    if pred.partial is None:
        why = ("the prediction set is all holes" if calibrated and predictor is not None and predictor.tau is not None
               else f"too few calibration sites for ε = {s.epsilon:g}, δ = {s.delta:g}")
        lines.append(f"Prediction set at ε = {s.epsilon:g}, δ = {s.delta:g}: `?` ({why}): shown, never written.")
    elif pred.holes:
        lines.append(f"Prediction set at ε = {s.epsilon:g}, δ = {s.delta:g}: {_md_code(adapter.show(pred.partial))} "
                     f"({pred.holes} hole{'s' if pred.holes != 1 else ''}, written as `{adapter.hole_text}`).")
    else:
        lines.append(f"Prediction set at ε = {s.epsilon:g}, δ = {s.delta:g}: {_md_code(adapter.show(pred.partial))} "
                     f"(a full type).")
    if not calibrated:
        lines += ["", ("_This model has no calibration: probabilities are raw model scores and types are written "
                       "without holes._")]
    elif is_low(pred, settings) and pred.partial is not None:
        lines += ["", f"_Below min-confidence ({s.min_confidence:g}): shown dimmed._"]
    lines += ["", "| candidate | probability |", "|---|---:|"]
    shown = pred.candidates if detailed else pred.candidates[:5]
    for c in shown:
        lines.append(f"| {_md_code(adapter.show(c.type)).replace('|', chr(92) + '|')} | {_percent(c.confidence)} |")
    usage = view.usage
    evidence = render_slice(usage).split("\n")[1:] if detailed and usage is not None else list(pred.evidence)
    if evidence:
        lines += ["", "Evidence (usage slice):", "```text", *evidence, "```"]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """A code action before it has edits: what it would write."""

    scope: Literal["slot", "function", "file"]
    title: str
    types: tuple[tuple[str, str], ...]  # (slot id, type with `?` holes), in document order
    preferred: bool = False
    disabled: str | None = None  # why it cannot be applied (shown greyed out)


def types_for(analysis: DocumentAnalysis, views: Iterable[SlotView]) -> tuple[tuple[str, str], ...]:
    out = []
    for v in views:
        pred = analysis.predictions.get(v.id)
        if pred is not None and writable(pred) and pred.partial is not None:
            out.append((v.id, pred.partial))
    return tuple(out)


def function_views(analysis: DocumentAnalysis, qualname: str, kinds: frozenset[SlotKind]) -> list[SlotView]:
    return [v for v in analysis.slots if v.function == qualname and v.kind in kinds]


def actions(analysis: DocumentAnalysis, start: int, end: int, settings: EditorSettings,
            alternatives: int = 2) -> list[ActionSpec]:
    """Code actions for a selection: insert the slot's annotation (and its next-best full candidates),
    annotate the enclosing function, annotate the file. Predictions must have been made for the slots in
    the selection and the function; the file action's types are filled in when it is resolved."""
    kinds = settings.kinds
    out: list[ActionSpec] = []
    views = [v for v in analysis.slots if v.kind in kinds
             and (start <= v.anchor <= end or v.name_span[0] <= end and start <= v.name_span[1])]
    adapter = analysis.adapter
    for v in views:
        pred = analysis.predictions.get(v.id)
        if pred is None or not pred.candidates:
            continue
        if pred.partial is not None:
            text = adapter.annotation_text(v, adapter.show(pred.partial))
            out.append(ActionSpec("slot", f"typetool: annotate {_md_code(text)} ({_percent(pred.confidence)})",
                                  ((v.id, pred.partial),), preferred=True))
        for c in [c for c in pred.candidates if c.type != pred.partial][:alternatives]:
            text = adapter.annotation_text(v, adapter.show(c.type))
            out.append(ActionSpec("slot", f"typetool: annotate {_md_code(text)} ({_percent(c.confidence)}, "
                                  f"candidate)", ((v.id, c.type),)))
    qualname = analysis.function_at(start)
    if qualname is not None:
        fviews = function_views(analysis, qualname, kinds)
        types = types_for(analysis, fviews)
        if types:
            out.append(ActionSpec("function", f"typetool: annotate function `{qualname}` ({len(types)} "
                                  f"type{'s' if len(types) != 1 else ''})", types))
    if any(v.kind in kinds for v in analysis.slots):
        out.append(ActionSpec("file", "typetool: annotate file with predicted types", ()))
    return out


def file_types(analysis: DocumentAnalysis, settings: EditorSettings) -> tuple[tuple[str, str], ...]:
    return types_for(analysis, [v for v in analysis.slots if v.kind in settings.kinds])


def document_relpath(path: Path, roots: Sequence[Path]) -> str:
    """The document's path as slot ids spell it: relative to the innermost workspace folder holding it, else
    its file name."""
    for root in sorted(roots, key=lambda r: len(r.parts), reverse=True):
        if path.is_relative_to(root) and path != root:
            return path.relative_to(root).as_posix()
    return path.name

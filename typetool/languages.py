"""The languages typetool knows, and the one interface the core reaches them through.

Does: names the language wings (`WINGS`: one line per language, each a module path whose `LANGUAGE` implements
`Language`), imports them on first use, and answers which language a file belongs to (`language_of`: a source
it analyses and writes; `language_claiming`: also the files of its family it refuses, such as `.d.ts`).
Does not: import any wing statically (the core never depends on a language; `tests/test_structure.py` reads the
imports to hold that), or know what any suffix means: each wing says which files are its own.

Adding a language is a folder `typetool/<name>/` whose `language` module defines `LANGUAGE`, and its line in
`WINGS`.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import networkx as nx

    from typetool.diagnostics import Diagnostic
    from typetool.ide import LanguageAdapter
    from typetool.metrics import LabelledSites
    from typetool.outcomes import FileOutcome, SlotOutcome, WriteMode, WriteOptions
    from typetool.slices import UsageSlice
    from typetool.slots import Annotation, SlotKind
    from typetool.sources import SourceFile
    from typetool.typeexpr import TypeNode
    from typetool.workspace import LanguageProject

WINGS = (
    "typetool.python.language",
    "typetool.ts.language",
)


class EngineError(Exception):
    """A language's checker engine is missing, crashed or timed out (`Language.engine_types`): a clear error that
    stops the run before anything is written (`--no-engine` runs without it)."""


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """What a language's gate found (`Language.gate`): the engine's errors that the planned annotations add
    (as "path:line: kind: message"), and the written slots (ids) blamed, each with the error it is blamed for."""

    new_errors: tuple[str, ...]
    blamed: Mapping[str, str]


class Language(Protocol):
    """What the core asks of a language."""

    key: str  # the tag of its slices and models ("py", "ts")
    name: str  # as users read it ("Python", "TypeScript")
    suffixes: tuple[str, ...]  # the files discovery hands it

    def analyses(self, path: str) -> bool:
        """A source of this language that typetool analyses and may write."""
        ...

    def claims(self, path: str) -> bool:
        """A file of this language's family, including those it refuses (declaration files, JavaScript)."""
        ...

    def refusal(self, path: str, shown: str) -> Diagnostic | None:
        """Why write-back never touches this claimed file, or None."""
        ...

    def note(self, path: str) -> tuple[str, str] | None:
        """The message for a file of its family named on the command line that it never analyses (JavaScript,
        a declaration file), or None."""
        ...

    def load(self, paths: Sequence[Path], root: Path | None, max_bytes: int) -> LanguageProject:
        """Read, parse and resolve its files under `paths` (directories searched, files taken as named)."""
        ...

    def slices(self, project: object, kinds: frozenset[SlotKind], only_unannotated: bool, files: set[str] | None,
               diagnostics: list[Diagnostic]) -> list[UsageSlice]:
        """The usage slices of `project`'s slots of `kinds` (in `files`, when given); what it cannot slice is
        reported in `diagnostics`."""
        ...

    def votes(self, project: object, kinds: frozenset[SlotKind], files: set[str] | None) -> list[Annotation]:
        """The annotated slots of `kinds` whose types vote for their namesakes' predictions."""
        ...

    def engine_types(self, project: object) -> dict[str, str] | None:
        """Its checker engine's inferred type at the unannotated slots of `project`, by slot id, run on the code
        as the project holds it; None when the language has no engine. Raises EngineError when it fails."""
        ...

    def gate(self, before: Mapping[str, str], after: Mapping[str, str], written: Iterable[str]) -> GateVerdict | None:
        """The checker engine's verdict on a plan: `before` the files as the project holds them, `after` with
        the planned annotations (project-relative path -> text, this language's files), `written` the slot ids
        the plan writes; None when the language has no engine. Raises EngineError when it fails."""
        ...

    def graph_scope(self, file: Path, project_root: Path | None) -> list[Path]:
        """The paths `typetool graph FILE` loads for call resolution (`project_root`: the user's `--project`)."""
        ...

    def graph(self, project: object, files: Sequence[str]) -> nx.MultiDiGraph:
        """The code property graph of `files` of `project` (the edges leaving them included)."""
        ...

    # corpus and evaluation (typetool.corpus, typetool.evaluation, typetool.ship)
    corpus_name: str  # what `corpus build --language` accepts besides the key ("python", "typescript")
    baselines: tuple[str, ...]  # the optional baselines `labelled` can add, by name ("autotyping", "tsc-infer")

    def build_corpus(self, packages: Path | None, cache: Path | None, out: Path, workers: int,
                     code_imports_only: bool) -> str:
        """Fetch the pinned packages of `packages` (None: the list shipped for the language) into `cache` (None:
        the language's own), write the train/calib/dev JSONL into `out`; returns the per-package table."""
        ...

    def measure_candidates(self, names: Sequence[str], cache: Path | None, workers: int, min_sites: int | None
                           ) -> str:
        """Fetch the newest release of each candidate package and print, per package, what the corpus rule reads
        (sources, annotated share, generated code) and whether it passes (`min_sites`: the fewest annotated
        parameter and return sites; None: the wing's default)."""
        ...

    def dev_sources(self, package_list: Path | None, sources: Path | None) -> list[tuple[str, Path]]:
        """(name@version, unpacked source) of each dev-eval package of the pinned list (None: the defaults)."""
        ...

    def is_user_defined(self, label: str) -> bool:
        """Whether a normalized type names anything beyond the language's builtin and standard types."""
        ...

    def labelled(self, project: object | None, paths: Sequence[Path], code_imports_only: bool,
                 baselines: frozenset[str]) -> LabelledSites:
        """Every annotated slot of `project` (None: none) sliced as if unannotated, with its label and the
        answers of the static heuristic and of the requested `baselines` it offers (`paths`: what the user
        named, for the baselines that run on a copy)."""
        ...

    def strip_skip(self, name: str) -> tuple[str, str] | None:
        """The message for a discovered file `strip` leaves alone (stubs, declarations), or None."""
        ...

    def name_index(self, files: Sequence[Path]) -> object | None:
        """What its writer resolves a bare class name with, for a run over `files` (None: nothing)."""
        ...

    def apply_file(self, src: SourceFile, shown: str, rel: str, types: Mapping[str, str],
                   bad: Sequence[SlotOutcome], mode: WriteMode, options: WriteOptions,
                   index: object | None) -> FileOutcome:
        """Write `types` (slot id -> type string, holes `?`) into one file the core read and hash-checked."""
        ...

    def strip_file(self, path: Path, shown: str, mode: WriteMode, cwd: Path, options: WriteOptions
                   ) -> FileOutcome:
        """Remove the annotations of one file."""
        ...

    def display_type(self, t: str) -> str:
        """A type in the bracket form (`list[int]`, holes `?`) as this language spells it for the user."""
        ...

    any_name: str  # how the language writes "any type" (`Any`, `any`): holes are written so
    checks_candidates: bool  # whether `admits` can reject a candidate (else the core skips the call)

    def spell(self, t: TypeNode) -> str:
        """A (partial) type as it would be written in code, holes as `any_name`."""
        ...

    def normalize(self, t: TypeNode) -> TypeNode:
        """The language's evaluation normal form of a type (aliases resolved, unions ordered)."""
        ...

    def normalize_label(self, annotation: str) -> str | None:
        """An annotation's source text as a normalized bracket-form label, or None when it cannot be one."""
        ...

    def admits(self, kind: str, model_input: str, type_str: str) -> bool:
        """Whether the language's own rules allow `type_str` at a slot of `kind` whose rendered slice is
        `model_input` (TypeScript: what its compiler would reject given the evidence)."""
        ...

    # what the model knows of the language (typetool.model, typetool.predictions); its slices' tag is `<key>`
    default_model: str  # the shipped model's directory under models/ (and typetool/models/ in the wheel)
    optional_default: bool  # whether a parameter defaulting to None has type `X | None` (the name rule says so)

    def grammar_names(self) -> dict[str, bool]:
        """The type names every prediction may use, each with whether it takes `[...]` (the decoder's grammar)."""
        ...

    def is_standard_type(self, name: str) -> bool:
        """Whether a type name is one of the language's builtin or standard types (not a project's own)."""
        ...

    # the editor (typetool.ide)
    editor_ids: Mapping[str, str]  # the LSP languageIds it serves -> the suffix an unnamed buffer of that id gets

    def editor(self) -> LanguageAdapter:
        """The editor's adapter for this language: finds a buffer's slots, shows types, makes proven edits."""
        ...


@functools.cache
def languages() -> tuple[Language, ...]:
    """Every registered language, in `WINGS` order."""
    return tuple(importlib.import_module(path).LANGUAGE for path in WINGS)


def by_key(key: str) -> Language:
    for language in languages():
        if language.key == key:
            return language
    raise KeyError(f"no language {key!r}")


def language_of(path: str) -> Language | None:
    """The language that analyses the file at `path` (by its name), or None."""
    return next((lang for lang in languages() if lang.analyses(path)), None)


def language_claiming(path: str) -> Language | None:
    """The language whose family the file at `path` belongs to, refused files included, or None."""
    return next((lang for lang in languages() if lang.claims(path)), None)


def key_of(path: str) -> str:
    """The key of the language of `path` (a source it analyses, else a file of its family); the first
    language's for a name no language claims."""
    found = language_of(path) or language_claiming(path)
    return (found or languages()[0]).key


def key_of_input(text: str) -> str:
    """The key of the language of a rendered slice, by the tag it starts with (`<py>`, `<ts>`: `<key>`); the
    default language's for an untagged text."""
    head = text.lstrip()
    for language in languages():
        if head.startswith(f"<{language.key}>"):
            return language.key
    return default_language().key


def default_language() -> Language:
    """The language a file of no known suffix is handed to (the first registered one)."""
    return languages()[0]


def source_suffixes() -> tuple[str, ...]:
    """Every suffix discovery looks for, over all languages."""
    return tuple(s for lang in languages() for s in lang.suffixes)

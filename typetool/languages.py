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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from typetool.diagnostics import Diagnostic
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


def default_language() -> Language:
    """The language a file of no known suffix is handed to (the first registered one)."""
    return languages()[0]


def source_suffixes() -> tuple[str, ...]:
    """Every suffix discovery looks for, over all languages."""
    return tuple(s for lang in languages() for s in lang.suffixes)

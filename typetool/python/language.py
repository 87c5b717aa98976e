"""`LANGUAGE`: Python, as the core sees it (`typetool.languages.Language`).

Does: says which files are Python (`.py` sources, `.pyi` stubs that are read but never stripped or written
to by `strip`), and hands write-back to `typetool.python.writeback`.
Does not: import the TypeScript wing, or do any work itself: every method defers to the wing's modules,
imported when first needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typetool.diagnostics import Diagnostic
    from typetool.outcomes import FileOutcome, SlotOutcome, WriteMode, WriteOptions
    from typetool.python.project import PythonProject
    from typetool.slices import UsageSlice
    from typetool.slots import Annotation, SlotKind
    from typetool.sources import SourceFile
    from typetool.typeexpr import TypeNode

SUFFIXES = (".py", ".pyi")


class PythonLanguage:
    key = "py"
    name = "Python"
    suffixes = SUFFIXES

    def analyses(self, path: str) -> bool:
        return path.endswith(SUFFIXES)

    def claims(self, path: str) -> bool:
        return path.endswith(SUFFIXES)

    def refusal(self, path: str, shown: str) -> Diagnostic | None:
        return None

    def note(self, path: str) -> tuple[str, str] | None:
        return None

    def load(self, paths: Sequence[Path], root: Path | None, max_bytes: int) -> PythonProject:
        from typetool.python.project import PythonProject

        return PythonProject.load(paths, root=root, max_bytes=max_bytes)

    def slices(self, project: object, kinds: frozenset[SlotKind], only_unannotated: bool, files: set[str] | None,
               diagnostics: list[Diagnostic]) -> list[UsageSlice]:
        from typetool.python.slices import slice_python

        return slice_python(project, kinds, only_unannotated, files, diagnostics)  # type: ignore[arg-type]

    def votes(self, project: object, kinds: frozenset[SlotKind], files: set[str] | None) -> list[Annotation]:
        from typetool.python.slices import annotated_python

        return annotated_python(project, kinds, files)  # type: ignore[arg-type]

    def strip_skip(self, name: str) -> tuple[str, str] | None:
        from typetool.messages import STUB_SKIPPED

        return STUB_SKIPPED if name.endswith(".pyi") else None

    def name_index(self, files: Sequence[Path]) -> object | None:
        from typetool.python.writeback import ProjectNameIndex

        return ProjectNameIndex(files)

    def apply_file(self, src: SourceFile, shown: str, rel: str, types: Mapping[str, str],
                   bad: Sequence[SlotOutcome], mode: WriteMode, options: WriteOptions,
                   index: object | None) -> FileOutcome:
        from typetool.python.writeback import apply_file

        return apply_file(src, shown, rel, types, bad, mode, options, index)  # type: ignore[arg-type]

    def strip_file(self, path: Path, shown: str, mode: WriteMode, cwd: Path, options: WriteOptions
                   ) -> FileOutcome:
        from typetool.python.writeback import strip_file

        return strip_file(path, shown, mode, cwd, options)

    def display_type(self, t: str) -> str:
        return t

    any_name = "Any"
    checks_candidates = False

    def spell(self, t: TypeNode) -> str:
        from typetool.typeexpr import to_str

        return to_str(t, hole="Any")

    def normalize(self, t: TypeNode) -> TypeNode:
        from typetool.typeexpr import normalize

        return normalize(t)

    def normalize_label(self, annotation: str) -> str | None:
        from typetool.typeexpr import normalize_label

        return normalize_label(annotation)

    def admits(self, kind: str, model_input: str, type_str: str) -> bool:
        return True


LANGUAGE = PythonLanguage()

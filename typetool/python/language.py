"""`LANGUAGE`: Python, as the core sees it (`typetool.languages.Language`).

Does: says which files are Python (`.py` sources, `.pyi` stubs that are read but never stripped or written
to by `strip`), and hands write-back to `typetool.python.writeback`.
Does not: import the TypeScript wing, or do any work itself: every method defers to the wing's modules,
imported when first needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

    from typetool.diagnostics import Diagnostic
    from typetool.ide import LanguageAdapter
    from typetool.languages import GateVerdict, Language
    from typetool.metrics import LabelledSites
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
    suffixes: tuple[str, ...] = SUFFIXES

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

    def engine_types(self, project: object) -> dict[str, str] | None:
        from typetool.python.engine import infer_types, protocol_types
        from typetool.python.project import PythonProject

        assert isinstance(project, PythonProject)
        # pyrefly's inferred types, and the protocol methods' fixed ones over them
        return {**infer_types({rel: m.parsed.source.text for rel, m in project.modules.items()}).types,
                **protocol_types(project)}

    def gate(self, before: Mapping[str, str], after: Mapping[str, str], written: Iterable[str]) -> GateVerdict | None:
        from typetool.python.engine import gate

        return gate(before, after, written)

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

    def graph_scope(self, file: Path, project_root: Path | None) -> list[Path]:
        from typetool.sources import find_project_root

        if project_root is not None:
            return [project_root, file]
        if (file.parent / "__init__.py").exists():
            # the file's top-level package (not its siblings: find_project_root is the directory above it)
            root = find_project_root(file)
            return [root / file.resolve().relative_to(root).parts[0], file]
        return [file]

    def graph(self, project: object, files: Sequence[str]) -> nx.MultiDiGraph:
        from typetool.python.project import PythonProject

        assert isinstance(project, PythonProject)
        return project.graph(only=files)

    corpus_name = "python"
    baselines: tuple[str, ...] = ("autotyping",)

    def build_corpus(self, packages: Path | None, cache: Path | None, out: Path, workers: int,
                     code_imports_only: bool) -> str:
        from typetool.corpus import default_package_list
        from typetool.python.corpus import build

        stats = build(packages if packages is not None else default_package_list(),
                      cache if cache is not None else Path(".cache/packages"), out, workers=workers,
                      code_imports_only=code_imports_only)
        return stats.table()  # duplicates dropped and records capped are columns of the table

    def measure_candidates(self, names: Sequence[str], cache: Path | None, workers: int, min_sites: int | None
                           ) -> str:
        from typetool.python.candidates import MIN_ANNOTATED_SITES, measure, table

        rows = measure(names, cache if cache is not None else Path(".cache/candidates"), workers)
        return table(rows, min_sites if min_sites is not None else MIN_ANNOTATED_SITES)

    def dev_sources(self, package_list: Path | None, sources: Path | None) -> list[tuple[str, Path]]:
        from typetool.corpus import default_package_list, read_package_list

        root = sources or Path(".cache/packages/src")
        return [(p.requirement, root / p.key) for p in read_package_list(package_list or default_package_list())
                if p.split == "dev"]

    def is_user_defined(self, label: str) -> bool:
        from typetool.python.corpus import is_user_defined

        return is_user_defined(label)

    def labelled(self, project: object | None, paths: Sequence[Path], code_imports_only: bool,
                 baselines: frozenset[str]) -> LabelledSites:
        from typetool.python.evaluation import labelled
        from typetool.python.project import PythonProject

        assert project is None or isinstance(project, PythonProject)
        return labelled(project, paths, code_imports_only, baselines)

    default_model = "typetool-py-compact"
    optional_default = True

    def grammar_names(self) -> dict[str, bool]:
        from typetool.python.typenames import grammar_names

        return grammar_names()

    def is_standard_type(self, name: str) -> bool:
        from typetool.python.typenames import is_standard_type

        return is_standard_type(name)

    def display_type(self, t: str) -> str:
        return t

    any_name = "Any"
    checks_candidates = True

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
        """`None` is never the return type of a stub body (`python.slices.STUB_BODY`): that a body returns
        nothing says nothing when the body is `...` (an overload or a protocol method declares its type).
        Measured on the dev-eval: -> None on such bodies was most of what the written guarantee wrote wrong."""
        if kind != "return" or type_str != "None":
            return True
        from typetool.python.slices import STUB_BODY

        for line in model_input.split("\n"):
            if line.startswith("evidence: "):
                return STUB_BODY not in line[len("evidence: "):].split(" ; ")
        return True

    # the editor (typetool.ide)
    editor_ids: Mapping[str, str] = {"python": ""}  # an untitled Python buffer keeps its name

    def editor(self) -> LanguageAdapter:
        from typetool.python.editor import ADAPTER

        return ADAPTER


LANGUAGE: Language = PythonLanguage()  # mypy checks the class against the interface

"""`LANGUAGE`: TypeScript, as the core sees it (`typetool.languages.Language`).

Does: says which files are TypeScript sources (`.ts`, `.tsx`, `.mts`, `.cts`, not `.d.ts` declarations) and
which of its family write-back refuses (declarations, JavaScript), spells types as TypeScript does for the user
(`string[]`, holes `?`), and hands write-back to `typetool.ts.writeback`.
Does not: import the Python wing, or do any work itself: every method defers to the wing's modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from typetool.ts.parse import JS_SUFFIXES, TS_SUFFIXES, is_declaration_file, is_typescript

if TYPE_CHECKING:
    import networkx as nx

    from typetool.diagnostics import Diagnostic
    from typetool.ide import LanguageAdapter
    from typetool.languages import GateVerdict, Language
    from typetool.metrics import LabelledSites
    from typetool.outcomes import FileOutcome, SlotOutcome, WriteMode, WriteOptions
    from typetool.slices import UsageSlice
    from typetool.slots import Annotation, SlotKind
    from typetool.sources import SourceFile
    from typetool.ts.project import TsProject
    from typetool.typeexpr import TypeNode


class TypeScriptLanguage:
    key = "ts"
    name = "TypeScript"
    suffixes: tuple[str, ...] = TS_SUFFIXES

    def analyses(self, path: str) -> bool:
        return is_typescript(path)

    def claims(self, path: str) -> bool:
        return path.endswith(TS_SUFFIXES + JS_SUFFIXES)

    def refusal(self, path: str, shown: str) -> Diagnostic | None:
        from typetool.ts.writeback import refusal

        refused = refusal(path)
        return refused.diagnostic(shown) if refused is not None else None

    def note(self, path: str) -> tuple[str, str] | None:
        from typetool import messages as M

        if path.endswith(JS_SUFFIXES):
            return M.JAVASCRIPT_FILE
        return M.DECLARATION_FILE if is_declaration_file(path) else None

    def load(self, paths: Sequence[Path], root: Path | None, max_bytes: int) -> TsProject:
        from typetool.ts.project import TsProject

        return TsProject.load(paths, root=root, max_bytes=max_bytes)

    def slices(self, project: object, kinds: frozenset[SlotKind], only_unannotated: bool, files: set[str] | None,
               diagnostics: list[Diagnostic]) -> list[UsageSlice]:
        from typetool.ts.slices import slice_typescript

        return slice_typescript(project, kinds, only_unannotated, files, diagnostics)  # type: ignore[arg-type]

    def votes(self, project: object, kinds: frozenset[SlotKind], files: set[str] | None) -> list[Annotation]:
        from typetool.ts.slices import annotated_typescript

        return annotated_typescript(project, kinds, files)  # type: ignore[arg-type]

    def engine_types(self, project: object) -> dict[str, str] | None:
        return None  # the TypeScript compiler as engine is issue 17

    def gate(self, before: Mapping[str, str], after: Mapping[str, str], written: Iterable[str]) -> GateVerdict | None:
        return None  # the TypeScript compiler as the gate is issue 17

    def strip_skip(self, name: str) -> tuple[str, str] | None:
        from typetool.messages import TS_DECLARATION_SKIPPED

        return TS_DECLARATION_SKIPPED if is_declaration_file(name) else None

    def name_index(self, files: Sequence[Path]) -> object | None:
        return None

    def apply_file(self, src: SourceFile, shown: str, rel: str, types: Mapping[str, str],
                   bad: Sequence[SlotOutcome], mode: WriteMode, options: WriteOptions,
                   index: object | None) -> FileOutcome:
        from typetool.ts.writeback import apply_ts_file

        return apply_ts_file(src, shown, rel, types, bad, mode)

    def strip_file(self, path: Path, shown: str, mode: WriteMode, cwd: Path, options: WriteOptions
                   ) -> FileOutcome:
        from typetool.ts.writeback import strip_ts_file

        return strip_ts_file(path, shown, mode, cwd, options.max_bytes)

    def graph_scope(self, file: Path, project_root: Path | None) -> list[Path]:
        return [project_root, file] if project_root is not None else [file.parent]

    def graph(self, project: object, files: Sequence[str]) -> nx.MultiDiGraph:
        from typetool.ts.project import TsProject

        assert isinstance(project, TsProject)
        return project.graph(only=files)

    corpus_name = "typescript"
    baselines: tuple[str, ...] = ("tsc-infer",)

    def build_corpus(self, packages: Path | None, cache: Path | None, out: Path, workers: int,
                     code_imports_only: bool) -> str:
        from typetool.ts.corpus import build_ts

        return build_ts(packages, cache, out, workers=workers, code_imports_only=code_imports_only).table()

    def measure_candidates(self, names: Sequence[str], cache: Path | None, workers: int, min_sites: int | None
                           ) -> str:
        from typetool.ts.candidates import MIN_ANNOTATED_SITES, measure, table

        rows = measure(names, cache if cache is not None else Path(".cache/candidates-ts"), workers)
        return table(rows, min_sites if min_sites is not None else MIN_ANNOTATED_SITES)

    def dev_sources(self, package_list: Path | None, sources: Path | None) -> list[tuple[str, Path]]:
        from typetool.ts.npm import default_cache, default_package_list, read_package_list

        root = sources or default_cache() / "src"
        return [(p.spec, root / p.key) for p in read_package_list(package_list or default_package_list())
                if p.split == "dev"]

    def is_user_defined(self, label: str) -> bool:
        from typetool.ts.corpus import is_user_defined_ts

        return is_user_defined_ts(label)

    def labelled(self, project: object | None, paths: Sequence[Path], code_imports_only: bool,
                 baselines: frozenset[str]) -> LabelledSites:
        from typetool.ts.evaluation import labelled
        from typetool.ts.project import TsProject

        assert project is None or isinstance(project, TsProject)
        return labelled(project, paths, code_imports_only, baselines)

    default_model = "typetool-ts-compact"
    optional_default = False

    def grammar_names(self) -> dict[str, bool]:
        from typetool.ts.typenames import grammar_names

        return grammar_names()

    def is_standard_type(self, name: str) -> bool:
        from typetool.ts.typenames import TS_BUILTIN_TYPES

        return name in TS_BUILTIN_TYPES

    def display_type(self, t: str) -> str:
        from typetool.ts.typeexpr import to_ts
        from typetool.typeexpr import parse_type

        try:
            return to_ts(parse_type(t), hole="?")
        except ValueError:
            return t

    any_name = "any"
    checks_candidates = True

    def spell(self, t: TypeNode) -> str:
        from typetool.ts.typeexpr import to_ts

        return to_ts(t, hole="any")

    def normalize(self, t: TypeNode) -> TypeNode:
        from typetool.ts.typeexpr import normalize_ts

        return normalize_ts(t)

    def normalize_label(self, annotation: str) -> str | None:
        from typetool.ts.typeexpr import normalize_ts_label

        return normalize_ts_label(annotation)

    def admits(self, kind: str, model_input: str, type_str: str) -> bool:
        from typetool.ts.slices import allowed_in_input

        return allowed_in_input(kind, model_input, type_str)

    # the editor (typetool.ide)
    editor_ids: Mapping[str, str] = {"typescript": ".ts", "typescriptreact": ".tsx"}

    def editor(self) -> LanguageAdapter:
        from typetool.ts.editor import ADAPTER

        return ADAPTER


LANGUAGE: Language = TypeScriptLanguage()  # mypy checks the class against the interface

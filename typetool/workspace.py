"""The files of one run, by language: what `pipeline.load_project` returns and every later stage reads.

Does: holds each language's own project (`parts`, by language key, in registry order: a `LanguageProject` is
whatever the wing builds, with its modules, diagnostics and source files) and the run's diagnostics; sets the
process up for analysis (`analysis_context`).
Does not: parse, resolve or slice anything (the wings do, through `typetool.languages.Language`).
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from typetool.diagnostics import Diagnostic
from typetool.sources import SourceFile


class LanguageProject(Protocol):
    """What the core reads of a language's project."""

    diagnostics: list[Diagnostic]

    @property
    def modules(self) -> Mapping[str, object]: ...

    def source_files(self) -> dict[str, SourceFile]: ...


@dataclass
class Workspace:
    """Each language's project of a run (only the languages with files in it) and the run's diagnostics."""

    parts: dict[str, LanguageProject] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def part(self, key: str) -> LanguageProject | None:
        return self.parts.get(key)

    @property
    def modules(self) -> dict[str, object]:
        """Every analysed module of every language (each its language's own type), by relpath."""
        out: dict[str, object] = {}
        for part in self.parts.values():
            out.update(part.modules)
        return out

    def source_files(self) -> dict[str, SourceFile]:
        """Every analysed file of every language, by relpath."""
        out: dict[str, SourceFile] = {}
        for part in self.parts.values():
            out.update(part.source_files())
        return out

    @property
    def line_count(self) -> int:
        return sum(src.line_count for src in self.source_files().values())


RECURSION_LIMIT = 20_000


@contextlib.contextmanager
def analysis_context(gc_threshold: int = 100_000, recursion_limit: int = RECURSION_LIMIT) -> Iterator[None]:
    """Run the analysis with a higher gen-0 garbage-collection threshold and recursion limit (both restored
    afterwards).

    The analysis allocates millions of long-lived objects (tree-sitter nodes, facts) and almost no cyclic
    garbage; with the default threshold (700) CPython keeps re-scanning them, which costs up to a third of
    the run time on a large package and makes a single huge file superlinear. The walkers recurse along the
    syntax tree, and generated code nests deeply (`a + b + ...` with thousands of terms); Python-to-Python
    calls do not use the C stack on 3.11+, so a higher limit is safe. Deeper code still raises RecursionError,
    which the callers turn into a diagnostic for that file."""
    old = gc.get_threshold()
    old_limit = sys.getrecursionlimit()
    gc.set_threshold(max(old[0], gc_threshold), old[1], old[2])
    sys.setrecursionlimit(max(old_limit, recursion_limit))
    try:
        yield
    finally:
        gc.set_threshold(*old)
        sys.setrecursionlimit(old_limit)

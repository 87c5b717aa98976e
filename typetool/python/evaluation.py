"""Strip-and-recover evaluation on Python: the labelled slots, the static heuristic and autotyping's answers.

Does: turns a Python project's annotated slots into labelled, annotation-blind slices (`corpus.labelled_slices`,
the same as the corpus), gives the literal/constructor/default heuristic's answer per slot (the static evidence
of the slice only), and runs autotyping (`python -m autotyping --aggressive --guess-common-names`) on a
stripped copy of the files, reading back what it wrote by slot id.
Does not: run the model or score anything (`typetool.evaluation` and `typetool.metrics` do, for every language).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from typetool.metrics import LabelledSites
from typetool.python.corpus import LabelledSlice, labelled_slices
from typetool.python.project import PythonProject
from typetool.python.slots import iter_sites
from typetool.slices import UsageSlice
from typetool.sources import relpath_for
from typetool.typeexpr import normalize_label
from typetool.writeback import strip_paths  # the safe write-back stage


def labelled(project: PythonProject | None, paths: Sequence[Path], code_imports_only: bool,
             baselines: frozenset[str]) -> LabelledSites:
    """`Language.labelled` for Python: the heuristic always, autotyping when asked for."""
    items, _, _ = labelled_slices(project if project is not None else PythonProject(),
                                  code_imports_only=code_imports_only)
    out = LabelledSites([i.slice for i in items], [i.label for i in items])
    out.baselines["heuristic"] = [[t] if (t := _norm(heuristic_type(i.slice))) else [] for i in items]
    if "autotyping" in baselines:
        out.baselines["autotyping"] = autotyping_predictions(paths, items)
    if "pyrefly" in baselines or "engine" in baselines:
        from typetool.python.engine import protocol_types

        whole = project if project is not None else PythonProject()
        engine = engine_predictions(whole, items)  # pyrefly alone, the baseline
        fixed = protocol_types(whole, annotated_too=True)  # the engine stage's input: with the protocol types
        out.engine = [fixed.get(i.site.slot.id) or (e[0] if e else None) for i, e in zip(items, engine)]
        out.baselines["pyrefly"] = engine
    return out


def stripped_texts(project: PythonProject) -> dict[str, str]:
    """Each module's text with its annotations removed (`strip_annotations`), as the engine sees stripped code;
    a file the stripper refuses is left out."""
    from typetool.outcomes import Refused
    from typetool.python.writeback import strip_annotations

    out: dict[str, str] = {}
    for relpath, module in project.modules.items():
        try:
            out[relpath] = strip_annotations(module.parsed.source.text, relpath).new
        except (Refused, RecursionError, ValueError):
            continue
    return out


def engine_predictions(project: PythonProject, items: Sequence[LabelledSlice]) -> list[list[str]]:
    """The engine's inferred type (`python/engine.py`) at each labelled slot, run on the stripped code."""
    from typetool.python.engine import infer_types

    run = infer_types(stripped_texts(project))
    return predictions_from_annotated_copy(items, run.types)


def _norm(t: str | None) -> str | None:
    return normalize_label(t) if t else None


_LITERAL = re.compile(r"^(?:default |param default )?literal (\w+)")
_CTOR = re.compile(r"^(?:default )?ctor (\w+)$")


def heuristic_type(s: UsageSlice) -> str | None:
    """What the static evidence alone says (no model): literals, constructors, defaults, `return None` only."""
    ev = list(s.evidence)
    kind = s.slot.kind.value
    if kind == "return":
        if "only raises" in ev:
            return "NoReturn"
        if "generator (yields)" in ev:
            return None
        if "__init__" in ev or "returns None only" in ev or "no return" in ev:
            return "None"
        kinds: set[str] = set()
        for r in s.returns:
            if r == "bare return":
                kinds.add("None")
                continue
            m = re.search(r"\((?:literal|ctor) (\w+)", r)
            if m is None or m.group(1) in ("Generator", "Callable"):
                return None
            kinds.add(m.group(1))
        if len(kinds) == 1:
            return kinds.pop()
        if len(kinds) == 2 and "None" in kinds:
            return f"{(kinds - {'None'}).pop()} | None"
        return None
    for e in ev:
        m = _LITERAL.match(e)
        if m:
            lit = m.group(1)
            if lit == "None":
                return None  # a None default says `X | None` but not X
            return lit if lit not in ("Generator", "Callable") else None
        m = _CTOR.match(e)
        if m:
            return m.group(1)
    if "*args" in ev or "**kwargs" in ev:
        return None
    return None


def predictions_from_annotated_copy(items: Sequence[LabelledSlice], annotations: dict[str, str]) -> list[list[str]]:
    """Turn a {slot id: annotation} map (read back from a tool's output) into ranked lists."""
    out: list[list[str]] = []
    for i in items:
        ann = annotations.get(i.site.slot.id)
        norm = normalize_label(ann) if ann else None
        out.append([norm] if norm else [])
    return out


def autotyping_predictions(paths: Sequence[Path], items: Sequence[LabelledSlice]) -> list[list[str]]:
    """Strip a copy of the code, run `python -m autotyping --aggressive --guess-common-names` on it, and read
    the annotations it wrote back by slot id."""
    with tempfile.TemporaryDirectory() as tmp:
        copies: list[Path] = []
        for p in paths:
            dest = Path(tmp) / p.name
            if p.is_dir():
                shutil.copytree(p, dest, ignore=shutil.ignore_patterns("__pycache__", ".git"))
            else:
                shutil.copy2(p, dest)
            copies.append(dest)
        strip_paths(copies)
        subprocess.run([sys.executable, "-m", "autotyping", "--aggressive", "--guess-common-names",
                        *map(str, copies)], capture_output=True, check=False)
        project = PythonProject.load(copies, root=Path(tmp))
        found = {s.slot.id: s.slot.annotation for s in iter_sites(project) if s.slot.annotation}
    # ids in the copy are relative to tmp and start with the copied path's name; map them back
    prefixes = [(p.name, relpath_for(p, Path.cwd())) for p in paths]
    annotations: dict[str, str] = {}
    for sid, ann in found.items():
        for copy_prefix, orig_prefix in prefixes:
            if sid == copy_prefix or sid.startswith((copy_prefix + "/", copy_prefix + "::")):
                annotations[orig_prefix + sid[len(copy_prefix):]] = ann
                break
    return predictions_from_annotated_copy(items, annotations)

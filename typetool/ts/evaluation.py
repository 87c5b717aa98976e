"""Strip-and-recover evaluation on TypeScript: records, the static heuristic, and TypeScript's own baseline.

Does: turns a TypeScript project's annotated slots into evaluation records (the label in the shared bracket
form; an annotation the form cannot express stays in, as its raw text, and counts as a miss for every
predictor), gives the literal/default heuristic's answer per slot, and runs the TypeScript compiler's
"infer from usage" code fix (typescript@5.9.3, `getCombinedCodeFix(..., "inferFromUsage")`) on a stripped copy
of the files, matching each `: T` it inserts to the slot whose insertion point it is.
Does not: run the model or score (`typetool.evaluation.evaluate_records` does, for every language alike).
"""

from __future__ import annotations

import posixpath
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from typetool.metrics import LabelledSites
from typetool.slices import UsageSlice
from typetool.ts.corpus import TsLabelled, ts_labelled_slices
from typetool.ts.project import TsProject
from typetool.ts.slots import extract_ts_slots
from typetool.ts.typeexpr import normalize_ts_label

_LITERAL = re.compile(r"^(?:default )?literal (number|string|boolean|bigint|RegExp|null|undefined)\b")
_ARRAY = re.compile(r"^(?:default )?literal array of (number|string|boolean)$")
_NEW = re.compile(r"^(?:default )?new ([A-Z]\w*)$")


def ts_heuristic_type(s: UsageSlice) -> str | None:
    """What the static evidence alone says: literals, `new C()`, defaults, `no return`/`async` returns."""
    ev = list(s.evidence)
    if s.slot.kind.value == "return":
        if "generator (yields)" in ev:
            return None
        base: str | None = None
        if "no return" in ev or "returns nothing" in ev:
            base = "void"
        else:
            kinds: set[str] = set()
            for r in s.returns:
                m = re.search(r"\(literal (number|string|boolean)\)$", r)
                if m is None:
                    return None
                kinds.add(m.group(1))
            base = kinds.pop() if len(kinds) == 1 else None
        if base is None:
            return None
        return f"Promise[{base}]" if "async" in ev else base
    for e in ev:
        m = _LITERAL.match(e)
        if m:
            lit = m.group(1)
            return None if lit in ("null", "undefined") else lit
        m = _ARRAY.match(e)
        if m:
            return f"Array[{m.group(1)}]"
        m = _NEW.match(e)
        if m and m.group(1) not in ("Promise", "Map", "Set", "Array"):
            return m.group(1)
    return None


def ts_items(project: TsProject, code_imports_only: bool = False) -> list[TsLabelled]:
    items, _, _ = ts_labelled_slices(project, code_imports_only)
    return items


def labelled(project: TsProject | None, paths: Sequence[Path], code_imports_only: bool,
             baselines: frozenset[str]) -> LabelledSites:
    """`Language.labelled` for TypeScript: the heuristic always, the compiler's inferFromUsage when asked for
    (run with the tsconfig.json and package.json of the one directory named, else of the working directory).
    A label the shared form cannot express stays as its raw annotation text (a miss for every predictor)."""
    items = ts_items(project, code_imports_only) if project is not None else []
    out = LabelledSites([i.slice for i in items], [i.label or i.raw for i in items])
    out.baselines["heuristic"] = [[t] if (t := ts_heuristic_type(i.slice)) else [] for i in items]
    if "tsc-infer" in baselines and project is not None:
        root = paths[0] if len(paths) == 1 and paths[0].is_dir() else Path.cwd()
        out.baselines["tsc-infer"] = tsc_predictions(project, root, items)
    return out


def tsc_predictions(project: TsProject, root: Path, items: Sequence[TsLabelled],
                    errors: dict[str, str] | None = None) -> list[list[str]]:
    """inferFromUsage's type for each item (empty where it inserts nothing), on a stripped copy of the files."""
    from typetool.ts.tsc import edits_to_insertions, infer_from_usage
    from typetool.ts.writeback import TsRefused, strip_ts

    # the copy keeps the layout below the files' common directory (relpaths may start with `../` or a hidden
    # directory such as `.cache/`, which a directory walk skips); slot ids are mapped back through `local`
    common = posixpath.commonpath([posixpath.dirname(r) for r in project.modules]) if project.modules else ""
    local = {rel: posixpath.relpath(rel, common) if common else rel for rel in project.modules}
    wanted = {i.site.slot.id.replace(rel, local[rel], 1): i.site.slot.id for i in items
              for rel in (i.site.slot.file,) if rel in local}
    found: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="typetool-tsc-") as tmp:
        copy = Path(tmp)
        rels: list[str] = []
        for full_rel, m in project.modules.items():
            rel = local[full_rel]
            target = copy / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            original = m.parsed.source.path.read_bytes()
            try:
                target.write_bytes(strip_ts(original, rel))
            except TsRefused:  # tree-sitter cannot parse it: left annotated, so none of its slots is matched
                target.write_bytes(original)
            rels.append(rel)
        for extra in ("tsconfig.json", "package.json"):
            if (root / extra).is_file():
                shutil.copy(root / extra, copy / extra)
        stripped = TsProject.load([copy], root=copy)
        at: dict[tuple[str, int], str] = {}
        for rel, m in stripped.modules.items():
            bom = 3 if m.parsed.source.bom else 0  # the fix's offsets count the BOM; the slots' do not
            for site in extract_ts_slots(m):
                if site.slot.id in wanted:
                    at[(rel, site.insert_at + bom)] = wanted[site.slot.id]
        edits = infer_from_usage(copy, rels, errors=errors)
        for rel, file_edits in edits.items():
            source = (copy / rel).read_bytes()
            for offset, text in edits_to_insertions(source, file_edits):
                sid = at.get((rel, offset))
                label = normalize_ts_label(text) if sid is not None else None
                if sid is not None and label is not None:
                    found[sid] = label
    return [[found[i.site.slot.id]] if i.site.slot.id in found else [] for i in items]

"""The TypeScript corpus: every explicit annotation of the pinned npm packages as (annotation-blind slice, label).

Does: for each package of `typetool/corpus_typescript.txt` (downloaded and unpacked by `ts.npm`), loads the
project, lists its slots, normalizes each existing annotation into the shared bracket form
(`ts.typeexpr.normalize_ts_label`), slices with every annotation hidden (`TsSlicer(blind=True)`, as for stripped
code), and hands the records to the same split writer as Python (`corpus.write_splits`: caps, body dedupe,
package splits). Annotations the shared form cannot express (object type literals, mapped/conditional types,
`keyof`, `typeof`, ...) are kept in calib and dev with `"reachable": false`, where they count as misses, and
left out of train.
Does not: download (`ts.npm`), train, or read `.d.ts` files.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from typetool.corpus import CorpusStats, PackageRecords, write_splits
from typetool.slices import UsageSlice, render_slice
from typetool.ts.npm import (
    NpmPackage,
    default_cache,
    default_package_list,
    fetch_typescript_corpus,
    read_package_list,
)
from typetool.ts.project import TsProject
from typetool.ts.slices import TsSlicer
from typetool.ts.slots import TsSlotSite, extract_ts_slots
from typetool.ts.typeexpr import normalize_ts_label
from typetool.ts.typenames import TS_BUILTIN_TYPES
from typetool.typeexpr import names as type_names
from typetool.typeexpr import parse_type

# The largest share of a split one package may hold (see `corpus.SHARE_CAPS`), wider than Python's 4% and 10%:
# the rule of `corpus measure` passes 30 training and 9 dev-eval packages, not the 60+ the yardstick issue hoped
# for, and with 9 packages no one can be held to a tenth (each is a ninth on average), while 4% of 30 training
# packages would keep a quarter of the data (measured: 10.3k of 40.9k records, against 34.1k at 10%).
SHARE_CAPS = {"train": 0.10, "dev": 0.15}


def is_user_defined_ts(label: str) -> bool:
    try:
        used = type_names(parse_type(label))
    except ValueError:
        return True
    return any(n not in TS_BUILTIN_TYPES and not n.startswith(("'", '"')) and not n[:1].isdigit()
               and n not in ("true", "false") for n in used)


@dataclass(frozen=True, slots=True)
class TsLabelled:
    """An annotated TypeScript slot: its label (None when the shared form cannot express it), raw annotation and
    annotation-blind slice."""

    site: TsSlotSite
    label: str | None
    raw: str
    slice: UsageSlice


def ts_labelled_slices(project: TsProject, code_imports_only: bool = False) -> tuple[list[TsLabelled], int, int]:
    """Every annotated slot of the project with its label and blind slice (`code_imports_only`: the strict
    protocol's names in scope, see `TsSlicer`); (items, slots seen, annotated)."""
    slicer = TsSlicer(project, blind=True, code_imports_only=code_imports_only)
    slots = annotated = 0
    out: list[TsLabelled] = []
    for m in project.modules.values():
        for site in extract_ts_slots(m):
            slots += 1
            ann = site.slot.annotation
            if ann is None:
                continue
            annotated += 1
            out.append(TsLabelled(site, normalize_ts_label(ann), " ".join(ann.split()), slicer.slice(site)))
    return out, slots, annotated


def _body_hash(site: TsSlotSite) -> str | None:
    fn = site.function
    body = fn.body if fn is not None else None
    if body is None or body.text is None:
        return None
    return hashlib.sha1(b" ".join(body.text.split())).hexdigest()


def records_for_ts_package(package: NpmPackage, source_root: Path, code_imports_only: bool = False) -> PackageRecords:
    start = time.perf_counter()
    project = TsProject.load([source_root], root=source_root)
    out = PackageRecords(package, files=len(project.modules), lines=project.line_count())
    items, out.slots, out.annotated = ts_labelled_slices(project, code_imports_only)
    for item in items:
        s, slot = item.slice, item.site.slot
        target = item.label if item.label is not None else item.raw
        out.records.append({
            "input": render_slice(s), "target": target, "package": package.name, "split": package.split,
            "kind": slot.kind.value, "id": slot.id, "names": list(s.scope_names), "language": "ts",
            "reachable": item.label is not None,
            "user_defined": is_user_defined_ts(target) if item.label is not None else True,
        })
        out.bodies.append(_body_hash(item.site))
    out.seconds = time.perf_counter() - start
    return out


def _work(args: tuple[NpmPackage, str, bool]) -> PackageRecords:
    return records_for_ts_package(args[0], Path(args[1]), args[2])


def build_ts(package_list: Path | None = None, cache: Path | None = None, out_dir: Path = Path(".cache/corpus-ts"),
             workers: int = 2, seed: int = 0,
             code_imports_only: bool = False) -> CorpusStats:
    """Download (cached) and turn every annotated TypeScript slot of the pinned packages into a record."""
    package_list = package_list or default_package_list()
    packages = read_package_list(package_list)
    roots = fetch_typescript_corpus(package_list, cache or default_cache())
    results: dict[str, PackageRecords] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for pr in pool.map(_work, [(p, str(roots[p.name]), code_imports_only) for p in packages]):
            results[pr.package.name] = pr
            reach = sum(bool(r["reachable"]) for r in pr.records)
            print(f"  {pr.package.split:5} {pr.package.name:30} {pr.files:5d} files {pr.lines:8d} lines "
                  f"{len(pr.records):6d} labelled ({reach} reachable) {pr.seconds:6.1f}s", flush=True)
    return write_splits([results[p.name] for p in packages], out_dir, seed, share_caps=SHARE_CAPS)

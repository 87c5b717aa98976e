"""The Python corpus: training, calibration and dev-eval data from pinned, well-annotated PyPI packages.

Does: reads the pinned package list (`corpus_python.txt`), downloads the wheels with one `pip download` call
into a cache, unpacks their .py sources (never `.pyi`, never vendored code), and turns every annotated slot
into a record (rendered usage slice, normalized type) with the same slicing code as inference. Annotations are
hidden from the slicer (`blind_annotations`) so a training slice looks like the slice of the same code with
its annotations stripped, which is what `evaluate` and real unannotated code give. Splits strictly by package;
deduplicates identical function bodies (first package in list order wins, dev-eval bodies never enter
train/calib); caps packages that would dominate.
Does not: tokenize or train (`typetool.model`).
"""


from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from typetool.corpus import (
    CorpusPackage,
    CorpusStats,
    PackageRecords,
    norm_name,
    read_package_list,
    write_splits,
)
from typetool.python.project import PythonProject
from typetool.python.slices import Slicer
from typetool.python.slots import SlotSite, extract_slots
from typetool.python.typenames import is_standard_type
from typetool.slices import UsageSlice, render_slice
from typetool.slots import SlotKind
from typetool.typeexpr import names as type_names
from typetool.typeexpr import normalize_label, parse_type


def download(packages: list[CorpusPackage], cache: Path) -> dict[str, Path]:
    """Wheels for every package, downloading the missing ones with a single `pip download` call."""
    wheels_dir = cache / "wheels"
    wheels_dir.mkdir(parents=True, exist_ok=True)

    def find() -> dict[str, Path]:
        found: dict[str, Path] = {}
        for whl in wheels_dir.glob("*.whl"):
            name, version = whl.name.split("-")[:2]
            found[f"{norm_name(name)}-{version}"] = whl
        return found

    have = find()
    missing = [p.requirement for p in packages if p.key not in have]
    if missing:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-q",
               "-d", str(wheels_dir), *missing]
        subprocess.run(cmd, check=True)
        have = find()
    absent = [p.requirement for p in packages if p.key not in have]
    if absent:
        raise RuntimeError(f"no wheel downloaded for: {', '.join(absent)}")
    return {p.key: have[p.key] for p in packages}


VENDORED = re.compile(r"(^|/)(_vendor|vendor|vendored|_vendored)(/|$)")


def unpack(wheel: Path, dest: Path) -> Path:
    """Extract the wheel's .py files (not vendored ones) once; returns the source root."""
    marker = dest / ".complete"
    if marker.exists():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = info.filename
            if not name.endswith(".py") or VENDORED.search(name) or ".dist-info/" in name or ".data/" in name:
                continue
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
    marker.write_text("ok", encoding="utf-8")
    return dest


def blind_annotations(project: PythonProject) -> None:
    """Hide every annotation from the slicer (call after the slots, whose labels they are, were extracted)."""
    for m in project.modules.values():
        for fn in m.functions:
            fn.return_annotation = None
            for p in fn.params:
                p.annotation = None
        for d in m.defs.values():
            d.annotation = None
        for c in m.classes:
            for attrs in c.attributes.values():
                for a in attrs:
                    a.annotation = None


def body_hash(site: SlotSite) -> str | None:
    fn = site.function
    if fn is None:
        return None
    body = fn.node.child_by_field_name("body")
    if body is None or body.text is None:
        return None
    return hashlib.sha1(b" ".join(body.text.split())).hexdigest()


@dataclass(frozen=True, slots=True)
class LabelledSlice:
    """An annotated slot, its normalized annotation (the label) and its annotation-blind slice."""

    site: SlotSite
    label: str
    slice: UsageSlice


def labelled_slices(project: PythonProject, kinds: frozenset[SlotKind] = frozenset(SlotKind),
                    code_imports_only: bool = False) -> tuple[list[LabelledSlice], int, int]:
    """Every annotated slot of the project with its label, sliced as if the code had no annotations (and, with
    `code_imports_only`, no imports used only by annotations: see `Slicer`).
    Returns (labelled slices, slots seen, slots annotated). Hides the annotations from `project` for good."""
    slots = annotated = 0
    labelled: list[tuple[SlotSite, str]] = []
    for m in project.modules.values():
        for site in extract_slots(m):
            if site.slot.kind not in kinds:
                continue
            slots += 1
            ann = site.slot.annotation
            if ann is None:
                continue
            annotated += 1
            label = normalize_label(ann)
            if label is not None:
                labelled.append((site, label))
    blind_annotations(project)
    slicer = Slicer(project, code_imports_only)
    return [LabelledSlice(site, label, slicer.slice(site)) for site, label in labelled], slots, annotated


def records_for_package(package: CorpusPackage, source_root: Path, code_imports_only: bool = False) -> PackageRecords:
    start = time.perf_counter()
    project = PythonProject.load([source_root], root=source_root, suffixes=(".py",))
    out = PackageRecords(package, files=len(project.modules), lines=project.line_count)
    items, out.slots, out.annotated = labelled_slices(project, code_imports_only=code_imports_only)
    for item in items:
        s, site = item.slice, item.site
        out.records.append({
            "input": render_slice(s), "target": item.label, "package": package.name, "split": package.split,
            "kind": site.slot.kind.value, "id": site.slot.id, "names": list(s.scope_names),
            "user_defined": is_user_defined(item.label),
        })
        out.bodies.append(body_hash(site))
    out.seconds = time.perf_counter() - start
    return out


def is_user_defined(label: str) -> bool:
    """Whether a type names anything beyond builtins, typing and common stdlib types."""
    try:
        used = type_names(parse_type(label))
    except ValueError:
        return False
    return any(not is_standard_type(n) for n in used)


def _work(args: tuple[CorpusPackage, str, bool]) -> PackageRecords:
    package, root, code_imports_only = args
    return records_for_package(package, Path(root), code_imports_only)


def build(package_list: Path, cache: Path, out_dir: Path, workers: int = 2, seed: int = 0,
          log: Iterable[str] | None = None, code_imports_only: bool = False) -> CorpusStats:
    packages = read_package_list(package_list)
    wheels = download(packages, cache)
    roots = [(p, str(unpack(wheels[p.key], cache / "src" / p.key)), code_imports_only) for p in packages]
    results: dict[str, PackageRecords] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for pr in pool.map(_work, roots):
            results[pr.package.name] = pr
            print(f"  {pr.package.split:5} {pr.package.name:28} {pr.files:5d} files {pr.lines:8d} lines "
                  f"{len(pr.records):7d} labelled slots {pr.seconds:6.1f}s", flush=True)
    return write_splits([results[p.name] for p in packages], out_dir, seed)

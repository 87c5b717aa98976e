"""Corpus: training, calibration and dev-eval data from pinned, well-annotated packages.

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
import json
import random
import re
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol

from typetool.project import Project
from typetool.slices import Slicer, UsageSlice, render_slice
from typetool.slots import SlotKind, SlotSite, extract_slots
from typetool.typeexpr import names as type_names
from typetool.typeexpr import normalize_label, parse_type
from typetool.typenames import PYTHON_BUILTIN_TYPES, is_stdlib_name

SPLITS = ("train", "calib", "dev")


@dataclass(frozen=True, slots=True)
class CorpusPackage:
    split: str
    requirement: str  # name==version
    cap: int | None = None

    @property
    def name(self) -> str:
        return self.requirement.split("==")[0]

    @property
    def version(self) -> str:
        return self.requirement.split("==")[1]

    @property
    def key(self) -> str:
        return f"{_norm(self.name)}-{self.version}"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def default_package_list() -> Path:
    return Path(str(resources.files("typetool"))) / "corpus_python.txt"


def read_package_list(path: Path) -> list[CorpusPackage]:
    out: list[CorpusPackage] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if parts[0] not in SPLITS or len(parts) < 2 or "==" not in parts[1]:
            raise ValueError(f"{path}:{lineno}: expected '<train|calib|dev> name==version [cap=N]'")
        cap = None
        for opt in parts[2:]:
            if opt.startswith("cap="):
                cap = int(opt[4:])
        out.append(CorpusPackage(parts[0], parts[1], cap))
    names = [p.name for p in out]
    dupes = [n for n, c in Counter(names).items() if c > 1]
    if dupes:
        raise ValueError(f"{path}: packages listed twice (a package must be in exactly one split): {dupes}")
    return out


def download(packages: list[CorpusPackage], cache: Path) -> dict[str, Path]:
    """Wheels for every package, downloading the missing ones with a single `pip download` call."""
    wheels_dir = cache / "wheels"
    wheels_dir.mkdir(parents=True, exist_ok=True)

    def find() -> dict[str, Path]:
        found: dict[str, Path] = {}
        for whl in wheels_dir.glob("*.whl"):
            name, version = whl.name.split("-")[:2]
            found[f"{_norm(name)}-{version}"] = whl
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


def blind_annotations(project: Project) -> None:
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


class PackageLike(Protocol):
    """What the split writer needs of a pinned package (Python's `CorpusPackage`, TypeScript's `NpmPackage`)."""

    @property
    def name(self) -> str: ...
    @property
    def split(self) -> str: ...
    @property
    def cap(self) -> int | None: ...


@dataclass
class PackageRecords:
    package: PackageLike
    records: list[dict[str, object]] = field(default_factory=list)
    bodies: list[str | None] = field(default_factory=list)  # body hash per record
    files: int = 0
    lines: int = 0
    annotated: int = 0
    slots: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class LabelledSlice:
    """An annotated slot, its normalized annotation (the label) and its annotation-blind slice."""

    site: SlotSite
    label: str
    slice: UsageSlice


def labelled_slices(project: Project, kinds: frozenset[SlotKind] = frozenset(SlotKind),
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
    project = Project.load([source_root], root=source_root, suffixes=(".py",))
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
    return any(n not in PYTHON_BUILTIN_TYPES and not is_stdlib_name(n) for n in used)


def _work(args: tuple[CorpusPackage, str, bool]) -> PackageRecords:
    package, root, code_imports_only = args
    return records_for_package(package, Path(root), code_imports_only)


@dataclass
class CorpusStats:
    per_package: list[PackageRecords]
    kept: Counter[tuple[str, str]]  # (split, kind) -> records kept
    dropped_dupes: Counter[str]

    def table(self) -> str:
        lines = [(f"{'split':6} {'package':22} {'files':>6} {'lines':>8} {'slots':>7} {'annot':>7} {'kept':>7} "
                 f"{'sec':>6}")]
        for pr in self.per_package:
            lines.append(f"{pr.package.split:6} {pr.package.name:22} {pr.files:6d} {pr.lines:8d} {pr.slots:7d} "
                         f"{pr.annotated:7d} {len(pr.records):7d} {pr.seconds:6.1f}")
        return "\n".join(lines)


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


def write_splits(ordered: list[PackageRecords], out_dir: Path, seed: int = 0) -> CorpusStats:
    """Write train/calib/dev JSONL: caps applied (a seeded sample), function bodies deduplicated (dev bodies
    first and never in train/calib, then calib, then train in list order), identical (input, target) pairs
    dropped outside dev; records with `"reachable": false` (labels the decoder cannot produce) are kept in
    calib and dev, where they count as misses, and left out of train."""
    # dedupe: dev bodies first (never in train/calib), then calib, then train in list order
    seen_bodies: set[str] = set()
    seen_pairs: set[str] = set()
    kept: Counter[tuple[str, str]] = Counter()
    dropped: Counter[str] = Counter()
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {split: (out_dir / f"{split}.jsonl").open("w", encoding="utf-8") for split in SPLITS}
    try:
        for split in ("dev", "calib", "train"):
            for pr in ordered:
                if pr.package.split != split:
                    continue
                indices = list(range(len(pr.records)))
                if pr.package.cap is not None and len(indices) > pr.package.cap:
                    rng.shuffle(indices)
                    indices = sorted(indices[: pr.package.cap])
                new_bodies: set[str] = set()
                for i in indices:
                    rec, body = pr.records[i], pr.bodies[i]
                    if split == "train" and rec.get("reachable") is False:
                        continue
                    pair = hashlib.sha1(f"{rec['input']}\x00{rec['target']}".encode()).hexdigest()
                    if split != "dev" and ((body is not None and body in seen_bodies) or pair in seen_pairs):
                        dropped[pr.package.name] += 1
                        continue
                    if body is not None:
                        new_bodies.add(body)
                    seen_pairs.add(pair)
                    files[split].write(json.dumps(rec, ensure_ascii=False) + "\n")
                    kept[(split, str(rec["kind"]))] += 1
                seen_bodies |= new_bodies
    finally:
        for f in files.values():
            f.close()
    stats = CorpusStats(ordered, kept, dropped)
    (out_dir / "stats.txt").write_text(stats.table() + "\n" + summary(out_dir), encoding="utf-8")
    return stats


def summary(out_dir: Path) -> str:
    """Per split: records by kind, distinct types, share of user-defined types, most frequent types."""
    lines: list[str] = []
    for split in SPLITS:
        path = out_dir / f"{split}.jsonl"
        if not path.exists():
            continue
        kinds: Counter[str] = Counter()
        types: Counter[str] = Counter()
        user = 0
        n = 0
        with path.open(encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                n += 1
                kinds[rec["kind"]] += 1
                types[rec["target"]] += 1
                user += bool(rec["user_defined"])
        if n == 0:
            continue
        top = ", ".join(f"{t} {c}" for t, c in types.most_common(8))
        lines.append(f"{split}: {n} slots ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}); "
                     f"{len(types)} distinct types; {100 * user / n:.1f}% name a non-builtin/non-stdlib type; "
                     f"top: {top}")
    return "\n".join(lines) + "\n"



"""Corpus, for every language: the pinned package lists (`CorpusPackage`, `read_package_list`), a package's
records (`PackageRecords`) and the strict split by package into train, calib and dev-eval (`write_splits`:
identical function bodies deduplicated, first package in list order wins, dev-eval bodies never enter
train/calib; packages that would dominate capped), with its statistics.

Does not: download or slice any language's packages (`typetool.python.corpus`, `typetool.ts.corpus`), tokenize
or train (`typetool.model`).
"""


from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol

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
        return f"{norm_name(self.name)}-{self.version}"


def norm_name(name: str) -> str:
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

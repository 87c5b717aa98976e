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
    kept: int | None = None  # records written to its split (after dedupe and caps), once written


@dataclass
class CorpusStats:
    per_package: list[PackageRecords]
    kept: Counter[tuple[str, str]]  # (split, kind) -> records kept
    dropped_dupes: Counter[str]
    capped: Counter[str] = field(default_factory=Counter)  # package -> records the caps left out

    def table(self) -> str:
        """Per package: files, lines, slots, annotated share, labelled records, duplicates dropped, records left
        out by the caps, records kept and their share of the split, seconds."""
        totals: Counter[str] = Counter()
        for pr in self.per_package:
            totals[pr.package.split] += pr.kept if pr.kept is not None else len(pr.records)
        lines = [(f"{'split':6} {'package':28} {'files':>6} {'lines':>8} {'slots':>7} {'annot%':>6} {'labels':>7} "
                 f"{'dupes':>6} {'capped':>7} {'kept':>7} {'share':>6} {'sec':>6}")]
        for pr in self.per_package:
            kept = pr.kept if pr.kept is not None else len(pr.records)
            total = max(totals[pr.package.split], 1)
            annotated = 100 * pr.annotated / pr.slots if pr.slots else 0.0
            lines.append(f"{pr.package.split:6} {pr.package.name:28} {pr.files:6d} {pr.lines:8d} {pr.slots:7d} "
                         f"{annotated:5.1f}% {len(pr.records):7d} {self.dropped_dupes[pr.package.name]:6d} "
                         f"{self.capped[pr.package.name]:7d} {kept:7d} {100 * kept / total:5.1f}% "
                         f"{pr.seconds:6.1f}")
        return "\n".join(lines)


# The largest share of a split's records one package may hold (a package over it is sampled down by whole files,
# with the split's seed): no package decides a split's figures. Applied only when the split has enough packages
# for the share to be reachable (more than 1/share of them).
SHARE_CAPS = {"train": 0.04, "dev": 0.10}


def share_cap(sizes: list[int], share: float) -> int | None:
    """The largest count C such that a package of min(n, C) records holds at most `share` of the split's
    records, sum(min(n, C)), when every package is capped at C; None when no cap is needed or none is reachable
    (at most 1/share packages)."""
    if not sizes or len(sizes) * share <= 1:
        return None

    def fits(cap: int) -> bool:  # concave in cap and true at 0: the caps that fit are 0..C
        return cap <= share * sum(min(n, cap) for n in sizes)

    if fits(max(sizes)):
        return None
    lo, hi = 0, max(sizes)  # fits(lo), not fits(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo if lo > 0 else None


def sample_files(records: list[dict[str, object]], indices: list[int], cap: int, rng: random.Random) -> list[int]:
    """At most `cap` of `indices`, as whole files (a record's file is its slot id before `::`): the files in a
    seeded random order, each taken when it still fits."""
    by_file: dict[str, list[int]] = {}
    for i in indices:
        by_file.setdefault(str(records[i]["id"]).split("::", 1)[0], []).append(i)
    files = sorted(by_file)
    rng.shuffle(files)
    chosen: list[int] = []
    for f in files:
        if len(chosen) + len(by_file[f]) <= cap:
            chosen.extend(by_file[f])
    return sorted(chosen)


def _rng(seed: int, package: str) -> random.Random:
    """Each package's own seeded generator: its sample does not depend on the other packages."""
    return random.Random(f"{seed}:{package}")


def _apply_share_cap(chosen: list[tuple[PackageRecords, list[int]]], share: float | None, seed: int
                     ) -> list[list[int]]:
    """The records each package keeps under the split's share cap. Whole files come out a little under the cap,
    which shrinks the split and can leave a capped package just over its share: the cap is lowered until every
    package holds at most `share` of what is kept."""
    sizes = [len(idx) for _, idx in chosen]
    cap = share_cap(sizes, share) if share is not None else None
    while True:
        kept = [sample_files(pr.records, idx, cap, _rng(seed, pr.package.name)) if cap is not None and len(idx) > cap
                else idx for pr, idx in chosen]
        total = sum(len(k) for k in kept)
        if cap is None or share is None or not kept or max(len(k) for k in kept) <= share * total:
            return kept
        cap = min(cap - 1, int(share * total))


def write_splits(ordered: list[PackageRecords], out_dir: Path, seed: int = 0,
                 share_caps: dict[str, float] | None = None) -> CorpusStats:
    """Write train/calib/dev JSONL: function bodies deduplicated (dev bodies first and never in train/calib, then
    calib, then train in list order) and identical (input, target) pairs dropped outside dev; then each
    package's own cap (`cap=N` in the list) and the split's share cap (`SHARE_CAPS`, or `share_caps`) applied by
    sampling whole files with a seeded generator. Records with `"reachable": false` (labels the decoder cannot
    produce) are kept in calib and dev, where they count as misses, and left out of train."""
    caps = SHARE_CAPS if share_caps is None else share_caps
    seen_bodies: set[str] = set()
    seen_pairs: set[str] = set()
    kept: Counter[tuple[str, str]] = Counter()
    dropped: Counter[str] = Counter()
    capped: Counter[str] = Counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {split: (out_dir / f"{split}.jsonl").open("w", encoding="utf-8") for split in SPLITS}
    try:
        for split in ("dev", "calib", "train"):
            chosen: list[tuple[PackageRecords, list[int]]] = []
            for pr in ordered:
                if pr.package.split != split:
                    continue
                new_bodies: set[str] = set()
                survivors: list[int] = []
                for i, (rec, body) in enumerate(zip(pr.records, pr.bodies)):
                    if split == "train" and rec.get("reachable") is False:
                        continue
                    pair = hashlib.sha1(f"{rec['input']}\x00{rec['target']}".encode()).hexdigest()
                    if split != "dev" and ((body is not None and body in seen_bodies) or pair in seen_pairs):
                        dropped[pr.package.name] += 1
                        continue
                    if body is not None:
                        new_bodies.add(body)
                    seen_pairs.add(pair)
                    survivors.append(i)
                seen_bodies |= new_bodies
                if pr.package.cap is not None and len(survivors) > pr.package.cap:
                    kept_n = len(survivors)
                    survivors = sample_files(pr.records, survivors, pr.package.cap, _rng(seed, pr.package.name))
                    capped[pr.package.name] += kept_n - len(survivors)
                chosen.append((pr, survivors))
            final = _apply_share_cap(chosen, caps.get(split), seed)
            for (pr, before), idx in zip(chosen, final):
                capped[pr.package.name] += len(before) - len(idx)
                for i in idx:
                    rec = pr.records[i]
                    files[split].write(json.dumps(rec, ensure_ascii=False) + "\n")
                    kept[(split, str(rec["kind"]))] += 1
                pr.kept = len(idx)
    finally:
        for f in files.values():
            f.close()
    stats = CorpusStats(ordered, kept, dropped, capped)
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

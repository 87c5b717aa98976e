"""The corpus split's caps (issue 19): no package holds more than its share of a split, sampled by whole files."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from typetool.corpus import PackageRecords, sample_files, share_cap, write_splits


@dataclass(frozen=True)
class Pkg:
    name: str
    split: str
    cap: int | None = None


def package(name: str, split: str, files: int, per_file: int, cap: int | None = None) -> PackageRecords:
    pr = PackageRecords(Pkg(name, split, cap))
    for f in range(files):
        for k in range(per_file):
            pr.records.append({"input": f"<py> param x{k} of {name}.f{f}", "target": "int", "kind": "param",
                               "id": f"{name}/m{f}.py::f{f}.x{k}", "package": name, "user_defined": False})
            pr.bodies.append(f"{name}-{f}-{k}")
    return pr


@pytest.mark.parametrize("share", [0.04, 0.10])
def test_the_share_cap_is_the_largest_that_holds(share: float) -> None:
    rng = random.Random(1)
    for _ in range(200):
        sizes = [rng.randint(1, 5000) for _ in range(rng.randint(int(1 / share) + 1, 60))]
        cap = share_cap(sizes, share)
        capped = [min(n, cap) if cap is not None else n for n in sizes]
        assert max(capped) <= share * sum(capped) + 1e-9
        if cap is not None:  # one more record would break it for a package at the cap
            bigger = [min(n, cap + 1) for n in sizes]
            assert max(bigger) > share * sum(bigger) - 1


def test_no_cap_when_it_cannot_be_reached_or_is_not_needed() -> None:
    assert share_cap([100] * 10, 0.10) is None  # ten packages: each is exactly a tenth at best
    assert share_cap([100] * 11, 0.10) is None  # already balanced
    assert share_cap([5000] + [100] * 11, 0.10) == 122  # 122 <= 0.1 * (122 + 1100)


def test_files_are_sampled_whole_and_reproducibly() -> None:
    pr = package("big", "dev", files=40, per_file=7)
    idx = list(range(len(pr.records)))
    a = sample_files(pr.records, idx, 100, random.Random(3))
    assert a == sample_files(pr.records, idx, 100, random.Random(3))
    assert a != sample_files(pr.records, idx, 100, random.Random(4))
    assert 94 <= len(a) <= 100  # whole files of 7: at most one file short
    per_file = Counter(str(pr.records[i]["id"]).split("::")[0] for i in a)
    assert set(per_file.values()) == {7}


def test_write_splits_caps_every_package_of_a_split(tmp_path: Path) -> None:
    dev = [package("huge", "dev", files=300, per_file=10)] + [package(f"d{i}", "dev", 5 + i, 10) for i in range(12)]
    train = [package("giant", "train", 500, 10, cap=900)] + [package(f"t{i}", "train", 3, 10) for i in range(5)]
    stats = write_splits(dev + train, tmp_path, seed=0)
    written = [json.loads(line) for line in (tmp_path / "dev.jsonl").read_text().splitlines()]
    by_package = Counter(r["package"] for r in written)
    assert max(by_package.values()) <= 0.10 * len(written)
    assert by_package["d0"] == 50  # small packages keep everything
    huge_files = Counter(r["id"].split("::")[0] for r in written if r["package"] == "huge")
    assert set(huge_files.values()) == {10}  # whole files
    # six training packages: the 4% share cannot be reached, so only the package's own cap applies
    train_written = Counter(json.loads(line)["package"] for line in (tmp_path / "train.jsonl").read_text().splitlines())
    assert train_written["giant"] == 900 and train_written["t0"] == 30
    assert stats.capped["giant"] == 5000 - 900 and stats.capped["huge"] == 3000 - by_package["huge"]
    table = stats.table()
    assert "huge" in table and "capped" in table.splitlines()[0]


def test_the_shipped_python_list_is_the_round_two_corpus() -> None:
    """Issue 19: 100+ training packages, a dev-eval of 12+ packages, every package in one split (the reader
    refuses a package listed twice), and no training package sharing its code base with a dev-eval one."""
    from typetool.corpus import default_package_list, read_package_list

    packages = read_package_list(default_package_list())
    by_split = {s: {p.name for p in packages if p.split == s} for s in ("train", "calib", "dev")}
    assert len(by_split["train"]) >= 100 and len(by_split["dev"]) >= 12 and len(by_split["calib"]) >= 6
    assert {"libcst", "structlog", "markdown-it-py", "hatchling"} <= by_split["dev"]
    assert not {"hatch", "opentelemetry-api"} & (by_split["train"] | by_split["calib"])


def test_the_share_holds_after_whole_files_shrink_the_split(tmp_path: Path) -> None:
    """Big packages made of big files fall well under the cap when sampled by whole files, which shrinks the
    split and would leave a package of small files above its share; the cap is lowered until it holds."""
    dev = [package(f"small{i}", "dev", files=10, per_file=10) for i in range(8)]
    dev.append(package("fine", "dev", files=1000, per_file=1))
    dev += [package(f"chunky{i}", "dev", files=10, per_file=97) for i in range(3)]
    assert share_cap([100] * 8 + [1000] * 4, 0.10) == 133  # 133 of fine's and 97 of each chunky's: 10.9%
    write_splits(dev, tmp_path, seed=0)
    written = Counter(json.loads(line)["package"] for line in (tmp_path / "dev.jsonl").read_text().splitlines())
    assert max(written.values()) <= 0.10 * sum(written.values())
    assert written["fine"] > 100  # lowered just enough

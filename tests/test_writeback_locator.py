"""The libcst locator of write-back finds exactly the slots `typetool.slots.extract_slots` finds, with the same ids
and the same annotated/unannotated state: on every .py file of an installed package (click), on a module of
corner cases, and on the write-back golden inputs."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from typetool.python.project import PythonProject
from typetool.python.slots import iter_sites
from typetool.python.writeback import locate_slots

DATA = Path(__file__).parent / "data"


def _compare(paths: list[Path], root: Path) -> tuple[int, int, list[str]]:
    project = PythonProject.load(paths, root=root)
    by_file: dict[str, dict[str, str | None]] = {}
    for site in iter_sites(project):
        by_file.setdefault(site.slot.file, {})[site.slot.id] = site.slot.annotation
    problems: list[str] = []
    total = 0
    for rel, module in project.modules.items():
        expected = by_file.get(rel, {})
        found = locate_slots(module.parsed.source.text, rel)
        total += len(expected)
        problems += [f"only extract_slots: {sid}" for sid in sorted(set(expected) - set(found))]
        problems += [f"only the locator: {sid}" for sid in sorted(set(found) - set(expected))]
        problems += [f"annotated differs: {sid}: {expected[sid]!r} vs {found[sid].annotation!r}"
                     for sid in sorted(set(expected) & set(found))
                     if (expected[sid] is None) != (found[sid].annotation is None)]
    return len(project.modules), total, problems


def test_locator_agrees_with_extract_slots_on_click() -> None:
    package = Path(click.__file__).parent
    files, slots, problems = _compare([package], package.parent)
    assert files >= 15 and slots > 1000
    assert problems == []


def test_locator_agrees_on_corner_cases() -> None:
    _, slots, problems = _compare([DATA / "writeback_locator" / "tricky.py"], DATA)
    assert slots == 77
    assert problems == []


@pytest.mark.parametrize("case", sorted(p.name for p in (DATA / "writeback").iterdir()))
def test_locator_agrees_on_golden_inputs(case: str) -> None:
    _, _, problems = _compare([DATA / "writeback" / case / "input.py"], DATA)
    assert problems == []

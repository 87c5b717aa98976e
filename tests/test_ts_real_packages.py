"""The TypeScript front half on the real training corpus: every .ts/.tsx file of every pinned npm package
(`typetool/corpus_typescript.txt`: train, calib and dev) is loaded, every slot is sliced and rendered, without a
crash, in a few seconds per package.

The packages come from the npm cache (`.cache/npm/src/<name-version>`), filled by `python -m typetool.ts.npm`
(CI runs it before pytest). A missing package fails the test: this test is what says the slicer handles the
corpus, so it must not silently skip.

Each module is sliced both ways in turn (the corpus's blind slicer and the annotating one), so both code paths
meet the whole corpus in one pass. `benchmarks/bench_ts_slices.py` measures the same work.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from typetool.workspace import analysis_context
from typetool.slices import MAX_SLICE_CHARS, render_slice
from typetool.slots import SlotKind
from typetool.sources import SKIP_DIRS
from typetool.ts.facts import annotation_text
from typetool.ts.npm import MARKER, NpmPackage, default_cache, default_package_list, read_package_list
from typetool.ts.parse import is_typescript
from typetool.ts.project import TsProject
from typetool.ts.slices import TsSlicer
from typetool.ts.slots import TsSlotSite, extract_ts_slots

PACKAGES = read_package_list(default_package_list())
SECONDS_PER_100K_LINES = 30.0  # generous: about 3 s on one core; fails only on a gross slowdown


def source_root(package: NpmPackage) -> Path:
    root = default_cache() / "src" / package.key
    if not (root / MARKER).is_file():
        pytest.fail(f"the TypeScript corpus package {package.spec} is not in {default_cache()}: "
                    "run `python -m typetool.ts.npm` first (it downloads and unpacks the pinned npm packages)")
    return root


def _own(site: TsSlotSite) -> str | None:
    kind = site.slot.kind
    node = (site.param.type if kind == SlotKind.PARAM and site.param else
            site.function.return_type if kind == SlotKind.RETURN and site.function else
            site.variable.type if kind == SlotKind.VARIABLE and site.variable else
            site.field.type if site.field else None)
    return annotation_text(node)


def test_the_package_list_is_the_corpus() -> None:
    assert len(PACKAGES) == 44  # round 2 (issue 19): 30 train, 5 calib, 9 dev
    assert {p.split for p in PACKAGES} == {"train", "calib", "dev"}


@pytest.mark.parametrize("package", PACKAGES, ids=[p.key for p in PACKAGES])
def test_every_file_of_the_package_is_sliced_without_a_crash(package: NpmPackage) -> None:
    root = source_root(package)
    files = {rel.as_posix() for rel in (p.relative_to(root) for p in root.rglob("*") if p.is_file())
             if is_typescript(rel.name) and not SKIP_DIRS & set(rel.parts[:-1])}  # build output (dist/) is skipped
    assert files, f"{package.spec}: no TypeScript sources under {root}"
    start = time.process_time()
    with analysis_context():
        project = TsProject.load([root], root=root)
        assert set(project.modules) == files, "every source file is analysed"
        assert {d.code for d in project.diagnostics} <= {"syntax-error"}, [d.format() for d in project.diagnostics]
        slicers = (TsSlicer(project), TsSlicer(project, blind=True))
        slots = annotated = 0
        ids: set[str] = set()
        for i, module in enumerate(project.modules.values()):
            slicer = slicers[i % 2]
            for site in extract_ts_slots(module):
                slot = site.slot
                assert slot.id not in ids, f"duplicate slot id {slot.id}"
                ids.add(slot.id)
                assert slot.annotation == _own(site), slot.id
                assert 0 <= site.insert_at <= len(module.data), slot.id
                text = render_slice(slicer.slice(site))
                assert text.startswith("<ts> ") and len(text) <= MAX_SLICE_CHARS, slot.id
                slots += 1
                annotated += slot.annotation is not None
    seconds = time.process_time() - start
    assert slots >= len(files), f"{package.spec}: only {slots} slots in {len(files)} files"
    assert annotated >= slots // 4, f"{package.spec}: {annotated} of {slots} slots annotated"
    lines = project.line_count()
    assert seconds <= 2.0 + SECONDS_PER_100K_LINES * lines / 100_000, \
        f"{package.spec}: {seconds:.1f} s CPU for {lines} lines (see benchmarks/bench_ts_slices.py --profile)"

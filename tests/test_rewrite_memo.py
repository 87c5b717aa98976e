"""A run proves each file plan once: `ProofMemo` (a file whose writer input was seen before keeps its outcome) and
`write_plan` (the final check-mode plan's proven bytes are written, or diffed, without rewriting and proving the
files again). Real files, real writers (libcst for Python, tree-sitter for TypeScript), records made from the
project's own slots; the end-to-end test runs `annotate` with the tiny model. Each result is compared with what
the writers give called directly, as before these shortcuts."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import typetool.fileio
import typetool.python.writeback as pywb
from typetool.messages import CHANGED_ON_DISK, STALE
from typetool.pipeline import annotate, load_project, plan_project, prediction_records, slice_project
from typetool.slots import SlotKind
from typetool.writeback import (
    FileOutcome,
    FileStatus,
    PredictionRecord,
    Predictions,
    ProofMemo,
    RunResult,
    WriteMode,
    WriteOptions,
    apply_predictions,
    write_plan,
)

EXAMPLE = Path(__file__).resolve().parent / "data" / "projects" / "inventory"

FILES = {
    "pkg/__init__.py": "",
    "pkg/models.py": (
        "class Item:\n"
        "    def __init__(self, name, count=0):\n"
        "        self.name = name\n"
        "        self.count = count\n"
        "\n"
        "    def renamed(self, name):\n"
        "        return Item(name, self.count)\n"
    ),
    "pkg/use.py": (
        "from pkg import models\n"
        "\n"
        "\n"
        "def make(name, count):\n"
        "    return models.Item(name, count)\n"
        "\n"
        "\n"
        "def total(items):\n"
        "    return sum(i.count for i in items)\n"
    ),
    "web/app.ts": (
        "export function add(a, b) {\n"
        "  return a + b;\n"
        "}\n"
        "\n"
        "export function greet(name) {\n"
        "  return `hello ${name}`;\n"
        "}\n"
    ),
}
TYPES = {  # by language, slot kind and name: what the records ask for
    ("py", SlotKind.PARAM, "name"): "str", ("py", SlotKind.PARAM, "count"): "int",
    ("py", SlotKind.PARAM, "items"): "list[Item]", ("py", SlotKind.RETURN, "renamed"): "Item",
    ("py", SlotKind.RETURN, "make"): "Item", ("py", SlotKind.RETURN, "total"): "int",
    ("ts", SlotKind.PARAM, "a"): "number", ("ts", SlotKind.PARAM, "b"): "number",
    ("ts", SlotKind.RETURN, "add"): "number", ("ts", SlotKind.PARAM, "name"): "string",
    ("ts", SlotKind.RETURN, "greet"): "string",
}


def _write_project(root: Path) -> None:
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def _records(root: Path) -> Predictions:
    """Records for the project's slots (found by the real loader and slicer), relative to `root` (the working
    directory), with the file hashes the loader read."""
    project = load_project([root / "pkg", root / "web"], root=root)
    records = []
    for s in slice_project(project, frozenset({SlotKind.PARAM, SlotKind.RETURN})):
        lang = "ts" if s.slot.file.endswith(".ts") else "py"
        name = s.slot.scope.rsplit(".", 1)[-1] if s.slot.kind == SlotKind.RETURN else s.slot.name
        t = TYPES.get((lang, s.slot.kind, name))
        if t is not None:
            records.append(PredictionRecord(s.slot.id, s.slot.file, t))
    files = {rel: src.raw_hash for rel, src in project.source_files().items()}
    assert {r.file for r in records} == {"pkg/models.py", "pkg/use.py", "web/app.ts"}, records
    return Predictions(files, tuple(records))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    _write_project(root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def writer_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The Python files handed to the Python writer (it is called through)."""
    calls: list[str] = []
    real = pywb.apply_file

    def counted(*args: object, **kw: object) -> FileOutcome:
        calls.append(args[2])  # type: ignore[arg-type]
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pywb, "apply_file", counted)
    yield calls


def _same(a: RunResult, b: RunResult) -> None:
    assert a.files == b.files
    assert [(f.data, f.text) for f in a.files] == [(f.data, f.text) for f in b.files]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".typetool_cache" not in p.parts}


def test_the_memo_gives_what_the_writers_give_and_proves_each_input_once(project: Path,
                                                                         writer_calls: list[str]) -> None:
    preds = _records(project)
    fresh = apply_predictions(preds, WriteMode.CHECK)
    assert [f.status for f in fresh.files] == [FileStatus.CHANGED] * 3
    assert all(f.data is not None and f.text is not None for f in fresh.files)
    memo = ProofMemo()
    del writer_calls[:]
    first = apply_predictions(preds, WriteMode.CHECK, memo=memo)
    _same(first, fresh)
    assert (memo.misses, memo.hits, len(writer_calls)) == (3, 0, 2)
    again = apply_predictions(preds, WriteMode.CHECK, memo=memo)
    _same(again, fresh)
    assert (memo.misses, memo.hits, len(writer_calls)) == (3, 3, 2)
    assert all(a is b for a, b in zip(again.files, first.files, strict=True))

    # one file's records change: that file alone is planned again, as the writer plans it called directly
    fewer = Predictions(preds.files, tuple(r for r in preds.predictions if "total" not in r.id))
    third = apply_predictions(fewer, WriteMode.CHECK, memo=memo)
    assert (memo.misses, memo.hits, writer_calls[2:]) == (4, 5, ["pkg/use.py"])
    _same(third, apply_predictions(fewer, WriteMode.CHECK))
    assert third.files[0] is first.files[0] and third.files[1] is not first.files[1]

    # other options are another input
    apply_predictions(preds, WriteMode.CHECK, WriteOptions(target_version=(3, 8)), memo=memo)
    assert memo.misses == 7
    # a file whose hash the predictions give otherwise is another input (here: refused as stale)
    stale = Predictions({**preds.files, "pkg/use.py": "0" * 64}, preds.predictions)
    out = apply_predictions(stale, WriteMode.CHECK, memo=memo)
    assert memo.misses == 8 and out.files[1].status == FileStatus.REFUSED
    assert out.files[1].diagnostics[0].code == STALE[0]


def test_the_memo_hands_out_one_name_index_per_language_and_files(project: Path) -> None:
    preds = _records(project)
    memo = ProofMemo()
    apply_predictions(preds, WriteMode.CHECK, memo=memo)
    apply_predictions(Predictions(preds.files, preds.predictions[::-1]), WriteMode.CHECK, memo=memo)
    assert len(memo.indexes) == 2  # Python's (a ProjectNameIndex) and TypeScript's (None), built once each
    only_models = Predictions(preds.files, tuple(r for r in preds.predictions if r.file == "pkg/models.py"))
    apply_predictions(only_models, WriteMode.CHECK, memo=memo)
    assert len(memo.indexes) == 3  # built over other files: another index, and another key for the file


def test_a_memo_is_for_modes_that_write_nothing(project: Path) -> None:
    with pytest.raises(ValueError):
        apply_predictions(_records(project), WriteMode.WRITE, memo=ProofMemo())


@pytest.mark.parametrize("mode", [WriteMode.WRITE, WriteMode.DIFF, WriteMode.DIFF_CHECK])
def test_write_plan_does_what_applying_again_did(mode: WriteMode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 writer_calls: list[str]) -> None:
    """On two identical copies: the plan carried out by `write_plan`, and the predictions applied again in
    `mode` (what `annotate` did before): the same outcomes, diffs and bytes on disk. A file the plan refused
    (here: one libcst cannot parse) goes to its writer again; the others do not."""
    copies = [tmp_path / "old", tmp_path / "new"]
    results = []
    for copy in copies:
        _write_project(copy)
        (copy / "pkg" / "broken.py").write_text("def f(a:\n", encoding="utf-8")
        monkeypatch.chdir(copy)
        preds = _records(copy)
        broken = "pkg/broken.py::param::f::a"
        preds = Predictions({**preds.files, "pkg/broken.py": hashlib.sha256(b"def f(a:\n").hexdigest()},
                            (*preds.predictions, PredictionRecord(broken, "pkg/broken.py", "int")))
        if copy.name == "old":
            results.append(apply_predictions(preds, mode))
            continue
        plan = apply_predictions(preds, WriteMode.CHECK)
        assert [f.status for f in plan.files] == [FileStatus.REFUSED] + [FileStatus.CHANGED] * 3
        del writer_calls[:]
        results.append(write_plan(preds, plan, mode))
        assert writer_calls == ["pkg/broken.py"]
    _same(results[0], results[1])
    assert all(f.written == mode.writes for f in results[1].files[1:])
    assert all((f.diff is not None) == mode.shows_diff for f in results[1].files[1:])
    assert _tree(copies[0]) == _tree(copies[1])
    assert (_tree(copies[1])["pkg/use.py"] != FILES["pkg/use.py"].encode()) == mode.writes


def test_write_plan_refuses_a_file_changed_since_the_plan(project: Path) -> None:
    preds = _records(project)
    plan = apply_predictions(preds, WriteMode.CHECK)
    edited = FILES["pkg/use.py"] + "\n# edited meanwhile\n"
    (project / "pkg" / "use.py").write_text(edited, encoding="utf-8")
    run = write_plan(preds, plan, WriteMode.WRITE)
    use = run.files[1]
    assert use.path == "pkg/use.py" and use.status == FileStatus.REFUSED and not use.written
    assert [d.code for d in use.diagnostics] == [STALE[0]]
    assert (project / "pkg" / "use.py").read_text(encoding="utf-8") == edited
    assert [f.status for f in (run.files[0], run.files[2])] == [FileStatus.CHANGED] * 2
    assert (project / "pkg" / "models.py").read_bytes() == plan.files[0].data
    assert run.exit_code == 1


def test_write_plan_refuses_a_file_changed_while_it_writes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hash is checked again right before the file is replaced, as when the writer writes."""
    preds = _records(project)
    plan = apply_predictions(preds, WriteMode.CHECK)
    target = project / "pkg" / "models.py"
    real = typetool.fileio._write_all

    def meanwhile(fd: int, data: bytes) -> None:
        if data == plan.files[0].data:
            target.write_text("# someone else's\n", encoding="utf-8")
        real(fd, data)

    monkeypatch.setattr(typetool.fileio, "_write_all", meanwhile)
    run = write_plan(preds, plan, WriteMode.WRITE)
    assert run.files[0].status == FileStatus.REFUSED
    assert run.files[0].diagnostics[-1].code == CHANGED_ON_DISK[0]
    assert target.read_text(encoding="utf-8") == "# someone else's\n"
    assert run.files[1].written and run.files[2].written
    assert not list(project.rglob("*.typetool-tmp"))


def test_write_plan_wants_a_check_mode_plan(project: Path) -> None:
    preds = _records(project)
    with pytest.raises(ValueError):
        write_plan(preds, apply_predictions(preds, WriteMode.DIFF), WriteMode.WRITE)


def test_annotate_writes_what_applying_the_plan_again_writes(tiny_model: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`annotate` (memo and `write_plan`) against the plan applied again without them (what it did before), on
    two copies of the example, in write and in diff mode. The tiny model without its calibration writes every
    prediction; its second round plans the same files as its first, which it takes from the memo."""
    from typetool.predictions import TypePredictor

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    (model / "calibration.json").unlink()
    predictor = TypePredictor(model)
    kinds = frozenset(SlotKind)
    for mode in (WriteMode.DIFF, WriteMode.WRITE):
        runs: list[RunResult] = []
        trees = []
        for name in ("old", "new"):
            copy = tmp_path / mode.value / name
            shutil.copytree(EXAMPLE, copy / "inventory")
            monkeypatch.chdir(copy)
            paths = [Path("inventory")]
            if name == "old":
                plan = plan_project(paths, predictor, WriteOptions(), kinds, gate=False)  # (see below)
                assert plan.proofs + plan.reused == plan.rounds * len(plan.run.files)
                assert plan.rounds > 1 and plan.reused > 0
                run: RunResult = apply_predictions(prediction_records(plan.project, plan.chosen), mode)
            else:
                # gate off: the checker engine would leave out most of the tiny model's types (test_engine.py
                # tests the gate); this is about the memo
                run = annotate(paths, predictor, mode, WriteOptions(), kinds, gate=False).run
                run = RunResult(run.mode, run.files)
            runs.append(run)
            trees.append(_tree(copy))
        _same(runs[0], runs[1])
        assert trees[0] == trees[1]
        assert runs[1].changed, "the example should get some annotations"
        assert (trees[1] != _tree(EXAMPLE.parent)) if mode.writes else all(f.diff for f in runs[1].changed)


# -- across runs: the store of proven plans (`proofstore`, in the prediction cache's database) --------------------


def test_a_later_run_takes_proven_plans_from_the_store(project: Path, tmp_path: Path,
                                                       writer_calls: list[str]) -> None:
    from typetool.predcache import PredictionCache

    preds = _records(project)
    fresh = apply_predictions(preds, WriteMode.CHECK)
    store = PredictionCache(tmp_path / "cache")
    first = ProofMemo(store)
    _same(apply_predictions(preds, WriteMode.CHECK, memo=first), fresh)
    assert (first.misses, first.stored) == (3, 0)
    store.close()

    del writer_calls[:]
    later = ProofMemo(PredictionCache(tmp_path / "cache"))  # another run
    _same(apply_predictions(preds, WriteMode.CHECK, memo=later), fresh)
    assert (later.misses, later.stored, writer_calls) == (0, 3, [])
    # and it writes what the writers write
    run = write_plan(preds, apply_predictions(preds, WriteMode.CHECK, memo=later), WriteMode.WRITE)
    assert [f.written for f in run.files] == [True] * 3
    assert [(project / f.path).read_bytes() for f in run.files] == [f.data for f in fresh.files]


def test_the_store_is_keyed_by_what_the_writer_reads(project: Path, tmp_path: Path) -> None:
    """Other records, another file hash, other options: other keys. Another class in the package (the Python
    writer's name index) changes the Python files' keys, not the TypeScript file's. A stored outcome is used only
    for a file that still has the expected hash: else it is refused as stale, as by the writer."""
    from typetool.predcache import PredictionCache

    preds = _records(project)
    store = PredictionCache(tmp_path / "cache")
    apply_predictions(preds, WriteMode.CHECK, memo=ProofMemo(store))

    def again(p: Predictions, options: WriteOptions = WriteOptions()) -> tuple[ProofMemo, RunResult]:
        memo = ProofMemo(store)
        run = apply_predictions(p, WriteMode.CHECK, options, memo=memo)
        _same(run, apply_predictions(p, WriteMode.CHECK, options))
        return memo, run

    assert again(preds)[0].stored == 3
    fewer = Predictions(preds.files, tuple(r for r in preds.predictions if "total" not in r.id))
    memo, _ = again(fewer)
    assert (memo.stored, memo.misses) == (2, 1)  # pkg/use.py's other records: planned, and stored
    memo, _ = again(fewer)
    assert (memo.stored, memo.misses) == (3, 0)
    memo, _ = again(preds, WriteOptions(target_version=(3, 8)))
    assert memo.misses == 3
    assert memo.stored == 0

    (project / "pkg" / "other.py").write_text("class Item:\n    pass\n", encoding="utf-8")
    memo, run = again(preds)
    assert (memo.misses, memo.stored) == (2, 1)  # the two Python files planned again, the TypeScript one not

    (project / "web" / "app.ts").write_text(FILES["web/app.ts"] + "// edited\n", encoding="utf-8")
    memo, run = again(preds)
    assert run.files[2].status == FileStatus.REFUSED and run.files[2].diagnostics[0].code == STALE[0]


def test_a_damaged_stored_plan_is_proven_again(project: Path, tmp_path: Path, writer_calls: list[str]) -> None:
    import sqlite3

    from typetool.predcache import DATABASE, PredictionCache

    preds = _records(project)
    fresh = apply_predictions(preds, WriteMode.CHECK)
    store = PredictionCache(tmp_path / "cache")
    apply_predictions(preds, WriteMode.CHECK, memo=ProofMemo(store))
    store.close()
    db = sqlite3.connect(tmp_path / "cache" / DATABASE)
    rows = db.execute("SELECT key, value FROM outcomes ORDER BY key").fetchall()
    assert len(rows) == 3
    damaged = [rows[0][1][:-7], rows[1][1][:40] + bytes([rows[1][1][40] ^ 1]) + rows[1][1][41:], b"junk"]
    for (k, _), v in zip(rows, damaged, strict=True):
        db.execute("UPDATE outcomes SET value = ? WHERE key = ?", (v, k))
    db.commit()
    db.close()
    del writer_calls[:]
    memo = ProofMemo(PredictionCache(tmp_path / "cache"))
    _same(apply_predictions(preds, WriteMode.CHECK, memo=memo), fresh)
    assert (memo.misses, memo.stored, len(writer_calls)) == (3, 0, 2)
    again = ProofMemo(PredictionCache(tmp_path / "cache"))  # stored again, sound
    _same(apply_predictions(preds, WriteMode.CHECK, memo=again), fresh)
    assert (again.misses, again.stored) == (0, 3)


def test_only_proven_plans_are_stored(project: Path, tmp_path: Path) -> None:
    from typetool import proofstore

    preds = _records(project)
    plan = apply_predictions(preds, WriteMode.CHECK)
    for f in plan.files:
        blob = proofstore.encode(f)
        assert blob is not None
        back = proofstore.decode(blob)
        assert back == f and back is not None and back.text == f.text and back.data is None
    refused = FileOutcome("a.py", FileStatus.REFUSED)
    failed = FileOutcome("a.py", FileStatus.FAILED)
    diffed = apply_predictions(preds, WriteMode.DIFF).files[0]
    assert [proofstore.encode(f) for f in (refused, failed, diffed)] == [None] * 3
    key = ("pkg/use.py", "pkg/use.py", "0" * 64, (("pkg/use.py::return::total::return", "int"),))
    assert proofstore.stored_key(*key, WriteMode.CHECK, WriteOptions(), "py", "ctx") is not None
    assert proofstore.stored_key(*key, WriteMode.CHECK, WriteOptions(verify=False), "py", "ctx") is None
    assert proofstore.stored_key(*key, WriteMode.DIFF, WriteOptions(), "py", "ctx") is None
    assert len({proofstore.stored_key(*key, WriteMode.CHECK, WriteOptions(), "py", c) for c in ("a", "b", None)}) == 3


def test_the_python_index_fingerprint_covers_the_module_name_and_the_classes(project: Path) -> None:
    files = [project / "pkg" / "use.py"]
    before = pywb.ProjectNameIndex(files).fingerprint(files[0])
    assert pywb.ProjectNameIndex(files).fingerprint(files[0]) == before
    assert pywb.ProjectNameIndex(files).fingerprint(project / "pkg" / "models.py") != before
    (project / "pkg" / "more.py").write_text("class Other:\n    pass\n", encoding="utf-8")
    assert pywb.ProjectNameIndex(files).fingerprint(files[0]) != before
    (project / "pkg" / "more.py").unlink()
    (project / "pkg" / "__init__.py").unlink()  # pkg.use becomes use
    assert pywb.ProjectNameIndex(files).fingerprint(files[0]) != before


def test_a_warm_annotate_proves_nothing_and_writes_the_same(tiny_model: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           writer_calls: list[str]) -> None:
    """Two copies of the example: the first annotated cold, the second with the first one's cache: the same bytes,
    and the second run hands no file to a writer."""
    from typetool.predcache import CACHE_DIR, PredictionCache
    from typetool.predictions import TypePredictor

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    (model / "calibration.json").unlink()
    trees, counts = [], []
    for name in ("cold", "warm"):
        copy = tmp_path / name
        shutil.copytree(EXAMPLE, copy)
        if name == "warm":
            shutil.copytree(tmp_path / "cold" / CACHE_DIR, copy / CACHE_DIR)
        monkeypatch.chdir(copy)
        predictor = TypePredictor(model)
        predictor.use_cache(PredictionCache(copy / CACHE_DIR))
        del writer_calls[:]
        out = annotate([Path("inventory")], predictor, WriteMode.WRITE, WriteOptions(), frozenset(SlotKind),
                       gate=False)  # the tiny model's types would mostly be gated out; this is about the cache
        assert out.run.exit_code == 0 and out.run.changed
        trees.append(_tree(copy))
        counts.append(len(writer_calls))
    assert trees[0] == trees[1]
    assert counts[0] > 0 and counts[1] == 0

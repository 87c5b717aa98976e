"""`typetool apply` / `typetool strip` end to end: modes, exit codes, bad input, and file-system safety."""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

import typetool.fileio as fio
import typetool.python.writeback as wb
import typetool.writeback as core
from typetool.writeback import (
    FileStatus,
    PredictionRecord,
    Predictions,
    WriteMode,
    WriteOptions,
    apply_predictions,
    load_predictions,
    strip_paths,
)

SRC = '''"""Shop."""
import json


class Cart:
    def __init__(self, owner):
        self.owner = owner
        self.items = []

    def add(self, sku, count=1):
        self.items.append((sku, count))
        return len(self.items)


def load(path):
    with open(path) as f:
        return json.load(f)
'''
TYPES = {
    "shop.py::param::Cart.__init__::owner": "str",
    "shop.py::attribute::Cart::items": "list[tuple[str, int]]",
    "shop.py::param::Cart.add::sku": "str",
    "shop.py::param::Cart.add::count": "int",
    "shop.py::return::Cart.add::return": "int",
    "shop.py::param::load::path": "str",
    "shop.py::return::load::return": "dict[str, ?]",
}


run = run_cli


def test_entry_point_exit_codes(shop: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}

    def real(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "typetool", *args], capture_output=True, text=True, cwd=shop,
                              env=env, check=False)

    (shop / "bad.json").write_text("{not json")
    bad = real("apply", "bad.json")
    assert bad.returncode == 2 and "not valid JSON" in bad.stderr and "Traceback" not in bad.stderr
    write_predictions(shop, TYPES)
    check = real("apply", "preds.json", "--check")
    assert check.returncode == 1 and "would annotate shop.py (7 annotations)" in check.stderr
    assert real("apply", "preds.json", "--target-version", "py2").returncode == 2


def predictions_for(root: Path, types: dict[str, str]) -> dict[str, object]:
    files = {}
    for sid in types:
        rel = sid.split("::")[0]
        files[rel] = {"sha256": hashlib.sha256((root / rel).read_bytes()).hexdigest()}
    preds = [{"id": sid, "file": sid.split("::")[0], "line": 1, "column": 0, "kind": sid.split("::")[1],
              "scope": sid.split("::")[2], "name": sid.split("::")[3], "type": t, "confidence": 0.5}
             for sid, t in types.items()]
    return {"version": 1, "files": files, "predictions": preds}


def write_predictions(root: Path, types: dict[str, str], name: str = "preds.json") -> Path:
    path = root / name
    path.write_text(json.dumps(predictions_for(root, types)), encoding="utf-8")
    return path


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "shop.py").write_text(SRC, encoding="utf-8")
    return tmp_path


def test_apply_writes_and_second_application_is_a_no_op(shop: Path) -> None:
    write_predictions(shop, TYPES)
    proc = run("apply", "preds.json", cwd=shop)
    assert proc.returncode == 0, proc.stderr
    text = (shop / "shop.py").read_text()
    assert "def add(self, sku: str, count: int = 1) -> int:" in text
    assert "self.items: list[tuple[str, int]] = []" in text
    assert "def load(path: str) -> dict[str, Any]:" in text
    assert "from typing import Any" in text
    assert "annotated shop.py (7 annotations)" in proc.stderr
    # fresh predictions for the new file: nothing left to do
    write_predictions(shop, TYPES)
    again = run("apply", "preds.json", "--check", cwd=shop)
    assert again.returncode == 0, again.stderr
    assert (shop / "shop.py").read_text() == text


def test_diff_and_check_modes_write_nothing(shop: Path) -> None:
    write_predictions(shop, TYPES)
    before = (shop / "shop.py").read_bytes()
    diff = run("apply", "preds.json", "--diff", cwd=shop)
    assert diff.returncode == 0, diff.stderr
    assert diff.stdout.startswith("--- a/shop.py\n+++ b/shop.py\n")
    assert "+    def add(self, sku: str, count: int = 1) -> int:" in diff.stdout
    check = run("apply", "preds.json", "--check", cwd=shop)
    assert check.returncode == 1 and check.stdout == ""
    assert "would annotate shop.py" in check.stderr
    both = run("apply", "preds.json", "--check", "--diff", cwd=shop)
    assert both.returncode == 1 and "+++ b/shop.py" in both.stdout
    assert (shop / "shop.py").read_bytes() == before


def test_strip_modes(shop: Path) -> None:
    annotated = "def f(x: int = 1, *a: str) -> None:\n    y: int = x\n"
    (shop / "a.py").write_text(annotated)
    (shop / "stub.pyi").write_text("def f(x: int) -> None: ...\n")
    assert run("strip", "a.py", "--check", cwd=shop).returncode == 1
    diff = run("strip", ".", "--diff", cwd=shop)
    assert diff.returncode == 0 and "+def f(x=1, *a):" in diff.stdout
    assert (shop / "a.py").read_text() == annotated
    done = run("strip", ".", cwd=shop)
    assert done.returncode == 0, done.stderr
    assert (shop / "a.py").read_text() == "def f(x=1, *a):\n    y = x\n"
    assert (shop / "stub.pyi").read_text() == "def f(x: int) -> None: ...\n"
    assert run("strip", "a.py", "--check", cwd=shop).returncode == 0


def test_usage_errors_exit_2(shop: Path) -> None:
    (shop / "bad.json").write_text("{not json")
    proc = run("apply", "bad.json", cwd=shop)
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr and "Traceback" not in proc.stderr
    assert run("apply", "missing.json", cwd=shop).returncode == 2
    (shop / "v2.json").write_text(json.dumps({"version": 2, "files": {}, "predictions": []}))
    assert "unsupported predictions version" in run("apply", "v2.json", cwd=shop).stderr
    write_predictions(shop, TYPES)
    proc = run("apply", "preds.json", "--target-version", "py2", cwd=shop)
    assert proc.returncode == 2 and "target version" in proc.stderr
    assert run("strip", "nowhere", cwd=shop).returncode == 2


def test_stale_file_refused_others_written(shop: Path) -> None:
    (shop / "other.py").write_text("def g(v):\n    return v\n")
    types = {**TYPES, "other.py::param::g::v": "int"}
    write_predictions(shop, types)
    (shop / "shop.py").write_text(SRC + "\n# edited after predict\n")
    stale = (shop / "shop.py").read_bytes()
    proc = run("apply", "preds.json", cwd=shop)
    assert proc.returncode == 1
    assert "shop.py: error: file changed since the predictions were made" in proc.stderr
    assert (shop / "shop.py").read_bytes() == stale
    assert (shop / "other.py").read_text() == "def g(v: int):\n    return v\n"


def test_bad_predictions_reported_rest_written(shop: Path) -> None:
    types = {"shop.py::param::load::path": "str", "shop.py::param::load::nope": "int",
             "shop.py::return::load::return": "dict[str,", "other.py::param::x::y": "int"}
    data = predictions_for(shop, {k: v for k, v in types.items() if not k.startswith("other")})
    data["predictions"].append({"id": "shop.py::param::load::path", "file": "shop.py", "type": "bytes"})  # type: ignore[attr-defined]
    data["predictions"].append({"id": "elsewhere::param::f::x", "file": "shop.py", "type": "int"})  # type: ignore[attr-defined]
    (shop / "preds.json").write_text(json.dumps(data))
    proc = run("apply", "preds.json", cwd=shop)
    assert proc.returncode == 1
    assert "no slot shop.py::param::load::nope" in proc.stderr
    assert "invalid type 'dict[str,'" in proc.stderr
    assert "several different predictions" in proc.stderr
    assert "does not name a slot of shop.py" in proc.stderr
    assert "def load(path):" in (shop / "shop.py").read_text()  # the conflicting prediction is not written


def test_syntax_error_file_refused(shop: Path) -> None:
    (shop / "broken.py").write_text("def f(x):\n    return (x\n")
    before = (shop / "broken.py").read_bytes()
    write_predictions(shop, {"broken.py::param::f::x": "int", **TYPES})
    proc = run("apply", "preds.json", cwd=shop)
    assert proc.returncode == 1
    assert "broken.py" in proc.stderr and "cannot parse" in proc.stderr
    assert (shop / "broken.py").read_bytes() == before
    assert "count: int = 1" in (shop / "shop.py").read_text()


def test_read_only_file_refused(shop: Path) -> None:
    write_predictions(shop, TYPES)
    os.chmod(shop / "shop.py", 0o444)
    try:
        proc = run("apply", "preds.json", cwd=shop)
        assert proc.returncode == 1
        assert "file is read-only; not written [read-only]" in proc.stderr
        assert (shop / "shop.py").read_text() == SRC
    finally:
        os.chmod(shop / "shop.py", 0o644)


def _preds(root: Path, types: dict[str, str]) -> Predictions:
    return core.predictions_from_json(predictions_for(root, types))


def test_disk_full_leaves_file_untouched(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: bytes) -> None:
        os.write(fd, data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fio, "_write_all", full)
    monkeypatch.chdir(shop)
    result = apply_predictions(_preds(shop, TYPES), WriteMode.WRITE, WriteOptions(), shop)
    assert result.exit_code == 1
    (outcome,) = result.files
    assert outcome.status == FileStatus.REFUSED and not outcome.written
    assert "no space left on device; the file is untouched" in outcome.diagnostics[0].message
    assert (shop / "shop.py").read_text() == SRC
    assert sorted(p.name for p in shop.iterdir()) == ["shop.py"]  # no temporary file left behind


def test_file_changed_while_running_is_not_overwritten(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = fio._write_all

    def concurrent_edit(fd: int, data: bytes) -> None:
        real(fd, data)
        (shop / "shop.py").write_text(SRC + "x = 1\n")  # someone saves the file meanwhile

    monkeypatch.setattr(fio, "_write_all", concurrent_edit)
    result = apply_predictions(_preds(shop, TYPES), WriteMode.WRITE, WriteOptions(), shop)
    (outcome,) = result.files
    assert outcome.status == FileStatus.REFUSED
    assert outcome.diagnostics[0].code == "changed-on-disk"
    assert (shop / "shop.py").read_text() == SRC + "x = 1\n"
    assert sorted(p.name for p in shop.iterdir()) == ["shop.py"]


def test_unsafe_rewrite_is_refused_with_123(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = wb.apply_types

    def buggy(*args: object, **kw: object) -> wb.Rewrite:
        r = real(*args, **kw)  # type: ignore[arg-type]
        return wb.Rewrite(r.old, r.new.replace("return len(self.items)", "return 0"), r.slots, r.added_imports,
                          r.module)

    monkeypatch.setattr(wb, "apply_types", buggy)
    result = apply_predictions(_preds(shop, TYPES), WriteMode.WRITE, WriteOptions(), shop)
    (outcome,) = result.files
    assert outcome.status == FileStatus.FAILED and result.exit_code == 123
    assert "INTERNAL ERROR" in outcome.diagnostics[-1].message
    assert (shop / "shop.py").read_text() == SRC


def test_encoding_bom_newlines_and_mode_are_kept(tmp_path: Path) -> None:
    latin = "# -*- coding: latin-1 -*-\r\n# caf\xe9\r\ndef f(x):\r\n    return x\r\n"
    (tmp_path / "latin.py").write_bytes(latin.encode("latin-1"))
    bom = "def g(y):\n    return y\n"
    (tmp_path / "bom.py").write_bytes(codecs.BOM_UTF8 + bom.encode())
    os.chmod(tmp_path / "latin.py", 0o640)
    types = {"latin.py::param::f::x": "Literal['\xe9', ?]", "latin.py::return::f::return": "str",
             "bom.py::param::g::y": "bytes", "bom.py::return::g::return": "Literal['\u20ac']"}
    result = apply_predictions(_preds(tmp_path, types), WriteMode.WRITE, WriteOptions(), tmp_path)
    assert result.exit_code == 0, result.all_diagnostics
    raw = (tmp_path / "latin.py").read_bytes()
    assert raw == ("# -*- coding: latin-1 -*-\r\n# caf\xe9\r\nfrom typing import Any\r\n\r\n"
                   "def f(x: Any) -> str:\r\n    return x\r\n").encode("latin-1")
    assert stat.S_IMODE(os.stat(tmp_path / "latin.py").st_mode) == 0o640
    assert (tmp_path / "bom.py").read_bytes() == codecs.BOM_UTF8 + (
        "from typing import Literal\n\ndef g(y: bytes) -> Literal['\u20ac']:\n    return y\n").encode()


def test_type_the_encoding_cannot_hold_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "l.py").write_bytes(b"# coding: latin-1\ndef f(x):\n    return x\n")
    types = {"l.py::param::f::x": "Literal['\u20ac']", "l.py::return::f::return": "int"}
    result = apply_predictions(_preds(tmp_path, types), WriteMode.WRITE, WriteOptions(), tmp_path)
    assert result.exit_code == 0
    assert (tmp_path / "l.py").read_bytes() == b"# coding: latin-1\ndef f(x) -> int:\n    return x\n"
    assert any("cannot be encoded as iso-8859-1" in d.message for d in result.all_diagnostics)


def test_symlink_is_followed_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_text("def f(x):\n    return x\n")
    (tmp_path / "link.py").symlink_to("real.py")
    result = apply_predictions(_preds(tmp_path, {"link.py::param::f::x": "int"}), WriteMode.WRITE, WriteOptions(),
                               tmp_path)
    assert result.exit_code == 0
    assert (tmp_path / "link.py").is_symlink()
    assert (tmp_path / "real.py").read_text() == "def f(x: int):\n    return x\n"


def test_import_cycle_policy_keeps_the_package_importable(tmp_path: Path) -> None:
    """`pkg.b` is imported by `pkg.a` at run time; typing `b` with `pkg.a.A` must not import `pkg.a` at run time."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n\n\nclass A:\n    def go(self):\n        return b.use(self)\n")
    (pkg / "b.py").write_text("def use(thing):\n    return thing\n\n\ndef make():\n    return None\n")
    types = {"pkg/b.py::param::use::thing": "pkg.a.A", "pkg/b.py::return::use::return": "A",
             "pkg/b.py::return::make::return": "A | None"}
    result = apply_predictions(_preds(tmp_path, types), WriteMode.WRITE, WriteOptions(), tmp_path)
    assert result.exit_code == 0, result.all_diagnostics
    text = (pkg / "b.py").read_text()
    assert text == ('from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg.a import A\n\n'
                    'def use(thing: "A") -> "A":\n    return thing\n\n\ndef make() -> "A | None":\n    return None\n')
    proc = subprocess.run([sys.executable, "-c", "import pkg.b, pkg.a; print(pkg.a.A().go().__class__.__name__)"],
                          capture_output=True, text=True, cwd=tmp_path, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "A", proc.stderr


def test_strip_paths_refuses_unparseable_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ok.py").write_text("x: int = 1\n")
    (tmp_path / "bad.py").write_text("x: int = (\n")
    monkeypatch.chdir(tmp_path)
    result = strip_paths([tmp_path], WriteMode.WRITE, WriteOptions())
    status = {f.path: f.status for f in result.files}
    assert status == {"bad.py": FileStatus.REFUSED, "ok.py": FileStatus.CHANGED}
    assert (tmp_path / "ok.py").read_text() == "x = 1\n"
    assert result.exit_code == 1


def test_load_predictions_validates(tmp_path: Path) -> None:
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"version": 1, "files": {"a.py": {"sha256": "xyz"}}, "predictions": []}))
    with pytest.raises(core.PredictionsError, match="sha256"):
        load_predictions(p)
    p.write_text(json.dumps({"version": 1, "files": {}, "predictions": [{"id": 3}]}))
    with pytest.raises(core.PredictionsError, match="needs string"):
        load_predictions(p)
    # the record shape `typetool predict` emits (extra fields; `"type": null` when there is nothing to write)
    record = {"id": "a.py::param::f::x", "file": "a.py", "line": 1, "column": 6, "kind": "param", "scope": "f",
              "name": "x", "annotation": None, "type": "list[?]", "confidence": 0.42, "status": "partial",
              "candidates": [{"type": "list[int]", "logp": -0.1, "confidence": 0.4}]}
    p.write_text(json.dumps({"version": 1, "model": "m", "epsilon": 0.1, "delta": 0.1, "calibrated": True,
                             "files": {"a.py": {"sha256": "0" * 64}},
                             "predictions": [record, {**record, "id": "a.py::return::f::return", "type": None}]}))
    loaded = load_predictions(p)
    assert [(x.id, x.type, x.confidence) for x in loaded.predictions] == [("a.py::param::f::x", "list[?]", 0.42)]
    good = Predictions({"a.py": "0" * 64}, (PredictionRecord("a.py::param::f::x", "a.py", "int", confidence=0.5),))
    p.write_text(json.dumps(good.to_json()))
    assert load_predictions(p) == good

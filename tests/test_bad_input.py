"""Bad input never crashes a run: every case of the issue gives a clear message (file, and line where there is
one), the other files are still analysed, the exit code is 0 when some files were fine, and no traceback is
printed. Checked through the real CLI (`python -m typetool slices`) and through the pipeline."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from typetool.diagnostics import Diagnostic, Severity
from typetool.pipeline import slice_paths
from typetool.sources import SourceFile, discover, read_source

GOOD = "def good(count):\n    return count + 1\n"
MB = 1_000_000


def run_cli(*args: str, cwd: Path, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*prefix, sys.executable, "-m", "typetool", "slices", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr
    return proc


def make_bad_tree(root: Path) -> Path:
    """A directory holding one file per bad-input case, and one good file."""
    d = root / "proj"
    d.mkdir()
    (d / "good.py").write_text(GOOD, encoding="utf-8")
    (d / "syntax.py").write_text(
        "def before(a):\n    return a\n\n\ndef broken(x:\n    return x\n\n\ndef after(b):\n    return b\n",
        encoding="utf-8")
    (d / "latin1.py").write_bytes(
        "# -*- coding: latin-1 -*-\ndef greet(name=\"café\"):\n    return name\n".encode("latin-1"))
    (d / "cp1252.py").write_bytes("def quote(text=\"\u201chi\u201d\"):\n    return text\n".encode("cp1252"))
    (d / "bom.py").write_bytes(b"\xef\xbb\xbf" + b"def with_bom(value):\n    return value\n")
    (d / "crlf.py").write_bytes(b"def crlf(a):\r\n    b = a\r\n    return b\r\n")
    (d / "tabs.py").write_bytes(b"def tabs(a):\n\tif a:\n\t\treturn a\n\treturn None\n")
    (d / "nul.py").write_bytes(b"def nul(a):\n    return a\x00\n")
    (d / "binary.py").write_bytes(bytes(range(256)) * 16)
    (d / "empty.py").write_bytes(b"")
    (d / "big.py").write_bytes(big_source(5 * MB))
    (d / "loop.py").symlink_to("loop.py")  # a symlink to itself
    (d / "sub").mkdir()
    (d / "sub" / "up").symlink_to("..")  # a directory loop
    (d / "dir.py").mkdir()  # a directory named like a source file
    if hasattr(os, "mkfifo"):
        os.mkfifo(d / "fifo.py")  # reading it would block forever
    return d


def big_source(size: int) -> bytes:
    """A generated module of `size` bytes (a data table, then one function), cheap to parse."""
    head = b'"""Generated."""\nTABLE = b"'
    tail = b'"\n\n\ndef lookup(key):\n    return TABLE[key]\n'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def by_path(diagnostics: list[dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for d in diagnostics:
        out.setdefault(Path(str(d["path"])).name, []).append(d)
    return out


def test_cli_goes_on_past_every_bad_file(tmp_path: Path) -> None:
    d = make_bad_tree(tmp_path)
    proc = run_cli("proj", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    diags = by_path(data["diagnostics"])
    codes = {name: {str(x["code"]) for x in items} for name, items in diags.items()}
    ids = {s["id"] for s in data["slices"]}

    assert "proj/good.py::param::good::count" in ids
    # syntax error: reported with file and line, the intact parts are sliced
    assert "syntax-error" in codes["syntax.py"]
    assert any(x["line"] in (5, 6) for x in diags["syntax.py"] if x["code"] == "syntax-error")
    assert {"proj/syntax.py::param::before::a", "proj/syntax.py::param::after::b"} <= ids
    # PEP 263 cookie honoured
    assert "latin1.py" not in diags
    greet = next(s for s in data["slices"] if s["id"] == "proj/latin1.py::param::greet::name")
    assert "café" in greet["text"]
    # no cookie and not UTF-8: a clear message that says where
    (cp,) = diags["cp1252.py"]
    assert cp["code"] == "bad-encoding" and cp["severity"] == "error"
    assert "utf-8" in str(cp["message"]) and "0x93" in str(cp["message"]) and "line 1" in str(cp["message"])
    # BOM, CRLF and tabs are ordinary input
    assert {"proj/bom.py::param::with_bom::value", "proj/crlf.py::variable::crlf::b",
            "proj/tabs.py::param::tabs::a"} <= ids
    assert not {"bom.py", "crlf.py", "tabs.py"} & set(diags)
    # NUL bytes and binary files
    assert codes["nul.py"] == {"nul-bytes"}
    assert codes["binary.py"] == {"binary"}
    # an empty file: said so, not an error
    assert codes["empty.py"] == {"empty"} and diags["empty.py"][0]["severity"] == "info"
    # too large: skipped, with the limit and how to raise it
    (big,) = diags["big.py"]
    assert big["code"] == "too-large" and "5.0 MB" in str(big["message"]) and "--max-file-size" in str(big["message"])
    # symlink loops (a file linked to itself, a directory linked to its parent)
    assert codes["loop.py"] == {"symlink-loop"}
    assert codes["up"] == {"symlink-loop"}
    # a FIFO named like a source file is not opened
    if (d / "fifo.py").exists():
        assert codes["fifo.py"] == {"not-a-file"}
    assert not any(i.startswith("proj/sub/") for i in ids)


def test_cli_text_output_puts_each_diagnostic_on_one_line(tmp_path: Path) -> None:
    make_bad_tree(tmp_path)
    proc = run_cli("proj", "--sites", "params", cwd=tmp_path)
    assert proc.returncode == 0
    lines = proc.stderr.splitlines()
    assert any(ln.startswith("proj/syntax.py:5:1: error: syntax error") for ln in lines), lines
    assert any(ln.startswith(f"{Path('proj', 'big.py')}: warning: file is 5.0 MB") for ln in lines), lines
    assert all(": " in ln and ln.rstrip().endswith("]") for ln in lines), "one diagnostic per line, not wrapped"
    assert "# proj/good.py:1:10 proj/good.py::param::good::count" in proc.stdout.splitlines()


def test_large_file_is_processed_when_the_limit_is_raised(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_bytes(big_source(5 * MB))
    proc = run_cli("big.py", "--max-file-size", "6", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert not data["diagnostics"]
    assert "big.py::param::lookup::key" in {s["id"] for s in data["slices"]}


def test_only_bad_files_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "binary.py").write_bytes(bytes(range(256)) * 4)
    proc = run_cli("binary.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "binary.py: warning: looks like a binary file" in proc.stderr


def test_unreadable_file(tmp_path: Path) -> None:
    """chmod 000. Root reads anything, so as root the CLI runs without the capabilities that bypass file
    permissions (setpriv); where that is impossible the test is skipped rather than faked."""
    d = tmp_path / "proj"
    d.mkdir()
    (d / "good.py").write_text(GOOD, encoding="utf-8")
    secret = d / "secret.py"
    secret.write_text("def hidden(x):\n    return x\n", encoding="utf-8")
    locked = d / "locked"
    locked.mkdir()
    (locked / "inner.py").write_text(GOOD, encoding="utf-8")
    secret.chmod(0)
    locked.chmod(0)
    try:
        prefix: tuple[str, ...] = ()
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("running as root without setpriv: file permissions cannot be enforced")
            drop = "-dac_override,-dac_read_search"
            prefix = (setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}")
        proc = run_cli("proj", "--format", "json", cwd=tmp_path, prefix=prefix)
        if proc.returncode != 0 and "Operation not permitted" in proc.stderr:
            pytest.skip(f"cannot drop capabilities here: {proc.stderr.strip()}")
    finally:
        secret.chmod(stat.S_IRUSR | stat.S_IWUSR)
        locked.chmod(stat.S_IRWXU)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    diags = by_path(data["diagnostics"])
    assert [(x["code"], x["severity"]) for x in diags["secret.py"]] == [("unreadable", "error")]
    assert "Permission denied" in str(diags["secret.py"][0]["message"])
    assert [x["code"] for x in diags["locked"]] == ["unreadable"]
    assert "proj/good.py::param::good::count" in {s["id"] for s in data["slices"]}


# -- the same cases through the pipeline (in process) --------------------------------------------------------

def test_pipeline_reports_every_case_and_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_bad_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    run = slice_paths([Path("proj")])
    codes = {(Path(d.path).name, d.code) for d in run.diagnostics}
    assert {("syntax.py", "syntax-error"), ("cp1252.py", "bad-encoding"), ("nul.py", "nul-bytes"),
            ("binary.py", "binary"), ("empty.py", "empty"), ("big.py", "too-large"), ("loop.py", "symlink-loop"),
            ("up", "symlink-loop")} <= codes
    assert all(isinstance(d, Diagnostic) and d.message for d in run.diagnostics)
    syntax = [d for d in run.diagnostics if d.code == "syntax-error"]
    assert all(d.path == "proj/syntax.py" and d.line is not None for d in syntax)
    assert "proj/good.py" in run.project.modules and "proj/empty.py" in run.project.modules


def test_read_source_details(tmp_path: Path) -> None:
    d = make_bad_tree(tmp_path)

    def read(name: str, max_bytes: int = 2 * MB) -> SourceFile:
        src = read_source(d / name, tmp_path, max_bytes)
        assert isinstance(src, SourceFile), src
        return src

    latin = read("latin1.py")
    assert latin.encoding == "iso-8859-1" and "café" in latin.text
    assert latin.data == latin.text.encode("utf-8")  # tree-sitter reads UTF-8; write-back re-encodes
    bom = read("bom.py")
    assert bom.bom and bom.encoding == "utf-8-sig" and bom.text.startswith("def")
    crlf = read("crlf.py")
    assert crlf.newline == "\r\n" and crlf.line_count == 3
    assert read("empty.py").line_count == 0
    big = read("big.py", max_bytes=6 * MB)
    assert big.line_count == 6
    too_big = read_source(d / "big.py", tmp_path, 2 * MB)
    assert isinstance(too_big, Diagnostic) and too_big.code == "too-large"


def test_unknown_coding_cookie(tmp_path: Path) -> None:
    path = tmp_path / "odd.py"
    path.write_bytes(b"# coding: no-such-codec\nx = 1\n")
    diag = read_source(path, tmp_path)
    assert isinstance(diag, Diagnostic) and diag.code == "unknown-encoding" and diag.severity == Severity.ERROR
    assert "no-such-codec" in diag.message


def test_cookie_that_does_not_match_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "lying.py"
    path.write_bytes(b"# -*- coding: ascii -*-\nname = '\xc3\xa9'\n")
    diag = read_source(path, tmp_path)
    assert isinstance(diag, Diagnostic) and diag.code == "bad-encoding"
    assert "ascii" in diag.message and "line 2" in diag.message


def test_unreadable_file_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same path for any OSError on read (permissions, I/O errors), whoever runs the tests."""
    path = tmp_path / "secret.py"
    path.write_text(GOOD, encoding="utf-8")
    original = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    diag = read_source(path, tmp_path)
    assert isinstance(diag, Diagnostic) and diag.code == "unreadable" and "Permission denied" in diag.message


def test_symlink_loops_given_explicitly(tmp_path: Path) -> None:
    (tmp_path / "self.py").symlink_to("self.py")
    (tmp_path / "a.py").symlink_to("b.py")
    (tmp_path / "b.py").symlink_to("a.py")
    (tmp_path / "dangling.py").symlink_to("nowhere.py")
    found = list(discover([tmp_path / "self.py", tmp_path / "a.py", tmp_path / "dangling.py", tmp_path]))
    diags = [(Path(d.path).name, d.code) for d in found if isinstance(d, Diagnostic)]
    assert ("self.py", "symlink-loop") in diags and ("a.py", "symlink-loop") in diags
    assert ("dangling.py", "not-found") in diags
    assert not [p for p in found if isinstance(p, Path)]


def test_files_found_once_through_symlinks(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(GOOD, encoding="utf-8")
    (tmp_path / "alias").symlink_to("pkg")
    (tmp_path / "pkg" / "again.py").symlink_to("mod.py")
    found = [p for p in discover([tmp_path]) if isinstance(p, Path)]
    assert len(found) == 1


def test_deeply_nested_generated_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated code nests deeper than Python's default recursion limit (CPython itself cannot compile these):
    a few thousand levels are analysed; far deeper gives a clear message for that file, and the run goes on."""
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    (tmp_path / "long_sum.py").write_text("total = " + " + ".join(["1"] * 3000) + "\n", encoding="utf-8")
    (tmp_path / "chain.py").write_text("value = obj" + ".attr" * 3000 + "\n", encoding="utf-8")
    (tmp_path / "extreme.py").write_text("x = " + " + ".join(["1"] * 30000) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    limit = sys.getrecursionlimit()
    run = slice_paths([Path(".")])
    assert sys.getrecursionlimit() == limit, "the raised limit is restored"
    ids = {s.slot.id for s in run.slices}
    assert {"good.py::param::good::count", "long_sum.py::variable::<module>::total",
            "chain.py::variable::<module>::value"} <= ids
    assert [(d.path, d.code) for d in run.diagnostics] == [("extreme.py", "too-deep")]

"""typetool.ts.npm: the pinned TypeScript package list, one-call cached `npm pack` download, safe unpacking of
.ts sources. No network: npm is faked."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from typetool.ts import npm
from typetool.ts.npm import NpmPackage, classify, download_npm, parse_spec, read_package_list, unpack_ts


def write_list(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "list.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_list_parses_splits_scopes_and_caps(tmp_path: Path) -> None:
    pkgs = read_package_list(write_list(tmp_path, "# comment\ntrain effect@4.1.0 cap=8000\n\n"
                                                  "calib @trpc/client@11.25.2  # mid-sized\ndev immer@11.2.10\n"))
    assert pkgs == [NpmPackage("train", "effect", "4.1.0", 8000), NpmPackage("calib", "@trpc/client", "11.25.2"),
                    NpmPackage("dev", "immer", "11.2.10")]
    assert pkgs[1].spec == "@trpc/client@11.25.2"
    assert pkgs[1].key == "trpc-client-11.25.2"
    assert pkgs[1].tarball_name == "trpc-client-11.25.2.tgz"


def test_package_in_two_splits_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one split"):
        read_package_list(write_list(tmp_path, "train zod@4.6.7\ndev zod@4.6.7\n"))
    with pytest.raises(ValueError, match="exactly one split"):  # a different version is still the same package
        read_package_list(write_list(tmp_path, "train zod@4.6.7\ncalib zod@3.0.0\n"))


@pytest.mark.parametrize("line", ["train zod", "train zod@^4.6.7", "train zod@latest", "eval zod@4.6.7",
                                  "train zod@4.6.7 cap=x", "train zod@4.6.7 limit=3", "train @scope@1.0.0",
                                  "train zod==4.6.7"])
def test_bad_lines_are_errors(tmp_path: Path, line: str) -> None:
    with pytest.raises(ValueError, match=r"list.txt:1: expected"):
        read_package_list(write_list(tmp_path, line + "\n"))


def test_shipped_list() -> None:
    pkgs = read_package_list(npm.default_package_list())
    by_split = {s: {p.name for p in pkgs if p.split == s} for s in npm.SPLITS}
    assert {"immer", "@microsoft/signalr"} <= by_split["dev"] and len(by_split["dev"]) >= 6  # issue 19
    assert not by_split["dev"] & (by_split["train"] | by_split["calib"])
    assert len(by_split["calib"]) >= 2 and not by_split["calib"] & by_split["train"]
    # a family of packages (one code base, one author's idioms) stays in one split
    families = {"@noble/", "@effect/", "@tanstack/", "@ai-sdk/"}
    for family in families:
        splits = {p.split for p in pkgs if p.name.startswith(family)} - {"calib"}
        assert len(splits) <= 1, (family, splits)
    assert {"effect", "zod", "rxjs"} <= by_split["train"]
    assert next(p for p in pkgs if p.name == "effect").cap is not None


@pytest.mark.parametrize(("path", "kind"), [
    ("src/a.ts", "ts"), ("src/App.tsx", "ts"), ("src/m.mts", "ts"), ("src/c.cts", "ts"),
    ("src/a.d.ts", "dts"), ("dist/a.d.mts", "dts"), ("dist/a.d.cts", "dts"), ("src/styles.d.css.ts", "dts"),
    ("node_modules/x/index.ts", "vendored"), ("src/vendor/lib.ts", "vendored"), ("src/_vendored/lib.ts", "vendored"),
    ("src/__tests__/a.ts", "test"), ("test/a.ts", "test"), ("src/tests/a.ts", "test"), ("src/a.test.ts", "test"),
    ("src/a.spec.tsx", "test"), ("src/a.test-d.ts", "test"),
    ("src/index.js", "other"), ("src/a.ts.map", "other"), ("package.json", "other"),
    ("src/latest.ts", "ts"), ("src/testing.ts", "ts"), ("src/contest/x.ts", "ts"),
])
def test_classify(path: str, kind: str) -> None:
    assert classify(path) == kind


def add(tf: tarfile.TarFile, name: str, data: bytes = b"export const x = 1;\n", **attrs: Any) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for k, v in attrs.items():
        setattr(info, k, v)
    tf.addfile(info, io.BytesIO(data) if info.isfile() else None)


def make_tarball(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        add(tf, "package/package.json", b"{}")
        add(tf, "package/src/a.ts", b"export const a = 1;\nexport const b = 2;\n")
        add(tf, "package/src/App.tsx", b"export const App = () => <div/>;")
        add(tf, "package/src/esm.mts")
        add(tf, "package/src/index.js")
        add(tf, "package/src/types.d.ts")
        add(tf, "package/dist/index.d.mts")
        add(tf, "package/node_modules/dep/index.ts")
        add(tf, "package/src/vendor/lib.ts")
        add(tf, "package/src/__tests__/a.ts")
        add(tf, "package/test/b.ts")
        add(tf, "package/src/a.test.ts")
        add(tf, "package/src/a.spec.ts")
        add(tf, "package/src/big.ts", b"//" + b"x" * npm.MAX_FILE_BYTES + b"\n")
        add(tf, "../evil.ts")
        add(tf, "package/../../evil2.ts")
        add(tf, "/abs.ts")
        add(tf, "package/src/link.ts", b"", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        add(tf, "package/src/hard.ts", b"", type=tarfile.LNKTYPE, linkname="package/src/a.ts")
    return path


def kept_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != npm.MARKER}


def test_unpack_keeps_only_ts_sources_and_refuses_escapes(tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path / "pkg-1.0.0.tgz")
    dest = tmp_path / "cache" / "src" / "pkg-1.0.0"
    assert unpack_ts(tarball, dest) == dest
    assert kept_files(dest) == {"src/a.ts", "src/App.tsx", "src/esm.mts"}
    assert not (tmp_path / "evil.ts").exists() and not (tmp_path / "cache" / "evil.ts").exists()
    assert not (tmp_path / "evil2.ts").exists() and not (tmp_path / "cache" / "src" / "evil2.ts").exists()
    stats = npm.unpack_stats(dest)
    assert stats["files"] == 3 and stats["lines"] == 4
    assert stats["dts"] == 2 and stats["vendored"] == 2 and stats["test"] == 4 and stats["too_big"] == 1
    assert stats["refused"] == 5  # ../evil.ts, package/../../evil2.ts, /abs.ts, the symlink, the hard link
    assert not dest.with_name(dest.name + ".partial").exists()


def test_unpack_is_done_once_and_replaces_an_unfinished_one(tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path / "pkg-1.0.0.tgz")
    dest = tmp_path / "src" / "pkg"
    dest.mkdir(parents=True)
    (dest / "stale.ts").write_text("left over from an interrupted run")  # no marker: replaced
    unpack_ts(tarball, dest)
    assert "stale.ts" not in kept_files(dest)
    (dest / "src" / "a.ts").unlink()
    tarball.unlink()  # the marker says done: the tarball is not even opened
    unpack_ts(tarball, dest)
    assert kept_files(dest) == {"src/App.tsx", "src/esm.mts"}


def fail_run(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"npm must not run: {args}")


def test_cached_download_runs_no_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkgs = [parse_spec("zod@4.6.7"), parse_spec("@trpc/client@11.25.2")]
    (tmp_path / "tarballs").mkdir()
    for p in pkgs:
        (tmp_path / "tarballs" / p.tarball_name).write_bytes(b"x")
    monkeypatch.setattr(subprocess, "run", fail_run)
    got = download_npm(pkgs, tmp_path)
    assert got == {"zod": tmp_path / "tarballs" / "zod-4.6.7.tgz",
                   "@trpc/client": tmp_path / "tarballs" / "trpc-client-11.25.2.tgz"}
    assert download_npm(["zod@4.6.7"], tmp_path) == {"zod": got["zod"]}


class FakeNpm:
    """Stands in for `npm pack`: writes a small tarball for each spec into --pack-destination."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(cmd)
        assert cmd[1] == "pack"
        dest = Path(cmd[cmd.index("--pack-destination") + 1])
        specs = [a for a in cmd[2:] if not a.startswith("--") and a != str(dest)]
        entries = []
        for spec in specs:
            p = parse_spec(spec)
            make_tarball(dest / p.tarball_name)
            entries.append({"name": p.name, "version": p.version, "filename": p.tarball_name})
        return subprocess.CompletedProcess(cmd, 0, json.dumps(entries), "")


def test_download_fetches_only_missing_in_one_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNpm()
    monkeypatch.setattr(subprocess, "run", fake)
    monkeypatch.setattr(npm.shutil, "which", lambda name: "/usr/bin/npm")
    (tmp_path / "tarballs").mkdir()
    (tmp_path / "tarballs" / "zod-4.6.7.tgz").write_bytes(b"cached")
    got = download_npm(["zod@4.6.7", "rxjs@7.8.2", "@tanstack/query-core@5.108.0"], tmp_path)
    assert len(fake.calls) == 1
    assert fake.calls[0][-2:] == ["rxjs@7.8.2", "@tanstack/query-core@5.108.0"]
    assert got["@tanstack/query-core"].name == "tanstack-query-core-5.108.0.tgz" and got["rxjs"].is_file()
    assert got["zod"].read_bytes() == b"cached"
    assert not list((tmp_path / "tarballs").glob(".partial-*"))  # the scratch folder is gone
    monkeypatch.setattr(subprocess, "run", fail_run)
    download_npm(["zod@4.6.7", "rxjs@7.8.2", "@tanstack/query-core@5.108.0"], tmp_path)


def test_download_reports_npm_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(npm.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "E404 nope"))
    with pytest.raises(RuntimeError, match="E404"):
        download_npm(["zod@4.6.7"], tmp_path)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 0, "[]", ""))
    with pytest.raises(RuntimeError, match="no tarball downloaded for: zod@4.6.7"):
        download_npm(["zod@4.6.7"], tmp_path)
    monkeypatch.setattr(npm.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="npm not found"):
        download_npm(["zod@4.6.7"], tmp_path)


def test_fetch_and_cli_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeNpm()
    monkeypatch.setattr(subprocess, "run", fake)
    monkeypatch.setattr(npm.shutil, "which", lambda name: "/usr/bin/npm")
    lst = write_list(tmp_path, "train zod@4.6.7 cap=10\ncalib @trpc/client@11.25.2\ndev immer@11.2.10\n")
    cache = tmp_path / "cache"
    roots = npm.fetch_typescript_corpus(lst, cache)
    assert roots == {"zod": cache / "src" / "zod-4.6.7", "@trpc/client": cache / "src" / "trpc-client-11.25.2",
                     "immer": cache / "src" / "immer-11.2.10"}
    assert kept_files(roots["@trpc/client"]) == {"src/a.ts", "src/App.tsx", "src/esm.mts"}
    assert npm.main(["--cache", str(cache), "--list", str(lst)]) == 0
    assert len(fake.calls) == 1  # the CLI found everything cached
    out = capsys.readouterr().out
    assert "@trpc/client@11.25.2" in out and "train (total)" in out
    row = next(line for line in out.splitlines() if line.startswith("train zod@4.6.7"))
    assert row.split()[2:5] == ["10", "3", "4"]  # cap, files, lines


def test_cli_reports_a_bad_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lst = write_list(tmp_path, "train zod@4.6.7\ntrain zod@4.6.7\n")
    assert npm.main(["--cache", str(tmp_path), "--list", str(lst)]) == 1
    assert "exactly one split" in capsys.readouterr().err

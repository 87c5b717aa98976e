"""typetool.ts.tsc: TypeScript's inferFromUsage fix and syntax check through the real node + typescript@5.9.3
(`npm ci --prefix tools/tsc-infer`, as CI does), and the pure edit interpretation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from typetool.ts import tsc
from typetool.ts.tsc import Edit, TscNotInstalled, edits_to_insertions, infer_from_usage, syntax_errors

UTIL = "export function twice(n: number): number {\n  return n * 2;\n}\n"
MAIN = """// café ☕ 😀 — non-ASCII before the slots: byte offsets differ from character offsets
import { twice } from "./util";

export function shout(x) {
  return x.toUpperCase();
}

export function double(y) {
  return twice(y);
}

export const viaArrow = w => twice(w);
"""


@pytest.fixture(scope="module")
def installed() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH")
    tsc.ensure_installed()  # node present but typescript missing: fail, saying to run `npm ci --prefix ...`


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tsproj")
    (root / "src").mkdir()
    (root / "src" / "util.ts").write_text(UTIL, encoding="utf-8")
    (root / "src" / "main.ts").write_text(MAIN, encoding="utf-8")
    (root / "src" / "bom.ts").write_bytes(b"\xef\xbb\xbfexport function up(s) { return s.toUpperCase(); }\n")
    (root / "src" / "latin1.ts").write_bytes(b"// caf\xe9\nexport function f(a) { return a; }\n")
    (root / "src" / "broken.ts").write_text("export function f(x: number {\n  return x\n}\n", encoding="utf-8")
    return root


def after(source: bytes, marker: bytes) -> int:
    """Byte offset right after the (unique) `marker`."""
    assert source.count(marker) == 1
    return source.index(marker) + len(marker)


def test_infer_from_usage_with_utf8_byte_offsets(installed: None, project: Path) -> None:
    errors: dict[str, str] = {}
    files = ["src/main.ts", "src/util.ts", "src/bom.ts", "src/latin1.ts"]
    edits = infer_from_usage(project, files, errors=errors)
    assert list(edits) == files
    source = (project / "src" / "main.ts").read_bytes()
    x, y, w = after(source, b"shout(x"), after(source, b"double(y"), after(source, b"viaArrow = w")
    assert len(MAIN[: MAIN.index("shout(x") + 7].encode()) == x != MAIN.index("shout(x") + 7  # bytes, not chars
    insertions = edits_to_insertions(source, edits["src/main.ts"])
    assert (x, "string") in insertions
    assert (y, "number") in insertions
    assert (w, "number") in insertions
    # the lone arrow parameter is wrapped: "(" before it and ")" after its annotation, as separate edits
    raw = {(e.start, e.new_text) for e in edits["src/main.ts"]}
    assert (w - 1, "(") in raw and (w, ")") in raw
    assert edits["src/util.ts"] == []
    bom = (project / "src" / "bom.ts").read_bytes()
    assert edits_to_insertions(bom, edits["src/bom.ts"]) == [(after(bom, b"up(s"), "string")]
    assert edits["src/latin1.ts"] == [] and "UTF-8" in errors["src/latin1.ts"]
    assert set(errors) == {"src/latin1.ts"}


def test_syntax_errors(installed: None, project: Path) -> None:
    got = syntax_errors(project, ["src/main.ts", "src/broken.ts", "src/missing.ts"])
    assert got["src/main.ts"] == []
    assert got["src/broken.ts"] and got["src/broken.ts"][0].startswith("1:29 TS1005:")
    assert got["src/missing.ts"] == ["cannot read src/missing.ts"]


def test_missing_typescript_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_tools = tmp_path / "tsc-infer"
    fake_tools.mkdir()
    (fake_tools / "infer.js").write_text("")
    monkeypatch.setenv("TYPETOOL_TSC_INFER", str(fake_tools))
    monkeypatch.setattr(tsc.shutil, "which", lambda name: "/usr/bin/node")
    with pytest.raises(TscNotInstalled, match=r"npm ci --prefix tools/tsc-infer"):
        infer_from_usage(tmp_path, ["a.ts"])
    (fake_tools / "node_modules" / "typescript").mkdir(parents=True)
    (fake_tools / "node_modules" / "typescript" / "package.json").write_text('{"version": "7.0.0"}')
    with pytest.raises(TscNotInstalled, match=r"typescript 7\.0\.0, typetool needs 5\.9\.3"):
        syntax_errors(tmp_path, ["a.ts"])
    monkeypatch.setattr(tsc.shutil, "which", lambda name: None)
    with pytest.raises(TscNotInstalled, match="node"):
        infer_from_usage(tmp_path, ["a.ts"])


def test_edits_to_insertions_keeps_only_annotations_after_names() -> None:
    src = b"import { a } from './a';\nfunction f(x, y?, {p}, q) { return (this, z => z); }\nlet v;\n"
    x, y, pat = after(src, b"(x"), after(src, b"y?"), after(src, b"{p}")
    z = after(src, b", z")  # the end of the lone arrow parameter
    edits = [
        Edit(x, x, ": string"), Edit(x, x, ": string"),  # the fix can annotate twice (setter + parameter)
        Edit(y, y, ": number"),
        Edit(pat, pat, ": {\n    p: number;\n}"),
        Edit(z - 1, z - 1, "("), Edit(z, z, ": any"), Edit(z, z, ")"),
        Edit(after(src, b"{ a"), after(src, b"{ a"), ", B"),  # import specifier
        Edit(after(src, b"f("), after(src, b"f("), "this: Window, "),
        Edit(0, 3, ": int"),  # replaces text: not an insertion
        Edit(after(src, b"q) "), after(src, b"q) "), ": number"),  # after a space, not after a name
        Edit(after(src, b"let v"), after(src, b"let v"), ":number "),
    ]
    assert edits_to_insertions(src, edits) == [
        (x, "string"), (y, "number"), (pat, "{ p: number; }"), (z, "any"), (after(src, b"let v"), "number"),
    ]

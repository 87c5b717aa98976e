"""End to end on a real TypeScript package: strip the dev-eval package immer, annotate it back with a real
(tiny) model, and check that every write passed the safety check, that typescript@5.9.3 finds no syntax error
in what was written, and that stripping the result gives the stripped input back (only annotations changed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from typetool.ts.parse import is_typescript

IMMER = Path(__file__).resolve().parent.parent / ".cache" / "npm" / "src" / "immer-11.2.10"


def _ts_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and is_typescript(p.name)}


@pytest.fixture
def stripped_immer(tmp_path: Path) -> Path:
    if not IMMER.is_dir():
        pytest.fail(f"{IMMER} is missing: run `python -m typetool.ts.npm` first (CI does)")
    copy = tmp_path / "immer"
    shutil.copytree(IMMER, copy)
    ran = run_cli("strip", str(copy), cwd=tmp_path)
    _only_unparseable_refused(ran.returncode, ran.stdout + ran.stderr)
    return copy


def _only_unparseable_refused(returncode: int, output: str) -> None:
    """tree-sitter-typescript 0.23.2 cannot parse immer's types-external.ts (consecutive generic call
    signatures); that file is refused, untouched, and everything else goes through."""
    assert returncode in (0, 1), output
    if returncode == 1:
        assert "1 file refused" in output and "types-external.ts:195" in output, output


def _no_syntax_errors(root: Path, files: list[str]) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    from typetool.ts.tsc import syntax_errors

    errors = {f: e for f, e in syntax_errors(root, files).items() if e}
    assert not errors, errors


def test_annotate_stripped_immer_is_safe(stripped_immer: Path, tiny_ts_model: Path) -> None:
    before = _ts_files(stripped_immer)
    ran = run_cli("annotate", str(stripped_immer), "--model", str(tiny_ts_model), "--epsilon", "0.3",
                  "--sites", "params,returns,variables,attributes", cwd=stripped_immer.parent)
    assert ran.returncode in (0, 1), ran.stdout + ran.stderr
    assert "internal error" not in ran.stdout + ran.stderr
    after = _ts_files(stripped_immer)
    changed = [f for f in after if after[f] != before[f]]
    _no_syntax_errors(stripped_immer, sorted(after))
    # stripping what was written gives the stripped input back: nothing but annotations changed
    ran = run_cli("strip", str(stripped_immer), cwd=stripped_immer.parent)
    _only_unparseable_refused(ran.returncode, ran.stdout + ran.stderr)
    assert _ts_files(stripped_immer) == before, changed


def test_apply_every_top_candidate_on_stripped_immer(stripped_immer: Path, tiny_ts_model: Path) -> None:
    """The hardest write: every slot gets the model's top-1 full type (no prediction set), so every kind of
    slot and type shape the model emits goes through the TypeScript write-back and its safety check."""
    before = _ts_files(stripped_immer)
    ran = run_cli("predict", str(stripped_immer), "--model", str(tiny_ts_model), "--format", "json",
                  "--sites", "params,returns,variables,attributes", cwd=stripped_immer.parent)
    assert ran.returncode == 0, ran.stderr
    payload = json.loads(ran.stdout)
    preds = payload["predictions"]
    assert len(preds) > 300  # immer has ~600 slots, all unannotated after the strip
    for p in preds:
        p["type"] = p["candidates"][0]["type"] if p["candidates"] else None
    payload["predictions"] = [p for p in preds if p["type"]]
    path = stripped_immer.parent / "top1.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    ran = run_cli("apply", str(path), cwd=stripped_immer.parent)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    after = _ts_files(stripped_immer)
    changed = [f for f in after if after[f] != before[f]]
    assert len(changed) >= 10, "most immer files should receive annotations"
    written = sum(after[f].count(b":") - before[f].count(b":") for f in changed)
    assert written >= 300, written
    _no_syntax_errors(stripped_immer, sorted(after))
    ran = run_cli("strip", str(stripped_immer), cwd=stripped_immer.parent)
    _only_unparseable_refused(ran.returncode, ran.stdout + ran.stderr)
    assert _ts_files(stripped_immer) == before

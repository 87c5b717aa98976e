"""Golden before/after tests for write-back: one directory per case under tests/data/writeback/.

An apply case has `input.py`, `predictions.json` (the JSON `typetool apply` reads, made for `input.py`),
optionally `options.json` (`target_version`, `overwrite`, `unsafe_fixes`, and for name resolution `module`,
the file's dotted name, and `index`, project classes by name), and the goldens `expected.py` and
`outcomes.txt` (one line per prediction: status, slot id, what was written or why not). A case whose name
starts with `strip_` has no predictions: the golden is `typetool strip` of the input (with and without
`--unsafe-fixes`). Every golden output must also pass the safety proof and be stable under a second run.
`pytest --update-golden` rewrites the goldens (and the sha256 in predictions.json).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import check_golden
from typetool.python.writeback import Rewrite, apply_types, strip_annotations, verify_rewrite
from typetool.writeback import WriteOptions, parse_target_version, predictions_from_json

CASES = Path(__file__).parent / "data" / "writeback"
APPLY_CASES = sorted(p.name for p in CASES.iterdir() if p.is_dir() and not p.name.startswith("strip_"))
STRIP_CASES = sorted(p.name for p in CASES.iterdir() if p.is_dir() and p.name.startswith("strip_"))


def _outcomes(rewrite: Rewrite) -> str:
    lines = []
    for s in rewrite.slots:
        detail = s.annotation if s.reason is None else s.reason
        lines.append(f"{s.status.value:9} {s.slot_id}  {detail}")
    if rewrite.added_imports:
        added = ", ".join(f"{m}.{n}" if n else m for m, n in sorted(rewrite.added_imports, key=str))
        lines.append(f"imports   {added}")
    return "\n".join(lines) + "\n"


def _run_apply(case: Path, update: bool) -> tuple[Rewrite, WriteOptions, dict[str, object]]:
    text = (case / "input.py").read_text(encoding="utf-8")
    pred_path = case / "predictions.json"
    raw = json.loads(pred_path.read_text(encoding="utf-8"))
    sha = hashlib.sha256((case / "input.py").read_bytes()).hexdigest()
    if raw["files"]["input.py"]["sha256"] != sha:
        if not update:
            pytest.fail(f"{pred_path}: sha256 does not match input.py (run pytest --update-golden)")
        raw["files"]["input.py"]["sha256"] = sha
        pred_path.write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")
    preds = predictions_from_json(raw)
    opts = json.loads((case / "options.json").read_text()) if (case / "options.json").exists() else {}
    options = WriteOptions(target_version=parse_target_version(opts.get("target_version", "py310")),
                           overwrite=bool(opts.get("overwrite", False)),
                           unsafe_fixes=bool(opts.get("unsafe_fixes", False)))
    index = opts.get("index", {})
    assert isinstance(index, dict)
    types = {p.id: p.type for p in preds.predictions}
    module = opts.get("module", "input")
    assert isinstance(module, str)
    rewrite = apply_types(text, "input.py", types, options, module_name=module,
                          index=lambda name: index.get(name, []))
    return rewrite, options, {"module": module, "index": index, "types": types}


@pytest.mark.parametrize("name", APPLY_CASES)
def test_apply_golden(name: str, update_golden: bool) -> None:
    case = CASES / name
    rewrite, options, ctx = _run_apply(case, update_golden)
    check_golden(case / "expected.py", rewrite.new, update_golden)
    check_golden(case / "outcomes.txt", _outcomes(rewrite), update_golden)
    verify_rewrite(rewrite.old, rewrite.new, rewrite.added_imports, removed_comments=rewrite.removed_comments)
    index = ctx["index"]
    assert isinstance(index, dict)
    again = apply_types(rewrite.new, "input.py", ctx["types"], options,  # type: ignore[arg-type]
                        module_name=str(ctx["module"]), index=lambda n: index.get(n, []))
    assert again.new == rewrite.new, "a second application changed the file"


@pytest.mark.parametrize("name", STRIP_CASES)
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_strip_golden(name: str, unsafe: bool, update_golden: bool) -> None:
    case = CASES / name
    text = (case / "input.py").read_text(encoding="utf-8")
    rewrite = strip_annotations(text, "input.py", WriteOptions(unsafe_fixes=unsafe))
    suffix = "_unsafe" if unsafe else ""
    check_golden(case / f"expected{suffix}.py", rewrite.new, update_golden)
    verify_rewrite(rewrite.old, rewrite.new, removed_comments=rewrite.removed_comments)
    assert strip_annotations(rewrite.new, "input.py", WriteOptions(unsafe_fixes=unsafe)).new == rewrite.new

"""The TypeScript compiler's rules that filter the model's candidates before anything is written
(`typetool.ts.slices.allowed_by_evidence`), on real slices of real parses."""

from __future__ import annotations

import pytest

from typetool.pipeline import load_project, slice_project
from typetool.slices import UsageSlice
from typetool.ts.slices import allowed_by_evidence

CODE = """
export async function load(id) { return fetch(id); }
export function* gen(n) { yield n; }
export async function* agen(n) { yield n; }
export function log(msg) { console.log(msg); }
export function fail(msg) { throw new Error(msg); }
export function snapshot() { return { a: 1, b: 2 }; }
export const view = () => <li>hi</li>;
export function count() { return 42; }
export function pick(x) { return x.y; }
export function pad(width = 4) { return width; }
export const label = "total";
"""


@pytest.fixture(scope="module")
def slices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, UsageSlice]:
    root = tmp_path_factory.mktemp("rules")
    (root / "m.tsx").write_text(CODE, encoding="utf-8")
    project = load_project([root], root=root)
    return {f"{s.slot.scope}.{s.slot.name}": s for s in slice_project(project)}


@pytest.mark.parametrize(("slot", "allowed", "rejected"), [
    ("load.return", ["Promise[Response]", "any"], ["Response", "void", "string"]),
    ("gen.return", ["Generator[number, void, unknown]", "Iterable[number]"], ["number", "Array[number]"]),
    ("agen.return", ["AsyncGenerator[number, void, unknown]"], ["Generator[number]", "Promise[number]"]),
    ("log.return", ["void", "undefined"], ["string", "boolean"]),
    ("fail.return", ["never", "void"], ["string"]),
    ("snapshot.return", ["Snapshot", "Record[string, number]", "any"], ["boolean", "string | undefined"]),
    ("view.return", ["JSX.Element", "ReactNode"], ["boolean", "string"]),
    ("count.return", ["number", "Count", "number | undefined"], ["string", "boolean"]),
    ("pick.return", ["string", "boolean", "Foo"], []),
    ("pad.width", ["number", "Width"], ["string", "boolean | string"]),
    ("<module>.label", ["string", "Label"], ["number"]),
    ("pick.x", ["string", "number", "Foo"], []),
])
def test_rules(slices: dict[str, UsageSlice], slot: str, allowed: list[str], rejected: list[str]) -> None:
    s = slices[slot]
    for t in allowed:
        assert allowed_by_evidence(s, t), (slot, t, s.evidence, s.returns)
    for t in rejected:
        assert not allowed_by_evidence(s, t), (slot, t, s.evidence, s.returns)



def test_rendered_input_gives_the_same_answers(slices: dict[str, UsageSlice]) -> None:
    """Calibration and evaluation records only hold the rendered input: the rules read from it must agree."""
    from typetool.slices import render_slice
    from typetool.ts.slices import allowed_in_input

    types = ["Promise[Response]", "Response", "void", "string", "number", "boolean", "Generator[number]",
             "AsyncGenerator[number]", "never", "Snapshot", "any", "JSX.Element"]
    checked = 0
    for s in slices.values():
        text = render_slice(s)
        for t in types:
            assert allowed_in_input(s.slot.kind.value, text, t) == allowed_by_evidence(s, t), (text, t)
            checked += 1
    assert checked >= 12 * 12

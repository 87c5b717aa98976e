"""`typetool lsp` on TypeScript end to end: a real server process driven by a real LSP client (pytest-lsp), with the
tiny TypeScript model. Positions are asserted exactly (UTF-16, non-ASCII text before slots, .ts and .tsx); every
edit is applied as an editor would, must be what `apply_ts_types` writes, pass its proof, parse without errors and
add nothing but annotations (and the parentheses of a bare arrow parameter)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient
from test_lsp import (
    EVERYTHING,
    SERVER,
    edits_of,
    open_doc,
    record_client_requests,
    to_ide,
    vscode_capabilities,
)

from typetool import ide
from typetool.predictions import ModelNotFound, Prediction, Scored
from typetool.settings import Settings
from typetool.slices import UsageSlice
from typetool.ts.parse import parse_bytes
from typetool.ts.typeexpr import parse_ts_type
from typetool.ts.writeback import apply_ts_types, strip_ts, verify_ts_rewrite

TS = """// Prüfung 😀: prices in €
const greeting = "grüße 😀"; export function total(prices, rate = 0.2) {
  let sum = 0;
  for (const p of prices) {
    sum += p;
  }
  return sum * (1 + rate);
}

export const double = x => x * 2;

export class Box {
  size = 1;
  label;
  constructor(name) {
    this.label = name + greeting;
  }
  get(key) {
    return this.label + key;
  }
}
"""

TSX = """import { formatName } from "./names";

/* 👋 */ export function Greeting(name, excited) {
  const text = `Hallo ${formatName(name)} 👋`;
  return <p title="Grüße 👋">{excited ? text + "!" : text}</p>;
}

export const Item = ({ label }) => <li className="ü">{label}</li>;
"""

DTS = "export declare function total(prices: number[], rate?: number): number;\nexport declare const x;\n"


def u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# slot (without the file) -> where its hint goes: after the name (after `)` for returns), in UTF-16 units
TS_ANCHORS = {
    "variable::<module>::greeting": (1, u16("const greeting")),
    "param::total::prices": (1, u16('const greeting = "grüße 😀"; export function total(prices')),
    "param::total::rate": (1, u16('const greeting = "grüße 😀"; export function total(prices, rate')),
    "return::total::return": (1, u16('const greeting = "grüße 😀"; export function total(prices, rate = 0.2)')),
    "variable::total::sum": (2, u16("  let sum")),
    "param::double::x": (9, u16("export const double = x")),  # bare arrow parameter: after `x`
    "return::double::return": (9, u16("export const double = x")),
    "attribute::Box::size": (12, u16("  size")),
    "attribute::Box::label": (13, u16("  label")),
    "param::Box.constructor::name": (14, u16("  constructor(name")),
    "param::Box.get::key": (17, u16("  get(key")),
    "return::Box.get::return": (17, u16("  get(key)")),
}
TSX_ANCHORS = {
    "param::Greeting::name": (2, u16("/* 👋 */ export function Greeting(name")),
    "param::Greeting::excited": (2, u16("/* 👋 */ export function Greeting(name, excited")),
    "return::Greeting::return": (2, u16("/* 👋 */ export function Greeting(name, excited)")),
    "variable::Greeting::text": (3, u16("  const text")),
    "param::Item::{label}": (7, u16("export const Item = ({ label }")),
    "return::Item::return": (7, u16("export const Item = ({ label })")),
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp_ts_ws")
    (root / "pyproject.toml").write_text('[tool.typetool]\nsites = "params,returns,variables,attributes"\n')
    (root / "src").mkdir()
    (root / "src" / "app.ts").write_text(TS, encoding="utf-8")
    (root / "src" / "view.tsx").write_text(TSX, encoding="utf-8")
    (root / "src" / "types.d.ts").write_text(DTS, encoding="utf-8")
    (root / "src" / "legacy.js").write_text("function f(x) { return x; }\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def uncalibrated_ts_model(tiny_ts_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny TypeScript model without its calibration: every top-1 type is a full set, so there is always
    something to write."""
    out = tmp_path_factory.mktemp("uncalibrated_ts")
    for f in tiny_ts_model.iterdir():
        if f.is_file() and f.name != "calibration.json":
            shutil.copyfile(f, out / f.name)
    return out


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), scope="module")  # type: ignore[untyped-decorator]
async def client(lsp_client: LanguageClient, tiny_ts_model: Path, workspace: Path) -> Any:
    lsp_client.set_configuration({"model": str(tiny_ts_model), "epsilon": 0.3}, section="typetool")
    lsp_client.seen = record_client_requests(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(T.InitializeParams(
        capabilities=vscode_capabilities(), root_uri=workspace.as_uri(),
        workspace_folders=[T.WorkspaceFolder(uri=workspace.as_uri(), name="ws")]))
    yield
    await lsp_client.shutdown_session()


def slot_key(slot_id: str) -> str:
    return slot_id.split("::", 1)[1]


def hint_type(label: str | Any) -> str:
    assert isinstance(label, str) and label.startswith(": ")
    return label.removeprefix(": ")


def assert_only_annotations(old: str, new: str, relpath: str, types: dict[str, str]) -> None:
    """`new` is exactly what `apply_ts_types` writes for `types` (holes as `any`), passes its proof, parses
    without errors and, with the edits' insertions taken out again, is `old`."""
    rewrite = apply_ts_types(old.encode("utf-8"), relpath, types)
    assert new.encode("utf-8") == rewrite.new
    verify_ts_rewrite(rewrite, relpath)
    assert not parse_bytes(new.encode("utf-8"), relpath).root_node.has_error
    assert all(e.kind in ("annotation", "open", "close") and e.start == e.end for e in rewrite.edits)
    assert {e.text for e in rewrite.edits if e.kind != "annotation"} <= {b"(", b")"}


def assert_insertions(edits: list[ide.TextEdit]) -> None:
    """The editor gets pure insertions, one per point: `: T` annotations (with the `)` and the return's `: R`
    after a bare arrow parameter) and a bare arrow parameter's `(`."""
    assert len({e.range.start for e in edits}) == len(edits)
    for e in edits:
        assert e.range.start == e.range.end, e
        assert e.new_text.startswith(": ") or e.new_text == "(", e


# --------------------------------------------------------------------------------------------- unit level

def test_types_are_shown_as_typescript() -> None:
    show = ide.adapter("ts").show
    assert show("Array[string]") == "string[]"
    assert show("Array[string | ?]") == "(string | ?)[]"
    assert show("Map[string, ?]", hole="any") == "Map<string, any>"
    assert show("Callable[[number], boolean]") == "(arg0: number) => boolean"
    assert ide.adapter("py").show("list[?]") == "list[?]"


def test_document_languages() -> None:
    lang = ide.document_language
    assert [lang(n) for n in ("a.py", "a.pyi", "a.ts", "a.tsx", "a.mts", "a.cts", "a.d.ts", "a.js", "a.jsx")] == \
        ["py", "py", "ts", "ts", "ts", "ts", "ts", None, None]
    assert lang("Untitled-1", "typescriptreact") == "ts" and lang("Untitled-1") == "py"
    assert lang("notes.txt", "plaintext") is None
    a = ide.analyse_document("untitled:Untitled-1", 1, "let n = 1;\n", Path("/nowhere/Untitled-1"), "Untitled-1",
                             language="ts")
    assert a.language == "ts" and [s.id for s in a.slots] == ["Untitled-1.ts::variable::<module>::n"]
    dts = ide.analyse_document("file:///x/t.d.ts", 1, DTS, Path("/x/t.d.ts"), "t.d.ts")
    assert dts.slots == [] and [d.code for d in dts.diagnostics] == ["declaration-file"]
    js = ide.analyse_document("file:///x/a.js", 1, "function f(x) {}\n", Path("/x/a.js"), "a.js")
    assert js.slots == [] and js.diagnostics == []


def test_engine_edit_plan_on_typescript() -> None:
    a = ide.analyse_document("file:///x/app.ts", 1, TS, Path("/x/app.ts"), "app.ts")
    assert {slot_key(v.id): a.index.position(v.anchor) for v in a.slots} == \
        {k: ide.Position(*v) for k, v in TS_ANCHORS.items()}
    settings = ide.EditorSettings(Settings(sites="params,returns,variables,attributes"))
    types = {"app.ts::param::double::x": "number", "app.ts::return::double::return": "Array[?]"}
    plan = ide.Engine().edit_plan(a, types, settings)
    assert "export const double = (x: number): any[] => x * 2;" in plan.new_text
    assert len(plan.written) == 2 and not plan.skipped
    assert ide.apply_text_edits(TS, plan.edits) == plan.new_text
    assert_insertions(list(plan.edits))
    assert_only_annotations(TS, plan.new_text, "app.ts", types)
    with pytest.raises(ide.EditError, match="syntax error"):
        broken = ide.analyse_document("file:///x/b.ts", 1, "function f(a {\n", Path("/x/b.ts"), "b.ts")
        ide.Engine().edit_plan(broken, {"b.ts::param::f::a": "number"}, settings)


class FakePredictor:
    """Stands in for `TypePredictor`: one language's model that predicts `type_` for everything and counts model
    calls; `for_language` hands out the other language's model (or says there is none)."""

    def __init__(self, language: str, type_: str, other: FakePredictor | None = None) -> None:
        self.language, self.type_, self.other = language, type_, other
        self.epsilon, self.delta, self.calibrated, self.model_dir = 0.1, 0.1, False, Path(f"fake-{language}")
        self.calls: list[int] = []

    def reset_thresholds(self) -> None:
        """(A fake has no thresholds derived from epsilon and delta.)"""

    def for_language(self, language: str) -> FakePredictor:
        if language == self.language:
            return self
        if self.other is None:
            raise ModelNotFound(f"no model at models/typetool-{language}-compact")
        return self.other

    def predict(self, slices: list[UsageSlice], batch_size: int = 64, consistency: bool = True
                ) -> list[Prediction]:
        assert {s.language for s in slices} == {self.language}
        assert not consistency, "the editor predicts slot by slot: no consistency stage"
        self.calls.append(len(slices))
        return [Prediction(s.slot, (Scored(self.type_, -0.1, 0.9), Scored("Map[string, number]", -2.0, 0.05)),
                           self.type_, 0, 0.9, ()) for s in slices]


ALL = ide.EditorSettings(Settings(sites="params,returns,variables,attributes"))


def test_each_language_gets_its_model_and_predictions_are_cached() -> None:
    ts_model = FakePredictor("ts", "Array[string]")
    py_model = FakePredictor("py", "list[str]", ts_model)
    engine = ide.Engine(ide.ModelState(py_model, model_dir="fake-py"))  # type: ignore[arg-type]
    first = ide.analyse_document("file:///x/app.ts", 1, TS, Path("/x/app.ts"), "app.ts")
    assert engine.predict(first, first.slots, ALL) == len(TS_ANCHORS)
    assert sum(ts_model.calls) == len(TS_ANCHORS) and py_model.calls == []
    py = ide.analyse_document("file:///x/m.py", 1, "def f(x):\n    return x\n", Path("/x/m.py"), "m.py")
    assert engine.predict(py, py.slots, ALL) == 2 and py_model.calls == [2]
    # an edit inside get() changes the evidence of its parameter, its return and the field `label` it used; the
    # rest comes from the cache
    edited = ide.analyse_document("file:///x/app.ts", 2, TS.replace("this.label + key", "key.trim()"),
                                  Path("/x/app.ts"), "app.ts")
    assert engine.predict(edited, edited.slots, ALL) == 3
    moved = ide.analyse_document("file:///x/app.ts", 3, "// a new first line\n" + TS, Path("/x/app.ts"), "app.ts")
    assert engine.predict(moved, moved.slots, ALL) == 0
    assert moved.predictions["app.ts::param::total::prices"].slot.line == 3

    # what the editor shows is TypeScript
    found = {slot_key(h.slot_id): h for h in ide.hints(first, 0, len(TS), ALL)}
    assert found["param::total::prices"].label == ": string[]" and not found["return::total::return"].padding_left
    assert "`string[]`" in found["param::total::prices"].tooltip
    view = first.by_id()["app.ts::param::total::prices"]
    hover = ide.hover_markdown(first, view, ALL, engine.view(ALL, "ts"))
    assert "`string[]` (a full type)" in hover and "| `Map<string, number>` |" in hover
    start = first.index.offset(ide.Position(*TS_ANCHORS["param::total::prices"]))
    titles = [a.title for a in ide.actions(first, start, start, ALL)]
    assert titles[:2] == ["typetool: annotate `prices: string[]` (90%)",
                          "typetool: annotate `prices: Map<string, number>` (5%, candidate)"]
    ret = first.index.offset(ide.Position(*TS_ANCHORS["return::total::return"]))
    assert ide.actions(first, ret, ret, ALL)[0].title == "typetool: annotate `total(): string[]` (90%)"

    # no TypeScript model: no TypeScript predictions, and a message that says why; Python goes on
    alone = ide.Engine(ide.ModelState(FakePredictor("py", "int"), model_dir="fake-py"))  # type: ignore[arg-type]
    fresh = ide.analyse_document("file:///x/app.ts", 4, TS, Path("/x/app.ts"), "app.ts")
    assert alone.predict(fresh, fresh.slots, ALL) == 0 and fresh.predictions == {}
    assert "no model at models/typetool-ts-compact" in alone.missing["ts"]
    py_again = ide.analyse_document("file:///x/m.py", 2, "def f(x):\n    return x\n", Path("/x/m.py"), "m.py")
    assert alone.predict(py_again, py_again.slots, ALL) == 2 and "py" not in alone.missing


# ---------------------------------------------------------------------------------------------- the server

def test_the_server_advertises_typescript() -> None:
    from typetool.lsp_server import create_server

    server = create_server()
    try:
        options = server.protocol.fm.feature_options[T.TEXT_DOCUMENT_INLAY_HINT]
        wire = server.protocol._converter.unstructure(options)  # what `initialize` answers
    finally:
        server.worker.stop()
    assert wire["resolveProvider"] is True
    assert {(f["language"], f["scheme"]) for f in wire["documentSelector"]} == {
        (language, scheme) for language in ("python", "typescript", "typescriptreact")
        for scheme in ("file", "untitled")}


def data(item: T.InlayHint | T.CodeAction) -> dict[str, Any]:
    assert isinstance(item.data, dict)
    return item.data


async def inlay_hints(client: LanguageClient, doc: T.TextDocumentIdentifier,
                      rng: T.Range = EVERYTHING) -> list[T.InlayHint]:
    return list(await client.text_document_inlay_hint_async(T.InlayHintParams(doc, rng)) or [])


async def code_actions(client: LanguageClient, doc: T.TextDocumentIdentifier, rng: T.Range,
                       only: list[str] | None = None) -> list[T.CodeAction]:
    found = await client.text_document_code_action_async(T.CodeActionParams(
        doc, rng, T.CodeActionContext(diagnostics=[], only=only)))
    return [a for a in found or [] if isinstance(a, T.CodeAction)]


def at(line: int, character: int) -> T.Range:
    return T.Range(T.Position(line, character), T.Position(line, character))


@pytest.mark.asyncio(loop_scope="module")
async def test_inlay_hints_at_exact_utf16_positions(client: LanguageClient, workspace: Path) -> None:
    doc = open_doc(client, (workspace / "src" / "app.ts").as_uri(), TS, "typescript")
    got: dict[str, tuple[int, int]] = {}
    for h in await inlay_hints(client, doc):
        got[slot_key(data(h)["slot"])] = (h.position.line, h.position.character)
        assert data(h)["slot"].startswith("src/app.ts::") and data(h)["version"] == 1
        assert h.kind == T.InlayHintKind.Type and not h.padding_left  # `): T` for returns too
        shown = hint_type(h.label)
        assert "Array[" not in shown and "Callable[" not in shown  # TypeScript, not the bracket form
        parse_ts_type(shown.replace("?", "any"))  # a TypeScript type, holes shown as `?`
    assert got == TS_ANCHORS
    line9 = await inlay_hints(client, doc, T.Range(T.Position(9, 0), T.Position(9, 40)))
    assert sorted(slot_key(data(h)["slot"]) for h in line9) == ["param::double::x", "return::double::return"]


@pytest.mark.asyncio(loop_scope="module")
async def test_inlay_hints_in_tsx(client: LanguageClient, workspace: Path) -> None:
    doc = open_doc(client, (workspace / "src" / "view.tsx").as_uri(), TSX, "typescriptreact")
    hints = await inlay_hints(client, doc)
    assert {slot_key(data(h)["slot"]): (h.position.line, h.position.character) for h in hints} == TSX_ANCHORS


@pytest.mark.asyncio(loop_scope="module")
async def test_hover_shows_candidates_set_and_evidence(client: LanguageClient, workspace: Path) -> None:
    doc = T.TextDocumentIdentifier((workspace / "src" / "app.ts").as_uri())
    start = u16('const greeting = "grüße 😀"; export function total(')
    hover = await client.text_document_hover_async(T.HoverParams(doc, T.Position(1, start + 2)))
    assert hover is not None and isinstance(hover.contents, T.MarkupContent)
    assert hover.range == T.Range(T.Position(1, start), T.Position(1, start + len("prices")))
    text = hover.contents.value
    assert text.startswith("**typetool** · parameter `prices` of `total`")
    assert "Prediction set at ε = 0.3, δ = 0.1" in text
    assert "| candidate | probability |" in text and "%" in text
    assert "Array[" not in text and "Callable[" not in text
    assert "Evidence (usage slice):\n```text\n" in text
    ret = await client.text_document_hover_async(T.HoverParams(doc, T.Position(9, u16("export const dou"))))
    assert ret is not None and isinstance(ret.contents, T.MarkupContent)
    assert ret.contents.value.startswith("**typetool** · return type of `double`")
    assert await client.text_document_hover_async(T.HoverParams(doc, T.Position(0, 3))) is None


@pytest.mark.asyncio(loop_scope="module")
async def test_slot_action_resolves_to_a_safe_insertion(client: LanguageClient, workspace: Path) -> None:
    uri = (workspace / "src" / "app.ts").as_uri()
    actions = await code_actions(client, T.TextDocumentIdentifier(uri),
                                 at(1, u16('const greeting = "grüße 😀"; export function total(pri')))
    slot_actions = [a for a in actions if a.kind == "refactor.rewrite.typetool" and data(a)["scope"] == "slot"]
    assert slot_actions and all(a.edit is None for a in slot_actions)  # edits come with resolve
    action = slot_actions[0]
    assert action.title.startswith("typetool: annotate `prices: ")
    (slot_id, type_), = data(action)["types"]
    assert slot_id == "src/app.ts::param::total::prices"
    resolved = await client.code_action_resolve_async(action)
    edits = edits_of(resolved.edit, uri)
    anchor = TS_ANCHORS["param::total::prices"]
    where = ide.Range(ide.Position(*anchor), ide.Position(*anchor))
    assert edits == [ide.TextEdit(where, f": {ide.adapter('ts').show(type_, hole='any')}")]
    new = ide.apply_text_edits(TS, edits)
    assert_only_annotations(TS, new, "src/app.ts", {slot_id: type_})


@pytest.mark.asyncio(loop_scope="module")
async def test_function_and_file_actions_write_every_set_safely(client: LanguageClient, workspace: Path,
                                                                uncalibrated_ts_model: Path,
                                                                tiny_ts_model: Path) -> None:
    settings = {"model": str(uncalibrated_ts_model), "epsilon": 0.3}
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(settings={"typetool": settings}))
    uri = (workspace / "src" / "app.ts").as_uri()
    doc = T.TextDocumentIdentifier(uri)
    try:
        hints = await inlay_hints(client, doc)
        types = {data(h)["slot"]: hint_type(h.label) for h in hints}
        assert len(types) == len(TS_ANCHORS) and "?" not in "".join(types.values())
        # double-click on a hint inserts it
        first = next(h for h in hints if data(h)["slot"].endswith("::param::double::x"))
        resolved_hint = await client.inlay_hint_resolve_async(first)
        assert resolved_hint.text_edits is not None
        one = ide.apply_text_edits(TS, to_ide(resolved_hint.text_edits))
        assert f"export const double = (x: {types[data(first)['slot']]})" in one
        # the function `double`: its parameter and return, the arrow's parameter wrapped once
        actions = await code_actions(client, doc, at(9, u16("export const double = x => x")))
        function = [a for a in actions if data(a)["scope"] == "function"]
        assert len(function) == 1 and function[0].title.startswith("typetool: annotate function `double` (2 types)")
        resolved = await client.code_action_resolve_async(function[0])
        edits = edits_of(resolved.edit, uri)
        assert_insertions(edits)
        new = ide.apply_text_edits(TS, edits)
        assert_only_annotations(TS, new, "src/app.ts", dict(data(function[0])["types"]))
        assert "export const double = (x: " in new
        # the whole file
        actions = await code_actions(client, doc, at(0, 0), [T.CodeActionKind.Source])
        assert [a.kind for a in actions] == ["source.typetool.annotate"]
        resolved = await client.code_action_resolve_async(actions[0])
        edits = edits_of(resolved.edit, uri)
        assert_insertions(edits)
        new = ide.apply_text_edits(TS, edits)
        assert new != TS and not parse_bytes(new.encode("utf-8"), "app.ts").root_node.has_error
        inserted = {(e.range.start.line, e.range.start.character): e.new_text for e in edits}
        for slot, shown in types.items():  # what each hint showed is written where it was shown
            assert f": {shown}" in inserted[TS_ANCHORS[slot_key(slot)]], (slot, shown)
        # nothing but annotations: taking them out again gives the input (with the arrow's parentheses)
        assert strip_ts(new.encode("utf-8"), "app.ts").decode("utf-8") == TS.replace("double = x", "double = (x)")
        # the TSX document's file action
        tsx_uri = (workspace / "src" / "view.tsx").as_uri()
        actions = await code_actions(client, T.TextDocumentIdentifier(tsx_uri), at(0, 0), [T.CodeActionKind.Source])
        resolved = await client.code_action_resolve_async(actions[0])
        edits = edits_of(resolved.edit, tsx_uri)
        assert edits
        assert_insertions(edits)
        new_tsx = ide.apply_text_edits(TSX, edits)
        assert not parse_bytes(new_tsx.encode("utf-8"), "view.tsx").root_node.has_error
        assert "export const Item = ({ label }: " in new_tsx
        assert strip_ts(new_tsx.encode("utf-8"), "view.tsx").decode("utf-8") == TSX
    finally:
        back = {"model": str(tiny_ts_model), "epsilon": 0.3}
        client.workspace_did_change_configuration(T.DidChangeConfigurationParams(settings={"typetool": back}))


@pytest.mark.asyncio(loop_scope="module")
async def test_declaration_and_javascript_files_get_nothing(client: LanguageClient, workspace: Path) -> None:
    dts = open_doc(client, (workspace / "src" / "types.d.ts").as_uri(), DTS, "typescript")
    assert not await inlay_hints(client, dts)
    assert await client.text_document_hover_async(T.HoverParams(dts, T.Position(0, 30))) is None
    assert not await code_actions(client, dts, EVERYTHING)
    js = open_doc(client, (workspace / "src" / "legacy.js").as_uri(), "function f(x) { return x; }\n", "javascript")
    assert not await inlay_hints(client, js)


@pytest.mark.asyncio(loop_scope="module")
async def test_an_untitled_typescript_buffer(client: LanguageClient) -> None:
    doc = open_doc(client, "untitled:Untitled-ts", "export function twice(n) {\n  return n * 2;\n}\n", "typescript")
    hints = await inlay_hints(client, doc)
    assert {data(h)["slot"]: (h.position.line, h.position.character) for h in hints} == {  # analysed as `.ts`
        "untitled:Untitled-ts.ts::param::twice::n": (0, 23),
        "untitled:Untitled-ts.ts::return::twice::return": (0, 24)}
    client.text_document_did_close(T.DidCloseTextDocumentParams(doc))

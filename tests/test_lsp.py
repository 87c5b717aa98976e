"""`typetool lsp` end to end: a real server process driven by a real LSP client (pytest-lsp), with the tiny
model. Positions are asserted exactly (UTF-16, non-ASCII lines); every edit is applied as an editor would and
must pass write-back's safety proof."""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import sys
import uuid
from pathlib import Path
from typing import Any

import attrs
import pytest
import pytest_lsp
from lsprotocol import types as T
from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCRequestMessage
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from test_ide import ANCHORS, SOURCE

from typetool import ide
from typetool.python.writeback import ProjectNameIndex, apply_types, verify_rewrite
from typetool.typeexpr import parse_type

pytestmark = pytest.mark.asyncio(loop_scope="module")

SERVER = [sys.executable, "-m", "typetool", "lsp", "--debounce", "0.05", "--threads", "1"]
BROKEN = "def ok(a):\n    return a\n\ndef broken(b:\n    pass\n\ndef fine(c):\n    return c + 1\n"
EVERYTHING = T.Range(T.Position(0, 0), T.Position(10_000, 0))


def vscode_capabilities() -> T.ClientCapabilities:
    """VS Code's capabilities (pytest-lsp knows 1.65) with the inlay hints later versions have."""
    caps = client_capabilities("visual-studio-code")
    assert caps.text_document is not None and caps.workspace is not None
    text_document = attrs.evolve(caps.text_document, inlay_hint=T.InlayHintClientCapabilities(
        resolve_support=T.ClientInlayHintResolveOptions(properties=["tooltip", "textEdits"])))
    workspace = attrs.evolve(caps.workspace, inlay_hint=T.InlayHintWorkspaceClientCapabilities(refresh_support=True))
    return attrs.evolve(caps, text_document=text_document, workspace=workspace)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp_ws")
    (root / "pyproject.toml").write_text('[tool.typetool]\nsites = "params,returns,variables,attributes"\n')
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text(SOURCE, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def uncalibrated_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model without its calibration: raw probabilities, and every top-1 type is written whole."""
    out = tmp_path_factory.mktemp("uncalibrated")
    for f in tiny_model.iterdir():
        if f.name != "calibration.json":
            (out / f.name).symlink_to(f.resolve())
    return out


def record_client_requests(client: LanguageClient) -> dict[str, list[Any]]:
    seen: dict[str, list[Any]] = {"applied": [], "refresh": []}

    @client.feature(T.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: T.ApplyWorkspaceEditParams) -> T.ApplyWorkspaceEditResult:
        seen["applied"].append(params)
        return T.ApplyWorkspaceEditResult(applied=True)

    @client.feature(T.WORKSPACE_INLAY_HINT_REFRESH)
    def refresh(_params: None) -> None:
        seen["refresh"].append(True)

    return seen


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), scope="module")
async def client(lsp_client: LanguageClient, tiny_model: Path, workspace: Path) -> Any:
    lsp_client.set_configuration({"model": str(tiny_model), "epsilon": 0.3}, section="typetool")
    lsp_client.seen = record_client_requests(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(T.InitializeParams(
        capabilities=vscode_capabilities(), root_uri=workspace.as_uri(),
        workspace_folders=[T.WorkspaceFolder(uri=workspace.as_uri(), name="ws")]))
    yield
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, uri: str, text: str, language: str = "python") -> T.TextDocumentIdentifier:
    client.text_document_did_open(T.DidOpenTextDocumentParams(T.TextDocumentItem(uri, language, 1, text)))
    return T.TextDocumentIdentifier(uri)


def to_ide(edits: Any) -> list[ide.TextEdit]:
    return [ide.TextEdit(ide.Range(ide.Position(e.range.start.line, e.range.start.character),
                                   ide.Position(e.range.end.line, e.range.end.character)), e.new_text) for e in edits]


def edits_of(edit: T.WorkspaceEdit | None, uri: str) -> list[ide.TextEdit]:
    assert edit is not None
    if edit.document_changes is not None:
        found = [c for c in edit.document_changes if isinstance(c, T.TextDocumentEdit) and c.text_document.uri == uri]
        return [e for c in found for e in to_ide(c.edits)]
    return to_ide((edit.changes or {}).get(uri, []))


async def raw_request(client: LanguageClient, method: str, params: object) -> Any:
    """Send a request as raw JSON (the client's own methods would refuse to serialize bad params)."""
    msg_id = str(uuid.uuid4())
    fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
    client.protocol._request_futures[msg_id] = fut
    client.protocol._send_data(JsonRPCRequestMessage(id=msg_id, method=method, jsonrpc="2.0", params=params))
    return await asyncio.wrap_future(fut)


def hint_type(label: str | Any) -> str:
    assert isinstance(label, str)
    return label.removeprefix("-> ").removeprefix(": ")


def imports_of(text: str) -> frozenset[tuple[str, str | None]]:
    """(module, name) of every import statement, as `verify_rewrite` names the imports a rewrite added."""
    out: set[tuple[str, str | None]] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            out |= {(node.module or "", a.name) for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {(a.name, None) for a in node.names}
    return frozenset(out)


def assert_safe(workspace: Path, old: str, new: str, types: dict[str, str]) -> None:
    """`new` is what `typetool apply` writes for `types`, and passes its safety proof."""
    path = workspace / "pkg" / "mod.py"
    expected = apply_types(old, "pkg/mod.py", types, module_name="pkg.mod", index=ProjectNameIndex([path]))
    assert new == expected.new
    verify_rewrite(old, new, expected.added_imports)


async def test_inlay_hints_at_exact_utf16_positions(client: LanguageClient, workspace: Path) -> None:
    doc = open_doc(client, (workspace / "pkg" / "mod.py").as_uri(), SOURCE)
    hints = await client.text_document_inlay_hint_async(T.InlayHintParams(doc, EVERYTHING))
    got = {h.data["slot"].split("::", 1)[1]: (h.position.line, h.position.character) for h in hints}
    assert got == ANCHORS  # sites from pyproject.toml: all four kinds
    for h in hints:
        assert h.kind == T.InlayHintKind.Type and h.data["version"] == 1
        assert isinstance(h.data["lowConfidence"], bool) and 0 <= h.data["confidence"] <= 1
        is_return = "::return::" in h.data["slot"]
        assert isinstance(h.label, str) and h.label.startswith("-> " if is_return else ": ")
        assert bool(h.padding_left) == is_return
        parse_type(hint_type(h.label))  # a (partial) type, holes shown as `?`
    line3 = await client.text_document_inlay_hint_async(T.InlayHintParams(
        doc, T.Range(T.Position(3, 0), T.Position(3, 30))))
    assert sorted((h.position.line, h.position.character) for h in line3) == [(3, 12), (3, 15), (3, 23)]


async def test_hover_shows_candidates_set_and_evidence(client: LanguageClient, workspace: Path) -> None:
    doc = T.TextDocumentIdentifier((workspace / "pkg" / "mod.py").as_uri())
    hover = await client.text_document_hover_async(T.HoverParams(doc, T.Position(3, 11)))
    assert hover is not None and isinstance(hover.contents, T.MarkupContent)
    assert hover.range == T.Range(T.Position(3, 10), T.Position(3, 12))
    text = hover.contents.value
    assert text.startswith("**typetool** · parameter `名前` of `grüße`")
    assert "Prediction set at ε = 0.3, δ = 0.1" in text  # epsilon from the editor settings
    assert "| candidate | probability |" in text and "%" in text
    assert "Evidence (usage slice):\n```text\n" in text
    assert await client.text_document_hover_async(T.HoverParams(doc, T.Position(0, 2))) is None


async def test_slot_action_resolves_to_a_safe_insertion(client: LanguageClient, workspace: Path) -> None:
    uri = (workspace / "pkg" / "mod.py").as_uri()
    doc = T.TextDocumentIdentifier(uri)
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        doc, T.Range(T.Position(12, 25), T.Position(12, 25)), T.CodeActionContext(diagnostics=[])))
    slot_actions = [a for a in actions if isinstance(a, T.CodeAction) and a.kind == "refactor.rewrite.typetool"
                    and a.data["scope"] == "slot"]
    assert slot_actions and all(a.edit is None for a in slot_actions)  # edits come with resolve
    action = slot_actions[0]
    (slot_id, type_), = action.data["types"]
    assert slot_id == "pkg/mod.py::param::Ünit.__init__::value"
    resolved = await client.code_action_resolve_async(action)
    edits = edits_of(resolved.edit, uri)
    at = ide.Range(ide.Position(12, 28), ide.Position(12, 28))
    assert ide.TextEdit(at, f": {type_}") in edits
    assert all(e.range.start.character == 0 for e in edits if e.range != at)  # anything else: imports
    new = ide.apply_text_edits(SOURCE, edits)
    assert_safe(workspace, SOURCE, new, {slot_id: type_})


async def test_file_action_writes_every_prediction_set_safely(client: LanguageClient, workspace: Path,
                                                             uncalibrated_model: Path, tiny_model: Path) -> None:
    # without calibration every top-1 type is a full prediction set, so there is something to write whatever
    # the tiny model predicts; switching models in the settings also reloads the model in the server
    settings = {"model": str(uncalibrated_model), "epsilon": 0.3}
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(settings={"typetool": settings}))
    uri = (workspace / "pkg" / "mod.py").as_uri()
    doc = T.TextDocumentIdentifier(uri)
    hints = await client.text_document_inlay_hint_async(T.InlayHintParams(doc, EVERYTHING))
    types = {h.data["slot"]: hint_type(h.label) for h in hints}
    assert len(types) == len(ANCHORS) and "?" not in "".join(types.values())
    first = next(h for h in hints if h.data["slot"].endswith("::param::grüße::名前"))
    resolved_hint = await client.inlay_hint_resolve_async(first)  # double-click in VS Code inserts these
    assert resolved_hint.text_edits is not None
    one = ide.apply_text_edits(SOURCE, to_ide(resolved_hint.text_edits))
    assert_safe(workspace, SOURCE, one, {first.data["slot"]: types[first.data["slot"]]})
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        doc, T.Range(T.Position(0, 0), T.Position(0, 0)),
        T.CodeActionContext(diagnostics=[], only=[T.CodeActionKind.Source])))
    assert [a.kind for a in actions if isinstance(a, T.CodeAction)] == ["source.typetool.annotate"]
    resolved = await client.code_action_resolve_async(actions[0])  # type: ignore[arg-type]
    new = ide.apply_text_edits(SOURCE, edits_of(resolved.edit, uri))
    assert new != SOURCE
    assert_safe(workspace, SOURCE, new, types)
    back = {"model": str(tiny_model), "epsilon": 0.3}
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(settings={"typetool": back}))


async def test_function_action_and_details_command(client: LanguageClient, workspace: Path) -> None:
    uri = (workspace / "pkg" / "mod.py").as_uri()
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        T.TextDocumentIdentifier(uri), T.Range(T.Position(6, 4), T.Position(6, 4)),
        T.CodeActionContext(diagnostics=[])))
    scopes = [a.data["scope"] for a in actions if isinstance(a, T.CodeAction)]
    assert "slot" not in scopes and scopes[-1] == "file"
    details = await client.workspace_execute_command_async(T.ExecuteCommandParams(
        "typetool.server.showPredictionDetails", [uri, {"line": 3, "character": 11}]))
    assert "parameter `名前` of `grüße`" in details and "<py> param 名前 of grüße" not in details
    assert "Evidence (usage slice):" in details


async def test_unsaved_changes_move_hints_and_stale_actions_are_refused(client: LanguageClient) -> None:
    uri = "untitled:Untitled-1"
    doc = open_doc(client, uri, SOURCE)
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        doc, T.Range(T.Position(3, 11), T.Position(3, 11)), T.CodeActionContext(diagnostics=[])))
    # an emoji line on top and a new function at the end, as incremental changes (version 2 and 3)
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        T.VersionedTextDocumentIdentifier(uri=uri, version=2),
        [T.TextDocumentContentChangePartial(range=T.Range(T.Position(0, 0), T.Position(0, 0)), text="# ✨😀\n")]))
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        T.VersionedTextDocumentIdentifier(uri=uri, version=3),
        [T.TextDocumentContentChangePartial(range=T.Range(T.Position(18, 0), T.Position(18, 0)),
                                            text="def 追加(x=\"😀\", y=2):\n    return x\n")]))
    hints = await client.text_document_inlay_hint_async(T.InlayHintParams(doc, EVERYTHING))
    got = {h.data["slot"].split("::", 1)[1]: (h.position.line, h.position.character) for h in hints}
    moved = {k: (line + 1, col) for k, (line, col) in ANCHORS.items()}
    assert {k: v for k, v in got.items() if k in moved} == moved
    assert got["param::追加::y"] == (18, 16)  # `def 追加(x="😀", ` is 16 UTF-16 units
    assert {h.data["version"] for h in hints} == {3}
    with pytest.raises(JsonRpcException) as err:
        await client.code_action_resolve_async(actions[0])  # offered for version 1
    assert err.value.code == -32801  # ContentModified
    client.text_document_did_close(T.DidCloseTextDocumentParams(doc))


async def test_a_file_with_a_syntax_error(client: LanguageClient) -> None:
    doc = open_doc(client, "untitled:broken", BROKEN)
    hints = await client.text_document_inlay_hint_async(T.InlayHintParams(doc, EVERYTHING))
    positions = {(h.position.line, h.position.character) for h in hints}
    assert {(0, 8), (0, 9), (6, 10), (6, 11)} <= positions  # ok(a) and fine(c), around the broken def
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        doc, T.Range(T.Position(0, 7), T.Position(0, 7)), T.CodeActionContext(diagnostics=[])))
    assert actions and all(isinstance(a, T.CodeAction) and a.disabled is not None
                           and "syntax error (line 4)" in a.disabled.reason for a in actions)


async def test_bad_requests_get_answers_and_the_server_lives(client: LanguageClient, workspace: Path) -> None:
    unknown = T.TextDocumentIdentifier("file:///no/such/file.py")
    assert await client.text_document_hover_async(T.HoverParams(unknown, T.Position(0, 0))) is None
    assert not await client.text_document_inlay_hint_async(T.InlayHintParams(unknown, EVERYTHING))
    assert not await client.text_document_code_action_async(T.CodeActionParams(
        unknown, EVERYTHING, T.CodeActionContext(diagnostics=[])))
    not_python = open_doc(client, "untitled:notes.txt", "def f(x): pass", "plaintext")
    client.text_document_did_change(T.DidChangeTextDocumentParams(  # a change to a document never opened
        T.VersionedTextDocumentIdentifier(uri="untitled:never-opened", version=2),
        [T.TextDocumentContentChangeWholeDocument(text="x = 1\n")]))
    with pytest.raises(JsonRpcException) as err:  # params that are not a HoverParams at all
        await raw_request(client, "textDocument/hover", {"textDocument": 5, "position": "x"})
    assert err.value.code == -32602
    with pytest.raises(JsonRpcException) as err:
        await client.code_action_resolve_async(T.CodeAction(title="forged", data={"uri": 3}))
    assert err.value.code == -32602
    with pytest.raises(JsonRpcException):
        await client.workspace_execute_command_async(T.ExecuteCommandParams("typetool.server.annotateFile", [42]))
    far = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(
        (workspace / "pkg" / "mod.py").as_uri()), T.Position(99_999, 99_999)))
    assert far is None
    assert not await client.text_document_inlay_hint_async(T.InlayHintParams(not_python, EVERYTHING))
    hover = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(
        (workspace / "pkg" / "mod.py").as_uri()), T.Position(3, 11)))
    assert hover is not None  # still serving


async def test_a_cancelled_request_does_not_disturb_the_next(client: LanguageClient) -> None:
    doc = open_doc(client, "untitled:cancel", SOURCE.replace("名前", "name"))
    fut = client.protocol.send_request_async("textDocument/inlayHint", T.InlayHintParams(doc, EVERYTHING),
                                             msg_id="to-cancel")
    client.protocol.notify("$/cancelRequest", T.CancelParams(id="to-cancel"))
    try:
        await fut
    except JsonRpcException as exc:
        assert exc.code == -32800  # RequestCancelled
    hints = await client.text_document_inlay_hint_async(T.InlayHintParams(doc, EVERYTHING))
    assert len(hints) == len(ANCHORS)


async def test_settings_changes_apply_without_a_restart(client: LanguageClient, tiny_model: Path,
                                                        workspace: Path) -> None:
    doc = T.TextDocumentIdentifier((workspace / "pkg" / "mod.py").as_uri())
    refreshes = len(client.seen["refresh"])  # type: ignore[attr-defined]
    off = {"model": str(tiny_model), "epsilon": 0.3, "sites": ["returns"], "inlayHints": {"enable": False}}
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(settings={"typetool": off}))
    assert not await client.text_document_inlay_hint_async(T.InlayHintParams(doc, EVERYTHING))
    assert len(client.seen["refresh"]) > refreshes  # type: ignore[attr-defined]
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(
        settings={"typetool": {**off, "inlayHints": {"enable": True}}}))
    hints = await client.text_document_inlay_hint_async(T.InlayHintParams(doc, EVERYTHING))
    assert {h.data["slot"].split("::")[1] for h in hints} == {"return"}
    client.set_configuration({"model": str(tiny_model), "epsilon": 0.3}, section="typetool")
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(settings=None))  # pull again
    assert len(await client.text_document_inlay_hint_async(T.InlayHintParams(doc, EVERYTHING))) == len(ANCHORS)


# ------------------------------------------- a client without workspace/configuration or code action resolve

def older_client() -> T.ClientCapabilities:
    caps = client_capabilities("neovim@v0.7.0")
    assert caps.text_document is not None and caps.text_document.code_action is not None
    return attrs.evolve(caps, text_document=attrs.evolve(caps.text_document, code_action=attrs.evolve(
        caps.text_document.code_action, resolve_support=None)))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), scope="module")
async def old_client(lsp_client: LanguageClient, tiny_model: Path, workspace: Path) -> Any:
    lsp_client.seen = record_client_requests(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(T.InitializeParams(
        capabilities=older_client(), root_uri=workspace.as_uri(),
        initialization_options={"settings": {"model": str(tiny_model), "epsilon": 0.3}}))
    yield
    await lsp_client.shutdown_session()


async def test_actions_run_as_commands_for_clients_without_resolve(old_client: LanguageClient,
                                                                   workspace: Path) -> None:
    uri = (workspace / "pkg" / "mod.py").as_uri()
    doc = open_doc(old_client, uri, SOURCE)
    params = T.CodeActionParams(doc, T.Range(T.Position(12, 25), T.Position(12, 25)),
                                T.CodeActionContext(diagnostics=[]))
    # raw JSON: lsprotocol's client-side parser reads any action that has a `command` as a bare Command
    actions = await raw_request(old_client, "textDocument/codeAction",
                                old_client.protocol._converter.unstructure(params))
    action = actions[0]
    assert action["kind"] == "refactor.rewrite.typetool" and "edit" not in action
    command = action["command"]
    assert command["command"] == "typetool.server.applyTypes"
    (slot_id, type_), = command["arguments"][0]["types"]
    result = await old_client.workspace_execute_command_async(T.ExecuteCommandParams(
        command["command"], command["arguments"]))
    assert result["written"] == 1
    applied = old_client.seen["applied"][-1]  # type: ignore[attr-defined]
    new = ide.apply_text_edits(SOURCE, edits_of(applied.edit, uri))  # `changes`, not `documentChanges`
    assert_safe(workspace, SOURCE, new, {slot_id: type_})


async def test_annotate_workspace_is_one_safe_edit_with_progress(old_client: LanguageClient, workspace: Path,
                                                                  uncalibrated_model: Path) -> None:
    old_client.workspace_did_change_configuration(T.DidChangeConfigurationParams(
        settings={"typetool": {"model": str(uncalibrated_model)}}))
    result = await old_client.workspace_execute_command_async(T.ExecuteCommandParams(
        "typetool.server.annotateWorkspace", []))
    assert result["files"] == 1 and result["written"] > 0 and result["failed"] == []
    edit = old_client.seen["applied"][-1].edit  # type: ignore[attr-defined]
    uri = (workspace / "pkg" / "mod.py").as_uri()
    assert set(edit.changes) == {uri}
    new = ide.apply_text_edits(SOURCE, edits_of(edit, uri))
    verify_rewrite(SOURCE, new, imports_of(new) - imports_of(SOURCE))
    reports = [r for rs in old_client.progress_reports.values() for r in rs]
    assert isinstance(reports[0], T.WorkDoneProgressBegin) and isinstance(reports[-1], T.WorkDoneProgressEnd)
    assert any(isinstance(r, T.WorkDoneProgressReport) and r.message == "pkg/mod.py" for r in reports)


async def test_a_missing_model_is_shown_once_and_nothing_breaks(old_client: LanguageClient,
                                                                 workspace: Path) -> None:
    uri = (workspace / "pkg" / "mod.py").as_uri()
    old_client.workspace_did_change_configuration(T.DidChangeConfigurationParams(
        settings={"typetool": {"model": str(workspace / "no-model-here")}}))
    for _ in range(100):
        if any("no model at" in m.message for m in old_client.messages):
            break
        await asyncio.sleep(0.1)
    errors = [m for m in old_client.messages if "no model at" in m.message]
    assert len(errors) == 1 and errors[0].type == T.MessageType.Error
    assert "typetool.model" in errors[0].message
    doc = T.TextDocumentIdentifier(uri)
    assert not await old_client.text_document_inlay_hint_async(T.InlayHintParams(doc, EVERYTHING))
    assert await old_client.text_document_hover_async(T.HoverParams(doc, T.Position(3, 11))) is None
    result = await old_client.workspace_execute_command_async(T.ExecuteCommandParams("typetool.server.annotateFile", [uri]))
    assert result["written"] == 0 and "no model at" in result["error"]

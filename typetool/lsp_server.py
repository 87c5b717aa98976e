"""`typetool lsp`: the language server (pygls, stdio). A thin front end over `typetool.ide`.

Does: serves Python and TypeScript documents (languageId `python`, `typescript`, `typescriptreact`, or files
named .py/.pyi, .ts/.tsx/.mts/.cts; a .d.ts file gets no answers, JavaScript is not served; the language is
picked per document and `typetool.ide` does the rest), keeps the client's documents (saved or not), runs all
analysis on one worker thread in priority order (requests first, background prediction of the rest of an open
file after it), answers inlay hints, hover,
code actions (with lazy `codeAction/resolve` where the client supports it, else a command), inlay hint resolve
(double-click inserts the annotation), and the commands in `COMMANDS` (named `typetool.server.*`, so that an
editor extension can own the `typetool.*` names). Results are cached per document version; a request whose
document changed while it ran answers ContentModified, and a cancelled request stops at the next chunk of
model work. The model is loaded once, in the background, from (first wins) `--model`, the editor's
`typetool.model`, `model` in `[tool.typetool]`, the shipped model; a document in the other language than that
model's gets the shipped model of its language (loaded when first needed). A missing model is shown to the
user once and the server keeps answering (without types).
Never dies on a bad request: params that do not deserialize get an InvalidParams answer, unknown documents
and files with syntax errors give empty answers or disabled actions with the reason; a message over
`MAX_MESSAGE_BYTES` or with a malformed header is skipped without being read into memory, logged, and answered
with InvalidRequest when it is a request (`MessageFramer`).
Does not: analyse, predict or rewrite anything itself (`typetool.ide` does), or publish diagnostics.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import importlib
import itertools
import json
import logging
import os
import queue
import re
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO, Protocol, TypeVar, cast
from urllib.parse import unquote

from lsprotocol import types as T
from pygls.exceptions import (
    JsonRpcContentModified,
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import from_fs_path, to_fs_path

from typetool import __version__, ide
from typetool.diagnostics import Diagnostic
from typetool.languages import default_language, language_of, source_suffixes
from typetool.slots import SlotKind
from typetool.sources import SKIP_DIRS, discover, read_source

log = logging.getLogger("typetool.lsp")
R = TypeVar("R")

SLOT_KIND = "refactor.rewrite.typetool"
FILE_KIND = "source.typetool.annotate"
COMMANDS = ("typetool.server.annotateFile", "typetool.server.annotateWorkspace", "typetool.server.applyTypes",
            "typetool.server.showPredictionDetails")
# The largest message the server reads (its Content-Length). A larger one is skipped without being held in
# memory, reported, and answered with InvalidRequest when it is a request (`MessageFramer`). 16 times the
# default max-file-size (2 MB): room for a whole document in didOpen/didChange with JSON escapes.
MAX_MESSAGE_BYTES = 32 * 2**20
MAX_HEADER_BYTES = 8192  # a header block (Content-Length, Content-Type) longer than this is not a header
BACKGROUND_CHUNK = 4  # slots per background job: a request waits for at most one of these
PRIO_MODEL, PRIO_REQUEST, PRIO_OPEN, PRIO_BACKGROUND = -1, 0, 5, 10
SYNTAX_CODES = ("syntax-error", "syntax-skipped")
SOURCE_SUFFIXES = source_suffixes()
# the documents the server answers for (its inlay hint registration; the other features answer these too)
DOCUMENT_SELECTOR: list[T.TextDocumentFilter] = [
    T.TextDocumentFilterLanguage(language=language, scheme=scheme)
    for language in ide.language_ids() for scheme in ("file", "untitled")]


@dataclass(frozen=True, slots=True)
class ServerOptions:
    model: str | None = None  # --model: wins over every setting
    device: str | None = None
    precision: str | None = None
    debounce: float = 0.3  # seconds after the last change before background prediction starts
    threads: int = 1  # torch threads for the model


# ----------------------------------------------------------------------------------------------- the worker

class Worker:
    """One thread that runs analysis and model work, most urgent first (lowest priority number)."""

    def __init__(self) -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], Any] | None,
                                               concurrent.futures.Future[Any] | None]] = queue.PriorityQueue()
        self._seq = itertools.count()
        old = threading.stack_size()
        threading.stack_size(256 * 1024 * 1024)  # the analysis recurses along deep syntax trees
        try:
            self._thread = threading.Thread(target=self._loop, name="typetool-worker", daemon=True)
            self._thread.start()
        finally:
            threading.stack_size(old)

    def submit(self, fn: Callable[[], R], priority: int) -> concurrent.futures.Future[R]:
        fut: concurrent.futures.Future[R] = concurrent.futures.Future()
        self._queue.put((priority, next(self._seq), fn, fut))
        return fut

    def stop(self) -> None:
        self._queue.put((-100, next(self._seq), None, None))

    def _loop(self) -> None:
        while True:
            _prio, _seq, fn, fut = self._queue.get()
            if fn is None or fut is None:
                return
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request
                fut.set_exception(exc)


# ------------------------------------------------------------------------------------------------ documents

@dataclass(frozen=True, slots=True)
class Doc:
    """A snapshot of one document: an open buffer (with its version) or a file read from disk (version None)."""

    uri: str
    version: int | None
    text: str
    path: Path
    relpath: str
    language: str = "py"  # the language's key


# ------------------------------------------------------------------------------------------- message framing

class _Stream(Protocol):
    def read1(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class DroppedMessage:
    """A message the server did not read: why, its Content-Length where it had one, and the id and method of a
    request when the first bytes of its body say so (the error answer goes to that id)."""

    reason: str
    length: int | None = None
    request_id: int | str | None = None
    method: str | None = None


# a header line out of sync: the next "Content-Length: N" line (a JSON body cannot hold one: raw line breaks are
# not allowed in JSON strings and the words are not JSON outside them), where reading starts again
_RESYNC = re.compile(rb"[Cc]ontent-[Ll]ength:[ \t]*\d+[ \t]*\r?\n")
_HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*\r?\n")
# the start of such a line, cut off at the end of what has been read: "C", "Cont", "Content-Length: 12\r", ...
_PARTIAL_HEADER = re.compile(functools.reduce(
    lambda inner, part: part + b"(?:" + inner + b")?",
    reversed((b"[Cc]", *(bytes([c]) for c in b"ontent-"), b"[Ll]", *(bytes([c]) for c in b"ength"))),
    rb":[ \t]*\d*[ \t]*\r?") + rb"\Z")
_BODY_START = re.compile(rb"\s*\{")
_LEADING_MEMBER = re.compile(rb'\s*"(jsonrpc|id|method)"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*[,}]')
_OTHER_MEMBER = re.compile(rb'\s*(\}|"(?!(?:jsonrpc|id|method)")(?:[^"\\]|\\.)*"\s*:)')
_CHUNK = 1 << 16
_TAIL = 256  # bytes kept back while skipping: a "Content-Length: N" line cut across two reads


def request_of(prefix: bytes) -> tuple[int | str | None, str | None]:
    """(id, method) of a request from the first bytes of its body: the `jsonrpc`, `id` and `method` members
    that come before any other (as clients write them); (None, method) for a notification, a response or a
    body that does not start so."""
    return _scan_request(prefix)[:2]


def _scan_request(prefix: bytes) -> tuple[int | str | None, str | None, bool]:
    """`request_of`, and whether more bytes could change the answer (False: they could)."""
    start = _BODY_START.match(prefix)
    if start is None:
        return None, None, len(prefix.lstrip()) > 0
    found: dict[bytes, Any] = {}
    pos = start.end()
    while (m := _LEADING_MEMBER.match(prefix, pos)) is not None:
        try:
            found[m.group(1)] = json.loads(m.group(2))
        except ValueError:
            break
        pos = m.end()
    method = found.get(b"method")
    method = method if isinstance(method, str) else None
    rid = found.get(b"id")
    if method is not None and not isinstance(rid, bool) and isinstance(rid, (int, str)):
        return rid, method, True
    rest = prefix[pos:]
    decided = _OTHER_MEMBER.match(rest) is not None or len(rest) > 512
    return None, method, decided


class MessageFramer:
    """The server's stdin as pygls reads it (`readline`, then `read` of the body): the messages whose header
    block is well-formed and whose Content-Length is at most `limit` pass, framed again as
    `Content-Length: N` and a blank line; every other one goes to `dropped` and is not read into memory: an
    oversized body is skipped by its length, in chunks; a message with a missing, non-numeric, negative or zero
    length, or lines that are not headers, is skipped up to the next `Content-Length:` line; and a body in
    which such a line starts (the client sent less than it said) ends there. Reads only as much as has come
    (`read1`), so a message is answered without waiting for bytes the client has not sent."""

    def __init__(self, stream: _Stream, limit: int, dropped: Callable[[DroppedMessage], None]) -> None:
        self._stream = stream
        self._limit = limit
        self._dropped = dropped
        self._buf = bytearray()
        self._lines: list[bytes] = []
        self._body = b""

    # -- what pygls calls (one at a time, from its reader thread) ----------------------------------------------

    def readline(self) -> bytes:
        if not self._lines:
            body = self._next_message()
            if body is None:
                return b""  # end of input: pygls stops
            self._body = body
            self._lines = [b"Content-Length: %d\r\n" % len(body), b"\r\n"]
        return self._lines.pop(0)

    def read(self, size: int = -1) -> bytes:
        body, self._body = self._body, b""
        return body

    # -- framing -----------------------------------------------------------------------------------------------

    def _next_message(self) -> bytes | None:
        while True:
            header = self._read_header()
            if header is None:
                return None
            length, problem = header
            if problem is None and length is not None:
                oversized = length > self._limit
                if oversized:  # reported first: the skipping may wait for bytes
                    rid, method = self._peek_request(length)
                    self._dropped(DroppedMessage(
                        f"its Content-Length, {length:,} bytes, is over the server's limit of {self._limit:,}",
                        length, rid, method))
                body = self._body_of(length, keep=not oversized)
                if body is None:
                    return None
                if oversized:
                    continue
                if len(body) == length:
                    return body
                rid, method = request_of(body[:4096])
                self._dropped(DroppedMessage(f"it is shorter than its Content-Length ({length:,} bytes): the "
                                             "next header comes first", length, rid, method))
                continue
            rid, method = self._peek_request(length)
            self._dropped(DroppedMessage(problem or "its header is malformed", length, rid, method))
            if not self._resync():
                return None

    def _peek_request(self, length: int | None) -> tuple[int | str | None, str | None]:
        """`request_of` the body that starts here, reading (not consuming) as much of it as that needs."""
        want = min(length or 4096, 4096)
        while True:
            rid, method, decided = _scan_request(bytes(self._buf[:4096]))
            if decided or len(self._buf) >= want or not self._fill():
                return rid, method

    def _read_header(self) -> tuple[int | None, str | None] | None:
        """(length, None) for a well-formed header block; (length or None, what is wrong) for a bad one, with
        the input left where the skipping starts; None at the end of input."""
        length: int | None = None
        problem: str | None = None
        seen = 0
        while True:
            line = self._read_line()
            if line is None:
                return None
            if not line.strip():
                if seen == 0:
                    continue  # blank lines between messages
                if problem is None and length is None:
                    problem = "it has no Content-Length header"
                return length, problem
            seen += len(line)
            field = _HEADER_LINE.fullmatch(line)
            if field is None or seen > MAX_HEADER_BYTES:
                self._buf[:0] = line  # out of sync: look for the next header from this line on
                return None, "the bytes where a header was expected are not one"
            if field.group(1).lower() == b"content-length" and length is None and problem is None:
                value = field.group(2)
                if value.isdigit() and int(value) > 0:
                    length = int(value)
                else:
                    problem = f"its Content-Length, {value[:40]!r}, is not a positive number"

    def _read_line(self) -> bytes | None:
        """The next line (up to MAX_HEADER_BYTES + 1 bytes, a longer one is cut there); None at the end of
        input."""
        while True:
            i = self._buf.find(b"\n", 0, MAX_HEADER_BYTES + 1)
            if i >= 0 or len(self._buf) > MAX_HEADER_BYTES:
                end = i + 1 if i >= 0 else MAX_HEADER_BYTES + 1
                line = bytes(self._buf[:end])
                del self._buf[:end]
                return line
            if not self._fill():
                return None

    def _fill(self) -> bool:
        data = self._stream.read1(_CHUNK)
        if not data:
            return False
        self._buf += data
        return True

    def _body_of(self, n: int, keep: bool = True) -> bytes | None:
        """The body of `n` bytes that starts here (`keep=False`: skipped in chunks, b"" returned). If a
        `Content-Length:` line starts inside it, the body ends there and reading goes on from that header (the
        client sent less than it said: a JSON body cannot hold such a line). None at the end of input. Reads
        only what has come (`read1`), so a message is answered without waiting for bytes not yet sent."""
        remaining, scan = n, 0
        while True:
            m = _RESYNC.search(self._buf, scan)
            end = -1
            if m is not None and m.start() < remaining:
                end = m.start()
            elif len(self._buf) >= remaining:
                cut = _PARTIAL_HEADER.search(self._buf, max(0, len(self._buf) - _TAIL))
                if cut is None or cut.start() >= remaining:
                    end = remaining
            if end >= 0:
                body = bytes(self._buf[:end]) if keep else b""
                del self._buf[:end]
                return body
            if not keep:  # all but the tail, which may begin a header cut by the read
                take = min(remaining, len(self._buf) - _TAIL)
                if take > 0:
                    del self._buf[:take]
                    remaining -= take
            scan = max(0, len(self._buf) - _TAIL)
            if not self._fill():
                return None

    def _resync(self) -> bool:
        """Skip to the next `Content-Length:` line; False at the end of input."""
        while True:
            m = _RESYNC.search(self._buf)
            if m is not None:
                del self._buf[:m.start()]
                return True
            if len(self._buf) > _TAIL:
                del self._buf[:len(self._buf) - _TAIL]
            if not self._fill():
                return False


class _Protocol(LanguageServerProtocol):
    """Answers a request whose params do not deserialize with InvalidParams instead of leaving it unanswered."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException:
            if isinstance(data, dict) and "id" in data and "method" in data and "jsonrpc" in data:
                error = JsonRpcInvalidParams(f"invalid params for {data.get('method')!s}")
                self._send_response(data["id"], None, error.to_response_error())
                return SimpleNamespace(jsonrpc="invalid")  # handle_message ignores it
            raise

    @lsp_method(T.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: T.DidChangeTextDocumentParams) -> Generator[Any, Any, None]:
        """A change to a document that was never opened is logged and ignored (pygls would raise)."""
        if unquote(params.text_document.uri) not in self.workspace.text_documents:
            log.warning("change to a document that is not open: %s; ignored", params.text_document.uri)
            return
        yield from super().lsp_text_document__did_change(params)


class TypetoolServer(LanguageServer):
    def __init__(self, options: ServerOptions = ServerOptions()) -> None:
        super().__init__("typetool", __version__, protocol_cls=_Protocol,
                         text_document_sync_kind=T.TextDocumentSyncKind.Incremental)
        self.options = options
        self.worker = Worker()
        self.engine = ide.Engine()
        self.resolver = ide.SettingsResolver(self._warn, {"model": options.model, "device": options.device,
                                                          "precision": options.precision})
        self._model_future: asyncio.Future[ide.ModelState] | None = None
        self._model_key: tuple[str | None, str, str] | None = None
        self._versions: dict[str, int | None] = {}  # uri -> version of open documents (read by the worker)
        self._analyses: dict[str, tuple[int | None, str, concurrent.futures.Future[ide.DocumentAnalysis]]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._background: dict[str, asyncio.Task[None]] = {}
        self._shown: set[str] = set()
        self._configured = asyncio.Event()  # set once the editor's settings have been read (or not given)

    # -- plumbing ----------------------------------------------------------------------------------------------

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """pygls' stdio server, reading through `MessageFramer`: a message over MAX_MESSAGE_BYTES or with a
        malformed header is skipped and reported (`message_dropped`) instead of taking the server down."""
        framer = MessageFramer(cast(_Stream, stdin or sys.stdin.buffer), MAX_MESSAGE_BYTES, self.message_dropped)
        super().start_io(cast(BinaryIO, framer), stdout)  # pygls only calls readline() and read(n) on it

    def message_dropped(self, drop: DroppedMessage) -> None:
        """Log a message the framer skipped, show it once, and answer it with InvalidRequest when it was a
        request (JSON-RPC: a notification gets no answer; one whose id is unknown gets none either). Runs on
        pygls' reader thread, as pygls' own threaded handlers answer from theirs."""
        what = f"request {drop.method} (id {drop.request_id})" if drop.request_id is not None else \
            f"notification {drop.method}" if drop.method else "a message"
        text = f"typetool: dropped {what} from the editor: {drop.reason}"
        log.error("%s", text)
        self._log(text, T.MessageType.Error)
        try:
            self._show("typetool: the editor sent a message the server cannot read (too large or malformed); "
                       "it was skipped, see the output log", T.MessageType.Error)
            if drop.request_id is not None:
                error = JsonRpcInvalidRequest(text)
                self.protocol._send_response(drop.request_id, None, error.to_response_error())
        except Exception:  # reporting must not stop the reader
            log.exception("could not report a dropped message")

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log protocol errors instead of pygls' default pop-up for each one."""
        log.error("%s: %s", getattr(source, "__name__", source), error)
        self._log(f"typetool: {error}", T.MessageType.Error)

    def _log(self, message: str, kind: T.MessageType = T.MessageType.Info) -> None:
        try:
            self.window_log_message(T.LogMessageParams(type=kind, message=message))
        except Exception:  # noqa: BLE001 - no client yet
            log.info("%s", message)

    def _show(self, message: str, kind: T.MessageType = T.MessageType.Error, once: bool = True) -> None:
        if once and message in self._shown:
            return
        self._shown.add(message)
        self.window_show_message(T.ShowMessageParams(type=kind, message=message))

    def _warn(self, message: str) -> None:
        self._show(f"typetool: {message}", T.MessageType.Warning)

    def _capability(self, dotted: str) -> Any:
        node: Any = self.client_capabilities
        for part in dotted.split("."):
            node = getattr(node, part, None)
            if node is None:
                return None
        return node

    @property
    def encoding(self) -> ide.Encoding:
        enc = str(self.workspace.position_encoding or "utf-16").lower()
        return "utf-8" if enc == "utf-8" else "utf-32" if enc == "utf-32" else "utf-16"

    def roots(self) -> list[Path]:
        out = []
        for folder in self.workspace.folders.values():
            path = to_fs_path(folder.uri)
            if path:
                out.append(Path(path))
        if not out and self.workspace.root_path:
            out.append(Path(self.workspace.root_path))
        return out

    async def run(self, fn: Callable[[Callable[[], bool]], R], priority: int = PRIO_REQUEST,
                  doc: Doc | None = None) -> R:
        """Run `fn(should_stop)` on the worker; `should_stop` turns true when the request is cancelled or the
        document changed. Raises ContentModified for stale work."""
        cancelled = threading.Event()

        def should_stop() -> bool:
            return cancelled.is_set() or (doc is not None and not self._current(doc))

        def job() -> R:
            if should_stop():
                raise ide.Stale()
            return fn(should_stop)

        fut = self.worker.submit(job, priority)
        try:
            return await asyncio.wrap_future(fut)
        except asyncio.CancelledError:
            cancelled.set()
            fut.cancel()
            raise
        except ide.Stale:
            raise JsonRpcContentModified("the document changed; ask again") from None

    def _current(self, doc: Doc) -> bool:
        if doc.version is None:
            return True
        return self._versions.get(doc.uri, doc.version) == doc.version

    def doc(self, uri: str) -> Doc | None:
        """The open buffer for `uri`, else the source file on disk, else None (unknown documents get empty
        answers). A buffer whose name has none of its language's suffixes (an untitled one) is analysed under
        `ide.document_name` (a TypeScript one as `name.ts`, `name.tsx` for typescriptreact)."""
        roots = self.roots()
        opened = self.workspace.text_documents.get(unquote(uri))
        fs = to_fs_path(uri) if uri.startswith("file:") else None
        if opened is not None:
            language = ide.document_language(str(fs or uri), opened.language_id)
            if language is None:
                return None
            path = Path(fs) if fs else (roots[0] if roots else Path.cwd()) / (uri.rsplit("/", 1)[-1] or "untitled")
            relpath = ide.document_name(ide.document_relpath(path, roots), language, opened.language_id)
            return Doc(uri, opened.version, opened.source, path, relpath, language)
        if fs is None or not fs.endswith(SOURCE_SUFFIXES):
            return None
        src = read_source(Path(fs))
        if isinstance(src, Diagnostic):
            return None
        return Doc(uri, None, src.text, Path(fs), ide.document_relpath(Path(fs), roots),
                   ide.document_language(fs) or default_language().key)

    async def ready(self) -> None:
        """Wait (briefly) until the editor's settings are known, so that the first answers use them."""
        if not self._configured.is_set():
            try:
                await asyncio.wait_for(self._configured.wait(), 15)
            except TimeoutError:
                self._configured.set()

    def settings(self, doc: Doc | None) -> ide.EditorSettings:
        roots = self.roots()
        return self.resolver.for_path(doc.path if doc is not None else None, roots[0] if roots else Path.cwd())

    async def analysis(self, doc: Doc, priority: int = PRIO_REQUEST) -> ide.DocumentAnalysis:
        cached = self._analyses.get(doc.uri)
        if cached is not None and cached[0] == doc.version and cached[1] == doc.text \
                and not (cached[2].cancelled()):
            fut = cached[2]
        else:
            encoding = self.encoding
            fut = self.worker.submit(lambda: ide.analyse_document(doc.uri, doc.version, doc.text, doc.path,
                                                                  doc.relpath, encoding, language=doc.language),
                                     priority)
            if doc.uri in self._versions:  # open documents only: files read from disk are not kept
                self._analyses[doc.uri] = (doc.version, doc.text, fut)
        return await asyncio.shield(asyncio.wrap_future(fut))

    # -- the model ---------------------------------------------------------------------------------------------

    def _model_settings(self) -> tuple[str | None, str, str]:
        s = self.settings(None).settings
        return s.model, s.device, s.precision

    def start_model(self) -> None:
        """Load the model in the background (once; again only when the configured model changes)."""
        key = self._model_settings()
        if key == self._model_key and self._model_future is not None:
            return
        self._model_key = key
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ide.ModelState] = loop.create_future()
        self._model_future = future

        def load() -> None:
            _warm_imports(self.options.threads)
            state = ide.load_model(*key)
            if self._model_future is future:  # not overtaken by a newer settings change
                self.worker.submit(lambda: self.engine.set_model(state), PRIO_MODEL).result()
            loop.call_soon_threadsafe(self._model_loaded, future, state)

        threading.Thread(target=load, name="typetool-model", daemon=True).start()

    def _model_loaded(self, future: asyncio.Future[ide.ModelState], state: ide.ModelState) -> None:
        if not future.done():
            future.set_result(state)
        if future is not self._model_future:
            return
        if state.error:
            self._show(state.error, T.MessageType.Error)
        else:
            self._log(f"typetool: model {state.model_dir} loaded in {state.seconds:.1f}s")
        if self._capability("workspace.inlay_hint.refresh_support"):
            self.workspace_inlay_hint_refresh(None)

    async def model(self) -> ide.ModelState:
        self.start_model()  # a no-op unless the model in the settings (pyproject.toml included) changed
        assert self._model_future is not None
        return await asyncio.shield(self._model_future)

    # -- configuration -----------------------------------------------------------------------------------------

    async def pull_configuration(self) -> None:
        if not self._capability("workspace.configuration"):
            return
        try:
            result = await asyncio.wait_for(self.workspace_configuration_async(
                T.ConfigurationParams(items=[T.ConfigurationItem(section="typetool")])), 10)
        except (TimeoutError, JsonRpcException) as exc:
            self._log(f"typetool: could not read the editor's settings: {exc}", T.MessageType.Warning)
            return
        if result:
            self.resolver.set_client(result[0])

    def configuration_changed(self) -> None:
        self.start_model()
        self._analyses.clear()
        if self._capability("workspace.inlay_hint.refresh_support"):
            self.workspace_inlay_hint_refresh(None)
        for uri in list(self._versions):
            self.schedule(uri, 0.0)

    # -- background prediction ---------------------------------------------------------------------------------

    def schedule(self, uri: str, delay: float) -> None:
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        task = self._background.pop(uri, None)
        if task is not None:
            task.cancel()
        loop = asyncio.get_running_loop()

        def start() -> None:
            self._timers.pop(uri, None)
            self._background[uri] = loop.create_task(self.prefetch(uri))

        self._timers[uri] = loop.call_later(delay, start)

    async def prefetch(self, uri: str) -> None:
        """Analyse an open document and predict all its slots, a few at a time, behind any request."""
        await self.ready()
        doc = self.doc(uri)
        if doc is None:
            return
        try:
            analysis = await self.analysis(doc, PRIO_OPEN)
            state = await self.model()
            if state.predictor is None:
                return
            settings = self.settings(doc)
            views = [v for v in analysis.slots if v.kind in settings.kinds]
            for i in range(0, len(views), BACKGROUND_CHUNK):
                chunk = views[i:i + BACKGROUND_CHUNK]
                await self.run(lambda stop, c=chunk: self.engine.predict(analysis, c, settings, stop),  # type: ignore[misc]
                               PRIO_BACKGROUND, doc)
        except (JsonRpcContentModified, asyncio.CancelledError):
            return
        except Exception:  # background work must not take anything down
            log.exception("background prediction failed for %s", uri)

    # -- answers -----------------------------------------------------------------------------------------------

    def _offsets(self, analysis: ide.DocumentAnalysis, rng: T.Range) -> tuple[int, int]:
        idx = analysis.index
        start = idx.offset(ide.Position(rng.start.line, rng.start.character))
        end = idx.offset(ide.Position(rng.end.line, rng.end.character))
        return min(start, end), max(start, end)

    def _check(self, doc: Doc) -> None:
        if not self._current(doc):
            raise JsonRpcContentModified("the document changed; ask again")

    def _missing(self, analysis: ide.DocumentAnalysis) -> None:
        """Show (once) why a document's language has no model (the shipped TypeScript model is not there)."""
        why = self.engine.missing.get(analysis.language)
        if why is not None:
            self._show(why, T.MessageType.Error)

    async def inlay_hints(self, params: T.InlayHintParams) -> list[T.InlayHint]:
        await self.ready()
        doc = self.doc(params.text_document.uri)
        if doc is None:
            return []
        settings = self.settings(doc)
        if not settings.hints:
            return []
        analysis = await self.analysis(doc)
        if (await self.model()).predictor is None:
            return []
        start, end = self._offsets(analysis, params.range)

        def work(stop: Callable[[], bool]) -> list[ide.Hint]:
            self.engine.predict(analysis, analysis.slots_in(start, end, settings.kinds), settings, stop)
            return ide.hints(analysis, start, end, settings)

        found = await self.run(work, PRIO_REQUEST, doc)
        self._missing(analysis)
        self._check(doc)
        return [T.InlayHint(
            position=T.Position(h.position.line, h.position.character), label=h.label, kind=T.InlayHintKind.Type,
            tooltip=T.MarkupContent(kind=T.MarkupKind.Markdown, value=h.tooltip), padding_left=h.padding_left,
            data={"uri": doc.uri, "version": doc.version, "slot": h.slot_id, "confidence": round(h.confidence, 4),
                  "lowConfidence": h.low}) for h in found]

    async def resolve_inlay_hint(self, hint: T.InlayHint) -> T.InlayHint:
        """Add the edit that inserts the hint's type (double-click in VS Code), when it can be written."""
        await self.ready()
        data = hint.data if isinstance(hint.data, Mapping) else {}
        uri, slot = data.get("uri"), data.get("slot")
        if not isinstance(uri, str) or not isinstance(slot, str):
            return hint
        doc = self.doc(uri)
        if doc is None or doc.version != data.get("version"):
            return hint
        analysis = await self.analysis(doc)
        settings = self.settings(doc)

        def work(_stop: Callable[[], bool]) -> ide.EditPlan | None:
            pred = analysis.predictions.get(slot)
            if pred is None or pred.partial is None:
                return None
            try:
                return self.engine.edit_plan(analysis, {slot: pred.partial}, settings)
            except ide.EditError:
                return None

        plan = await self.run(work, PRIO_REQUEST, doc)
        if plan is not None and plan.written:
            hint.text_edits = [_edit(e) for e in plan.edits]
        return hint

    async def hover(self, params: T.HoverParams) -> T.Hover | None:
        await self.ready()
        doc = self.doc(params.text_document.uri)
        if doc is None:
            return None
        analysis = await self.analysis(doc)
        settings = self.settings(doc)
        offset = analysis.index.offset(ide.Position(params.position.line, params.position.character))
        view = analysis.slot_at(offset, settings.kinds)
        if view is None:
            return None
        state = await self.model()
        if state.predictor is None:
            return None

        def work(stop: Callable[[], bool]) -> str:
            self.engine.predict(analysis, [view], settings, stop)
            return ide.hover_markdown(analysis, view, settings, self.engine.view(settings, analysis.language))

        text = await self.run(work, PRIO_REQUEST, doc)
        self._missing(analysis)
        self._check(doc)
        rng = analysis.index.range(*view.name_span)
        return T.Hover(contents=T.MarkupContent(kind=T.MarkupKind.Markdown, value=text), range=_range(rng))

    async def code_actions(self, params: T.CodeActionParams) -> list[T.CodeAction]:
        await self.ready()
        doc = self.doc(params.text_document.uri)
        if doc is None:
            return []
        only = params.context.only if params.context is not None else None
        if only is not None and not any(SLOT_KIND.startswith(k) or FILE_KIND.startswith(k)
                                        or k.startswith((SLOT_KIND, FILE_KIND)) for k in only):
            return []
        analysis = await self.analysis(doc)
        settings = self.settings(doc)
        if (await self.model()).predictor is None:
            return []
        start, end = self._offsets(analysis, params.range)

        def work(stop: Callable[[], bool]) -> list[ide.ActionSpec]:
            views = [v for v in analysis.slots if v.kind in settings.kinds
                     and (start <= v.anchor <= end or v.name_span[0] <= end and start <= v.name_span[1])]
            qualname = analysis.function_at(start)
            if qualname is not None:
                views += ide.function_views(analysis, qualname, settings.kinds)
            self.engine.predict(analysis, views, settings, stop)
            return ide.actions(analysis, start, end, settings)

        specs = await self.run(work, PRIO_REQUEST, doc)
        self._missing(analysis)
        self._check(doc)
        broken = next((d for d in analysis.diagnostics if d.code in SYNTAX_CODES), None)
        resolve = "edit" in (self._capability("text_document.code_action.resolve_support.properties") or [])
        disabled_ok = bool(self._capability("text_document.code_action.disabled_support"))
        out: list[T.CodeAction] = []
        for spec in specs:
            kind = FILE_KIND if spec.scope == "file" else SLOT_KIND
            if only is not None and not any(kind.startswith(k) for k in only):
                continue
            data = {"uri": doc.uri, "version": doc.version, "scope": spec.scope, "types": [list(t) for t in spec.types]}
            action = T.CodeAction(title=spec.title, kind=kind, is_preferred=spec.preferred or None)
            if broken is not None:
                if not disabled_ok:
                    continue
                where = f" (line {broken.line})" if broken.line else ""
                action.disabled = T.CodeActionDisabled(reason=f"the file has a syntax error{where}; fix it first")
            elif resolve:
                action.data = data
            else:
                action.command = T.Command(title=spec.title, command="typetool.server.applyTypes", arguments=[data])
            out.append(action)
        return out

    async def _plan(self, doc: Doc, scope: str, types: list[tuple[str, str]],
                    priority: int = PRIO_REQUEST) -> ide.EditPlan:
        analysis = await self.analysis(doc, priority)
        settings = self.settings(doc)
        if scope == "file":
            state = await self.model()
            if state.predictor is None:
                raise ide.EditError(state.error or "no model")

        def work(stop: Callable[[], bool]) -> ide.EditPlan:
            chosen = dict(types)
            if scope == "file":
                self.engine.predict(analysis, [v for v in analysis.slots if v.kind in settings.kinds], settings,
                                    stop)
                chosen = dict(ide.file_types(analysis, settings))
            return self.engine.edit_plan(analysis, chosen, settings)

        return await self.run(work, priority, doc)

    def _workspace_edit(self, edits: list[tuple[Doc, ide.EditPlan]]) -> T.WorkspaceEdit:
        if self._capability("workspace.workspace_edit.document_changes"):
            return T.WorkspaceEdit(document_changes=[
                T.TextDocumentEdit(text_document=T.OptionalVersionedTextDocumentIdentifier(uri=d.uri,
                                                                                            version=d.version),
                                   edits=[_edit(e) for e in plan.edits]) for d, plan in edits if plan.edits])
        return T.WorkspaceEdit(changes={d.uri: [_edit(e) for e in plan.edits] for d, plan in edits if plan.edits})

    def _action_data(self, data: object) -> tuple[Doc, str, list[tuple[str, str]]]:
        if not isinstance(data, Mapping) or not isinstance(data.get("uri"), str) \
                or data.get("scope") not in ("slot", "function", "file") or not isinstance(data.get("types"), list):
            raise JsonRpcInvalidParams("not a typetool code action")
        types = [(str(t[0]), str(t[1])) for t in data["types"] if isinstance(t, list | tuple) and len(t) == 2]
        doc = self.doc(data["uri"])
        if doc is None:
            raise JsonRpcInvalidParams(f"unknown document {data['uri']}")
        if data.get("version") != doc.version:
            raise JsonRpcContentModified("the document changed since the action was offered")
        return doc, str(data["scope"]), types

    async def resolve_code_action(self, action: T.CodeAction) -> T.CodeAction:
        await self.ready()
        doc, scope, types = self._action_data(action.data)
        try:
            plan = await self._plan(doc, scope, types)
        except ide.EditError as exc:
            self._show(f"typetool: {exc}", T.MessageType.Warning, once=False)
            return action
        if not plan.written:
            self._show(_nothing_written(plan), T.MessageType.Info, once=False)
        action.edit = self._workspace_edit([(doc, plan)])
        return action

    # -- commands ----------------------------------------------------------------------------------------------

    async def apply_types(self, data: object) -> dict[str, Any]:
        await self.ready()
        doc, scope, types = self._action_data(data)
        return await self._apply(doc, scope, types)

    async def annotate_file(self, uri: object) -> dict[str, Any]:
        await self.ready()
        if not isinstance(uri, str):
            raise JsonRpcInvalidParams("typetool.server.annotateFile takes the document URI")
        doc = self.doc(uri)
        if doc is None:
            raise JsonRpcInvalidParams(f"not a Python or TypeScript document: {uri}")
        return await self._apply(doc, "file", [])

    async def _apply(self, doc: Doc, scope: str, types: list[tuple[str, str]]) -> dict[str, Any]:
        try:
            plan = await self._plan(doc, scope, types)
        except ide.EditError as exc:
            self._show(f"typetool: {exc}", T.MessageType.Warning, once=False)
            return {"written": 0, "error": str(exc)}
        if plan.written:
            result = await self.workspace_apply_edit_async(T.ApplyWorkspaceEditParams(
                edit=self._workspace_edit([(doc, plan)]), label="typetool: annotate"))
            if not result.applied:
                self._show(f"typetool: the editor did not apply the edit ({result.failure_reason or 'no reason'})",
                           T.MessageType.Warning, once=False)
                return {"written": 0, "error": result.failure_reason or "not applied"}
        else:
            self._show(_nothing_written(plan), T.MessageType.Info, once=False)
        return {"written": len(plan.written), "skipped": [[s.slot_id, s.reason] for s in plan.skipped]}

    async def annotate_workspace(self) -> dict[str, Any]:
        await self.ready()
        state = await self.model()
        if state.predictor is None:
            self._show(state.error or "typetool: no model", T.MessageType.Error, once=False)
            return {"written": 0, "error": state.error}
        files = [p for p in discover(self.roots(), SOURCE_SUFFIXES, SKIP_DIRS | {"node_modules"})
                 if isinstance(p, Path) and _annotated(p.name)]
        token = str(uuid.uuid4())
        progress = bool(self._capability("window.work_done_progress"))
        if progress:
            await self.work_done_progress.create_async(token)
            self.work_done_progress.begin(token, T.WorkDoneProgressBegin(
                title="typetool: annotating the workspace", cancellable=True, percentage=0))
        cancel = self.work_done_progress.tokens.get(token)
        results: list[tuple[Doc, ide.EditPlan]] = []
        failed: list[str] = []
        try:
            for i, path in enumerate(files):
                if cancel is not None and cancel.cancelled():
                    break
                doc = self.doc(from_fs_path(str(path)) or path.as_uri())
                if doc is None:
                    continue
                if progress:
                    self.work_done_progress.report(token, T.WorkDoneProgressReport(
                        message=doc.relpath, percentage=int(100 * i / max(1, len(files)))))
                try:
                    results.append((doc, await self._plan(doc, "file", [], PRIO_OPEN)))
                except (ide.EditError, JsonRpcContentModified) as exc:
                    failed.append(f"{doc.relpath}: {exc}")
        finally:
            if progress:
                self.work_done_progress.end(token, T.WorkDoneProgressEnd())
        written = sum(len(p.written) for _d, p in results)
        changed = [(d, p) for d, p in results if p.edits]
        if changed:
            result = await self.workspace_apply_edit_async(T.ApplyWorkspaceEditParams(
                edit=self._workspace_edit(changed), label="typetool: annotate workspace"))
            if not result.applied:
                written = 0
        summary = f"typetool: {written} annotations in {len(changed)} of {len(files)} files"
        if failed:
            summary += f"; {len(failed)} files left alone ({failed[0]}{', ...' if len(failed) > 1 else ''})"
        self._show(summary, T.MessageType.Info, once=False)
        return {"written": written, "files": len(changed), "failed": failed}

    async def prediction_details(self, uri: object, position: object) -> str | None:
        await self.ready()
        if not isinstance(uri, str) or not isinstance(position, Mapping):
            raise JsonRpcInvalidParams("typetool.server.showPredictionDetails takes a URI and a position")
        doc = self.doc(uri)
        if doc is None:
            return None
        analysis = await self.analysis(doc)
        settings = self.settings(doc)
        offset = analysis.index.offset(ide.Position(int(position.get("line", 0)), int(position.get("character", 0))))
        all_kinds = frozenset(SlotKind)
        view = analysis.slot_at(offset, all_kinds)
        if view is None:
            qualname = analysis.function_at(offset)
            views = ide.function_views(analysis, qualname, all_kinds) if qualname else []
        else:
            views = [view]
        if not views:
            return None
        state = await self.model()
        if state.predictor is None:
            return state.error

        def work(stop: Callable[[], bool]) -> str:
            self.engine.predict(analysis, views, settings, stop)
            predictor = self.engine.view(settings, analysis.language)
            return "\n\n---\n\n".join(ide.hover_markdown(analysis, v, settings, predictor, True) for v in views)

        return await self.run(work, PRIO_REQUEST, doc)


def _annotated(name: str) -> bool:
    """Whether `annotate workspace` writes to a discovered file: a source its language analyses, not a stub or
    a declaration file."""
    language = language_of(name)
    return language is not None and language.strip_skip(name) is None


def _nothing_written(plan: ide.EditPlan) -> str:
    if not plan.skipped:
        return "typetool: nothing to write here (no prediction within the guarantee)"
    first = plan.skipped[0]
    return f"typetool: nothing written; {first.slot_id.split('::')[-1]}: {first.reason or first.status.value}"


def _range(r: ide.Range) -> T.Range:
    return T.Range(T.Position(r.start.line, r.start.character), T.Position(r.end.line, r.end.character))


def _edit(e: ide.TextEdit) -> T.TextEdit:
    return T.TextEdit(range=_range(e.range), new_text=e.new_text)


# ------------------------------------------------------------------------------------------- registration

def create_server(options: ServerOptions = ServerOptions()) -> TypetoolServer:
    server = TypetoolServer(options)

    @server.feature(T.INITIALIZE)
    def initialize(ls: TypetoolServer, params: T.InitializeParams) -> None:
        opts = params.initialization_options
        if isinstance(opts, Mapping):
            raw = opts.get("settings", opts.get("typetool", opts))
            ls.resolver.set_client(raw if isinstance(raw, Mapping) else None)
        threading.Thread(target=_warm_imports, args=(ls.options.threads,), name="typetool-imports",
                         daemon=True).start()

    @server.feature(T.INITIALIZED)
    async def initialized(ls: TypetoolServer, _params: T.InitializedParams) -> None:
        try:
            await ls.pull_configuration()
        finally:
            ls._configured.set()
        ls.start_model()

    @server.feature(T.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: TypetoolServer, params: T.DidChangeConfigurationParams) -> None:
        pushed = params.settings.get("typetool") if isinstance(params.settings, Mapping) else None
        if isinstance(pushed, Mapping):
            ls.resolver.set_client(pushed)
        else:
            ls._configured.clear()  # requests that come next wait for the new settings
            try:
                await ls.pull_configuration()
            finally:
                ls._configured.set()
        ls.configuration_changed()

    @server.feature(T.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TypetoolServer, params: T.DidOpenTextDocumentParams) -> None:
        ls._versions[params.text_document.uri] = params.text_document.version
        ls.schedule(params.text_document.uri, 0.0)

    @server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: TypetoolServer, params: T.DidChangeTextDocumentParams) -> None:
        ls._versions[params.text_document.uri] = params.text_document.version
        ls.schedule(params.text_document.uri, ls.options.debounce)

    @server.feature(T.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: TypetoolServer, _params: T.DidSaveTextDocumentParams) -> None:
        ls.worker.submit(ls.engine.forget_indexes, PRIO_REQUEST)

    @server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TypetoolServer, params: T.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls._versions.pop(uri, None)
        ls._analyses.pop(uri, None)
        for handle in (ls._timers.pop(uri, None), ls._background.pop(uri, None)):
            if handle is not None:
                handle.cancel()

    @server.feature(T.TEXT_DOCUMENT_INLAY_HINT, T.InlayHintRegistrationOptions(
        document_selector=DOCUMENT_SELECTOR, resolve_provider=True))
    async def inlay_hint(ls: TypetoolServer, params: T.InlayHintParams) -> list[T.InlayHint]:
        return await ls.inlay_hints(params)

    @server.feature(T.INLAY_HINT_RESOLVE)
    async def inlay_hint_resolve(ls: TypetoolServer, hint: T.InlayHint) -> T.InlayHint:
        return await ls.resolve_inlay_hint(hint)

    @server.feature(T.TEXT_DOCUMENT_HOVER)
    async def hover(ls: TypetoolServer, params: T.HoverParams) -> T.Hover | None:
        return await ls.hover(params)

    @server.feature(T.TEXT_DOCUMENT_CODE_ACTION, T.CodeActionOptions(
        code_action_kinds=[SLOT_KIND, FILE_KIND],
        resolve_provider=True))
    async def code_action(ls: TypetoolServer, params: T.CodeActionParams) -> list[T.CodeAction]:
        return await ls.code_actions(params)

    @server.feature(T.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: TypetoolServer, action: T.CodeAction) -> T.CodeAction:
        return await ls.resolve_code_action(action)

    @server.command("typetool.server.annotateFile")
    async def annotate_file(ls: TypetoolServer, *args: Any) -> dict[str, Any]:
        return await ls.annotate_file(args[0] if args else None)

    @server.command("typetool.server.annotateWorkspace")
    async def annotate_workspace(ls: TypetoolServer, *_args: Any) -> dict[str, Any]:
        return await ls.annotate_workspace()

    @server.command("typetool.server.applyTypes")
    async def apply_types(ls: TypetoolServer, *args: Any) -> dict[str, Any]:
        return await ls.apply_types(args[0] if args else None)

    @server.command("typetool.server.showPredictionDetails")
    async def details(ls: TypetoolServer, *args: Any) -> str | None:
        return await ls.prediction_details(args[0] if args else None, args[1] if len(args) > 1 else None)

    @server.feature(T.SHUTDOWN)
    def shutdown(ls: TypetoolServer, *_args: Any) -> None:
        ls.worker.stop()

    @server.feature(T.EXIT)
    def exit_(ls: TypetoolServer, *_args: Any) -> None:
        """Leave at once: tearing down torch and the interpreter's modules takes seconds and saves nothing."""
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(0 if ls.protocol._shutdown else 1)

    return server


def _warm_imports(threads: int) -> None:
    """Import torch and the model code while the client is still starting up (most of a cold start)."""
    try:
        import torch

        torch.set_num_threads(threads)
        for name in ("typetool.predictions", "typetool.model.saving", "typetool.model.decoder"):
            importlib.import_module(name)
    except Exception:  # noqa: BLE001 - the real import reports it
        log.debug("warm imports failed: %s", traceback.format_exc())


def serve(options: ServerOptions = ServerOptions()) -> None:
    """Run the server over stdin/stdout until the client says exit."""
    create_server(options).start_io()

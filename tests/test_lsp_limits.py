"""The language server stays up on messages it cannot read: one over MAX_MESSAGE_BYTES, one whose
Content-Length is larger than what follows (99999999999), non-numeric, negative or missing lengths, and bytes
that are not a header. A real server process, written to byte by byte as a misbehaving client would; after each
bad message a normal request is answered. The framer itself is also tested on in-memory streams."""

from __future__ import annotations

import io
import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from typetool.lsp_server import MAX_MESSAGE_BYTES, DroppedMessage, MessageFramer, request_of

INVALID_REQUEST = -32600


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def hover(rid: int, **extra: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": "textDocument/hover",
            "params": {"textDocument": {"uri": "file:///nowhere/missing.py"},
                       "position": {"line": 0, "character": 0}, **extra}}


class RawClient:
    """A client that writes bytes to the server's stdin and collects every framed message from its stdout."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            length = None
            while True:
                line = self.proc.stdout.readline()
                if not line:
                    return
                if not line.strip():
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None
            self.messages.put(json.loads(self.proc.stdout.read(length)))

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def response(self, rid: int, timeout: float = 60) -> dict[str, Any]:
        """The answer to request `rid` (answers the server's own requests with null on the way)."""
        while True:
            msg = self.messages.get(timeout=timeout)
            if "method" in msg and "id" in msg:
                self.send(frame({"jsonrpc": "2.0", "id": msg["id"], "result": None}))
            elif "method" in msg:
                self.notifications.append(msg)
            elif msg.get("id") == rid:
                return msg
            else:
                raise AssertionError(f"answer to another request: {msg}")


@pytest.fixture
def client(tmp_path: Path) -> Any:
    c = RawClient([sys.executable, "-m", "typetool", "lsp", "--model", str(tmp_path / "no-model")])
    c.send(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}}))
    assert "result" in c.response(1)
    c.send(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    yield c
    if c.proc.poll() is None:
        c.proc.kill()
    c.proc.wait()
    for stream in (c.proc.stdin, c.proc.stdout, c.proc.stderr):
        if stream is not None:
            stream.close()


def assert_alive(client: RawClient, rid: int) -> None:
    """A normal request after the bad message is answered (hover on an unknown file: null)."""
    client.send(frame(hover(rid)))
    answer = client.response(rid)
    assert answer.get("result") is None and "error" not in answer, answer
    assert client.proc.poll() is None


def test_survives_bad_messages_and_keeps_serving(client: RawClient) -> None:
    # 1. a real request over the limit: skipped by its length, answered with InvalidRequest
    big = frame(hover(2, padding="x" * (MAX_MESSAGE_BYTES + 10)))
    assert len(big) > MAX_MESSAGE_BYTES
    client.send(big)
    error = client.response(2)["error"]
    assert error["code"] == INVALID_REQUEST and "limit" in error["message"], error
    assert_alive(client, 3)

    # 2. the report: a length far beyond what follows (the body is short, the next message comes right after)
    body = json.dumps(hover(4)).encode()
    client.send(b"Content-Length: 99999999999\r\n\r\n" + body)
    assert client.response(4)["error"]["code"] == INVALID_REQUEST
    assert_alive(client, 5)

    # 3. malformed lengths: non-numeric, negative, zero, missing; the body is skipped up to the next header
    rid = 6
    for header in (b"Content-Length: abc\r\n", b"Content-Length: -5\r\n", b"Content-Length: 0\r\n",
                   b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"):
        client.send(header + b"\r\n" + json.dumps(hover(rid)).encode())
        assert client.response(rid)["error"]["code"] == INVALID_REQUEST
        assert_alive(client, rid + 1)
        rid += 2

    # 4. a length within the limit but longer than the body, and a request right after it: that request is
    # answered at once (the server does not wait for the bytes that were announced)
    client.send(b"Content-Length: 5000\r\n\r\n" + json.dumps(hover(rid)).encode() + frame(hover(rid + 1)))
    assert client.response(rid)["error"]["code"] == INVALID_REQUEST
    assert client.response(rid + 1).get("result") is None
    rid += 2

    # 5. an oversized notification gets no answer; bytes that are not a header are skipped
    client.send(frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": "file:///nowhere/big.py", "languageId": "python", "version": 1,
        "text": "x = 1\n" * (MAX_MESSAGE_BYTES // 6 + 1)}}}))
    client.send(b"hello, this is not a header\r\n")
    assert_alive(client, rid)

    logged = [n["params"]["message"] for n in client.notifications if n["method"] == "window/logMessage"]
    assert any("dropped notification textDocument/didOpen" in m for m in logged), logged
    assert any("dropped request textDocument/hover (id 2)" in m and "over the server's limit" in m
               for m in logged), logged
    shown = [n for n in client.notifications if n["method"] == "window/showMessage"]
    assert len(shown) == 1  # shown once, logged each time

    client.send(frame({"jsonrpc": "2.0", "id": 100, "method": "shutdown"}))
    client.response(100)
    client.send(frame({"jsonrpc": "2.0", "method": "exit"}))
    assert client.proc.wait(timeout=30) == 0


# ------------------------------------------------------------------------------------------- the framer alone

class Trickle(io.RawIOBase):
    """A stream that hands out at most `step` bytes per read (as a pipe does), to cut headers across reads."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = min(len(buf), self._step, len(self._data) - self._pos)
        buf[:n] = self._data[self._pos:self._pos + n]
        self._pos += n
        return n


def messages_through(data: bytes, limit: int, step: int = 1 << 16) -> tuple[list[bytes], list[DroppedMessage]]:
    dropped: list[DroppedMessage] = []
    framer = MessageFramer(io.BufferedReader(Trickle(data, step)), limit, dropped.append)
    out: list[bytes] = []
    while True:
        header = framer.readline()
        if not header:
            return out, dropped
        assert header.startswith(b"Content-Length: ")
        assert framer.readline() == b"\r\n"
        body = framer.read(int(header.split(b":")[1]))
        assert len(body) == int(header.split(b":")[1])
        out.append(body)


@pytest.mark.parametrize("step", [1, 7, 1 << 16])
def test_framer_passes_good_messages_and_drops_bad_ones(step: int) -> None:
    good = [json.dumps({"jsonrpc": "2.0", "id": i, "method": "m", "params": {"n": "é" * i}}).encode()
            for i in range(4)]
    data = (b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" % len(good[0])
            + good[0]
            + b"Content-Length: 5000\r\n\r\n" + b'{"id": 9, "method": "big", "params": "' + b"y" * 4960 + b'"}'
            + b"content-length: %d\r\n\r\n" % len(good[1]) + good[1]
            + b"Content-Length: 99999999999\r\n\r\n{\"method\": \"short\"}"
            + b"Content-Length: %d\r\n\r\n" % len(good[2]) + good[2]
            + b"Content-Length: -3\r\n\r\n{}garbage\r\nmore garbage"
            + b"\r\n\r\nContent-Length: %d\r\n\r\n" % len(good[3]) + good[3])
    out, dropped = messages_through(data, limit=1000, step=step)
    assert out == good
    assert [(d.length, d.request_id, d.method) for d in dropped] == [
        (5000, 9, "big"), (99999999999, None, "short"), (None, None, None)]


def test_framer_drops_a_body_shorter_than_its_length() -> None:
    """A length within the limit but longer than the body: the next message's header, found inside, starts again
    (a JSON body cannot hold one), so the next messages are not lost."""
    short = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "textDocument/hover"}).encode()
    good = [frame({"jsonrpc": "2.0", "id": i, "method": "m"}) for i in range(2)]
    out, dropped = messages_through(b"Content-Length: 400\r\n\r\n" + short + good[0] + good[1], limit=1000)
    assert out == [g.split(b"\r\n\r\n", 1)[1] for g in good]
    assert [(d.length, d.request_id, d.method) for d in dropped] == [(400, 7, "textDocument/hover")]


def test_framer_skips_an_unterminated_line_in_bounded_memory() -> None:
    good = frame({"jsonrpc": "2.0", "method": "ok"})
    out, dropped = messages_through(b"x" * 3_000_000 + good, limit=1000)
    assert out == [good.split(b"\r\n\r\n", 1)[1]] and len(dropped) == 1


def test_request_of() -> None:
    assert request_of(b'{"jsonrpc":"2.0","id":3,"method":"textDocument/hover","params":{}}') == (3, "textDocument/hover")
    assert request_of(b'{"id": "a\\"b", "method": "x", "params"') == ('a"b', "x")
    assert request_of(b'{"method":"textDocument/didOpen","params":{"id":5}}') == (None, "textDocument/didOpen")
    assert request_of(b'{"jsonrpc":"2.0","id":3,"result":null}') == (None, None)  # a response: no answer
    assert request_of(b'{"params":{"id":1},"id":2,"method":"m"}') == (None, None)  # id not among the first
    assert request_of(b"not json") == (None, None)

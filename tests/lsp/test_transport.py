"""The stdio transport (message framing read on the event loop) and the short path of
``didChange``: what arrives malformed is reported and the session goes on."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading

import pytest
from lsp_helpers import make_client_fixture, open_document, request, wait_stats
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from tokenprism.lsp.server import content_changes
from tokenprism.lsp.transport import MessageReader
from tokenprism.tokenization import load_tokenizer

client = make_client_fixture(profiles=("visual-studio-code",))


def frame(message, headers: bytes = b"") -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n" % len(body) + headers + b"\r\n" + body


class Recorder:
    BURST_METHODS = frozenset({"burst"})

    def __init__(self):
        self.handled, self.errors, self.answers, self.turns = [], [], [], 0

    def structure_message(self, data):
        if data.get("method") == "bad-params":
            raise JsonRpcInvalidParams("invalid params for bad-params")
        return ("structured", data)

    def answer_error(self, msg_id, code, message):
        self.answers.append((msg_id, code))

    def handle_message(self, message):
        self.handled.append(message)


async def read_all(data: bytes, recorder: Recorder, chunk: int | None = None) -> None:
    """Feed ``data`` as it would arrive (in one piece, or ``chunk`` bytes at a time)."""
    reader = MessageReader(recorder, threading.Event(), lambda exc, kind: recorder.errors.append(exc),
                           recorder.BURST_METHODS)
    for at in range(0, len(data), chunk or max(1, len(data))):
        reader.feed(data[at : at + (chunk or len(data))])
    reader.feed_eof()
    await asyncio.wait_for(reader.done, 10)


@pytest.mark.parametrize("chunk", [None, 1, 7, 64])
async def test_framing_headers_bad_json_and_a_cut_body(chunk):
    recorder = Recorder()
    data = (
        frame({"jsonrpc": "2.0", "method": "a"})
        + frame({"jsonrpc": "2.0", "method": "b", "params": {"x": {"jsonrpc": "nested"}}},
                b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n")
        + b"content-length: 3\r\n\r\n{x]"  # header names are case-insensitive; the body is not JSON
        + frame([1, 2])  # valid JSON but not a message: an invalid request
        + frame({"jsonrpc": "2.0", "id": 4, "method": "bad-params"})  # answered with InvalidParams
        + frame({"jsonrpc": "2.0", "method": "bad-params"})  # a notification: no answer
        + frame({"jsonrpc": "2.0", "method": "c"})[:-2]  # the input ends inside a body
    )
    # a stray blank line and a header block without Content-Length (skipped) come first
    await read_all(b"\r\nX-Other: 1\r\n\r\n" + data, recorder, chunk)
    assert recorder.handled == [
        ("structured", {"jsonrpc": "2.0", "method": "a"}),
        # only the outermost object is a message: the nested one stays a dict
        ("structured", {"jsonrpc": "2.0", "method": "b", "params": {"x": {"jsonrpc": "nested"}}}),
    ]
    # the skipped header block and the bad JSON are parse errors, [1, 2] an invalid request
    assert recorder.answers == [(None, -32700), (None, -32700), (None, -32600), (4, -32602)]
    assert recorder.errors == []


async def test_other_tasks_run_between_messages_but_not_inside_a_burst():
    recorder = Recorder()
    seen = []

    async def watcher():  # records how many messages were handled at each turn it gets
        for _ in range(20):
            seen.append(len(recorder.handled))
            await asyncio.sleep(0)

    task = asyncio.ensure_future(watcher())
    burst = [frame({"jsonrpc": "2.0", "method": "burst", "params": k}) for k in range(3)]
    await read_all(frame({"jsonrpc": "2.0", "method": "one"}) + b"".join(burst)
                   + frame({"jsonrpc": "2.0", "method": "two"}), recorder)
    await task
    assert 1 in seen  # a turn after the first message
    assert 2 not in seen and 3 not in seen  # none while the buffered burst was read


async def test_the_protocol_hears_when_everything_read_is_handled():
    """``messages_handled`` (where the server runs the edits' pass) comes once per batch of
    read messages, after the last of them, not once per message."""
    recorder = Recorder()
    calls = []
    recorder.messages_handled = lambda: calls.append(len(recorder.handled))
    reader = MessageReader(recorder, threading.Event(), lambda exc, kind: recorder.errors.append(exc),
                           recorder.BURST_METHODS)
    reader.feed(b"".join(frame({"jsonrpc": "2.0", "method": "burst", "params": k}) for k in range(3)))
    assert calls == [3]
    reader.feed(frame({"jsonrpc": "2.0", "method": "burst", "params": 3})[:10])  # half a message
    assert calls == [3, 3]
    reader.feed(frame({"jsonrpc": "2.0", "method": "burst", "params": 3})[10:]
                + frame({"jsonrpc": "2.0", "method": "x"}))
    assert calls == [3, 3, 5]
    reader.feed_eof()
    await asyncio.wait_for(reader.done, 10)


@pytest.mark.parametrize("params", [
    None, {}, {"textDocument": {"uri": "file:///x"}, "contentChanges": []},
    {"textDocument": {"uri": "file:///x", "version": "1"}, "contentChanges": []},
    {"textDocument": {"uri": "file:///x", "version": 1},
     "contentChanges": [{"range": {"start": {"line": 0}}, "text": ""}]},
    {"textDocument": {"uri": "file:///x", "version": 1}, "contentChanges": [
        {"range": {"start": {"line": 0, "character": True}, "end": {"line": 0, "character": 0}},
         "text": ""}]},
    {"textDocument": {"uri": "file:///x", "version": 1}, "contentChanges": [{"text": 5}]},
])
def test_malformed_did_change_params_are_invalid_params(params):
    with pytest.raises(JsonRpcInvalidParams, match="didChange params are malformed"):
        content_changes(params)


def test_did_change_params_as_sent():
    params = {"textDocument": {"uri": "file:///x", "version": 7}, "contentChanges": [
        {"range": {"start": {"line": 1, "character": 2}, "end": {"line": 3, "character": 4}}, "text": "a",
         "rangeLength": 9},
        {"text": "whole"},
    ]}
    assert content_changes(params) == ("file:///x", 7, [((1, 2), (3, 4), "a"), (None, None, "whole")])


@pytest.mark.asyncio(loop_scope="module")  # the loop of the module's server fixture
async def test_a_malformed_did_change_is_reported_and_the_session_goes_on(client):
    uri = "file:///transport/doc.txt"
    open_document(client, uri, "hello world\n")
    await wait_stats(client, uri, 1)
    # written as raw JSON: the client library would refuse to send it
    client.protocol._send_data({"jsonrpc": "2.0", "method": "textDocument/didChange",
                                "params": {"textDocument": {"uri": uri}, "contentChanges": "nonsense"}})
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=0, character=5),
                              end=types.Position(line=0, character=5)),
            text=" there")],
    ))
    stats = await wait_stats(client, uri, 2)
    assert stats["characters"] == len("hello there world\n")
    assert any("didChange params are malformed" in m.message for m in client.messages)
    result = await request(client, "tokenprism/tokens", {"textDocument": {"uri": uri}})
    assert result["version"] == 2
    assert ([t["id"] for t in result["tokens"]]
            == load_tokenizer("o200k_base").encode("hello there world\n").ids.tolist())


def test_stdin_from_a_regular_file_falls_back_to_the_threaded_reader(tmp_path):
    """asyncio cannot watch a regular file; the server still reads it to the end."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"capabilities": {}, "initializationOptions": {"model": "o200k_base"}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    script = tmp_path / "session.bin"
    script.write_bytes(b"".join(frame(m) for m in messages))
    with open(script, "rb") as stdin:
        done = subprocess.run([sys.executable, "-m", "tokenprism", "serve", "--stdio"], stdin=stdin,
                              capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    answers = [json.loads(part.split(b"\r\n\r\n", 1)[1])
               for part in done.stdout.split(b"Content-Length: ")[1:]]
    assert [a.get("id") for a in answers if "id" in a] == [1, 2]
    assert answers[0]["result"]["serverInfo"]["name"] == "tokenprism"


def test_stdin_pipe_is_widened_so_a_large_document_arrives_in_one_go():
    import os

    from tokenprism.lsp import transport

    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("pipe sizes are a Linux feature")
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(read_end, "rb", buffering=0, closefd=False) as stdin:
            before = fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ)
            transport._widen_pipe(stdin)
            after = fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ)
        assert before < transport.PIPE_BYTES <= after
    finally:
        os.close(read_end)
        os.close(write_end)

"""What no LSP client library sends, written as raw bytes to ``tokenprism serve`` over pipes:
broken framing, params of the wrong shape, a tokenizer that panics, a client that goes away
while a worker thread is stuck. The server answers every request and exits when told or
when its input ends, within the bounds each test sets itself."""

from __future__ import annotations

import os
import sys
import time

import pytest
from raw_lsp import HERE, RawServer, did_open, frame, notification, request

from tokenprism.tokenization import load_tokenizer

URI = "file:///raw/doc.txt"
BEL = "\x07"
TAMPERED = [sys.executable, str(HERE / "tampered.py")]
# the bound on exiting: "within a second of losing the client", plus slack for a loaded machine
EXIT_WITHIN = 1.5


def ping(msg_id) -> bytes:
    """A request every server answers at once: an unknown method (-32601)."""
    return request(msg_id, "tokenprism/noSuchMethod", {})


@pytest.fixture(scope="module")
def server():
    with RawServer() as srv:
        srv.initialize()
        srv.send(did_open(URI, "hello world\n"))
        yield srv


# -- framing -------------------------------------------------------------------------------------

BODY = b'{"jsonrpc": "2.0", "id": "lost", "method": "tokenprism/noSuchMethod"}'
BAD_FRAMING = {
    "non-numeric length": b"Content-Length: abc\r\n\r\n" + BODY,
    "negative length": b"Content-Length: -5\r\n\r\n" + BODY,
    "too small a length": b"Content-Length: 5\r\n\r\n" + BODY,
    "a length past the limit": b"Content-Length: 99999999999\r\n\r\n" + BODY,
    "a body without a header": BODY,
    "70 KiB of garbage": b"x" * (70 * 1024),
    "garbage glued to a header": b"\x00\xff garbage",
    "JSON nested too deeply": frame(b"[" * 100_000 + b"]" * 100_000),
}


@pytest.mark.parametrize("case", list(BAD_FRAMING))
def test_bad_framing_is_skipped_and_later_messages_are_answered(server, case):
    msg_id = f"after {case}"
    server.send(BAD_FRAMING[case] + ping(msg_id))
    answer = server.answer(msg_id, timeout=10)
    assert answer is not None, f"no answer after {case}: {server.stderr.decode(errors='replace')[-500:]}"
    assert answer["error"]["code"] == -32601
    # the broken message is answered too where it can be: a parse error, id null
    assert server.next_message(lambda m: m.get("id") is None and m.get("error", {}).get("code") == -32700, 1)
    server.received.clear()
    server.send(ping(msg_id + " again"))
    assert server.answer(msg_id + " again", timeout=10) is not None


def test_the_garbage_held_while_waiting_for_a_header_is_bounded():
    import asyncio
    import threading

    from tokenprism.lsp.transport import HEADER_LIMIT, MessageReader

    class Sink:
        def structure_message(self, data):
            return data

        def handle_message(self, message):
            handled.append(message)

    async def run():
        reader = MessageReader(Sink(), threading.Event(), lambda exc, kind: None)
        most = 0
        garbage = bytes(range(256)) * 256  # 64 KiB with no header anywhere
        for _ in range(64):  # 4 MiB of it
            reader.feed(garbage)
            most = max(most, len(reader._buffer))
        reader.feed(garbage + frame({"jsonrpc": "2.0", "method": "after"}))  # a message right after
        reader.feed_eof()
        await asyncio.wait_for(reader.done, 10)
        return most

    handled = []
    most = asyncio.run(run())
    assert most <= HEADER_LIMIT + 65536
    assert handled == [{"jsonrpc": "2.0", "method": "after"}]


# -- params --------------------------------------------------------------------------------------

POSITION_REQUESTS = ("textDocument/hover", "textDocument/inlayHint", "textDocument/semanticTokens/range")
BAD_PARAMS = {
    "a negative line": {"textDocument": {"uri": URI}, "position": {"line": -1, "character": 0},
                        "range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}}},
    "a line of 2**31": {"textDocument": {"uri": URI}, "position": {"line": 2**31, "character": 0},
                        "range": {"start": {"line": 0, "character": 0},
                                  "end": {"line": 2**31, "character": 0}}},
    "a list": [1, 2],
    "no position or range": {"textDocument": {"uri": URI}},
    "no params": None,
}


@pytest.mark.parametrize("method", POSITION_REQUESTS)
@pytest.mark.parametrize("case", list(BAD_PARAMS))
def test_bad_params_are_answered_with_invalid_params(server, method, case):
    msg_id = f"{method} {case}"
    started = time.monotonic()
    server.send(request(msg_id, method, BAD_PARAMS[case]))
    answer = server.answer(msg_id, timeout=10)
    assert answer is not None, f"{method} with {case} got no answer"
    assert answer["error"]["code"] == -32602, answer
    assert "\n" not in answer["error"]["message"]
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("method", ["tokenprism/count", "tokenprism/tokens"])
@pytest.mark.parametrize("line", [-1, 2**31, 2**40])
def test_custom_methods_answer_a_line_out_of_range_with_invalid_params(server, method, line):
    rng = {"start": {"line": 0, "character": 0}, "end": {"line": line, "character": 0}}
    msg_id = f"{method} {line}"
    server.send(request(msg_id, method, {"textDocument": {"uri": URI}, "range": rng, "ranges": [rng]}))
    answer = server.answer(msg_id, timeout=10)
    assert answer is not None and answer["error"]["code"] == -32602, answer
    assert "data" not in answer["error"]  # no traceback


def test_a_notification_with_bad_params_is_one_log_line_and_no_answer():
    with RawServer() as srv:
        srv.initialize()
        srv.send(notification("textDocument/didOpen", {"textDocument": {"uri": 7}}) + ping("after"))
        assert srv.answer("after", timeout=10)["error"]["code"] == -32601
        srv.close_stdin()
        assert srv.wait_exit(10) is not None
        assert not [m for m in srv.received if m.get("id") is None and "error" in m]
        log = srv.stderr.decode(errors="replace")
        assert "Traceback" not in log
        assert len([line for line in log.splitlines() if "textDocument/didOpen" in line]) == 1, log


# -- exit ----------------------------------------------------------------------------------------


def _exit_after(srv: RawServer, how: str) -> tuple[int | None, float]:
    started = time.monotonic()
    if how == "eof":
        srv.close_stdin()
    elif how == "shutdown, exit":
        srv.send(request("bye", "shutdown"))
        assert srv.answer("bye", timeout=10) is not None
        started = time.monotonic()
        srv.send(notification("exit"))
    else:
        srv.send(notification("exit"))
    code = srv.wait_exit(10)
    return code, time.monotonic() - started


def test_the_server_exits_at_once_when_stdin_ends_while_a_model_fifo_blocks_a_worker(tmp_path):
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)  # opening it for reading blocks until a writer comes: never
    with RawServer() as srv:
        srv.initialize({"model": str(fifo)})
        srv.send(did_open(URI, "hello\n"))
        srv.send(ping("settled"))
        assert srv.answer("settled", timeout=10) is not None
        time.sleep(0.3)  # the load has started (and blocks)
        code, took = _exit_after(srv, "eof")
        assert code is not None, "the server did not exit within 10 s of losing its input"
        assert took < EXIT_WITHIN and code == 1  # no shutdown came first


@pytest.mark.parametrize("how, expected", [("eof", 1), ("exit", 1), ("shutdown, exit", 0)])
def test_the_server_exits_at_once_while_a_worker_loops_for_ever(how, expected):
    with RawServer(TAMPERED + ["--stuck-worker", "--", "serve", "--stdio"]) as srv:
        srv.initialize()
        srv.send(did_open(URI, "hello\n"))
        assert srv.next_message(lambda m: m.get("method") == "tokenprism/documentStats", 60)
        code, took = _exit_after(srv, how)
        assert code is not None, f"the server did not exit within 10 s ({how})"
        assert code == expected and took < EXIT_WITHIN, (code, took)


# -- a tokenizer that panics -----------------------------------------------------------------------


def _change(version: int, text: str) -> bytes:
    return notification("textDocument/didChange", {
        "textDocument": {"uri": URI, "version": version}, "contentChanges": [{"text": text}]})


def _stats(version: int):
    return lambda m: m.get("method") == "tokenprism/documentStats" and m["params"]["version"] == version


COUNT_ALL = {"textDocument": {"uri": URI}, "ranges": [{"start": {"line": 0, "character": 0},
                                                        "end": {"line": 9, "character": 0}}]}


def test_a_panicking_encode_is_one_message_and_the_document_keeps_answering():
    with RawServer(TAMPERED + ["--bel-panics", "--", "serve", "--stdio"]) as srv:
        srv.initialize({"model": "o200k_base"})
        srv.send(did_open(URI, "hello\n"))
        assert srv.next_message(_stats(1), 60)
        srv.send(_change(2, f"hi {BEL} there\n"))
        shown = srv.next_message(lambda m: m.get("method") == "window/showMessage", 10)
        assert shown is not None and "failed on this text" in shown["params"]["message"]
        skipped = srv.next_message(_stats(2), 10)  # the client learns why there is no count
        assert skipped is not None and "panicked" in skipped["params"]["skipped"]
        assert "tokens" not in skipped["params"] and "count" not in skipped["params"]
        srv.send(request("count 2", "tokenprism/count", COUNT_ALL))
        answer = srv.answer("count 2", timeout=10)
        assert answer is not None and answer["error"]["code"] == -32803  # not tokenized: said so
        srv.send(_change(3, "hi there\n"))  # the culprit gone: tokenized again
        assert "skipped" not in srv.next_message(_stats(3), 20)["params"]
        srv.send(request("count 3", "tokenprism/count", COUNT_ALL))
        expected = len(load_tokenizer("o200k_base").encode("hi there\n"))
        assert srv.answer("count 3", timeout=10)["result"]["total"] == expected
        assert sum(m.get("method") == "window/showMessage" for m in srv.received) == 1
        assert "Traceback" not in srv.stderr.decode(errors="replace")


def test_a_request_whose_tokenizer_panics_is_answered_with_an_error():
    with RawServer(TAMPERED + ["--bel-panics", "--", "serve", "--stdio"]) as srv:
        srv.initialize({"model": "cl100k_base"})  # the document's own model is sound
        srv.send(did_open(URI, f"hi {BEL} there\n"))
        assert srv.next_message(_stats(1), 60)
        for msg_id, method, params in [
            ("tokens", "tokenprism/tokens", {"textDocument": {"uri": URI}, "model": "o200k_base"}),
            ("count", "tokenprism/count", {**COUNT_ALL, "model": "o200k_base"}),
        ]:
            srv.send(request(msg_id, method, params))
            answer = srv.answer(msg_id, timeout=30)
            assert answer is not None, f"{method} got no answer"
            assert answer["error"]["code"] == -32803 and "panicked" in answer["error"]["message"]
        srv.send(request("again", "tokenprism/count", COUNT_ALL))
        assert srv.answer("again", timeout=10)["result"]["model"] == "cl100k_base"


def test_the_cli_reports_a_panicking_tokenizer_in_one_line(tmp_path):
    import subprocess

    path = tmp_path / "bel.txt"
    path.write_text(f"hi {BEL} there\n")
    done = subprocess.run(TAMPERED + ["--bel-panics", "--", "count", str(path), "-m", "o200k_base"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "RUST_BACKTRACE": "0"})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("tokenprism: the tokenizer failed on this input")

"""Expected error answers (bad params, a request that cannot be answered) are one log line
at INFO, not an ERROR traceback on stderr; real failures still log at ERROR."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from pygls.exceptions import JsonRpcInvalidParams

from tokenprism.lsp.convert import RequestFailed
from tokenprism.lsp.server import ExpectedErrorAnswers


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def session_stderr(log_level: str) -> tuple[str, str]:
    """Run the server over stdio through one bad request and one unanswerable one."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"capabilities": {}, "initializationOptions": {"model": "o200k_base"}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "tokenprism/count", "params": {"ranges": []}},  # no document
        {"jsonrpc": "2.0", "id": 3, "method": "tokenprism/tokens", "params": {"textDocument": {"uri": "file:///never-opened.txt"}}},
        {"jsonrpc": "2.0", "id": 4, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    env = {**os.environ, "TOKENPRISM_LOG": log_level}
    done = subprocess.run(
        [sys.executable, "-m", "tokenprism.lsp", "--stdio"], input=b"".join(map(frame, messages)),
        capture_output=True, timeout=120, env=env,
    )
    return done.stdout.decode(), done.stderr.decode()


def test_expected_error_answers_are_one_info_line():
    stdout, stderr = session_stderr("WARNING")
    assert "-32602" in stdout and "-32803" in stdout  # both were answered with their error codes
    assert "Traceback" not in stderr and "ERROR" not in stderr, stderr
    _, stderr = session_stderr("INFO")
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if "answered with an error" in line]
    assert len(lines) == 2 and all(line.startswith("INFO:") for line in lines), stderr
    assert any("never-opened.txt" in line for line in lines)


@pytest.mark.parametrize("error", [RuntimeError("a bug"), KeyError("x")])
def test_unexpected_errors_keep_their_traceback(error):
    records = []
    logger = logging.getLogger("tokenprism.test.expected")
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.addFilter(ExpectedErrorAnswers())
    try:
        for exc in (error, JsonRpcInvalidParams("bad range"), RequestFailed("closed")):
            try:
                raise exc
            except Exception:
                logger.exception("Exception occurred for message %s", 7)
    finally:
        logger.removeHandler(handler)
    # at WARNING the two expected ones are dropped, the bug keeps its ERROR and traceback
    assert [r.levelname for r in records] == ["ERROR"] and records[0].exc_info[1] is error

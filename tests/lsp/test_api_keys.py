"""``tokenprism/setApiKeys`` over stdio: the keys reach the server's counter, clearing works,
bad params are one warning, and no key ever shows in the server's log or answers, even at
DEBUG and even when the params are malformed (pygls logs the params of a failing handler)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

KEY = "sk-ant-lsp-test-SECRET-0001"
GKEY = "AIza-lsp-test-SECRET-0002"


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def answers(stdout: bytes) -> dict:
    out, rest = {}, stdout
    while rest:
        header, _, rest = rest.partition(b"\r\n\r\n")
        length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
        message, rest = json.loads(rest[:length]), rest[length:]
        if "id" in message and "result" in message:
            out[message["id"]] = message["result"]
    return out


def run(messages: list[dict], **env) -> tuple[dict, str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
    }
    session = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"capabilities": {}, "initializationOptions": {"model": "o200k_base"}},
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        *messages,
        {"jsonrpc": "2.0", "id": 99, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    done = subprocess.run(
        [sys.executable, "-m", "tokenprism.lsp", "--stdio"],
        input=b"".join(map(frame, session)),
        capture_output=True,
        timeout=120,
        env={**clean, "TOKENPRISM_LOG": "DEBUG", **env},
    )
    return answers(done.stdout), done.stdout.decode(), done.stderr.decode()


def set_keys(keys) -> dict:
    return {"jsonrpc": "2.0", "method": "tokenprism/setApiKeys", "params": keys}


def status(msg_id: int) -> dict:
    return {"jsonrpc": "2.0", "id": msg_id, "method": "tokenprism/apiKeyStatus", "params": {}}


def test_keys_are_set_and_cleared_and_never_logged():
    result, stdout, stderr = run(
        [
            status(2),
            set_keys({"anthropic": KEY, "gemini": GKEY}),
            status(3),
            set_keys({"anthropic": None, "gemini": "  "}),
            status(4),
            set_keys({"anthropic": 12, "openai": KEY, KEY: GKEY}),  # wrong: one warning each, nothing leaks
            set_keys([KEY, GKEY]),
            status(5),
        ]
    )
    assert result[2] == {"anthropic": None, "gemini": None}
    assert result[3] == {"anthropic": "client", "gemini": "client"}
    assert result[4] == {"anthropic": None, "gemini": None}
    assert result[5] == {"anthropic": None, "gemini": None}
    assert (
        "tokenprism/setApiKeys" in stderr
        and "must be a string or null" in stderr
        and "unknown provider" in stderr
    )
    assert "Traceback" not in stderr
    for secret in (KEY, GKEY):
        assert secret not in stderr and secret not in stdout


def test_a_key_in_the_environment_is_reported_as_such():
    result, _, stderr = run([status(2), set_keys({"gemini": GKEY}), status(3)], ANTHROPIC_API_KEY=KEY)
    assert result[2] == {"anthropic": "environment", "gemini": None}
    assert result[3] == {"anthropic": "environment", "gemini": "client"}
    assert KEY not in stderr and GKEY not in stderr

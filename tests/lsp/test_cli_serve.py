"""``tokenprism serve`` itself: stdio (with the ``--stdio`` flag editors add) agreeing with
``tokenprism tokens --json``, ``--tcp`` for debugging, and a bad ``--tcp`` argument."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest_lsp
from lsp_helpers import open_document, plain, reference_position, request, wait_stats
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from conftest import CORPUS

CLI = [sys.executable, "-m", "tokenprism"]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=CLI + ["serve", "--stdio"]))
async def client(lsp_client: LanguageClient):
    lsp_client.stats = []
    lsp_client.feature("tokenprism/documentStats")(lambda params: lsp_client.stats.append(plain(params)))
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            initialization_options={"tokenprism": {"model": "cl100k_base"}},
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_serve_agrees_with_the_tokens_command(client, tmp_path):
    text = CORPUS["mixed"] + CORPUS["emoji"]
    path = tmp_path / "doc.txt"
    path.write_bytes(text.encode("utf-8"))
    cli = subprocess.run(
        CLI + ["tokens", str(path), "--json", "--model", "cl100k_base"], capture_output=True, text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    uri = path.as_uri()
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    result = await request(client, "tokenprism/tokens", {"textDocument": {"uri": uri}})
    assert result["model"] == "cl100k_base"
    assert [t["id"] for t in result["tokens"]] == [t["id"] for t in expected]
    assert [t["range"] for t in result["tokens"]] == [
        {"start": reference_position(text, t["start"], "utf-16"),
         "end": reference_position(text, t["end"], "utf-16")}
        for t in expected
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body


def _read_message(sock: socket.socket) -> dict:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    header, _, rest = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in header.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(rest) < length:
        rest += sock.recv(65536)
    return json.loads(rest[:length])


def test_serve_over_tcp():
    port = _free_port()
    server = subprocess.Popen(CLI + ["serve", "--tcp", f"127.0.0.1:{port}"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        with sock:
            sock.sendall(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                 "params": {"capabilities": {}}}))
            reply = _read_message(sock)
            assert reply["id"] == 1
            capabilities = reply["result"]["capabilities"]
            assert capabilities["positionEncoding"] == "utf-16"
            assert capabilities["inlayHintProvider"] and capabilities["hoverProvider"]
    finally:
        server.kill()
        server.wait(timeout=10)


def test_a_bad_tcp_argument_is_one_line():
    result = subprocess.run(CLI + ["serve", "--tcp", "localhost:notaport"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "--tcp" in result.stderr

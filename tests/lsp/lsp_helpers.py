"""Helpers for the end-to-end tests: a pytest-lsp client per editor profile talking to
``tokenprism serve`` over stdio, and independent references for positions and tokens.

The references here never use the server's code: token offsets come from the tokens'
bytes, positions from encoding the text before an offset in the negotiated encoding.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import time
from typing import Any

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

# The server package's own entry point, so a broken CLI module elsewhere cannot hide it;
# test_cli_serve.py starts it through `tokenprism serve` too.
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "tokenprism.lsp", "--stdio"])
PROFILES = ("visual-studio-code", "neovim")  # emacs (eglot, UTF-32) is added where it applies
STATS = "tokenprism/documentStats"
# How long a test waits for something the server will do: generous, because a loaded 2-core
# CI machine can take many seconds for a first GGUF load. Waits end as soon as it happens.
WAIT = 60.0


def plain(value: Any) -> Any:
    """pytest-lsp gives custom results as namedtuples and tuples: make dicts and lists."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def make_client_fixture(initialization_options: dict | None = None, profiles=PROFILES, scope="module",
                        config: ClientServerConfig = SERVER):
    """One server per editor profile (per module by default: tests use their own URIs and
    put back the settings they change)."""
    options = {"model": "o200k_base", **(initialization_options or {})}

    @pytest_lsp.fixture(config=config, params=profiles, scope=scope)
    async def client(lsp_client: LanguageClient, request):
        lsp_client.stats = []
        lsp_client.refreshes = []
        lsp_client.arrived = asyncio.Event()  # set whenever stats or a refresh come in

        @lsp_client.feature(STATS)
        def on_stats(params):
            lsp_client.stats.append(plain(params))
            lsp_client.arrived.set()

        @lsp_client.feature(types.WORKSPACE_INLAY_HINT_REFRESH)
        def on_hint_refresh(params):
            lsp_client.refreshes.append("inlayHint")
            lsp_client.arrived.set()

        @lsp_client.feature(types.WORKSPACE_SEMANTIC_TOKENS_REFRESH)
        def on_semantic_refresh(params):
            lsp_client.refreshes.append("semanticTokens")
            lsp_client.arrived.set()

        lsp_client.set_configuration({"tokenprism": dict(options)})
        lsp_client.profile = request.param
        capabilities = pytest_lsp.client_capabilities(request.param)
        workspace = capabilities.workspace
        lsp_client.inlay_hint_refresh = bool(
            workspace and workspace.inlay_hint and workspace.inlay_hint.refresh_support
        )
        lsp_client.semantic_refresh = bool(
            workspace and workspace.semantic_tokens and workspace.semantic_tokens.refresh_support
        )
        result = await lsp_client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities,
                initialization_options=options,
            )
        )
        lsp_client.position_encoding = str(result.capabilities.position_encoding or "utf-16")
        yield
        await lsp_client.shutdown_session()

    return client


# -- talking to the server ----------------------------------------------------------------------


def open_document(client, uri: str, text: str, language: str = "plaintext", version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text)
        )
    )


async def until(check, client=None, timeout: float = WAIT, poll: float = 0.05):
    """Call ``check()`` (sync or async) until it returns something truthy, and return that;
    after ``timeout`` seconds return its last (falsy) value so the caller's assert shows it.
    With ``client``, a documentStats or refresh arriving wakes the wait at once."""
    deadline = time.monotonic() + timeout
    arrived = getattr(client, "arrived", None)  # a client made by make_client_fixture
    while True:
        if arrived is not None:
            arrived.clear()  # cleared before the check: nothing that arrives after it is missed
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        remaining = deadline - time.monotonic()
        if value or remaining <= 0:
            return value
        if arrived is None:
            await asyncio.sleep(min(poll, remaining))
        else:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(arrived.wait(), min(poll * 4, remaining))


async def wait_stats(client, uri: str, version: int, timeout: float = WAIT, model: str | None = None,
                     skipped: bool = False) -> dict:
    """The documentStats notification for ``uri`` at ``version`` (and ``model``), as soon as it
    arrives: one with counts, or with ``skipped`` one that says why the version is not tokenized."""

    def found():
        for stats in client.stats:
            if stats["uri"] == uri and stats["version"] == version and model in (None, stats["model"]) \
                    and ("skipped" in stats) == skipped:
                return stats
        return None

    stats = await until(found, client, timeout)
    if stats is None:
        raise AssertionError(f"no documentStats for {uri} v{version} {model or ''} in {timeout:.0f} s; "
                             f"got {client.stats[-3:]}")
    return stats


async def wait_refresh(client, what: str, since: int, timeout: float = WAIT) -> bool:
    """Whether the server asked for a ``what`` refresh after the first ``since`` ones."""
    return bool(await until(lambda: what in client.refreshes[since:], client, timeout))


async def request(client, method: str, params: dict) -> Any:
    return plain(await client.protocol.send_request_async(method, params))


async def reconfigure(client, **settings) -> dict:
    """Change settings the way each editor does: pull (workspace/configuration) after a
    didChangeConfiguration notification that carries them too."""
    previous = dict(client.get_configuration(section="tokenprism") or {})
    current = {**previous, **settings}
    client.set_configuration({"tokenprism": current})
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"tokenprism": current})
    )
    return previous


@contextlib.asynccontextmanager
async def configured(client, **settings):
    """Settings changed for the body of a ``with`` block, then put back."""
    previous = await reconfigure(client, **settings)
    try:
        yield
    finally:
        client.set_configuration({"tokenprism": previous})
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"tokenprism": previous})
        )
        await asyncio.sleep(0.1)


# -- independent references ---------------------------------------------------------------------


def units(text: str, encoding: str) -> int:
    if encoding == "utf-16":
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text)


def reference_position(text: str, offset: int, encoding: str) -> dict:
    """LSP position of a character offset, from the text before it. An offset between
    "\\r" and "\\n" stays on the line of the "\\r" (no LSP position can say otherwise)."""
    prefix = text[:offset]
    breaks = list(re.finditer(r"\r\n|\r|\n", prefix))
    if (breaks and breaks[-1].end() == offset and breaks[-1].group() == "\r"
            and text[offset : offset + 1] == "\n"):
        breaks.pop()
    line_start = breaks[-1].end() if breaks else 0
    return {"line": len(breaks), "character": units(text[line_start:offset], encoding)}


def reference_offsets(tokenizer, ids: list[int], text: str) -> list[tuple[int, int]]:
    """Character span of each token from the tokens' bytes: a character belongs to the
    token holding its first byte."""
    data = text.encode("utf-8")
    lead = [0]
    for byte in data:
        lead.append(lead[-1] + ((byte & 0xC0) != 0x80))
    spans, position = [], 0
    for token_id in ids:
        length = len(tokenizer.token_bytes(token_id))
        spans.append((lead[position], lead[min(position + length, len(data))]))
        position += length
    assert position == len(data), "the tokens' bytes do not spell the text"
    return spans


def reference_anchors(tokenizer, ids: list[int], text: str) -> list[int]:
    """The character each token counts at: the one holding the first byte of its display
    segment. A token that starts on a character boundary holds that character's first byte;
    one that starts inside a character (the tail of a split character) counts with the token
    before it (``" \\xf0"`` then the emoji's tail bytes all count at the space)."""
    data = text.encode("utf-8")
    anchors, position, anchor = [], 0, 0
    lead_before = [0]
    for byte in data:
        lead_before.append(lead_before[-1] + ((byte & 0xC0) != 0x80))
    for token_id in ids:
        if (data[position] & 0xC0) != 0x80:
            anchor = lead_before[position]
        anchors.append(anchor)
        position += len(tokenizer.token_bytes(token_id))
    return anchors


def line_spans(text: str) -> list[tuple[int, int, int]]:
    """(start, content end, next start) of every line."""
    out, start = [], 0
    for m in re.finditer(r"\r\n|\r|\n", text):
        out.append((start, m.start(), m.end()))
        start = m.end()
    out.append((start, len(text), len(text)))
    return out

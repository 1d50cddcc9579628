"""The server's cost rules as plain functions: the budget forms, the tokens a dollar budget buys
(against genai-prices' own price calculation, tiers included), and a tokenizer spec never
loading the price data."""

from __future__ import annotations

import pytest
from genai_prices import Usage, calc_price

from tokenprism.lsp.costs import affordable_tokens, budget_limit, catalog_entry, count_facts
from tokenprism.lsp.settings import Budget, Settings, parse_budget
from tokenprism.tokenization import pricing
from tokenprism.tokenization.costing import facts_for


@pytest.mark.parametrize(
    "raw, expected",
    [
        (8000, Budget("tokens", 8000, "8000")),
        ("8,000", Budget("tokens", 8000, "8000")),
        ("80", Budget("tokens", 80, "80")),
        ("80%", Budget("share", 0.8, "80%")),
        (" 12.5 % ".strip(), Budget("share", 0.125, "12.5 %")),
        ("$0.05", Budget("usd", 0.05, "$0.05")),
        (0, None),
        ("", None),
    ],
)
def test_budget_forms(raw, expected):
    assert parse_budget(raw) == expected


@pytest.mark.parametrize("raw", ["lots", "$", "$-1", "-5%", "0%", True, [1], -3, 1.5, "nan%", "80 %%"])
def test_a_malformed_budget_is_one_line(raw):
    settings, problems = Settings.from_dict({"budget": raw})
    assert settings.budget is None and len(problems) == 1 and "\n" not in problems[0]


@pytest.mark.parametrize("usd", [0.0001, 0.05, 0.6, 0.61, 1.0, 5.0])
def test_a_dollar_budget_buys_what_genai_prices_charges(usd):
    """claude-sonnet-4-5 doubles its input price above 200k tokens: the budget stops where
    genai-prices' own calculation crosses the amount."""
    prices = facts_for("claude-sonnet-4-5", 1).prices
    n = affordable_tokens(usd, prices)

    def charged(tokens: int) -> float:
        return float(
            calc_price(
                Usage(input_tokens=tokens), model_ref="claude-sonnet-4-5", provider_id="anthropic"
            ).input_price
        )

    assert charged(n) <= usd * (1 + 1e-9) and charged(n + 1) > usd * (1 - 1e-9)


def test_share_and_dollar_budgets_need_a_window_and_a_price():
    facts = count_facts("o200k_base", 100, None, None, {})
    assert budget_limit(Budget("share", 0.5, "50%"), facts).limit is None
    assert "context window" in budget_limit(Budget("share", 0.5, "50%"), facts).problem
    assert "input price" in budget_limit(Budget("usd", 1.0, "$1"), facts).problem
    windowed = count_facts("o200k_base", 100, None, 1000, {})
    assert budget_limit(Budget("share", 0.5, "50%"), windowed).limit == 500


def test_a_tokenizer_spec_never_loads_the_price_data():
    pricing.reset()
    try:
        assert catalog_entry("o200k_base", {}) is None and catalog_entry("/some/tokenizer.json", {}) is None
        assert pricing._state is None
        assert catalog_entry("gpt-5", {}).prices is not None
        assert pricing._state is not None
    finally:
        pricing.reset()

"""What every CLI command says about cost: the user's price overrides (``--prices FILE.json`` or
``$TOKENPRISM_PRICES``, the same entries as the ``tokenprism.prices`` setting), the facts of a
count for the model asked for (:mod:`..tokenization.costing`), and the lines that state once
what an estimate is based on and where the prices come from."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..tokenization.costing import CountFacts, facts_for, format_window_size, model_info
from ..tokenization.model_catalog import Exactness, ModelInfo, Override, parse_overrides, split_name
from ..tokenization.pricing import Prices, data_info
from ..tokenization.spec import is_api_model_name
from . import UsageError

PRICES_ENV = "TOKENPRISM_PRICES"
MAX_PRICES_BYTES = 4 << 20


def add_prices_option(parser) -> None:
    """``--prices FILE.json``, on a parser or an argument group."""
    parser.add_argument(
        "--prices",
        metavar="FILE.json",
        default=None,
        help="prices, windows and tokenizers that change or add models: a JSON object like the "
        f"tokenprism.prices setting, {{\"my-model\": {{\"input\": 1.0, \"output\": 2.0}}}} "
        f"(also ${PRICES_ENV})",
    )


def overrides(args: argparse.Namespace) -> dict[str, Override]:
    """The user's price entries, read once per command; bad entries are reported in one line
    each on stderr and skipped, an unreadable file is a usage error."""
    cached = getattr(args, "_price_overrides", None)
    if cached is not None:
        return cached
    path = getattr(args, "prices", None) or os.environ.get(PRICES_ENV) or ""
    good: dict[str, Override] = {}
    if path:
        raw = _read_json(path)
        good, problems = parse_overrides(raw)
        for problem in problems:
            print(f"tokenprism: {path}: {problem.removeprefix('tokenprism.prices')}", file=sys.stderr)
    args._price_overrides = good
    return good


def _read_json(path: str):
    from ..tokenization.textfile import NotText, read_text_file

    try:
        text, _ = read_text_file(path, MAX_PRICES_BYTES)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file (--prices / ${PRICES_ENV})") from None
    except NotText as exc:
        raise UsageError(f"{path}: {exc.reason}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None


def model_tokenizers(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """The user entries' ``tokenizer`` fields, for ``LoadOptions.model_tokenizers``."""
    return tuple((name, o.tokenizer) for name, o in overrides(args).items() if o.tokenizer)


class Costing:
    """The facts of counts for one model spec: the catalog is asked once, not per file, and not
    at all for a tokenizer spec (``o200k_base``, a path) the user's entries do not name, so a
    plain count never loads the price data."""

    def __init__(self, spec: str, args: argparse.Namespace, tokenizer_window: int | None = None):
        self.spec = spec
        self.overrides = overrides(args)
        catalogued = is_api_model_name(spec) or split_name(spec)[1] in self.overrides
        self.info: ModelInfo | None = model_info(spec, self.overrides) if catalogued else None
        self.tokenizer_window = tokenizer_window

    def facts(self, tokens: int, api_tokens: int | None = None) -> CountFacts:
        if self.info is None:  # what facts_for says without a catalog entry, without asking again
            return CountFacts(self.spec, tokens, tokens if api_tokens is None else api_tokens,
                              Exactness.EXACT if api_tokens is None else Exactness.EXACT_API,
                              context_window=self.tokenizer_window)
        return facts_for(self.spec, tokens, tokenizer_window=self.tokenizer_window, overrides=self.overrides,
                         api_tokens=api_tokens, info=self.info)


# -- wording ----------------------------------------------------------------------------------


def per_million(price: float | None) -> str:
    """A price per million tokens as price lists write it: ``$3``, ``$0.075``, ``$1.25``."""
    if price is None:
        return "—"
    return "$" + (f"{price:.4f}".rstrip("0").rstrip(".") if price else "0")


def estimate_note(facts: CountFacts) -> str | None:
    """The one line that says what ``≈`` means for this model; None for an exact count."""
    if facts.exact:
        return None
    return f"≈ estimate for {facts.model}: {facts.basis}"


def prices_note(facts: CountFacts) -> str:
    """Where the cost comes from, or why there is none."""
    prices: Prices | None = facts.prices
    if prices is None or prices.input is None:
        return (f"no price known for {facts.model} (a tokenizer or an unknown model: "
                "name an API model with -m, "
                f"e.g. gpt-5 or claude-sonnet-4-5, or give one with --prices FILE.json)")
    window = f", context window {format_window_size(facts.context_window)}" if facts.context_window else ""
    tiers = " (tiered: more above " + ", ".join(f"{t.start:,}" for t in prices.input_tiers) \
        + " input tokens)" if prices.input_tiers else ""
    source = facts.price_source or data_info().describe()
    return (f"prices for {facts.model}: input {per_million(prices.input)}, "
            f"output {per_million(prices.output)} "
            f"per million tokens{tiers}{window} · {source}")


"""What a token count means for the model a user calls: the number to show (calibrated for an
estimate, the provider's own when its count-tokens API answered), whether it is exact and on
what basis if not, its input cost and its share of the context window — and how to write each.

One place for these facts and their wording, so the CLI, hints, hover and status bar agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import pricing
from .model_catalog import Exactness, ModelInfo, resolve_model
from .pricing import Prices
from .spec import is_api_model_name

ESTIMATE_MARK = "≈"


@dataclass(frozen=True)
class CountFacts:
    model: str  # the model spec as the user wrote it
    tokenizer_tokens: int  # what the tokenizer that runs here counted
    count: int  # the number to show
    exactness: Exactness
    basis: str | None = None  # for estimates: what counted and how
    prices: Prices | None = None  # USD per million tokens
    context_window: int | None = None
    price_source: str | None = None

    @property
    def exact(self) -> bool:
        return self.exactness is not Exactness.ESTIMATE

    @property
    def cost(self) -> float | None:
        """USD for ``count`` input tokens (tiered prices chosen by this count)."""
        return pricing.cost(self.count, self.prices, "input")

    def output_cost(self, tokens: int) -> float | None:
        return pricing.cost(tokens, self.prices, "output", self.count)

    @property
    def window_share(self) -> float | None:
        return pricing.window_share(self.count, self.context_window)

    def to_json(self) -> dict:
        """The facts as the CLI's ``--json`` and the server's messages carry them."""
        prices = self.prices
        return {
            "count": self.count,
            "exact": self.exact,
            "exactness": self.exactness.value,
            "basis": self.basis,
            "cost": self.cost,
            "price": None if prices is None else {
                "input": prices.input, "output": prices.output, "cachedInput": prices.cached_input,
                "currency": "USD", "per": 1_000_000, "source": self.price_source,
            },
            "contextWindow": self.context_window,
            "windowShare": self.window_share,
        }


def model_info(spec: str, overrides=None) -> ModelInfo | None:
    """The catalog entry for ``spec`` when it names a model the catalog or the user's prices know."""
    try:
        return resolve_model(spec, overrides)
    except Exception:  # noqa: BLE001 — a broken price data file must not stop counting
        return None


def facts_for(spec: str, tokenizer_tokens: int, *, tokenizer_window: int | None = None, overrides=None,
              api_tokens: int | None = None, info: ModelInfo | None = None) -> CountFacts:
    """The facts for ``tokenizer_tokens`` counted for model ``spec``.

    ``tokenizer_window``: the window the tokenizer's own files state (GGUF, tokenizer_config),
    used when the catalog has none. ``api_tokens``: the provider's count-tokens answer for the
    same text, which makes the count exact (API). ``info``: ``model_info(spec)`` if known already.
    A tokenizer spec (``o200k_base``, ``llama3``, a path…) is exact by definition: it is the
    tokenizer that runs; the catalog only adds prices when it agrees that tokenizer is the model's.
    """
    info = info if info is not None else model_info(spec, overrides)
    if info is not None and not is_api_model_name(spec) and info.exactness is Exactness.ESTIMATE:
        info = None  # e.g. "mistral-tekken" picked as a tokenizer: exact for itself, no model prices
    window = (info.context_window if info else None) or tokenizer_window
    common = dict(model=spec, tokenizer_tokens=tokenizer_tokens, context_window=window,
                  prices=info.prices if info else None, price_source=info.price_source if info else None)
    if api_tokens is not None:
        return CountFacts(count=api_tokens, exactness=Exactness.EXACT_API, **common)
    if info is None or info.exact:
        return CountFacts(count=tokenizer_tokens, exactness=Exactness.EXACT, **common)
    return CountFacts(count=info.count(tokenizer_tokens), exactness=Exactness.ESTIMATE, basis=info.basis,
                      **common)


# -- wording --------------------------------------------------------------------------------------


def format_count(n: int, exact: bool = True) -> str:
    """``1,234`` or, for an estimate, ``≈1,234``."""
    return f"{'' if exact else ESTIMATE_MARK}{n:,}"


def format_cost(usd: float | None) -> str:
    """Dollars with the digits that matter: ``$0.0031``, ``$0.05``, ``$12.40``; ``$0`` for nothing."""
    if usd is None:
        return "—"
    if usd == 0:
        return "$0"
    if usd >= 1:
        return f"${usd:,.2f}"
    if usd >= 0.01:
        return f"${usd:.3f}".rstrip("0").rstrip(".") if usd < 0.1 else f"${usd:.2f}"
    digits = 2  # two significant digits for fractions of a cent
    text = f"{usd:.{digits - 1}e}"
    mantissa, exponent = text.split("e")
    places = max(0, -int(exponent) + digits - 1)
    return f"${usd:.{places}f}"


def format_window_size(tokens: int) -> str:
    """``200k``, ``1M``, ``1.05M``, ``8,192``: a context window as people name it."""
    if tokens >= 1_000_000:
        if tokens % (1 << 20) == 0:  # 1,048,576 is what Gemini calls "1M"
            return f"{tokens >> 20}M"
        return f"{tokens / 1_000_000:.2f}".rstrip("0").rstrip(".") + "M"
    if tokens >= 10_000:
        return f"{tokens / 1000:.0f}k" if tokens % 1000 == 0 or tokens % 1024 else f"{tokens // 1024}k"
    return f"{tokens:,}"


def format_window_share(share: float | None, window: int | None) -> str:
    """``0.6 % of 200k``; ``<0.1 %`` for a sliver; empty without a window."""
    if share is None or not window:
        return ""
    percent = share * 100
    shown = "<0.1" if 0 < percent < 0.1 else (f"{percent:.1f}" if percent < 10 else f"{percent:.0f}")
    return f"{shown} % of {format_window_size(window)}"

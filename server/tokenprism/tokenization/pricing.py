"""Prices and context windows from the ``genai-prices`` data package, and what tokens cost.

genai-prices works offline from the data bundled in the installed package. ``update_prices``
(opt-in, network) fetches its newest data file and keeps it in TokenPrism's cache, where every
later process finds it; nothing here touches the network otherwise. The data loads on first
use (~0.2 s), not at import.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from .cache import cache_dir

# genai-prices' own update source (genai_prices.update_prices.DEFAULT_UPDATE_URL)
UPDATE_URL = "https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/prices/new_data/v2/data.json"  # noqa: E501
_UPDATED_FILE = "genai-prices.json"


@dataclass(frozen=True)
class PriceTier:
    start: int  # above this many input tokens, every token of the request costs ``price``
    price: float  # USD per million tokens


@dataclass(frozen=True)
class Prices:
    """USD per million tokens; None when the data has no such price."""

    input: float | None = None
    output: float | None = None
    cached_input: float | None = None  # cache read
    cache_write: float | None = None
    training: float | None = None  # genai-prices has no training prices; only user overrides set it
    input_tiers: tuple[PriceTier, ...] = ()  # above the base price; selected by the request's input tokens
    output_tiers: tuple[PriceTier, ...] = ()


@dataclass(frozen=True)
class PriceRecord:
    provider: str  # genai-prices provider id ("openai", "openrouter"…)
    model_id: str  # genai-prices model id
    name: str | None
    prices: Prices
    context_window: int | None
    deprecated: bool


@dataclass(frozen=True)
class DataInfo:
    version: str  # "genai-prices 0.2.3"
    fetched_at: datetime | None  # when ``update_prices`` fetched the data in use; None: the bundled data
    path: str | None  # the fetched file in use

    def describe(self) -> str:
        if self.fetched_at is None:
            return f"{self.version} (bundled data)"
        return f"genai-prices data fetched {self.fetched_at:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class UpdateResult:
    path: str
    providers: int
    models: int
    fetched_at: datetime


_lock = threading.Lock()
_state: tuple[object, DataInfo] | None = None  # (genai_prices DataSnapshot, its description)


def _version() -> str:
    from importlib.metadata import version

    return f"genai-prices {version('genai-prices')}"


def _updated_file() -> Path:
    return cache_dir("prices") / _UPDATED_FILE


def _providers_from_raw(raw):
    from genai_prices import types

    parse = getattr(types, "_providers_from_raw", None)  # private; how genai-prices itself reads updates
    if parse is None:
        raise RuntimeError(f"{_version()} cannot read fetched data (no _providers_from_raw)")
    if not isinstance(raw, list):
        raise ValueError("expected a JSON array of providers")
    return parse(raw)


def _snapshot():
    """genai-prices' data: the fetched file when there is a readable one, else the bundled data."""
    global _state
    with _lock:
        if _state is None:
            from genai_prices import data_snapshot

            path = _updated_file()
            snapshot = None
            if path.is_file():
                try:
                    providers = _providers_from_raw(json.loads(path.read_bytes()))
                    snapshot = data_snapshot.DataSnapshot(providers, from_auto_update=True)
                    fetched = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
                    info = DataInfo(_version(), fetched, str(path))
                except (OSError, ValueError, TypeError, KeyError, RuntimeError):
                    snapshot = None  # a damaged download: the bundled data still works
            if snapshot is None:
                snapshot = data_snapshot._bundled_snapshot()
                info = DataInfo(_version(), None, None)
            _state = (snapshot, info)
        return _state


def data_info() -> DataInfo:
    return _snapshot()[1]


def reset() -> None:
    """Forget the loaded data (the next lookup reads it again); for tests and after an update."""
    global _state
    with _lock:
        _state = None


def update_prices(url: str = UPDATE_URL, timeout: float = 15.0) -> UpdateResult:
    """Fetch genai-prices' newest data (network, opt-in) and keep it for every later lookup.

    Raises OSError (network, HTTP status) or ValueError (not genai-prices data) with a one-line
    message; the data in use is unchanged then.
    """
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise OSError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError) as exc:
        raise OSError(f"{url}: {getattr(exc, 'reason', exc)}") from exc
    try:
        providers = _providers_from_raw(json.loads(body))
    except Exception as exc:  # pydantic or JSON errors: the download is not usable
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise ValueError(f"{url}: not genai-prices data ({type(exc).__name__}: {first_line})") from exc
    path = _updated_file()
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(body)
    tmp.replace(path)
    reset()
    return UpdateResult(str(path), len(providers), sum(len(p.models) for p in providers),
                        datetime.fromtimestamp(path.stat().st_mtime, timezone.utc))


def _float(value) -> float | None:
    return float(value) if isinstance(value, (Decimal, int, float)) else None


def _base_and_tiers(value) -> tuple[float | None, tuple[PriceTier, ...]]:
    from genai_prices.types import TieredPrices

    if isinstance(value, TieredPrices):
        return float(value.base), tuple(PriceTier(t.start, float(t.price)) for t in value.tiers)
    return _float(value), ()


def _prices(model) -> Prices:
    model_price = model.get_prices(datetime.now(timezone.utc))  # the price in force today
    input_, input_tiers = _base_and_tiers(model_price.input_mtok)
    output, output_tiers = _base_and_tiers(model_price.output_mtok)
    return Prices(
        input=input_,
        output=output,
        cached_input=_base_and_tiers(model_price.cache_read_mtok)[0],
        cache_write=_base_and_tiers(model_price.cache_write_mtok)[0],
        input_tiers=input_tiers,
        output_tiers=output_tiers,
    )


def lookup(model_ref: str, provider: str | None = None) -> PriceRecord | None:
    """genai-prices' entry for ``model_ref`` (its own matching: aliases, dated names), at
    ``provider`` or at the provider genai-prices infers from the name; None when unknown."""
    snapshot = _snapshot()[0]
    try:
        found_provider, model = snapshot.find_provider_model(model_ref, None, provider, None)
    except LookupError:
        # an entry's own id can miss its match rules (mistral "codestral"): take it by id
        listed = provider_models(provider) if provider else []
        return next((r for r in listed if r.model_id.lower() == model_ref.strip().lower()), None)
    return PriceRecord(found_provider.id, model.id, model.name, _prices(model), model.context_window,
                       bool(model.deprecated))


def provider_models(provider: str) -> list[PriceRecord]:
    """Every model genai-prices lists for ``provider`` (no fallbacks to other providers)."""
    snapshot = _snapshot()[0]
    for p in snapshot.providers:
        if p.id == provider:
            return [PriceRecord(p.id, m.id, m.name, _prices(m), m.context_window, bool(m.deprecated))
                    for m in p.models]
    return []


def provider_ids() -> list[str]:
    return [p.id for p in _snapshot()[0].providers]


def unit_price(base: float | None, tiers: tuple[PriceTier, ...], input_tokens: int) -> float | None:
    """The price per million tokens for a request of ``input_tokens``: the highest tier reached
    applies to every token (genai-prices' and the providers' "cliff" model)."""
    price = base
    for tier in tiers:
        if input_tokens > tier.start:
            price = tier.price
    return price


def cost(
    tokens: int, prices: Prices | None, kind: str = "input", input_tokens: int | None = None
) -> float | None:
    """USD for ``tokens`` of ``kind`` ("input", "output", "cached_input", "training"); None when
    that price is unknown. Tiers are chosen by the request's input tokens (``input_tokens``,
    default: ``tokens`` for input, the base price otherwise)."""
    if prices is None:
        return None
    if kind == "input":
        price = unit_price(prices.input, prices.input_tiers, tokens if input_tokens is None else input_tokens)
    elif kind == "output":
        price = unit_price(prices.output, prices.output_tiers, input_tokens or 0)
    elif kind in ("cached_input", "training"):
        price = getattr(prices, kind)
    else:
        raise ValueError(f"unknown price kind {kind!r}; use input, output, cached_input or training")
    return None if price is None else tokens * price / 1_000_000


def window_share(tokens: int, window: int | None) -> float | None:
    """``tokens`` as a fraction of the context window (1.0 = full); None without a window."""
    return tokens / window if window else None

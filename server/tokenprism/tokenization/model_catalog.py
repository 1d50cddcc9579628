"""API model names (``gpt-5``, ``claude-sonnet-4-5``, ``anthropic:claude-sonnet-4-5``…) resolved to
the tokenizer that counts them, how exact that count is, their prices and context window.

Prices and windows come from genai-prices (:mod:`.pricing`); the tokenizer of each model family
is the one table here (OpenAI names: :func:`.spec.openai_encoding`). User overrides (the
``tokenprism.prices`` setting) change or add models.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from enum import Enum

from . import pricing
from .pricing import Prices, PriceTier
from .spec import openai_encoding

# Claude's tokenizer is not public and Anthropic's SDK no longer counts offline. The factor is
# from a published comparison (VentureBeat, "Hidden costs in AI deployment", May 2025): Claude
# 3.5 Sonnet needed 16 % (English prose) to 30 % (Python code) more tokens than GPT-4o's
# o200k_base for the same text; 1.2 sits in that range. Newer Claude tokenizers are unmeasured.
CLAUDE_CALIBRATION = 1.2


class Exactness(str, Enum):
    EXACT = "exact"  # the model's real tokenizer runs here
    EXACT_API = "exact-api"  # the provider's count-tokens endpoint answered (set by the API client)
    ESTIMATE = "estimate"  # another tokenizer counts; see ``basis``


@dataclass(frozen=True)
class ModelInfo:
    name: str  # the API model name as asked for, lower case, without a provider prefix
    provider: str  # the maker: "openai", "anthropic", "google", "mistral", "deepseek", "qwen", "meta"…
    tokenizer: str  # a model spec load_tokenizer understands
    exactness: Exactness
    basis: str | None = None  # for estimates: what counts and how ("o200k_base × 1.2 calibration…")
    calibration: float | None = None  # multiply the tokenizer's count by this (estimates only)
    prices: Prices | None = None  # USD per million tokens
    context_window: int | None = None  # input tokens
    max_output: int | None = None
    price_source: str | None = None  # "genai-prices 0.2.3 (bundled data)", "… fetched …", "user override"
    price_model: str | None = None  # the genai-prices entry used, "provider:model-id"
    deprecated: bool = False

    @property
    def exact(self) -> bool:
        return self.exactness is not Exactness.ESTIMATE

    @property
    def input_price(self) -> float | None:
        return self.prices.input if self.prices else None

    @property
    def output_price(self) -> float | None:
        return self.prices.output if self.prices else None

    @property
    def cached_input_price(self) -> float | None:
        return self.prices.cached_input if self.prices else None

    @property
    def training_price(self) -> float | None:
        return self.prices.training if self.prices else None

    def count(self, tokenizer_count: int) -> int:
        """The model's token count from its tokenizer's count (calibrated for estimates)."""
        return math.ceil(tokenizer_count * self.calibration) if self.calibration else tokenizer_count

    def cost(self, tokens: int, kind: str = "input", input_tokens: int | None = None) -> float | None:
        return pricing.cost(tokens, self.prices, kind, input_tokens)

    def window_share(self, tokens: int) -> float | None:
        return pricing.window_share(tokens, self.context_window)


@dataclass(frozen=True)
class Family:
    provider: str
    pattern: re.Pattern  # matched against the lower-case name without provider prefix
    tokenizer: str
    exactness: Exactness
    basis: str | None = None
    calibration: float | None = None
    price_refs: tuple[tuple[str, str], ...] = ()  # (genai-prices provider, name prefix) to try in order
    openrouter_org: str | None = None  # for a window genai-prices has only at OpenRouter


def _family(provider, pattern, tokenizer, exactness=Exactness.EXACT, basis=None, calibration=None,
            price_refs=(), openrouter_org=None) -> Family:
    return Family(provider, re.compile(pattern), tokenizer, exactness, basis, calibration, price_refs,
                  openrouter_org)


_HOSTED_QWEN = r"(?=.*\b(max|plus|flash|turbo)\b)"  # Alibaba's hosted models: tokenizer not published
_QWEN_HOSTS = (("openrouter", "qwen/"), ("fireworks", ""), ("groq", "qwen/"), ("novita", "qwen/"))
_LLAMA_HOSTS = (("groq", ""), ("cerebras", ""), ("together", "meta-llama/"), ("openrouter", "meta-llama/"),
                ("novita", "meta-llama/"))

# First match wins. OpenAI names are checked before this table (spec.openai_encoding).
FAMILIES: tuple[Family, ...] = (
    _family("anthropic", r"^claude-", "o200k_base", Exactness.ESTIMATE,
            f"o200k_base × {CLAUDE_CALIBRATION} calibration (Claude's tokenizer is not public; factor from"
            " a published Claude 3.5 vs GPT-4o comparison)", CLAUDE_CALIBRATION, openrouter_org="anthropic/"),
    _family("google", r"^gemini-", "o200k_base", Exactness.ESTIMATE,
            "o200k_base, uncalibrated (Gemini's tokenizer is not available offline)",
            openrouter_org="google/"),
    # mistral-common's own model table: Tekken for these, SentencePiece v3 / v7 for the others.
    _family("mistral", r"^(open-mistral-nemo|ministral-8b-2410|mistral-small-2409|pixtral-12b)",
            "mistral-tekken", openrouter_org="mistralai/"),
    _family("mistral", r"^(open-mistral-7b|mistral-tiny-2407|open-mixtral-8x22b|mistral-large-2407"
            r"|codestral-2405|codestral-mamba)", "mistral-v3", openrouter_org="mistralai/"),
    _family("mistral", r"^(mistral-large-2411|pixtral-large-2411)", "mistral-v7",
            openrouter_org="mistralai/"),
    _family("mistral", r"^(mistral-|codestral|ministral|pixtral|magistral|devstral|open-mi)",
            "mistral-tekken", Exactness.ESTIMATE,
            "mistral-tekken (the 2024 Tekken vocabulary; newer Mistral models may use"
            " a revised one), uncalibrated", openrouter_org="mistralai/"),
    _family("deepseek", r"^deepseek-(v4)", "deepseek-v4", openrouter_org="deepseek/"),
    # deepseek-chat / -reasoner are DeepSeek's aliases for its current V3.x model; distilled
    # models are Qwen or Llama and fall through to those families.
    _family("deepseek", r"^deepseek-(?!.*(distill|qwen|llama))(chat|reasoner|v3|r1)", "deepseek-v3",
            openrouter_org="deepseek/"),
    _family("qwen", "^" + _HOSTED_QWEN + r"qwen3\.[56]", "qwen3.6", Exactness.ESTIMATE,
            "qwen3.6 vocabulary, uncalibrated (hosted Qwen models do not publish their tokenizer)",
            price_refs=_QWEN_HOSTS, openrouter_org="qwen/"),
    _family("qwen", r"^qwen3\.[56]", "qwen3.6", price_refs=_QWEN_HOSTS, openrouter_org="qwen/"),
    _family("qwen", r"^qwen3\.\d", "qwen3.6", Exactness.ESTIMATE,
            "qwen3.6 vocabulary, uncalibrated (newer than the shipped Qwen vocabulary)",
            price_refs=_QWEN_HOSTS, openrouter_org="qwen/"),
    _family("qwen", "^" + _HOSTED_QWEN + r"qwen3-", "qwen3", Exactness.ESTIMATE,
            "qwen3 vocabulary, uncalibrated (hosted Qwen models do not publish their tokenizer)",
            price_refs=_QWEN_HOSTS, openrouter_org="qwen/"),
    _family("qwen", r"^qwen3-", "qwen3", price_refs=_QWEN_HOSTS, openrouter_org="qwen/"),
    # Llama 3.0-3.3 share one 128k-token vocabulary (3.1+ only rename reserved special tokens).
    _family("meta", r"^(meta-)?llama-?3(\.[0-3])?([-:]|$)", "llama3", price_refs=_LLAMA_HOSTS,
            openrouter_org="meta-llama/"),
)

_MAKERS = {f.provider for f in FAMILIES} | {"openai"}
UNKNOWN_BASIS = "o200k_base, uncalibrated (no tokenizer is known for this model)"
# Where genai-prices lists the makers' own models; the catalog listing shows these.
MAKER_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "google": "google", "mistral": "mistral",
                   "deepseek": "deepseek"}
FEATURED = ("qwen3-235b-a22b", "qwen3-32b", "qwen3-max", "qwen3-coder-plus", "llama-3.3-70b-versatile",
            "llama-3.1-8b-instant")
ORG_PREFIXES = ("meta-llama/", "qwen/", "mistralai/", "deepseek/", "google/", "anthropic/", "openai/")


def split_name(name: str) -> tuple[str | None, str]:
    """``"anthropic:claude-sonnet-4-5"`` -> ("anthropic", "claude-sonnet-4-5")."""
    text = name.strip().lower()
    provider, sep, model = text.partition(":")
    if sep and provider and model and "/" not in provider and not provider.startswith("ft"):
        return provider, model
    return None, text


def _tokenizer_family(model: str) -> Family | None:
    encoding = openai_encoding(model)
    if encoding is not None:
        return Family("openai", re.compile(""), encoding, Exactness.EXACT, openrouter_org="openai/")
    bare = next((model[len(p):] for p in ORG_PREFIXES if model.startswith(p)), model)
    return next((f for f in FAMILIES if f.pattern.search(bare)), None)


def _price_record(model: str, provider: str | None, family: Family | None) -> pricing.PriceRecord | None:
    if provider is not None:
        return pricing.lookup(model, provider)
    found = pricing.lookup(model)
    if not found and family and family.provider in pricing.provider_ids():  # "codestral" at mistral
        found = pricing.lookup(model, family.provider)
    for host, prefix in (family.price_refs if family and not found else ()):
        found = pricing.lookup(model if model.startswith(prefix) else prefix + model, host)
        if found:
            break
    return found


def _window(model: str, record: pricing.PriceRecord | None, family: Family | None) -> int | None:
    if record and record.context_window:
        return record.context_window
    if family and family.openrouter_org:  # genai-prices often has the window only at OpenRouter
        names = [model] + ([record.model_id] if record else [])
        for bare in dict.fromkeys(n.split("/")[-1] for n in names):
            other = pricing.lookup(family.openrouter_org + bare, "openrouter")
            if other and other.context_window:
                return other.context_window
    return None


def _catalog_model(name: str) -> ModelInfo | None:
    provider, model = split_name(name)
    if provider is not None and provider not in pricing.provider_ids() and provider not in _MAKERS:
        return None
    family = _tokenizer_family(model)
    host = provider if provider in pricing.provider_ids() else None
    record = _price_record(model, host, family)
    if family is None and record is None:
        return None
    source = pricing.data_info().describe() if record else None
    common = dict(
        name=model,
        prices=record.prices if record else None,
        context_window=_window(model, record, family),
        price_source=source,
        price_model=f"{record.provider}:{record.model_id}" if record else None,
        deprecated=record.deprecated if record else False,
    )
    if family is None:
        return ModelInfo(provider=provider or record.provider, tokenizer="o200k_base",
                         exactness=Exactness.ESTIMATE, basis=UNKNOWN_BASIS, **common)
    return ModelInfo(provider=family.provider, tokenizer=family.tokenizer, exactness=family.exactness,
                     basis=family.basis, calibration=family.calibration, **common)


# -- user overrides (the tokenprism.prices setting) ----------------------------------------------

_PRICE_KEYS = {"input": "input", "output": "output", "cachedInput": "cached_input",
               "cacheWrite": "cache_write", "training": "training"}
_INT_KEYS = {"contextWindow": "context_window", "maxOutput": "max_output"}
_OTHER_KEYS = {"tokenizer", "provider", "exact", "calibration"}


@dataclass(frozen=True)
class Override:
    prices: dict  # Prices field -> float
    context_window: int | None = None
    max_output: int | None = None
    tokenizer: str | None = None
    provider: str | None = None
    exact: bool | None = None
    calibration: float | None = None


def parse_overrides(raw) -> tuple[dict[str, Override], list[str]]:
    """Validate a ``tokenprism.prices`` mapping: the good entries, and one line per bad one."""
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, ["tokenprism.prices: expected an object of model name -> {input, output, ...},"
                    f" got {type(raw).__name__}"]
    good: dict[str, Override] = {}
    errors: list[str] = []
    for name, entry in raw.items():
        problem = _override_problem(name, entry)
        if problem:
            errors.append(f"tokenprism.prices[{name!r}]: {problem}")
            continue
        good[split_name(name)[1]] = Override(
            prices={_PRICE_KEYS[k]: float(v) for k, v in entry.items() if k in _PRICE_KEYS},
            context_window=entry.get("contextWindow"),
            max_output=entry.get("maxOutput"),
            tokenizer=entry.get("tokenizer"),
            provider=entry.get("provider"),
            exact=entry.get("exact"),
            calibration=entry.get("calibration"),
        )
    return good, errors


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _override_problem(name, entry) -> str | None:
    if not isinstance(name, str) or not name.strip():
        return "the model name is empty"
    if not isinstance(entry, dict):
        return f"expected an object like {{\"input\": 1.0, \"output\": 2.0}}, got {type(entry).__name__}"
    unknown = sorted(set(entry) - set(_PRICE_KEYS) - set(_INT_KEYS) - _OTHER_KEYS)
    if unknown:
        known = ", ".join(list(_PRICE_KEYS) + list(_INT_KEYS) + sorted(_OTHER_KEYS))
        return f"unknown key {unknown[0]!r} (known: {known})"
    for key in _PRICE_KEYS:
        if key in entry and not (_is_number(entry[key]) and entry[key] >= 0):
            return f"{key} must be a price in USD per million tokens (a number >= 0), got {entry[key]!r}"
    for key in _INT_KEYS:
        v = entry.get(key)
        if key in entry and not (isinstance(v, int) and not isinstance(v, bool) and v > 0):
            return f"{key} must be a whole number of tokens > 0, got {v!r}"
    for key in ("tokenizer", "provider"):
        if key in entry and not (isinstance(entry[key], str) and entry[key].strip()):
            return f"{key} must be a non-empty string, got {entry[key]!r}"
    if "exact" in entry and not isinstance(entry["exact"], bool):
        return f"exact must be true or false, got {entry['exact']!r}"
    if "calibration" in entry and not (_is_number(entry["calibration"]) and entry["calibration"] > 0):
        return f"calibration must be a number > 0, got {entry['calibration']!r}"
    return None


def _apply(base: ModelInfo | None, name: str, o: Override) -> ModelInfo:
    if base is None:  # a model the catalog does not know
        base = ModelInfo(name=name, provider=o.provider or "custom", tokenizer="o200k_base",
                         exactness=Exactness.ESTIMATE, basis=UNKNOWN_BASIS)
    changes: dict = {}
    if o.prices:
        changes["prices"] = replace(base.prices or Prices(), **o.prices)
        changes["price_source"] = "user override"
    if o.context_window is not None:
        changes["context_window"] = o.context_window
    if o.max_output is not None:
        changes["max_output"] = o.max_output
    if o.provider is not None:
        changes["provider"] = o.provider
    if o.tokenizer is not None or o.exact is not None or o.calibration is not None:
        tokenizer = o.tokenizer or base.tokenizer
        # Naming the tokenizer asserts it is the model's own, unless "exact": false says otherwise.
        exact = o.exact if o.exact is not None else (o.tokenizer is not None and o.calibration is None)
        calibration = o.calibration if o.calibration is not None else (None if exact else base.calibration)
        changes.update(
            tokenizer=tokenizer,
            exactness=Exactness.EXACT if exact else Exactness.ESTIMATE,
            calibration=None if exact else calibration,
            basis=None if exact else f"{tokenizer}" + (f" × {calibration} calibration" if calibration else
                                                      ", uncalibrated") + " (user setting)",
        )
    return replace(base, **changes)


# -- the public API ------------------------------------------------------------------------------


def resolve_model(name: str, overrides: dict[str, Override] | dict | None = None) -> ModelInfo | None:
    """The catalog entry for an API model name (``gpt-5``, ``anthropic:claude-sonnet-4-5``), with the
    user's overrides applied; None when neither the catalog nor the overrides know the name.

    ``overrides``: parsed (:func:`parse_overrides`) or the raw setting (bad entries are skipped).
    """
    if not isinstance(name, str) or not name.strip():
        return None
    parsed = _parsed(overrides)
    model = split_name(name)[1]
    base = _catalog_model(name)
    override = parsed.get(model)
    if override is None:
        return base
    return _apply(base, model, override)


def _parsed(overrides) -> dict[str, Override]:
    if not overrides:
        return {}
    if all(isinstance(v, Override) for v in overrides.values()):
        return overrides
    return parse_overrides(overrides)[0]


def list_models(overrides: dict[str, Override] | dict | None = None) -> dict[str, list[ModelInfo]]:
    """The catalog by provider: the makers' own text models in genai-prices, a few Qwen and Llama
    models hosted elsewhere, and the user's overrides; within a provider, sorted by name."""
    parsed = _parsed(overrides)
    names: dict[str, str | None] = {}  # bare name -> the provider whose entry listed it
    for provider in MAKER_PROVIDERS:
        for record in pricing.provider_models(provider):
            if record.prices.input is not None and record.prices.output is not None:
                names.setdefault(record.model_id, record.provider)
    names.update(dict.fromkeys(FEATURED))
    names.update(dict.fromkeys(parsed))
    grouped: dict[str, list[ModelInfo]] = {}
    for name, provider in names.items():
        info = resolve_model(name, parsed)
        if provider and (info is None or info.prices is None):  # the bare name missed the listing entry
            at_provider = resolve_model(f"{provider}:{name}", parsed)
            info = replace(at_provider, name=name) if at_provider is not None else info
        if info is not None:
            grouped.setdefault(info.provider, []).append(info)
    return {p: sorted(models, key=lambda m: m.name) for p, models in sorted(grouped.items())}


__all__ = [
    "CLAUDE_CALIBRATION", "Exactness", "FAMILIES", "ModelInfo", "Override", "PriceTier", "Prices",
    "list_models", "parse_overrides", "resolve_model", "split_name",
]

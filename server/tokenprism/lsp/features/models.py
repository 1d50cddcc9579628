"""``tokenprism/models``: every model the user could pick here, with how it would load, and the
API models of the catalog (prices, window, exactness) grouped by provider.

The answer is all a model picker needs: the groups in order with their titles, and each entry's
one-line ``description`` and ``detail`` in the server's words, so a client keeps no list of
models and no wording of its own."""

from __future__ import annotations

import asyncio

from ...tokenization import OPENAI_MODELS, pricing
from ...tokenization.costing import format_window_size
from ...tokenization.local_models import list_models
from ...tokenization.model_catalog import Exactness, ModelInfo
from ...tokenization.model_catalog import list_models as list_api_models
from .describe import per_million

METHOD = "tokenprism/models"

# the local groups a picker shows, in its order (entries of another group come after them)
LOCAL_GROUPS = {
    "builtin": "Built-in",
    "alias": "Aliases",
    "huggingface-cache": "In the Hugging Face cache",
    "gguf": "GGUF files in the search paths",
}
PROVIDER_TITLES = {
    "openai": "OpenAI", "anthropic": "Anthropic", "google": "Google", "mistral": "Mistral",
    "deepseek": "DeepSeek", "qwen": "Qwen", "meta": "Meta", "custom": "Your models (tokenprism.prices)",
}
EXACTNESS_WORDS = {
    Exactness.EXACT: "exact", Exactness.EXACT_API: "exact (API)", Exactness.ESTIMATE: "≈ estimate"
}


def provider_title(provider: str) -> str:
    return PROVIDER_TITLES.get(provider, provider[:1].upper() + provider[1:])


def api_model_json(info: ModelInfo) -> dict:
    return {
        "spec": info.name, "provider": info.provider, "tokenizer": info.tokenizer,
        "exactness": info.exactness.value, "basis": info.basis, "inputPrice": info.input_price,
        "outputPrice": info.output_price, "contextWindow": info.context_window, "deprecated": info.deprecated,
        "group": f"api:{info.provider}", "description": api_description(info), "detail": api_detail(info),
    }


def api_description(info: ModelInfo) -> str:
    """``exact · $1.25 / $10 per M in / out · 400k window``: what an API model's row says."""
    parts = [EXACTNESS_WORDS.get(info.exactness, info.exactness.value)]
    if info.input_price is not None or info.output_price is not None:
        parts.append(f"{per_million(info.input_price)} / {per_million(info.output_price)} per M in / out")
    if info.context_window:
        parts.append(f"{format_window_size(info.context_window)} window")
    if info.deprecated:
        parts.append("deprecated")
    return " · ".join(parts)


def api_detail(info: ModelInfo) -> str:
    """What counts for it: the basis of an estimate, else the tokenizer."""
    if info.exactness is Exactness.ESTIMATE and info.basis:
        return f"estimate: {info.basis}"
    return f"counted with {info.tokenizer}"


def local_detail(entry: dict) -> str | None:
    """How a local entry would load (or why it cannot), for the second line of its row."""
    if entry.get("problem"):
        return entry["problem"]
    how, target = entry.get("loadAs"), entry.get("target")
    where = f"{how}: {target}" if how and target else how
    parts = [f"loads from {where}" if where else None, "loaded" if entry.get("loaded") else None,
             entry.get("note")]
    return " · ".join(p for p in parts if p) or None


def builtin_description(spec: str) -> str:
    """An OpenAI encoding lists the model names it counts for; a model name, its encoding."""
    encoding = OPENAI_MODELS[spec]
    if spec != encoding:
        return f"OpenAI {spec}, counted with {encoding} (tiktoken)"
    names = [name for name, enc in OPENAI_MODELS.items() if enc == encoding and name != encoding]
    return f"OpenAI {', '.join(names)} (tiktoken)" if names else f"OpenAI {encoding} (tiktoken)"


def describe_local(models: list[dict]) -> list[dict]:
    for entry in models:
        if entry.get("group") == "builtin" and entry["spec"] in OPENAI_MODELS:
            entry["description"] = builtin_description(entry["spec"])
        entry["detail"] = local_detail(entry)
    return models


def groups_json(local: list[dict], api: list[dict]) -> list[dict]:
    """The picker's sections in order: the local groups, any other group found, then the API
    models by provider (the catalog is sorted by provider)."""
    present = dict.fromkeys(entry.get("group") or "other" for entry in local)
    order = [g for g in LOCAL_GROUPS if g in present] + [g for g in present if g not in LOCAL_GROUPS]
    groups = [{"id": g, "title": LOCAL_GROUPS.get(g, "Other models found")} for g in order]
    providers = dict.fromkeys(entry["provider"] for entry in api)
    groups += [{"id": f"api:{p}", "title": f"{provider_title(p)} — API models"} for p in providers]
    return groups


def catalog(search_paths, prices) -> dict:
    """The local tokenizers and the API models (genai-prices lookups: a worker's job)."""
    result = list_models(search_paths)
    describe_local(result["models"])
    try:
        grouped = list_api_models(prices)
        result["apiModels"] = [api_model_json(m) for models in grouped.values() for m in models]
        result["pricesSource"] = pricing.data_info().describe()
    except Exception as exc:  # noqa: BLE001 — broken price data must not hide the local models
        result["apiModels"] = []
        result["pricesSource"] = f"price data unavailable: {type(exc).__name__}: {exc}"
    result["groups"] = groups_json(result["models"], result["apiModels"])
    return result


def register(server) -> None:
    @server.feature(METHOD)
    async def models(ls, params) -> dict:
        paths = ls.settings.search_paths()
        result = await asyncio.get_running_loop().run_in_executor(None, catalog, paths, ls.settings.prices)
        result["current"] = ls.settings.model
        return result

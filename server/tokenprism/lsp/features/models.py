"""``tokenprism/models``: every model the user could pick here, with how it would load, and the
API models of the catalog (prices, window, exactness) grouped by provider."""

from __future__ import annotations

import asyncio

from ...tokenization import pricing
from ...tokenization.local_models import list_models
from ...tokenization.model_catalog import ModelInfo
from ...tokenization.model_catalog import list_models as list_api_models

METHOD = "tokenprism/models"


def api_model_json(info: ModelInfo) -> dict:
    return {
        "spec": info.name, "provider": info.provider, "tokenizer": info.tokenizer,
        "exactness": info.exactness.value, "basis": info.basis, "inputPrice": info.input_price,
        "outputPrice": info.output_price, "contextWindow": info.context_window, "deprecated": info.deprecated,
    }


def catalog(search_paths, prices) -> dict:
    """The local tokenizers and the API models (genai-prices lookups: a worker's job)."""
    result = list_models(search_paths)
    try:
        grouped = list_api_models(prices)
        result["apiModels"] = [api_model_json(m) for models in grouped.values() for m in models]
        result["pricesSource"] = pricing.data_info().describe()
    except Exception as exc:  # noqa: BLE001 — broken price data must not hide the local models
        result["apiModels"] = []
        result["pricesSource"] = f"price data unavailable: {type(exc).__name__}: {exc}"
    return result


def register(server) -> None:
    @server.feature(METHOD)
    async def models(ls, params) -> dict:
        paths = ls.settings.search_paths()
        result = await asyncio.get_running_loop().run_in_executor(None, catalog, paths, ls.settings.prices)
        result["current"] = ls.settings.model
        return result

"""``tokenprism/compare``: a document (or a range of it) counted by several tokenizers.

Models come from the request, else from ``tokenprism.compareModels``. A model that cannot
be loaded stays in the answer with ``ok: false`` and the reason.
"""

from __future__ import annotations

import asyncio

from pygls.exceptions import JsonRpcInvalidParams

from ...tokenization import load_tokenizer
from ...tokenization.chat import detect_chat_format
from ...tokenization.compare import compare_text, parse_model_list
from .. import convert
from ..costs import catalog_entry, count_facts

METHOD = "tokenprism/compare"
MAX_MODELS = 16  # each model is a tokenizer load; a runaway list should not pin the cores


def requested_models(params: dict, default: tuple[str, ...]) -> list[str]:
    models = params.get("models")
    if models is None:
        return list(default)
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise JsonRpcInvalidParams("models must be a list of model names")
    models = parse_model_list(models) or list(default)
    if len(models) > MAX_MODELS:
        raise JsonRpcInvalidParams(f"at most {MAX_MODELS} models at once, got {len(models)}")
    return models


def register(server) -> None:
    @server.feature(METHOD)
    async def compare(ls, params) -> dict:
        p = convert.params_dict(params)
        models = requested_models(p, ls.settings.compare_models)
        rng = p.get("range")
        parsed = convert.parse_range(rng, "range") if rng is not None else None
        view = await convert.requested_view(ls.session, {"textDocument": p.get("textDocument")})
        text, language = view.text, None
        if parsed is not None:
            start, end = convert.offsets_of(view.snapshot, parsed)
            text = text[start:end]
        else:  # the whole document: a chat document is also counted as rendered
            doc = ls.session.documents.get(view.uri)
            language = doc.document.language_id if doc is not None else ""
        options = ls.settings.load_options()
        prices = ls.settings.prices

        def run():
            chat_format = None
            if language is not None:
                chat_format = detect_chat_format(text, language, view.uri.rsplit("/", 1)[-1])
            results = compare_text(text, models, options, view.special, chat_format)
            return chat_format, [row_json(r, options, prices) for r in results]

        chat_format, rows = await asyncio.get_running_loop().run_in_executor(None, run)
        return {"version": view.version, "characters": len(text), "chatFormat": chat_format, "results": rows}


def row_json(result, options, prices) -> dict:
    """A comparison row with what its count means for the model: the number to show, exactness,
    cost and window share (a tokenizer's own window for local models)."""
    row = result.to_json()
    if not result.ok:
        return row
    window = load_tokenizer(result.model, options).context_window  # loaded already: a cache lookup
    facts = count_facts(result.model, result.tokens, catalog_entry(result.model, prices), window, prices)
    row.update({k: v for k, v in facts.to_json().items()
                if k in ("count", "exact", "basis", "cost", "contextWindow", "windowShare")})
    return row

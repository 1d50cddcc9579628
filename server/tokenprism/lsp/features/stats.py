"""``tokenprism/documentStats`` (server -> client): the count of each newly tokenized version,
with what it means for the model (exactness, cost, window share, budget, the API's state) —
sent again when the provider's exact count of that version arrives. A document left
untokenized gets one too, with ``skipped`` (why) and no counts: the client never guesses."""

from __future__ import annotations

from ...tokenization.spec import is_api_model_name
from ..costs import budget_json, costs_of

DOCUMENT_STATS = "tokenprism/documentStats"


def stats_of(view, costs=None, budget=None) -> dict:
    stats = {
        "uri": view.uri,
        "version": view.version,
        # the API model name when one was chosen, else the tokenizer's display name
        "model": view.model_spec if is_api_model_name(view.model_spec) else view.model,
        "tokenizer": view.model,
        "tokens": len(view),
        "characters": view.snapshot.length,
    }
    if costs is not None:
        stats.update(costs.facts_json(view))
        stats["api"] = costs.api(view)
        stats["budget"] = budget_json(budget, costs.facts(view))[0] if budget is not None else None
    return stats


def skipped_stats(doc, reason: str, model: str) -> dict:
    """What a client shows for a document that is not tokenized: the reason, no counts."""
    return {"uri": doc.uri, "version": doc.document.version, "model": model, "skipped": reason}


def register(server) -> None:
    costs = costs_of(server)

    def send(doc, view, previous=None) -> None:
        server.notify(DOCUMENT_STATS, stats_of(view, costs, server.settings.budget))

    def on_tokenized(doc, view, previous) -> None:
        send(doc, view)
        costs.tokenized(doc, view)

    def on_settings(old, new) -> None:
        if (old.prices, old.budget) == (new.prices, new.budget):
            return
        for doc in list(server.session.documents.values()):
            if doc.view is not None:
                send(doc, doc.view)

    def on_skipped(doc, reason: str) -> None:
        server.notify(DOCUMENT_STATS, skipped_stats(doc, reason, server.session.spec_for(doc)))

    server.tokenized_listeners.append(on_tokenized)
    server.skipped_listeners.append(on_skipped)
    server.settings_listeners.append(on_settings)
    server.closed_listeners.append(costs.closed)
    costs.api_listeners.append(send)

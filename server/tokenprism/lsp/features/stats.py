"""``tokenprism/documentStats`` (server -> client): the count of each newly tokenized version."""

from __future__ import annotations

DOCUMENT_STATS = "tokenprism/documentStats"


def stats_of(view) -> dict:
    return {
        "uri": view.uri,
        "version": view.version,
        "model": view.model,
        "tokens": len(view),
        "characters": view.snapshot.length,
    }


def register(server) -> None:
    def send(doc, view, previous) -> None:
        server.notify(DOCUMENT_STATS, stats_of(view))

    server.tokenized_listeners.append(send)

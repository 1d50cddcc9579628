"""``tokenprism/notebookStats`` (server -> client): a notebook's total, the sum of its cells'
counts (each cell is tokenized on its own, as its own document), for the cells the
``notebook.cells`` setting chooses. Sent after a cell's new version is tokenized and after
cells are added, removed, moved or change kind; a burst of those is one notification."""

from __future__ import annotations

import asyncio

from ...tokenization.notebook import CellSelection
from ..notebooks import Notebook

NOTEBOOK_STATS = "tokenprism/notebookStats"


def notebook_stats(notebook: Notebook, documents: dict, selection: CellSelection) -> dict:
    """The totals of ``notebook`` from the session's open ``documents`` (uri -> OpenDocument).
    A cell whose newest text is not tokenized yet (or not at all: binary, too large) is
    ``pending`` and adds what its last tokens counted, if any."""
    totals = {kind: {"cells": 0, "tokens": 0} for kind in ("code", "markdown")}
    tokens = characters = counted = pending = 0
    models = set()
    for cell in notebook.cells:
        doc = documents.get(cell.uri)
        view = doc.view if doc is not None else None
        n = len(view) if view is not None else 0
        totals[cell.kind]["cells"] += 1
        totals[cell.kind]["tokens"] += n
        if not selection.takes(cell.kind):
            continue
        counted += 1
        tokens += n
        characters += doc.document.snapshot.length if doc is not None else 0
        if view is None or not doc.up_to_date:
            pending += 1
        if view is not None:
            models.add(view.model)
    return {
        "uri": notebook.uri,
        "version": notebook.version,
        "cells": selection.value,
        "tokens": tokens,
        "characters": characters,
        "cellCount": counted,
        "pending": pending,
        "model": ", ".join(sorted(models)),
        "code": totals["code"],
        "markdown": totals["markdown"],
    }


def register(server) -> None:
    due: set[str] = set()

    def send_due() -> None:
        for uri in sorted(due):
            notebook = server.notebooks.by_uri.get(uri)
            if notebook is not None:
                stats = notebook_stats(notebook, server.session.documents, server.settings.notebook_cells)
                server.notify(NOTEBOOK_STATS, stats)
        due.clear()

    def schedule(notebook: Notebook) -> None:
        if not due:
            asyncio.get_running_loop().call_soon(send_due)
        due.add(notebook.uri)

    def on_tokenized(doc, view, previous) -> None:
        notebook = server.notebooks.of_cell(doc.uri)
        if notebook is not None:
            schedule(notebook)

    def on_settings(old, new) -> None:
        if old.notebook_cells != new.notebook_cells:
            for notebook in server.notebooks.by_uri.values():
                schedule(notebook)

    server.tokenized_listeners.append(on_tokenized)
    server.notebook_listeners.append(schedule)
    server.settings_listeners.append(on_settings)

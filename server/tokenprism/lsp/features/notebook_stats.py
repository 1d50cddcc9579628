"""``tokenprism/notebookStats`` (server -> client): a notebook's total, the sum of its cells'
counts (each cell is tokenized on its own, as its own document), for the cells the
``notebook.cells`` setting chooses. Sent after a cell's new version is tokenized and after
cells are added, removed, moved or change kind; a burst of those is one notification.

A keystroke in one cell must not cost a walk over every cell: a :class:`Tally` keeps the
sums and moves them by the difference one cell's new tokens make. Only a change of the
notebook's structure sums all cells again.

A budget in tokens (``tokenprism.budget: 8000``) applies to the notebook's total: its verdict
is in ``budget``, like documentStats' (a share or a cost budget stays with each cell's model).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from ...tokenization.costing import CountFacts
from ...tokenization.model_catalog import Exactness
from ...tokenization.notebook import CellSelection
from ..costs import budget_json
from ..notebooks import Notebook
from ..settings import Budget

NOTEBOOK_STATS = "tokenprism/notebookStats"
KINDS = ("code", "markdown")


@dataclass
class Tally:
    """Running sums of one notebook's cells, by kind."""

    kinds: dict[str, str] = field(default_factory=dict)  # cell uri -> kind
    # cell uri -> (tokens, characters, model) of its newest tokens
    counted: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    tokens: Counter = field(default_factory=Counter)  # kind -> tokens
    characters: Counter = field(default_factory=Counter)  # kind -> characters
    cells: Counter = field(default_factory=Counter)  # kind -> cells
    models: Counter = field(default_factory=Counter)  # model -> cells tokenized with it
    unsettled: set[str] = field(default_factory=set)  # cells whose newest text has no tokens yet

    @classmethod
    def of(cls, notebook: Notebook, documents: dict) -> Tally:
        """Every cell summed (a notebook opened or restructured)."""
        tally = cls()
        for cell in notebook.cells:
            tally.kinds[cell.uri] = cell.kind
            tally.cells[cell.kind] += 1
            tally.update(cell.uri, documents.get(cell.uri))
        return tally

    def update(self, uri: str, doc) -> None:
        """Take one cell's newest tokens (``doc``: the session's OpenDocument, or None)."""
        kind = self.kinds.get(uri)
        if kind is None:
            return  # not (or no longer) a cell of this notebook
        view = doc.view if doc is not None else None
        new = (len(view), view.snapshot.length, view.model) if view is not None else None
        old = self.counted.pop(uri, None)
        if old is not None:
            self.tokens[kind] -= old[0]
            self.characters[kind] -= old[1]
            self.models[old[2]] -= 1
        if new is not None:
            self.counted[uri] = new
            self.tokens[kind] += new[0]
            self.characters[kind] += new[1]
            self.models[new[2]] += 1
        if doc is not None and doc.up_to_date:
            self.unsettled.discard(uri)
        else:
            self.unsettled.add(uri)

    def stats(self, notebook: Notebook, selection: CellSelection, budget: Budget | None = None) -> dict:
        chosen = [kind for kind in KINDS if selection.takes(kind)]
        tokens = sum(self.tokens[k] for k in chosen)
        return {
            "uri": notebook.uri,
            "version": notebook.version,
            "cells": selection.value,
            "tokens": tokens,
            "characters": sum(self.characters[k] for k in chosen),
            "cellCount": sum(self.cells[k] for k in chosen),
            "pending": sum(1 for uri in self.unsettled if self.kinds.get(uri) in chosen),
            "model": ", ".join(sorted(m for m, n in self.models.items() if n > 0)),
            **{kind: {"cells": self.cells[kind], "tokens": self.tokens[kind]} for kind in KINDS},
            "budget": token_budget_json(budget, tokens),
        }


def token_budget_json(budget: Budget | None, tokens: int) -> dict | None:
    """The verdict of a budget in tokens on the total (null for none, or another kind)."""
    if budget is None or budget.kind != "tokens":
        return None
    return budget_json(budget, CountFacts("", tokens, tokens, Exactness.EXACT))[0]


def register(server) -> None:
    tallies: dict[str, Tally] = {}
    stale: set[str] = set()  # notebooks to sum afresh before their next notification
    due: set[str] = set()

    def send_due() -> None:
        documents, settings = server.session.documents, server.settings
        for uri in sorted(due):
            notebook = server.notebooks.by_uri.get(uri)
            if notebook is None:
                continue
            if uri in stale or uri not in tallies:
                tallies[uri] = Tally.of(notebook, documents)
                stale.discard(uri)
            server.notify(NOTEBOOK_STATS,
                          tallies[uri].stats(notebook, settings.notebook_cells, settings.budget))
        due.clear()

    def schedule(notebook: Notebook) -> None:
        if not due:
            asyncio.get_running_loop().call_soon(send_due)
        due.add(notebook.uri)

    def on_notebook(notebook: Notebook, edited: list[str] | None) -> None:
        if edited is None:  # cells added, removed, moved, re-kinded: sum again, say so
            stale.add(notebook.uri)
            schedule(notebook)
        elif notebook.uri in tallies:
            tallies[notebook.uri].unsettled.update(edited)  # their new tokens come next

    def on_tokenized(doc, view, previous) -> None:
        notebook = server.notebooks.of_cell(doc.uri)
        if notebook is None:
            return
        tally = tallies.get(notebook.uri)
        if tally is not None:
            tally.update(doc.uri, doc)
        schedule(notebook)

    def on_closed(uri: str) -> None:
        tallies.pop(uri, None)
        stale.discard(uri)

    def on_settings(old, new) -> None:
        if (old.notebook_cells, old.budget) != (new.notebook_cells, new.budget):
            for notebook in server.notebooks.by_uri.values():
                schedule(notebook)

    server.tokenized_listeners.append(on_tokenized)
    server.notebook_listeners.append(on_notebook)
    server.notebook_closed_listeners.append(on_closed)
    server.settings_listeners.append(on_settings)

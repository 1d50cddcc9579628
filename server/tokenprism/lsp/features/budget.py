"""The budget: a warning at the first token past ``tokenprism.budget`` — a number of tokens,
a share of the model's context window ("80%") or an input cost ("$0.05")."""

from __future__ import annotations

from lsprotocol import types

from ...tokenization.costing import CountFacts, format_count
from ...tokenization.model_catalog import Exactness
from .. import convert
from ..costs import budget_limit, costs_of
from ..settings import Budget

SOURCE = "tokenprism"


def budget_diagnostics(
    view, budget: Budget | int | None, facts: CountFacts | None = None
) -> list[types.Diagnostic]:
    """The warning, placed at the first token past the limit. For an estimate (or the API's
    count) the limit is in the model's tokens: the place is the tokenizer's token at the same share."""
    if isinstance(budget, int):
        budget = Budget("tokens", budget, str(budget)) if budget > 0 else None
    if budget is None or not len(view):
        return []
    if facts is None:
        facts = CountFacts(view.model, len(view), len(view), exactness=Exactness.EXACT)
    limit = budget_limit(budget, facts).limit
    total = facts.count
    if limit is None or total <= limit:
        return []
    index = limit if total == len(view) else min(len(view) - 1, limit * len(view) // total)
    segment = view.encoding.segment_of(index)  # token index ``limit`` is the first one past it
    snapshot = view.snapshot
    start = segment.start
    line = snapshot.lines.line_of(start)
    end = min(max(segment.end, start), snapshot.line_end(line))  # never across a line end
    over = total - limit
    limit_text = f"{limit:,}" if budget.kind == "tokens" else f"{budget.spec} ({limit:,} tokens)"
    return [
        types.Diagnostic(
            range=convert.lsp_range(snapshot, start, max(end, start)),
            message=(
                f"{format_count(over, facts.exact)} token{'s' if over != 1 else ''} over the budget of"
                f" {limit_text} for {facts.model} ({format_count(total, facts.exact)} tokens in the document)"
            ),
            severity=types.DiagnosticSeverity.Warning,
            source=SOURCE,
            code="budget",
        )
    ]


def register(server) -> None:
    costs = costs_of(server)
    reported: dict[str, str] = {}  # the problem last shown per budget, shown once

    def publish(doc, view, previous=None) -> None:
        budget = server.settings.budget
        facts = costs.facts(view) if budget is not None else None
        if budget is not None:
            problem = budget_limit(budget, facts).problem
            if problem and reported.get(budget.spec) != problem:
                reported[budget.spec] = problem
                server.show_message(f"TokenPrism: {problem}", types.MessageType.Warning)
        diagnostics = budget_diagnostics(view, budget, facts)
        server.publish_diagnostics(doc.uri, SOURCE, diagnostics, view.version)

    def on_settings(old, new) -> None:
        if (old.budget, old.prices) == (new.budget, new.prices):
            return
        reported.clear()
        for doc in server.session.documents.values():
            if doc.view is not None:
                publish(doc, doc.view)

    server.tokenized_listeners.append(publish)
    server.settings_listeners.append(on_settings)
    costs.api_listeners.append(publish)

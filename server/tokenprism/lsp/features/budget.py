"""The token budget: a warning at the first token past ``tokenprism.budget``."""

from __future__ import annotations

from lsprotocol import types

from .. import convert

SOURCE = "tokenprism"


def budget_diagnostics(view, budget: int) -> list[types.Diagnostic]:
    total = len(view)
    if budget <= 0 or total <= budget:
        return []
    segment = view.encoding.segment_of(budget)  # token index ``budget`` is the first one past it
    snapshot = view.snapshot
    start = segment.start
    line = snapshot.lines.line_of(start)
    end = min(max(segment.end, start), snapshot.line_end(line))  # never across a line end
    over = total - budget
    return [
        types.Diagnostic(
            range=convert.lsp_range(snapshot, start, max(end, start)),
            message=(
                f"{over:,} token{'s' if over != 1 else ''} over the budget of {budget:,}"
                f" for {view.model} ({total:,} tokens in the document)"
            ),
            severity=types.DiagnosticSeverity.Warning,
            source=SOURCE,
            code="budget",
        )
    ]


def register(server) -> None:
    def publish(doc, view) -> None:
        diagnostics = budget_diagnostics(view, server.settings.budget)
        server.publish_diagnostics(doc.uri, SOURCE, diagnostics, view.version)

    def on_tokenized(doc, view, previous) -> None:
        publish(doc, view)

    def on_settings(old, new) -> None:
        if old.budget == new.budget:
            return
        for doc in server.session.documents.values():
            if doc.view is not None:
                publish(doc, doc.view)

    server.tokenized_listeners.append(on_tokenized)
    server.settings_listeners.append(on_settings)

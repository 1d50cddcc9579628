"""Inlay hints: the token count at the end of each line, or a marker at each token boundary.

Answers come from the cached token view of the document; the work per request is
proportional to the requested range, never to the document.
"""

from __future__ import annotations

import inspect
import logging

import numpy as np
from lsprotocol import types

from ...tokenization.costing import format_count
from ..costs import costs_of
from ..settings import InlayHintMode, to_plain
from ..token_view import DocumentError, TokenView
from .describe import segment_markdown

MAX_HINTS = 20_000  # per request; Neovim asks for the whole buffer at once
BOUNDARY_LABEL = "│"

log = logging.getLogger(__name__)


def line_range(view: TokenView, rng: types.Range) -> tuple[int, int]:
    """Lines ``[first, last)`` covered by an LSP range, clamped to the document."""
    count = view.snapshot.line_count
    first = min(max(rng.start.line, 0), count - 1)
    last = min(max(rng.end.line, first), count - 1) + 1
    return first, min(last, first + MAX_HINTS)


def count_hints(view: TokenView, rng: types.Range, costs=None) -> list[types.InlayHint]:
    snapshot = view.snapshot
    first, last = line_range(view, rng)
    lines = np.arange(first, last)
    starts = snapshot.line_starts(first, last)
    bounds = np.append(starts, snapshot.next_line_start(last - 1))
    counts = view.counts_between(bounds)
    content_ends = snapshot.content_ends(lines)
    keep = content_ends > starts  # non-empty lines only
    lines, content_ends, counts = lines[keep], content_ends[keep], counts[keep]
    if not len(lines):
        return []
    _, columns = snapshot.positions_at(content_ends)
    model = view.model
    shown = costs.shown_counts(view) if costs is not None else None
    tail = f"; {view.model_spec} estimate: {shown.basis}" if shown is not None and not shown.exact else ""
    hints = []
    for line, column, n in zip(lines.tolist(), columns.tolist(), counts.tolist()):
        m = shown.count(n) if shown is not None else n
        hints.append(types.InlayHint(
            position=types.Position(line=line, character=column),
            label=f"{format_count(m, shown is None or shown.exact)} token{'s' if m != 1 else ''}",
            kind=types.InlayHintKind.Type,
            padding_left=True,
            tooltip=f"{n} {model} token{'s' if n != 1 else ''} start on this line" + tail,
        ))
    return hints


def boundary_hints(view: TokenView, rng: types.Range) -> list[types.InlayHint]:
    snapshot = view.snapshot
    first, last = line_range(view, rng)
    start = snapshot.line_start(first)
    end = snapshot.next_line_start(last - 1)
    tokens = view.encoding.tokens_in(start, end)
    run = view.encoding.token_run(tokens.start, min(tokens.stop, tokens.start + 4 * MAX_HINTS))
    heads = run.heads  # one marker per display segment
    offsets = run.starts[heads]
    keep = (offsets >= start) & (offsets < end)
    heads, offsets = heads[keep][:MAX_HINTS], offsets[keep][:MAX_HINTS]
    index, special = heads + run.first, run.special[heads]
    lines, columns = snapshot.positions_at(offsets)
    return [
        types.InlayHint(
            position=types.Position(line=line, character=column),
            label=BOUNDARY_LABEL,
            padding_left=False,
            padding_right=False,
            data={"uri": view.uri, "version": view.version, "token": i, "special": bool(s)},
        )
        for line, column, i, s in zip(lines.tolist(), columns.tolist(), index.tolist(), special.tolist())
    ]


async def token_hints(server, params: types.InlayHintParams) -> list[types.InlayHint]:
    """The hints of the ``inlayHints.mode`` setting."""
    mode = server.settings.inlay_hints_mode
    if mode is InlayHintMode.OFF:
        return []
    try:
        view = await server.session.view(params.text_document.uri, wait=0.5)
    except DocumentError:
        return []
    if not view.snapshot.length:
        return []
    if mode is InlayHintMode.COUNTS:
        return count_hints(view, params.range, costs_of(server))
    return boundary_hints(view, params.range)


async def _provided(provider, params: types.InlayHintParams) -> list[types.InlayHint]:
    """One provider's hints; a failing provider is logged and hides nobody else's hints."""
    try:
        result = provider(params)
        if inspect.isawaitable(result):
            result = await result
        return list(result or [])
    except Exception:
        log.exception("an inlay hint provider failed")
        return []


def register(server) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=True)
    )
    async def inlay_hint(ls, params: types.InlayHintParams):
        hints = await _provided(lambda p: token_hints(ls, p), params)
        for provider in ls.inlay_hint_providers:  # other features' hints (chat counts)
            hints.extend(await _provided(provider, params))
        return hints

    @server.feature(types.INLAY_HINT_RESOLVE)
    def inlay_hint_resolve(ls, hint: types.InlayHint) -> types.InlayHint:
        data = to_plain(hint.data)
        if not isinstance(data, dict) or "token" not in data:
            return hint
        doc = ls.session.documents.get(str(data.get("uri")))
        view = doc.view if doc is not None else None
        if view is None or view.version != data.get("version"):
            return hint  # the document moved on; the client will ask for fresh hints
        index = data["token"]
        if not isinstance(index, int) or not 0 <= index < len(view):
            return hint
        segment = view.encoding.segment_of(index)
        hint.tooltip = types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=segment_markdown(view, segment, brief=True)
        )
        return hint

    def on_settings(old, new) -> None:
        if old.inlay_hints_mode != new.inlay_hints_mode:
            server.request_refresh("inlayHint")

    server.settings_listeners.append(on_settings)


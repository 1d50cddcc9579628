"""Colours: each display segment gets one of two alternating semantic token types, special
tokens a third. A segment that crosses a line end is cut at it (LSP tokens cannot span
lines) and line breaks themselves are not coloured. Off unless ``tokenprism.colorize``."""

from __future__ import annotations

import numpy as np
from lsprotocol import types

from ...tokenization import CONTINUES, SPECIAL
from .. import convert
from ..state import DocumentError, TokenView

# Standard types so every editor theme colours them; the VS Code extension may remap.
TOKEN_TYPES = ["string", "number", "macro"]  # even segment, odd segment, special token
LEGEND = types.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=[])
MAX_SEGMENTS = 200_000  # per response


def segment_spans(view: TokenView, start: int, end: int):
    """Display segments with a token in ``[start, end)``: (starts, ends, type) arrays."""
    enc = view.encoding
    tokens = enc.tokens_in(start, end)
    if not len(tokens):
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    first = tokens.start
    while first > 0 and enc.flags[first] & CONTINUES:  # begin with a whole segment
        first -= 1
    last = tokens.stop
    while last < len(enc) and enc.flags[last] & CONTINUES:
        last += 1
    flags = enc.flags[first:last]
    heads = first + np.nonzero((flags & CONTINUES) == 0)[0]
    heads = heads[:MAX_SEGMENTS]
    tails = np.append(heads[1:], last) - 1  # last token of each segment
    seg_starts = np.where(heads > 0, enc.ends[np.maximum(heads - 1, 0)], 0).astype(np.int64)
    seg_ends = enc.ends[tails].astype(np.int64)
    # a segment is special when any of its tokens is
    special_tokens = (enc.flags[first:last] & SPECIAL) != 0
    special = np.add.reduceat(special_tokens, heads - first) > 0 if len(heads) else special_tokens[:0]
    kinds = np.where(special, 2, view.segment_numbers()[heads] % 2)
    return seg_starts, seg_ends, kinds


def encode_semantic_tokens(view: TokenView, start: int, end: int) -> list[int]:
    snapshot = view.snapshot
    starts, ends, kinds = segment_spans(view, start, end)
    if not len(starts):
        return []
    # one piece per (segment, line it touches); most segments touch one line
    first_lines = snapshot.lines.lines_of(starts)
    last_lines = snapshot.lines.lines_of(np.maximum(ends - 1, starts))
    per_segment = last_lines - first_lines + 1
    segment = np.repeat(np.arange(len(starts)), per_segment)
    offsets_in_run = np.arange(len(segment)) - np.repeat(np.cumsum(per_segment) - per_segment, per_segment)
    lines = first_lines[segment] + offsets_in_run
    p_starts = np.maximum(starts[segment], snapshot.lines.starts[lines])
    p_ends = np.minimum(ends[segment], snapshot.content_ends(lines))
    keep = p_ends > p_starts  # line breaks are not coloured
    p_starts, p_ends, p_kinds = p_starts[keep], p_ends[keep], kinds[segment][keep]
    if not len(p_starts):
        return []
    both_lines, both_columns = snapshot.positions_at(np.concatenate((p_starts, p_ends)))
    n = len(p_starts)
    lines, columns, end_columns = both_lines[:n], both_columns[:n], both_columns[n:]
    delta_lines = np.diff(lines, prepend=0)
    previous_columns = np.concatenate(([0], columns[:-1]))
    delta_starts = np.where(delta_lines == 0, columns - previous_columns, columns)
    data = np.stack(
        (delta_lines, delta_starts, end_columns - columns, p_kinds, np.zeros_like(p_kinds)), axis=1
    )
    return data.reshape(-1).tolist()


def register(server) -> None:
    async def view_or_none(ls, uri: str) -> TokenView | None:
        if not ls.settings.colorize:
            return None
        try:
            return await ls.session.view(uri, wait=0.5)
        except DocumentError:
            return None

    @server.feature(types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, LEGEND)
    async def full(ls, params: types.SemanticTokensParams) -> types.SemanticTokens:
        view = await view_or_none(ls, params.text_document.uri)
        if view is None:
            return types.SemanticTokens(data=[])
        return types.SemanticTokens(data=encode_semantic_tokens(view, 0, view.snapshot.length))

    @server.feature(types.TEXT_DOCUMENT_SEMANTIC_TOKENS_RANGE, LEGEND)
    async def in_range(ls, params: types.SemanticTokensRangeParams) -> types.SemanticTokens:
        view = await view_or_none(ls, params.text_document.uri)
        if view is None:
            return types.SemanticTokens(data=[])
        start, end = convert.offsets_of(view.snapshot, params.range)
        return types.SemanticTokens(data=encode_semantic_tokens(view, start, end))

    def on_settings(old, new) -> None:
        if old.colorize != new.colorize:
            server.request_refresh("semanticTokens")

    server.settings_listeners.append(on_settings)

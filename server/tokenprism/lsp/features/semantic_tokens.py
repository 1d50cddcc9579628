"""Colours: each display segment gets one of two alternating semantic token types, special
tokens a third. A segment that crosses a line end is cut at it (LSP tokens cannot span
lines) and line breaks themselves are not coloured. Empty unless ``tokenprism.colorize`` is
``"foreground"`` (the ``"background"`` mode is drawn by the client from ``tokenprism/tokenRanges``)."""

from __future__ import annotations

import numpy as np
from lsprotocol import types

from ...tokenization.bands import token_bands
from .. import convert
from ..settings import ColorMode
from ..token_view import DocumentError, TokenView

# Standard types so every editor theme colours them; the VS Code extension may remap.
TOKEN_TYPES = ["string", "number", "macro"]  # even segment, odd segment, special token
LEGEND = types.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=[])
MAX_SEGMENTS = 200_000  # tokens per response


def encode_semantic_tokens(view: TokenView, start: int, end: int) -> list[int]:
    snapshot = view.snapshot
    bands = token_bands(view.encoding, start, end, MAX_SEGMENTS, mark_split=False)
    p_starts, p_ends, segment = snapshot.cut_at_lines(bands.starts, bands.ends)
    if not len(p_starts):
        return []
    p_kinds = bands.kinds[segment]
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
        if ls.settings.colorize is not ColorMode.FOREGROUND:
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

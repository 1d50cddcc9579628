"""Hover: the display segment under the cursor and its token(s)."""

from __future__ import annotations

from lsprotocol import types

from .. import convert
from ..state import DocumentError
from .describe import segment_markdown


def register(server) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls, params: types.HoverParams) -> types.Hover | None:
        try:
            view = await ls.session.view(params.text_document.uri, wait=1.0)
        except DocumentError:
            return None
        if not len(view):
            return None
        snapshot = view.snapshot
        offset = convert.offset(snapshot, params.position)
        segment = view.encoding.segment_at(min(offset, len(view.text) - 1))
        if segment is None:
            return None
        return types.Hover(
            contents=types.MarkupContent(
                kind=types.MarkupKind.Markdown, value=segment_markdown(view, segment)
            ),
            range=convert.lsp_range(snapshot, segment.start, segment.end),
        )

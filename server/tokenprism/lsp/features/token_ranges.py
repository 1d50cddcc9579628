"""``tokenprism/tokenRanges``: the pieces of a range that a client paints as token colours
(``tokenprism.colorize: "background"``): alternating bands per display segment, special
tokens, split characters — decided here, from ``tokenization.bands``; the client only draws
them. One piece per line (line breaks are not painted); work bounded by the range."""

from __future__ import annotations

import asyncio

import numpy as np
from pygls.exceptions import JsonRpcInvalidParams

from ...tokenization.bands import token_bands
from .. import convert
from ..token_view import TokenView

METHOD = "tokenprism/tokenRanges"
MAX_TOKENS = 50_000  # per answer: a client asks for what is on screen


def token_ranges(view: TokenView, start: int, end: int, limit: int = MAX_TOKENS) -> dict:
    snapshot = view.snapshot
    bands = token_bands(view.encoding, start, end, limit)
    p_starts, p_ends, piece_of = snapshot.cut_at_lines(bands.starts, bands.ends)
    n = len(p_starts)
    lines, columns = snapshot.positions_at(np.concatenate((p_starts, p_ends)))
    rows = np.stack((lines[:n], columns[:n], columns[n:], bands.kinds[piece_of]), axis=1)
    return {
        "version": view.version,
        "model": view.model,
        "ranges": rows.tolist(),
        "truncated": bands.truncated,
    }


def register(server) -> None:
    @server.feature(METHOD)
    async def token_ranges_request(ls, params) -> dict:
        p = convert.params_dict(params)
        if p.get("range") is None:
            raise JsonRpcInvalidParams("range is required (ask for the lines on screen)")
        rng = convert.parse_range(p["range"], "range")
        view = await convert.requested_view(ls.session, p)
        start, end = convert.offsets_of(view.snapshot, rng)
        return await asyncio.get_running_loop().run_in_executor(None, token_ranges, view, start, end)

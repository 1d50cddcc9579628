"""``tokenprism/tokens``: the tokens that intersect a range (the whole document without one)."""

from __future__ import annotations

import asyncio

import numpy as np

from ...tokenization import SPECIAL
from .. import convert
from ..token_view import TokenView

METHOD = "tokenprism/tokens"


def token_list(view: TokenView, start: int | None, end: int | None) -> dict:
    enc = view.encoding
    if start is None:
        indices = range(len(enc))
    else:
        indices = enc.tokens_in(start, end)
    first, last = indices.start, indices.stop
    ends = enc.ends[first:last].astype(np.int64)
    starts = np.concatenate(([enc.start_of(first) if last > first else 0], ends[:-1]))[: len(ends)]
    lines, columns = view.snapshot.positions_at(np.concatenate((starts, ends)))
    n = len(ends)
    lines, columns = lines.tolist(), columns.tolist()
    ids = enc.ids[first:last].tolist()
    special = ((enc.flags[first:last] & SPECIAL) != 0).tolist()
    return {
        "version": view.version,
        "model": view.model,
        "tokens": [
            {
                "id": ids[i],
                "range": {
                    "start": {"line": lines[i], "character": columns[i]},
                    "end": {"line": lines[n + i], "character": columns[n + i]},
                },
                "special": special[i],
            }
            for i in range(n)
        ],
    }


def register(server) -> None:
    @server.feature(METHOD)
    async def tokens(ls, params) -> dict:
        p = convert.params_dict(params)
        rng = p.get("range")
        parsed = convert.parse_range(rng, "range") if rng is not None else None
        view = await convert.requested_view(ls.session, p)
        start = end = None
        if parsed is not None:
            start, end = convert.offsets_of(view.snapshot, parsed)
        # large documents: build the answer off the event loop
        return await asyncio.get_running_loop().run_in_executor(None, token_list, view, start, end)

"""``tokenprism/tokens``: the tokens that intersect a range (the whole document without one)."""

from __future__ import annotations

import asyncio

import numpy as np

from .. import convert
from ..token_view import TokenView

METHOD = "tokenprism/tokens"


def token_list(view: TokenView, start: int | None, end: int | None) -> dict:
    tokens = view.encoding
    indices = range(len(tokens)) if start is None else tokens.tokens_in(start, end)
    run = tokens.token_run(indices.start, indices.stop)
    n = len(run)
    lines, columns = view.snapshot.positions_at(np.concatenate((run.starts, run.ends)))
    lines, columns = lines.tolist(), columns.tolist()
    ids = run.ids.tolist()
    special = run.special.tolist()
    # each token's own bytes, from the vocabulary (a split character's share, not its text)
    hex_bytes = {i: view.tokenizer.token_bytes(i).hex() for i in set(ids)}
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
                "bytes": hex_bytes[ids[i]],
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

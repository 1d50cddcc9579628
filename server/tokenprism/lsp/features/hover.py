"""Hover: the display segment under the cursor and its token(s), and whether a token is a
whole word of the vocabulary with its merge rank.

The rank table of a model takes seconds to build for a large BPE vocabulary, so it is
built in a worker thread once a document has been tokenized with that model; until it is
ready the hover leaves the vocabulary line out rather than wait.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import weakref

from lsprotocol import types

from ...tokenization import Tokenizer
from ...tokenization.vocab import rank_table, whole_word_info
from .. import convert
from ..costs import costs_of
from ..token_view import DocumentError, TokenView
from .describe import code, segment_markdown

log = logging.getLogger(__name__)


# How long the first hover of a model waits for its rank table before answering without it.
FIRST_BUILD_WAIT = 0.05


class RankTables:
    """Which tokenizers' rank tables are built; builds each once, in a worker thread."""

    def __init__(self) -> None:
        self._state: weakref.WeakKeyDictionary[Tokenizer, bool] = weakref.WeakKeyDictionary()

    def ready(self, tokenizer: Tokenizer) -> bool:
        return self._state.get(tokenizer, False)

    def prepare(self, tokenizer: Tokenizer) -> asyncio.Future | None:
        """Start building the table unless it is built or being built (on the event loop);
        returns the build when this call started it."""
        if tokenizer in self._state:
            return None
        self._state[tokenizer] = False
        future = asyncio.get_running_loop().run_in_executor(None, _build, tokenizer)
        future.add_done_callback(lambda done: self._built(tokenizer, done))
        return future

    def _built(self, tokenizer: Tokenizer, done: asyncio.Future) -> None:
        if done.cancelled():
            self._state.pop(tokenizer, None)
        elif done.exception() is not None:
            log.warning("no merge ranks for %s: %s", tokenizer.name, done.exception())  # stays False
        else:
            self._state[tokenizer] = True


def _build(tokenizer: Tokenizer) -> None:
    rank_table(tokenizer)
    # Building parses the whole tokenizer.json (~100 MB of small objects for a 128k
    # vocabulary); glibc keeps that memory after it is freed unless asked to return it.
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim


def vocabulary_lines(view: TokenView, token_indices, tables: RankTables) -> list[str]:
    """One line per non-special token of the segment: a whole word of the vocabulary or not,
    and its rank; nothing while the model's rank table is not built yet."""
    tokenizer = view.tokenizer
    if not tables.ready(tokenizer):
        return []
    source = rank_table(tokenizer).source  # built: a lookup
    lines = []
    for index in token_indices:
        token_id = view.encoding.token(index).id
        info = whole_word_info(tokenizer, token_id)
        if info is None:
            continue  # special tokens have no rank
        whole, rank = info
        what = "a whole word of the vocabulary" if whole else "not a whole word"
        ranked = (f"merge rank {rank:,} ({source}; lower is learned earlier)" if rank is not None
                  else "a base symbol (no merge makes it)")
        lines.append(f"id {code(str(token_id))}: {what} · {ranked}")
    return lines


def register(server) -> None:
    tables = RankTables()
    costs = costs_of(server)

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
        segment = view.encoding.segment_at(min(offset, view.snapshot.length - 1))
        if segment is None:
            return None
        markdown = segment_markdown(view, segment, costs=costs)
        # built on the first hover, not when a model loads: seconds of CPU (and a GIL held
        # against typing) that users who never hover should not pay
        build = tables.prepare(view.tokenizer)
        if build is not None:  # tiktoken's is instant: show it on this hover already
            try:
                await asyncio.wait_for(asyncio.shield(build), FIRST_BUILD_WAIT)
            except Exception:  # TimeoutError included
                pass  # still building (or failed): this hover goes without the rank
        vocabulary = vocabulary_lines(view, segment.token_indices, tables)
        if vocabulary:
            markdown += "\n\n" + "\n".join(f"- {line}" for line in vocabulary)
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown),
            range=convert.lsp_range(snapshot, segment.start, segment.end),
        )

"""Token bands: a range of text cut into the pieces a token colouring shows, like the OpenAI
tokenizer page — alternating bands per display segment, special tokens apart, and each
character whose bytes are split across tokens marked.

Plain arrays from the :class:`~.queries.TokenQueries` of an Encoding or a snapshot; the work
is proportional to the range (a segment's number, which keeps its band the same whichever
range asks, is one O(log n) query).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .queries import TokenQueries

BAND_EVEN, BAND_ODD, SPECIAL_TOKEN = 0, 1, 2  # the kind of a piece
SPLIT = 4  # added to the kind of a piece that is one character split across tokens


@dataclass(frozen=True)
class Bands:
    """Pieces ``[starts[i], ends[i])`` (character offsets) that tile whole display segments,
    in order, with their ``kinds``. ``truncated``: the range held more tokens than the limit,
    and the pieces stop early."""

    starts: np.ndarray
    ends: np.ndarray
    kinds: np.ndarray
    truncated: bool = False

    def __len__(self) -> int:
        return len(self.starts)


def _empty() -> Bands:
    empty = np.zeros(0, np.int64)
    return Bands(empty, empty, empty)


def token_bands(
    tokens: TokenQueries, start: int, end: int, limit: int = 200_000, mark_split: bool = True
) -> Bands:
    """The pieces of the display segments that meet ``[start, end)``, at most about ``limit``
    tokens' worth. A segment is one piece of kind ``BAND_EVEN``/``BAND_ODD`` (its number's
    parity in the whole text, so neighbours always differ) or ``SPECIAL_TOKEN`` when a token
    of it is special. With ``mark_split``, each character split across tokens becomes a piece
    of its own, its segment's kind plus ``SPLIT``."""
    touched = tokens.tokens_in(start, end)
    if not len(touched):
        return _empty()
    first = tokens.whole_segments(touched.start, touched.start + 1).start
    last = min(touched.stop, first + max(limit, 1))
    truncated = last < touched.stop
    whole = tokens.whole_segments(first, last)
    run = tokens.token_run(whole.start, whole.stop)
    heads = run.heads
    tails = np.append(heads[1:], len(run)) - 1  # the last token of each segment
    seg_starts, seg_ends = run.starts[heads], run.ends[tails]
    special = np.add.reduceat(run.special, heads) > 0
    parity = (tokens.segments_before(run.first) + np.arange(len(heads))) % 2
    kinds = np.where(special, SPECIAL_TOKEN, parity).astype(np.int64)
    if not mark_split or not run.continues[1:].any():
        return Bands(seg_starts, seg_ends, kinds, truncated)
    # A token followed by a continuation ends inside its last character: that one is split.
    split = np.unique(run.ends[np.flatnonzero(run.continues[1:])] - 1)
    split = split[(split >= seg_starts[0]) & (split < seg_ends[-1])]
    bounds = np.unique(np.concatenate((seg_starts, split, split + 1, seg_ends[-1:])))
    starts, ends = bounds[:-1], bounds[1:]
    segment = np.searchsorted(seg_starts, starts, "right") - 1
    is_split = np.isin(starts, split)
    kinds = kinds[segment] + np.where(is_split, SPLIT, 0)
    return Bands(starts, ends, kinds, truncated)

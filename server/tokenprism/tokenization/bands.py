"""Token bands: a range of text cut into the pieces a token colouring shows, like the OpenAI
tokenizer page — alternating bands per display segment, special tokens apart, and each
character whose bytes are split across tokens marked.

Plain arrays over an :class:`~.encoding.Encoding` (or anything with its query API); the
work is proportional to the range, apart from one vectorized count over the flags before
it (one byte per token) that keeps a segment's band the same whichever range asks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .encoding import CONTINUES, SPECIAL

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


def segments_before(flags: np.ndarray, first: int) -> int:
    """How many display segments start before token ``first`` (tokens minus continuations)."""
    return first - int(np.count_nonzero(flags[:first] & CONTINUES))


def token_bands(encoding, start: int, end: int, limit: int = 200_000, mark_split: bool = True) -> Bands:
    """The pieces of the display segments that meet ``[start, end)``, at most about ``limit``
    tokens' worth. A segment is one piece of kind ``BAND_EVEN``/``BAND_ODD`` (its number's
    parity in the whole text, so neighbours always differ) or ``SPECIAL_TOKEN`` when a token
    of it is special. With ``mark_split``, each character split across tokens becomes a piece
    of its own, its segment's kind plus ``SPLIT``."""
    tokens = encoding.tokens_in(start, end)
    if not len(tokens):
        return _empty()
    flags = encoding.flags
    n = len(flags)
    first = tokens.start
    while first > 0 and flags[first] & CONTINUES:  # begin with a whole segment
        first -= 1
    last = min(tokens.stop, first + max(limit, 1))
    truncated = last < tokens.stop
    while last < n and flags[last] & CONTINUES:
        last += 1
    window = flags[first:last]
    continues = (window & CONTINUES) != 0
    heads = first + np.flatnonzero(~continues)
    ends_arr = encoding.ends
    seg_starts = np.where(heads > 0, ends_arr[np.maximum(heads - 1, 0)], 0).astype(np.int64)
    tails = np.append(heads[1:], last) - 1  # the last token of each segment
    seg_ends = ends_arr[tails].astype(np.int64)
    special = np.add.reduceat((window & SPECIAL) != 0, heads - first) > 0
    parity = (segments_before(flags, first) + np.arange(len(heads))) % 2
    kinds = np.where(special, SPECIAL_TOKEN, parity).astype(np.int64)
    if not mark_split or not continues[1:].any():
        return Bands(seg_starts, seg_ends, kinds, truncated)
    # A token followed by a continuation ends inside its last character: that one is split.
    before_continuation = first + np.flatnonzero(continues[1:])
    split = np.unique(ends_arr[before_continuation].astype(np.int64) - 1)
    split = split[(split >= seg_starts[0]) & (split < seg_ends[-1])]
    bounds = np.unique(np.concatenate((seg_starts, split, split + 1, seg_ends[-1:])))
    starts, ends = bounds[:-1], bounds[1:]
    segment = np.searchsorted(seg_starts, starts, "right") - 1
    is_split = np.isin(starts, split)
    kinds = kinds[segment] + np.where(is_split, SPLIT, 0)
    return Bands(starts, ends, kinds, truncated)

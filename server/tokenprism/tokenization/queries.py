"""One query interface for the tokens of a text, whatever holds them.

:class:`~.encoding.Encoding` (flat arrays: fresh encodes, the CLI) and
:class:`~.snapshot.TokenSnapshot` (a frozen block store: open documents) both answer it.
Each query costs O(log n + k) in the k tokens it returns, in numpy calls (no Python loop per
token), and none builds an array of the whole document. Answers carry meanings — special,
continues, segment heads — so callers never read flag bits.

Token spans tile the text; a token holding only the tail bytes of a character split across
tokens *continues* the display segment of the token before it (see :mod:`.encoding`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

SPECIAL = 1  # flag bit: a special/control token (``<|endoftext|>``, ``<s>``)
CONTINUES = 2  # flag bit: this token continues the display segment of the previous one

_INT32 = np.iinfo(np.int32)


def as_needles(offsets, dtype) -> np.ndarray:
    """Offsets in the dtype of the array they are searched in: numpy would otherwise copy an
    int32 array to int64 to compare it, which makes a lookup O(tokens)."""
    return np.minimum(np.maximum(np.asarray(offsets, np.int64), _INT32.min), _INT32.max).astype(dtype)


@dataclass(frozen=True, slots=True)
class Token:
    """One token, materialized on demand (hover, JSON output) — never stored in bulk."""

    index: int
    id: int
    start: int
    end: int
    special: bool
    continues: bool


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of tokens that together cover whole characters ``[start, end)``."""

    start: int
    end: int
    first_token: int
    last_token: int  # inclusive

    @property
    def token_indices(self) -> range:
        return range(self.first_token, self.last_token + 1)


@dataclass(frozen=True, slots=True)
class TokenRun:
    """Tokens ``[first, first + len(run))`` as parallel arrays: ids, absolute character
    spans (int64), and per token whether it is special and whether it continues the display
    segment of the token before it."""

    first: int
    ids: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    special: np.ndarray
    continues: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def indices(self) -> np.ndarray:
        return np.arange(self.first, self.first + len(self), dtype=np.int64)

    @property
    def heads(self) -> np.ndarray:
        """Positions in the run of the tokens that start a display segment."""
        return np.flatnonzero(~self.continues)


class TokenQueries(ABC):
    """The queries every holder of tokens answers. Implementations give ``text_length``, the
    number of tokens and four primitives; everything else is built on them here."""

    __slots__ = ()
    text_length: int

    # -- what an implementation provides ------------------------------------------------------

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def _ranks(self, offsets: np.ndarray, side: str) -> np.ndarray:
        """For each offset, the number of tokens whose end is ``<=`` it (side right) or ``<`` it
        (left): ``searchsorted(ends, offsets, side)`` over the whole text."""

    @abstractmethod
    def _flags_at(self, indices: np.ndarray) -> np.ndarray:
        """The flags of the tokens at ``indices`` (all valid)."""

    @abstractmethod
    def _arrays(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ids, absolute ends (int64) and flags of tokens ``[first, last)`` (a valid range)."""

    @abstractmethod
    def _continuations_before(self, i: int) -> int:
        """How many of tokens ``[0, i)`` continue a segment, in O(log n)."""

    # -- counting -----------------------------------------------------------------------------

    def counted_before(self, offsets) -> np.ndarray:
        """For each offset, how many tokens count before it: a token counts where its display
        segment starts (a token holding only the tail of a split character counts with that
        character), and the end of the text takes everything. Vectorized."""
        offsets = np.asarray(offsets, np.int64)
        n = len(self)
        if not n:
            return np.zeros(len(offsets), np.int64)
        # token k starts at ends[k-1]: the first token starting at or after x follows the
        # last one ending before x
        first = np.minimum(self._ranks(offsets, "left") + 1, n)
        first = np.where(offsets <= 0, 0, np.where(offsets >= self.text_length, n, first))
        # the tails of a character split across tokens stay with it (short runs: a few rounds)
        pending = np.flatnonzero(first < n)
        while len(pending):
            pending = pending[(self._flags_at(first[pending]) & CONTINUES) != 0]
            first[pending] += 1
            pending = pending[first[pending] < n]
        return first

    def counts_between(self, bounds) -> np.ndarray:
        """``count_in(bounds[i], bounds[i + 1])`` for consecutive bounds, vectorized."""
        return np.maximum(np.diff(self.counted_before(bounds)), 0)

    def count_in(self, start: int, end: int) -> int:
        """Tokens counted in ``[start, end)``; adjacent ranges add up to ``len(self)``."""
        if end <= start:
            return 0
        before, after = self.counted_before((start, end)).tolist()
        return after - before

    # -- tokens -------------------------------------------------------------------------------

    def token_at(self, offset: int) -> int:
        """Index of the token covering character ``offset`` (the last token for the end)."""
        n = len(self)
        if not n:
            return -1
        return min(int(self._ranks(np.array([offset]), "right")[0]), n - 1)

    def tokens_in(self, start: int, end: int) -> range:
        """Indices of tokens whose span intersects ``[start, end)``; zero-width ones at the
        edges are included so that a range never loses a token."""
        n = len(self)
        if not n:
            return range(0)
        first = int(self._ranks(np.array([start]), "right")[0])
        last = first if end <= start else int(self._ranks(np.array([end]), "left")[0])
        return range(first, min(last + 1, n))

    def token_run(self, first: int, last: int) -> TokenRun:
        """Tokens ``[first, last)`` (clamped to the tokens there are) as arrays."""
        first = min(max(first, 0), len(self))
        last = min(max(last, first), len(self))
        before = 1 if first > 0 else 0  # the token before gives the first one's start
        ids, ends, flags = self._arrays(first - before, last)
        starts = np.empty(len(ends) - before, np.int64)
        if len(starts):
            starts[0] = ends[0] if before else 0
            starts[1:] = ends[before : len(ends) - 1]
        flags = flags[before:]
        return TokenRun(
            first, ids[before:], starts, ends[before:], (flags & SPECIAL) != 0, (flags & CONTINUES) != 0
        )

    def token(self, i: int) -> Token:
        if not 0 <= i < len(self):
            raise IndexError(f"token {i} out of range ({len(self)} tokens)")
        run = self.token_run(i, i + 1)
        return Token(
            index=i, id=int(run.ids[0]), start=int(run.starts[0]), end=int(run.ends[0]),
            special=bool(run.special[0]), continues=bool(run.continues[0]),
        )

    def start_of(self, i: int) -> int:
        return int(self._arrays(i - 1, i)[1][0]) if i > 0 else 0

    # -- display segments ---------------------------------------------------------------------

    def whole_segments(self, first: int, last: int) -> range:
        """Token indices ``[first, last)`` widened to whole display segments."""
        n = len(self)
        first, last = min(max(first, 0), n), min(max(last, first), n)
        if last == first:
            return range(first, last)
        step = 4
        while first > 0 and self._flags_at(np.array([first]))[0] & CONTINUES:
            lo = max(first - step, 0)
            heads = np.flatnonzero((self._arrays(lo, first)[2] & CONTINUES) == 0)
            first = lo + int(heads[-1]) if len(heads) else lo
            step *= 2
        step = 4
        while 0 < last < n:
            hi = min(last + step, n)
            heads = np.flatnonzero((self._arrays(last, hi)[2] & CONTINUES) == 0)
            if len(heads):
                return range(first, last + int(heads[0]))
            last, step = hi, step * 2
        return range(first, last)

    def segment_of(self, i: int) -> Segment:
        tokens = self.whole_segments(i, i + 1)
        run = self.token_run(tokens.start, tokens.stop)
        return Segment(int(run.starts[0]), int(run.ends[-1]), tokens.start, tokens.stop - 1)

    def segment_at(self, offset: int) -> Segment | None:
        i = self.token_at(offset)
        return None if i < 0 else self.segment_of(i)

    def segments(self, first: int = 0, last: int | None = None) -> list[Segment]:
        """The display segments that hold tokens of ``[first, last)``, whole."""
        tokens = self.whole_segments(first, len(self) if last is None else last)
        if not len(tokens):
            return []
        run = self.token_run(tokens.start, tokens.stop)
        heads = run.heads
        tails = np.append(heads[1:], len(run)) - 1
        return [
            Segment(start, end, head, tail)
            for start, end, head, tail in zip(
                run.starts[heads].tolist(), run.ends[tails].tolist(),
                (heads + tokens.start).tolist(), (tails + tokens.start).tolist(),
            )
        ]

    def segments_before(self, i: int) -> int:
        """How many display segments start before token ``i``, in O(log n)."""
        i = min(max(i, 0), len(self))
        return i - self._continuations_before(i)

"""Token arrays of a long document in blocks, so an edit copies one block, not the document.

Each block holds ids (int32), ends relative to the block's base (int32) and flags (uint8):
9 bytes per token. Per block we keep its base (an absolute offset its ends count from: where
its first token starts, or before), token count, last local end and number of tokens that
continue a display segment in small numpy arrays; an edit shifts the bases after it with one
vectorized add, and lookups bisect the blocks first, then one block (many lookups at once:
one search per block they fall in).
"""

from __future__ import annotations

import numpy as np

from .chunking import Piece
from .encoding import CONTINUES, FLAG_DTYPE, ID_DTYPE, OFFSET_DTYPE, Encoding, search
from .queries import as_needles

BLOCK_TOKENS = 2048  # target block size; blocks stay between a quarter and twice this


class BlockStore:
    __slots__ = (
        "ids", "ends", "flags", "bases", "counts", "last_local", "continued", "first_index", "last_end",
        "continued_before",
    )

    def __init__(self, piece: Piece):
        self.ids: list[np.ndarray] = []
        self.ends: list[np.ndarray] = []
        self.flags: list[np.ndarray] = []
        bases, counts, last, continued = self._split(piece, 0)
        self.bases = np.asarray(bases, np.int64)
        self.counts = np.asarray(counts, np.int64)
        self.last_local = np.asarray(last, np.int64)
        self.continued = np.asarray(continued, np.int64)
        self._reindex()

    # -- building -----------------------------------------------------------------------------

    @classmethod
    def of_parts(cls, parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]) -> BlockStore:
        """Blocks made of the given arrays, without copying them: each part is ``(base, ids,
        ends, flags)``, its ends relative to ``base`` (an encoded window's own), consecutive
        parts tiling the text. Each part is cut into blocks (views) and made read-only; the
        caller hands the arrays over. How a large document is opened: its pieces' encodings
        become its blocks as they are."""
        store = cls.__new__(cls)
        store.ids, store.ends, store.flags = [], [], []
        bases, counts, last, continued = [], [], [], []
        for base, ids, ends, flags in parts:
            ids, ends = np.asarray(ids, ID_DTYPE), np.asarray(ends, OFFSET_DTYPE)
            flags = np.asarray(flags, FLAG_DTYPE)
            cuts = _block_cuts(len(ids))
            for array in (ids, ends, flags):  # never changed in place: snapshots share them
                array.setflags(write=False)
            for a, b in zip(cuts, cuts[1:]):
                store.ids.append(ids[a:b])
                store.ends.append(ends[a:b])
                store.flags.append(flags[a:b])
            bases += [base] * (len(cuts) - 1)
            counts += [b - a for a, b in zip(cuts, cuts[1:])]
            last += ends[np.asarray(cuts[1:], np.int64) - 1].tolist() if len(cuts) > 1 else []
            continued += _continued_per_block(flags, cuts)
        store.bases = np.asarray(bases, np.int64)
        store.counts = np.asarray(counts, np.int64)
        store.last_local = np.asarray(last, np.int64)
        store.continued = np.asarray(continued, np.int64)
        store._reindex()
        return store

    def _split(self, piece: Piece, base: int, at: int | None = None):
        """Cut ``piece`` (absolute ends, first token starting at ``base``) into blocks,
        inserted into the block lists at ``at`` (appended if None)."""
        n = len(piece)
        cuts = _block_cuts(n)
        if n == 0:
            return [], [], [], []
        # one copy of each array, then a view per block (opening a 1 MB document makes
        # ~130 blocks; a copy and a conversion per block cost milliseconds)
        bounds = np.asarray(cuts, np.int64)
        counts = np.diff(bounds)
        bases = np.empty(len(counts), np.int64)
        bases[0] = base
        bases[1:] = piece.ends[bounds[1:-1] - 1]
        ids = np.array(piece.ids, dtype=ID_DTYPE)
        ends = (piece.ends - np.repeat(bases, counts)).astype(OFFSET_DTYPE)
        flags = np.array(piece.flags, dtype=FLAG_DTYPE)
        for array in (ids, ends, flags):  # never changed in place: snapshots share them
            array.setflags(write=False)
        spans = list(zip(cuts, cuts[1:]))
        new_ids = [ids[a:b] for a, b in spans]
        new_ends = [ends[a:b] for a, b in spans]
        new_flags = [flags[a:b] for a, b in spans]
        last = ends[bounds[1:] - 1].tolist()
        at = len(self.ids) if at is None else at
        self.ids[at:at] = new_ids
        self.ends[at:at] = new_ends
        self.flags[at:at] = new_flags
        return bases.tolist(), counts.tolist(), last, _continued_per_block(flags, cuts)

    def _reindex(self) -> None:
        self.first_index = np.zeros(len(self.counts) + 1, np.int64)
        np.cumsum(self.counts, out=self.first_index[1:])
        self.last_end = self.bases + self.last_local
        self.continued_before = np.zeros(len(self.continued) + 1, np.int64)
        np.cumsum(self.continued, out=self.continued_before[1:])

    # -- size ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.first_index[-1])

    @property
    def nbytes(self) -> int:
        arrays = sum(a.nbytes for a in self.ids) + sum(a.nbytes for a in self.ends)
        arrays += sum(a.nbytes for a in self.flags)
        meta = self.bases.nbytes + self.counts.nbytes + self.last_local.nbytes + self.continued.nbytes
        meta += self.first_index.nbytes + self.last_end.nbytes + self.continued_before.nbytes
        return arrays + meta + 3 * 8 * len(self.ids)  # list slots

    @property
    def block_count(self) -> int:
        return len(self.ids)

    # -- lookups ------------------------------------------------------------------------------

    def block_of(self, i: int) -> int:
        return int(self.first_index.searchsorted(i, "right")) - 1

    def rank(self, offset: int, side: str = "right") -> int:
        """Number of tokens whose end is ``<= offset`` (side right) or ``< offset`` (left):
        ``np.searchsorted(ends, offset, side)`` over the whole document."""
        # ndarray.searchsorted, not np.searchsorted: the method skips numpy's Python-level
        # dispatch, which costs more than the search on these small arrays
        b = int(self.last_end.searchsorted(offset, side))
        if b >= len(self.ids):
            return len(self)
        local = search(self.ends[b], offset - int(self.bases[b]), side)
        return int(self.first_index[b]) + local

    def ranks(self, offsets: np.ndarray, side: str = "right") -> np.ndarray:
        """:meth:`rank` of many offsets: one search per block they fall in."""
        offsets = np.asarray(offsets, np.int64)
        blocks = self.last_end.searchsorted(offsets, side)
        ranks = np.full(len(offsets), len(self), np.int64)
        for b, at in _by_block(blocks, len(self.ids)):
            local = as_needles(offsets[at] - self.bases[b], OFFSET_DTYPE)
            ranks[at] = self.ends[b].searchsorted(local, side) + self.first_index[b]
        return ranks

    def flags_at(self, indices: np.ndarray) -> np.ndarray:
        """The flags of the tokens at ``indices`` (all valid)."""
        indices = np.asarray(indices, np.int64)
        blocks = self.first_index.searchsorted(indices, "right") - 1
        flags = np.empty(len(indices), FLAG_DTYPE)
        for b, at in _by_block(blocks, len(self.ids)):
            flags[at] = self.flags[b][indices[at] - self.first_index[b]]
        return flags

    def continuations_before(self, i: int) -> int:
        """How many of tokens ``[0, i)`` continue a display segment: the blocks' counts and
        one block's flags."""
        if i >= len(self):
            return int(self.continued_before[-1])
        b = self.block_of(i)
        local = self.flags[b][: i - int(self.first_index[b])]
        return int(self.continued_before[b]) + int(np.count_nonzero(local & CONTINUES))

    def end(self, i: int) -> int:
        b = self.block_of(i)
        return int(self.bases[b]) + int(self.ends[b][i - int(self.first_index[b])])

    def start(self, i: int) -> int:
        return self.end(i - 1) if i > 0 else 0

    def id(self, i: int) -> int:
        b = self.block_of(i)
        return int(self.ids[b][i - int(self.first_index[b])])

    def flag(self, i: int) -> int:
        b = self.block_of(i)
        return int(self.flags[b][i - int(self.first_index[b])])

    def continues(self, i: int) -> bool:
        return bool(self.flag(i) & CONTINUES)

    def slice(self, first: int, last: int) -> Piece:
        """Tokens ``[first, last)`` with absolute ends."""
        n = len(self)
        first, last = max(0, first), min(last, n)
        if last <= first:
            return Piece(np.zeros(0, ID_DTYPE), np.zeros(0, np.int64), np.zeros(0, FLAG_DTYPE))
        b0, b1 = self.block_of(first), self.block_of(last - 1)
        ids, ends, flags = [], [], []
        for b in range(b0, b1 + 1):
            lo = max(first - int(self.first_index[b]), 0)
            hi = min(last - int(self.first_index[b]), int(self.counts[b]))
            ids.append(self.ids[b][lo:hi])
            ends.append(self.ends[b][lo:hi].astype(np.int64) + int(self.bases[b]))
            flags.append(self.flags[b][lo:hi])
        if len(ids) == 1:
            return Piece(ids[0], ends[0], flags[0])
        return Piece(np.concatenate(ids), np.concatenate(ends), np.concatenate(flags))

    def to_encoding(self, text_length: int) -> Encoding:
        """All tokens as one fresh Encoding (O(n), filled block by block)."""
        n = len(self)
        ids, ends, flags = np.empty(n, ID_DTYPE), np.empty(n, OFFSET_DTYPE), np.empty(n, FLAG_DTYPE)
        for b, first in enumerate(self.first_index[:-1].tolist()):
            last = first + len(self.ids[b])
            ids[first:last] = self.ids[b]
            np.add(self.ends[b], OFFSET_DTYPE(self.bases[b]), out=ends[first:last])
            flags[first:last] = self.flags[b]
        return Encoding(ids, ends, flags, text_length)

    def frozen(self) -> BlockStore:
        """A copy that later edits cannot change: O(blocks), because block arrays are
        read-only and every edit builds new ones."""
        copy = BlockStore.__new__(BlockStore)
        copy.ids, copy.ends, copy.flags = list(self.ids), list(self.ends), list(self.flags)
        for name in ("bases", "counts", "last_local", "continued", "first_index", "last_end",
                     "continued_before"):
            setattr(copy, name, getattr(self, name))
        return copy

    # -- the edit -----------------------------------------------------------------------------

    def run_in_block(
        self, lo: int, hi: int | None, inner: tuple[int, ...] = ()
    ) -> tuple[int, list[int]] | None:
        """``(b, [first, *ranks, last])``: the tokens ending in ``(lo, hi]`` (``hi`` None: to
        the end of the text) are tokens ``[first, last)`` of block ``b`` (local indices), when
        one block holds them all; else None. ``ranks`` are, for each offset in ``inner`` (which
        lie in ``[lo, hi]``), the local index of the first token ending after it. What an
        edit's window replaces, found without whole-document indices and in one search."""
        nblocks = len(self.ids)
        if not nblocks:
            return None
        b = min(int(self.last_end.searchsorted(lo, "right")), nblocks - 1)
        if hi is None:
            if b != nblocks - 1:
                return None
        else:
            last_end = int(self.last_end[b])
            if hi > last_end:
                return None
            # a zero-width token opening the next block at ``hi`` would belong to the run too
            if hi == last_end and b + 1 < nblocks and int(self.bases[b + 1]) + int(self.ends[b + 1][0]) <= hi:
                return None
        base = int(self.bases[b])
        offsets = (lo, *inner) if hi is None else (lo, *inner, hi)
        # one searchsorted for all of them (a call costs more than the search); int32 needles,
        # or numpy would compare in int64 by copying the block
        needles = np.array([x - base for x in offsets], OFFSET_DTYPE)
        ranks = self.ends[b].searchsorted(needles, "right").tolist()
        if hi is None:
            ranks.append(len(self.ids[b]))
        return b, ranks

    def block_piece(self, b: int, first: int, last: int) -> Piece:
        """Tokens ``[first, last)`` of block ``b`` as views, ends relative to ``self.bases[b]``."""
        return Piece(self.ids[b][first:last], self.ends[b][first:last], self.flags[b][first:last])

    def splice_in_block(self, b: int, first: int, last: int, new: Piece, delta: int) -> bool:
        """Replace tokens ``[first, last)`` of block ``b`` (local indices) with ``new``, whose
        ends are relative to the block's base, and shift every later token by ``delta``.
        The usual edit: builds the one new block and copies the small per-block arrays
        (snapshots share the old ones) instead of re-cutting a run of blocks. False (and
        nothing changed) when the block would leave its size bounds."""
        old_count = len(self.ids[b])
        count = old_count - (last - first) + len(new)
        # (a lone block, a short document's, may be smaller, but not empty)
        smallest = 1 if len(self.ids) == 1 else BLOCK_TOKENS // 4
        if not (smallest <= count <= 2 * BLOCK_TOKENS) or not 0 <= first <= last <= old_count:
            return False
        ids, ends, flags = self.ids[b], self.ends[b], self.flags[b]
        block = (
            np.concatenate((ids[:first], new.ids, ids[last:]), dtype=ID_DTYPE),
            np.concatenate((ends[:first], new.ends, ends[last:] + delta), dtype=OFFSET_DTYPE),
            np.concatenate((flags[:first], new.flags, flags[last:]), dtype=FLAG_DTYPE),
        )
        for array in block:  # never changed in place: snapshots share them
            array.setflags(write=False)
        self.ids[b], self.ends[b], self.flags[b] = block
        # the small per-block arrays are copied, not changed, for the same reason; those an
        # edit leaves as they were (a count, when typing keeps the number of tokens) are shared
        if count != old_count:
            counts, first_index = self.counts.copy(), self.first_index.copy()
            counts[b] = count
            first_index[b + 1 :] += count - old_count
            self.counts, self.first_index = counts, first_index
        continued = int(np.count_nonzero(block[2] & CONTINUES))
        if continued != self.continued[b]:
            before, continued_before = self.continued.copy(), self.continued_before.copy()
            continued_before[b + 1 :] += continued - int(before[b])
            before[b] = continued
            self.continued, self.continued_before = before, continued_before
        last = int(block[1][-1])
        if delta or last != self.last_local[b]:
            bases, last_local = self.bases, self.last_local.copy()
            last_local[b] = last
            if delta:
                bases = bases.copy()
                bases[b + 1 :] += delta
            self.bases, self.last_local = bases, last_local
            self.last_end = bases + last_local
        return True

    def splice(self, first: int, last: int, new: Piece, delta: int) -> None:
        """Replace tokens ``[first, last)`` with ``new`` (absolute ends in the new text) and
        shift every token after them by ``delta`` characters."""
        nblocks = len(self.ids)
        if nblocks == 0:
            bases, counts, last_local, continued = self._split(new, 0)
            self.bases = np.asarray(bases, np.int64)
            self.counts = np.asarray(counts, np.int64)
            self.last_local = np.asarray(last_local, np.int64)
            self.continued = np.asarray(continued, np.int64)
            self._reindex()
            return
        b0 = min(self.block_of(first), nblocks - 1)
        b1 = min(self.block_of(max(last - 1, first)), nblocks - 1)
        if b0 == b1:
            offset, base = int(self.first_index[b0]), int(self.bases[b0])
            local = Piece(new.ids, (new.ends - base).astype(OFFSET_DTYPE), new.flags)
            if self.splice_in_block(b0, first - offset, last - offset, local, delta):
                return
        # take in the next block too when the rebuilt run would be tiny
        rebuilt = int(self.first_index[b1 + 1]) - int(self.first_index[b0]) - (last - first) + len(new)
        if rebuilt < BLOCK_TOKENS // 4 and b1 + 1 < nblocks:
            b1 += 1
        base = int(self.bases[b0])
        head = self.slice(int(self.first_index[b0]), first)
        tail = self.slice(last, int(self.first_index[b1 + 1]))
        tail = Piece(tail.ids, tail.ends + delta, tail.flags)
        merged = Piece(
            np.concatenate([head.ids, np.asarray(new.ids, ID_DTYPE), tail.ids]),
            np.concatenate([head.ends, np.asarray(new.ends, np.int64), tail.ends]),
            np.concatenate([head.flags, np.asarray(new.flags, FLAG_DTYPE), tail.flags]),
        )
        del self.ids[b0 : b1 + 1], self.ends[b0 : b1 + 1], self.flags[b0 : b1 + 1]
        bases, counts, last_local, continued = self._split(merged, base, at=b0)
        after = self.bases[b1 + 1 :] + delta
        self.bases = np.concatenate([self.bases[:b0], np.asarray(bases, np.int64), after])
        self.counts = np.concatenate([self.counts[:b0], np.asarray(counts, np.int64), self.counts[b1 + 1 :]])
        self.last_local = np.concatenate(
            [self.last_local[:b0], np.asarray(last_local, np.int64), self.last_local[b1 + 1 :]]
        )
        self.continued = np.concatenate(
            [self.continued[:b0], np.asarray(continued, np.int64), self.continued[b1 + 1 :]]
        )
        self._reindex()


def _by_block(blocks: np.ndarray, nblocks: int):
    """``(b, positions)`` for each block ``b < nblocks`` that ``blocks`` names: the positions
    where it does (a sort, then one group per block)."""
    if len(blocks) == 1 or (len(blocks) and blocks[0] == blocks[-1] and (blocks == blocks[0]).all()):
        b = int(blocks[0])  # the usual request: every lookup in one block
        if 0 <= b < nblocks:
            yield b, slice(None)
        return
    order = np.argsort(blocks, kind="stable")
    ordered = blocks[order]
    cuts = np.flatnonzero(np.diff(ordered)) + 1
    for first, last in zip([0, *cuts.tolist()], [*cuts.tolist(), len(order)]):
        b = int(ordered[first]) if last > first else nblocks
        if 0 <= b < nblocks:
            yield b, order[first:last]


def _continued_per_block(flags: np.ndarray, cuts: list[int]) -> list[int]:
    """How many tokens continue a display segment in each block ``[cuts[k], cuts[k + 1])``."""
    if len(cuts) < 2:
        return []
    continues = (np.asarray(flags) & CONTINUES) != 0
    return np.add.reduceat(continues, np.asarray(cuts[:-1], np.int64), dtype=np.int64).tolist()


def _block_cuts(n: int) -> list[int]:
    """Where ``n`` tokens are cut into blocks: every BLOCK_TOKENS, without a tiny tail block
    (it joins the one before); ``[0]`` for no tokens."""
    size = BLOCK_TOKENS
    cuts = list(range(0, n, size)) + [n]
    if len(cuts) > 2 and cuts[-1] - cuts[-2] < size // 4:
        cuts.pop(-2)
    return cuts if n else [0]

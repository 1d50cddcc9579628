"""Code units (UTF-8 bytes, UTF-16 units) before any character offset, in blocks, so a
column on a 10 MB line costs O(log n + k), not O(line).

A character is one code unit plus its *extra* units: an astral character is one extra
UTF-16 unit, a UTF-8 character of b bytes has b - 1 extra (a lone surrogate counts as
``surrogatepass`` encodes it). The text is cut into blocks of ~4k characters, each with
its extra units summed before it: the units before an offset are the offset, plus the
extras before its block, plus one scan of at most one block. An edit rescans the blocks
it touches and moves the later ones with one vectorized add over blocks (~2.5k for
10 MB), never a pass over the text.

An index is immutable (an edit returns a new one), so a reader on another thread never
sees half an update.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

UTF8 = "utf-8"
UTF16 = "utf-16"
UTF32 = "utf-32"

BLOCK_CHARS = 4096  # target block size; edited blocks stay between a quarter and twice this


class Text(Protocol):  # a str or a Rope
    def __len__(self) -> int: ...
    def __getitem__(self, key: slice) -> str: ...


def extra_units(text: str, encoding: str) -> int:
    """Code units of ``text`` in ``encoding`` beyond one per character."""
    if text.isascii():  # O(1) on a str
        return 0
    if encoding == UTF16:
        return len(text.encode("utf-16-le", "surrogatepass")) // 2 - len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass")) - len(text)
    return 0


def _unit_widths(text: str, encoding: str) -> np.ndarray:
    """Code units per character of ``text`` in ``encoding``."""
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if encoding == UTF16:
        return 1 + (points > 0xFFFF).astype(np.int64)
    return (
        1 + (points >= 0x80).astype(np.int64) + (points >= 0x800) + (points >= 0x10000)
    )  # UTF-8; a lone surrogate counts 3 bytes as with surrogatepass


def cumulative_units(text: str, encoding: str) -> np.ndarray:
    """``units[k]`` = code units in ``encoding`` of the first ``k`` characters of ``text``."""
    if text.isascii() or encoding == UTF32:
        return np.arange(len(text) + 1, dtype=np.int64)
    units = np.zeros(len(text) + 1, np.int64)
    np.cumsum(_unit_widths(text, encoding), out=units[1:])
    return units


def _pieces(length: int) -> list[int]:
    """Lengths of the blocks ``length`` characters are cut into."""
    if length <= 2 * BLOCK_CHARS:
        return [length] if length else []
    full, rest = divmod(length, BLOCK_CHARS)
    pieces = [BLOCK_CHARS] * full
    if rest >= BLOCK_CHARS // 4:
        pieces.append(rest)
    else:  # no tiny block: the last one takes the rest
        pieces[-1] += rest
    return pieces


class UnitIndex:
    """Code units before each block of a text in one encoding (UTF-8 or UTF-16)."""

    __slots__ = ("encoding", "_starts", "_extras")

    def __init__(self, encoding: str, starts: np.ndarray, extras: np.ndarray):
        self.encoding = encoding
        self._starts = starts  # each block's first offset, then the text's length
        self._extras = extras  # extra units before each block, then in the whole text

    @classmethod
    def of(cls, text: Text, encoding: str) -> UnitIndex:
        return cls._built(text, encoding, 0, len(text))

    @classmethod
    def _built(cls, text: Text, encoding: str, start: int, end: int) -> UnitIndex:
        """The blocks of ``text[start:end]``: offsets in ``text``, extras counted from ``start``."""
        lengths = _pieces(end - start)
        starts = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=starts[1:])
        starts += start
        bounds = starts.tolist()
        counts = [extra_units(text[a:b], encoding) for a, b in zip(bounds, bounds[1:])]
        extras = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(counts, out=extras[1:])
        return cls(encoding, starts, extras)

    def __len__(self) -> int:
        """Characters in the text."""
        return int(self._starts[-1])

    @property
    def extra(self) -> int:
        """Extra units in the whole text (0: one code unit per character everywhere)."""
        return int(self._extras[-1])

    @property
    def block_count(self) -> int:
        return len(self._starts) - 1

    def _block_of(self, offset: int) -> int:
        return min(max(int(self._starts.searchsorted(offset, "right")) - 1, 0), max(len(self._starts) - 2, 0))

    # -- lookups ------------------------------------------------------------------------------

    def units_at(self, text: Text, offset: int) -> int:
        """Code units in ``text[:offset]`` (``text`` is the indexed text)."""
        if len(self._starts) < 2:
            return 0
        b = self._block_of(offset)
        start = int(self._starts[b])
        extra = int(self._extras[b])
        if self._extras[b + 1] != extra:  # else the block has no extra units
            extra += extra_units(text[start:offset], self.encoding)
        return offset + extra

    def units_at_many(self, text: Text, offsets: np.ndarray) -> np.ndarray:
        """``units_at`` for many offsets (any order): one scan per run of adjacent blocks they
        touch, up to the last offset in the run."""
        offsets = np.asarray(offsets, np.int64)
        units = offsets.copy()
        if len(self._starts) < 2 or not len(offsets):
            return units
        starts, extras = self._starts, self._extras
        blocks = np.clip(starts.searchsorted(offsets, "right") - 1, 0, len(starts) - 2)
        units += extras[blocks]
        touched = np.unique(blocks)
        touched = touched[extras[touched + 1] != extras[touched]]  # blocks with extra units
        if not len(touched):
            return units
        for run in np.split(touched, np.flatnonzero(np.diff(touched) > 1) + 1):
            first, last = int(run[0]), int(run[-1])
            at = np.flatnonzero((blocks >= first) & (blocks <= last))
            base = int(starts[first])
            scanned = cumulative_units(text[base : int(offsets[at].max())], self.encoding)
            relative = offsets[at] - base
            # units past the block's start in the scan, minus the plain count already added
            units[at] += scanned[relative] - relative - (extras[blocks[at]] - extras[first])
        return units

    def offset_of(self, text: Text, units: int) -> int:
        """The last offset with at most ``units`` code units before it (a unit inside a
        character gives that character's start)."""
        starts, extras = self._starts, self._extras
        if len(starts) < 2 or units <= 0:
            return 0
        unit_starts = starts + extras
        if units >= unit_starts[-1]:
            return int(starts[-1])
        b = int(unit_starts.searchsorted(units, "right")) - 1
        start, into = int(starts[b]), units - int(unit_starts[b])
        if extras[b + 1] == extras[b]:
            return start + into
        scanned = cumulative_units(text[start : int(starts[b + 1])], self.encoding)
        return start + int(scanned.searchsorted(into, "right")) - 1

    # -- edits --------------------------------------------------------------------------------

    def edited(self, new_text: Text, start: int, end: int, inserted_length: int) -> UnitIndex:
        """The index of ``new_text``, the old text with ``[start, end)`` replaced by
        ``inserted_length`` characters: the blocks the edit touches are rescanned, the later
        ones moved."""
        starts, extras = self._starts, self._extras
        blocks = len(starts) - 1
        if blocks == 0:
            return UnitIndex.of(new_text, self.encoding)
        delta = inserted_length - (end - start)
        first, last = self._block_of(start), self._block_of(max(end - 1, start))
        length = int(starts[last + 1] - starts[first]) + delta
        if length < BLOCK_CHARS // 4:  # too small: take a neighbour in, if there is one
            if last + 1 < blocks:
                last += 1
                length += int(starts[last + 1] - starts[last])
            elif first > 0:
                first -= 1
                length += int(starts[first + 1] - starts[first])
        if first == 0 and last == blocks - 1:
            return UnitIndex.of(new_text, self.encoding)
        region_start = int(starts[first])
        region = UnitIndex._built(new_text, self.encoding, region_start, region_start + length)
        added = int(region._extras[-1]) - int(extras[last + 1] - extras[first])
        return UnitIndex(
            self.encoding,
            np.concatenate((starts[:first], region._starts[:-1], starts[last + 1 :] + delta)),
            np.concatenate(
                (extras[: first + 1], region._extras[1:] + extras[first], extras[last + 2 :] + added)
            ),
        )

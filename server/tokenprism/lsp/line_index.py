"""Where a text's lines start, in blocks, so an edit or a lookup costs O(log lines + k).

A 10 MB document has ~250k lines: one array of their starts would be copied by every edit
that adds or removes a line break and moved by every keystroke. Instead the starts are cut
into blocks of ~1k lines, each held relative to its block's *base* (the block's first line
start), like ``tokenization/blocks.py`` holds tokens. An edit rebuilds the block(s) it
touches and shifts the later blocks' bases with one vectorized add over blocks, not lines;
lookups bisect the bases (or the lines before each block), then one block.

An index is immutable and shares its untouched blocks with the index it was edited from:
a reader on another thread never sees half an update.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from ..tokenization.rope import Rope

BLOCK_LINES = 1024  # target block size; blocks stay between a quarter and twice this

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SCAN_CHUNK = 1 << 20
_NO_LINES = np.zeros(0, np.int64)
_NO_END = 1 << 63  # past any offset: the last block's span


def line_starts_of(text: str, base: int = 0) -> np.ndarray:
    """Offsets (plus ``base``) at which a line starts after a break in ``text``."""
    if len(text) < 4096:
        return np.fromiter((m.end() + base for m in _LINE_BREAK.finditer(text)), np.int64)
    found = []
    for at in range(0, len(text), _SCAN_CHUNK):  # chunks keep the UTF-32 copy small
        points = np.frombuffer(
            text[at : at + _SCAN_CHUNK + 1].encode("utf-32-le", "surrogatepass"), dtype=np.uint32
        )
        lf = points == 10
        cr = points == 13
        cr[:-1] &= ~lf[1:]  # "\r\n" is one break, ending at the "\n"
        breaks = np.flatnonzero((lf | cr)[:_SCAN_CHUNK])
        found.append(breaks.astype(np.int64) + (at + 1 + base))
    return np.concatenate(found)


def _cut(count: int) -> list[int]:
    """Block boundaries for ``count`` lines: ``BLOCK_LINES`` each, a short last one merged."""
    cuts = list(range(0, count, BLOCK_LINES)) + [count]
    if len(cuts) > 2 and cuts[-1] - cuts[-2] < BLOCK_LINES // 4:
        del cuts[-2]
    return cuts


def _blocks_of(starts: np.ndarray, base: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """``starts`` (relative to ``base``, first one 0) as blocks: (local starts, bases, line counts)."""
    cuts = _cut(len(starts))
    bounds = np.asarray(cuts[:-1], np.int64)
    counts = np.diff(np.asarray(cuts, np.int64))
    block_bases = starts[bounds]
    local = starts - np.repeat(block_bases, counts)
    local.setflags(write=False)  # never changed in place: indexes share blocks
    blocks = [local[a:b] for a, b in zip(cuts, cuts[1:])]
    return blocks, block_bases + base, counts


class LineIndex:
    """Offsets of line starts (line 0 starts at 0), in blocks. Immutable: ``edited`` returns a
    new index sharing the blocks the edit did not touch."""

    __slots__ = ("_blocks", "_bases", "_first_lines")

    def __init__(self, blocks: list[np.ndarray], bases: np.ndarray, first_lines: np.ndarray):
        # never changed after this (an edit builds a new list): snapshots share the blocks
        self._blocks = blocks  # each block's line starts minus its base (so each begins with 0)
        self._bases = bases  # each block's first line start
        self._first_lines = first_lines  # lines before each block, then the total

    @classmethod
    def of(cls, text: str) -> LineIndex:
        starts = np.concatenate(([0], line_starts_of(text))).astype(np.int64)
        blocks, bases, counts = _blocks_of(starts, 0)
        return cls(blocks, bases, np.concatenate(([0], np.cumsum(counts))))

    def __len__(self) -> int:
        return int(self._first_lines[-1])

    @property
    def block_count(self) -> int:
        return len(self._blocks)

    # -- lookups ------------------------------------------------------------------------------

    def _block_of_line(self, line: int) -> int:
        return int(self._first_lines.searchsorted(line, "right")) - 1

    def start(self, line: int) -> int:
        """Where ``line`` starts (``0 <= line < len(self)``)."""
        if not 0 <= line < len(self):
            raise IndexError(f"line {line} out of range")
        b = self._block_of_line(line)
        return int(self._bases[b] + self._blocks[b][line - self._first_lines[b]])

    def starts_between(self, first: int, last: int) -> np.ndarray:
        """Starts of the lines ``[first, last)`` (clamped to the lines there are)."""
        first, last = max(first, 0), min(last, len(self))
        if last <= first:
            return _NO_LINES
        parts = []
        b = self._block_of_line(first)
        while first < last:
            block_first = int(self._first_lines[b])
            upto = min(last, int(self._first_lines[b + 1]))
            parts.append(self._blocks[b][first - block_first : upto - block_first] + self._bases[b])
            first, b = upto, b + 1
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def starts_at(self, lines: np.ndarray) -> np.ndarray:
        """Starts of many lines at once (any order, each ``0 <= line < len(self)``)."""
        lines = np.asarray(lines, np.int64)
        if len(lines):  # a viewport's lines are nearly always in one block: no grouping then
            b = self._block_of_line(int(lines[0]))
            first = self._first_lines[b]
            nth = lines - first
            if (nth.view(np.uint64) < int(self._first_lines[b + 1] - first)).all():  # negatives wrap
                return self._blocks[b][nth] + self._bases[b]
        blocks = self._first_lines.searchsorted(lines, "right") - 1
        starts = np.empty(len(lines), np.int64)
        for b, at in _by_block(blocks):
            starts[at] = self._blocks[b][lines[at] - self._first_lines[b]] + self._bases[b]
        return starts

    def _rank(self, offset: int, side: str) -> int:
        """``np.searchsorted(starts, offset, side)`` over all the line starts."""
        b = int(self._bases.searchsorted(offset, side)) - 1  # the last block that can hold it
        if b < 0:
            return 0
        return int(self._first_lines[b] + self._blocks[b].searchsorted(offset - self._bases[b], side))

    def line_of(self, offset: int) -> int:
        return self._rank(offset, "right") - 1

    def lines_of(self, offsets: np.ndarray) -> np.ndarray:
        """``line_of`` for many offsets at once (any order)."""
        return self.locate(offsets)[0]

    def locate(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(line, line start) of each offset (any order, each ``>= 0``)."""
        offsets = np.asarray(offsets, np.int64)
        if len(offsets):  # nearly always one block: no grouping then
            b = max(int(self._bases.searchsorted(offsets[0], "right")) - 1, 0)
            base = self._bases[b]
            relative = offsets - base
            span = int(self._bases[b + 1] - base) if b + 1 < len(self._bases) else _NO_END
            if (relative.view(np.uint64) < span).all():  # negatives wrap
                local = self._blocks[b]
                nth = local.searchsorted(relative, "right") - 1
                return nth + self._first_lines[b], local[nth] + base
        blocks = np.maximum(self._bases.searchsorted(offsets, "right") - 1, 0)
        lines = np.empty(len(offsets), np.int64)
        starts = np.empty(len(offsets), np.int64)
        for b, at in _by_block(blocks):
            local, base = self._blocks[b], self._bases[b]
            nth = local.searchsorted(offsets[at] - base, "right") - 1
            lines[at] = nth + self._first_lines[b]
            starts[at] = local[nth] + base
        return lines, starts

    def longest_line(self, length: int) -> int:
        """Characters in the longest line, its break included, of a text of ``length``: one
        vectorized pass per block."""
        ends = np.append(self._bases[1:], length) - self._bases
        return max(int(np.diff(local, append=end).max()) for local, end in zip(self._blocks, ends.tolist()))

    # -- edits --------------------------------------------------------------------------------

    def edited(self, new_text: str | Rope, start: int, end: int, inserted_length: int) -> LineIndex:
        """The index of ``new_text``, which is the old text with ``[start, end)`` replaced by
        ``inserted_length`` characters. Only the edited window is rescanned, and only the
        blocks holding the lines it removes or its neighbours are rebuilt."""
        delta = inserted_length - (end - start)
        # A line start p depends on the characters p-1 and p: those before the edit keep
        # their place, those wholly after it shift by delta, the window between is rescanned.
        keep_before = max(self._rank(start, "left"), 1)  # line 0's start always stays
        keep_after = self._rank(end + 1, "left")
        window_from = max(start - 1, 0)
        window_to = min(start + inserted_length + 1, len(new_text))
        window = (new_text[window_from:window_to] if isinstance(new_text, str)
                  else new_text.slice(window_from, window_to))
        # a fresh start p in [start, start + inserted] needs a break at p - 1, so it is in the
        # window but its last character (typing before a line's "\n" rescans nothing)
        probe = window[:-1] if window_to == start + inserted_length + 1 else window
        if "\n" in probe or "\r" in probe:
            fresh = line_starts_of(window, window_from)
            fresh = fresh[(fresh >= max(start, 1)) & (fresh <= start + inserted_length)]
        else:
            fresh = _NO_LINES  # typing: no line break anywhere near
        if keep_after == keep_before and not len(fresh):
            return self._moved(keep_after, delta) if delta else self
        return self._replaced(keep_before, keep_after, fresh, delta)

    def _moved(self, line: int, delta: int) -> LineIndex:
        """Lines from ``line`` on moved by ``delta`` (typing): one block copied, the later
        blocks' bases moved."""
        b = self._block_of_line(line - 1)
        local = self._blocks[b].copy()
        local[line - int(self._first_lines[b]) :] += delta
        local.setflags(write=False)
        blocks = self._blocks.copy()
        blocks[b] = local
        bases = self._bases.copy()
        bases[b + 1 :] += delta
        return LineIndex(blocks, bases, self._first_lines)

    def _replaced(self, keep_before: int, keep_after: int, fresh: np.ndarray, delta: int) -> LineIndex:
        """Lines ``[keep_before, keep_after)`` replaced by ``fresh`` starts, later ones moved by
        ``delta``: the blocks from the one before the edit to the one after it are rebuilt."""
        blocks, bases, first_lines = self._blocks, self._bases, self._first_lines
        first_block = self._block_of_line(keep_before - 1)
        last_block = self._block_of_line(keep_after - 1)
        base = int(bases[first_block])
        head = blocks[first_block][: keep_before - first_lines[first_block]]
        tail = blocks[last_block][keep_after - first_lines[last_block] :]
        local = np.concatenate((head, fresh - base, tail + (bases[last_block] + delta - base)))
        if len(local) < BLOCK_LINES // 4:  # too small: take a neighbour in, if there is one
            if last_block + 1 < len(blocks):
                last_block += 1
                local = np.concatenate((local, blocks[last_block] + (bases[last_block] + delta - base)))
            elif first_block > 0:
                first_block -= 1
                before = int(bases[first_block])
                local = np.concatenate((blocks[first_block], local + (base - before)))
                base = before
        if len(local) < 2 * BLOCK_LINES:  # one block (an Enter, a line deleted)
            local.setflags(write=False)
            new_blocks, new_bases, counts = [local], np.array([base], np.int64), np.array([len(local)])
        else:
            new_blocks, new_bases, counts = _blocks_of(local, base)
        added = len(fresh) - (keep_after - keep_before)
        return LineIndex(
            blocks[:first_block] + new_blocks + blocks[last_block + 1 :],
            np.concatenate((bases[:first_block], new_bases, bases[last_block + 1 :] + delta)),
            np.concatenate((
                first_lines[: first_block + 1],
                first_lines[first_block] + np.cumsum(counts),
                first_lines[last_block + 2 :] + added,
            )),
        )


def _by_block(blocks: np.ndarray) -> Iterator[tuple[int, slice | np.ndarray]]:
    """(block, where in ``blocks`` it is) for each block named: one bisection per block a
    batch of lookups touches (a viewport's lines: usually one), never one per line."""
    if not len(blocks):
        return
    lowest, highest = int(blocks.min()), int(blocks.max())
    if lowest == highest:
        yield lowest, slice(None)
        return
    order = np.argsort(blocks, kind="stable")
    ordered = blocks[order]
    for group in np.split(order, np.flatnonzero(np.diff(ordered)) + 1):
        yield int(blocks[group[0]]), group

"""A document's text as a list of string chunks, so an edit copies one chunk, not 1 MB.

A Python ``str`` with one emoji stores every character in 4 bytes: replacing a character
of a 1 MB document that way copies 4 MB and faults in fresh pages, milliseconds per
keystroke. Here an edit rebuilds only the chunks it touches; the whole string is joined
only when asked for (and cached until the next edit).

``replace`` edits in place (the token state's own copy); ``replaced`` returns a new rope
and leaves this one as it was, sharing the untouched chunks (the language server's
document versions, which requests read while the document moves on).
"""

from __future__ import annotations

import bisect
import itertools

CHUNK_CHARS = 4096  # edited chunks stay between a quarter and twice this


class Rope:
    __slots__ = ("_chunks", "_starts", "_shift_from", "_shift", "_length", "_joined")

    def __init__(self, text: str = ""):
        # one chunk until the first edit splits it: opening a document copies nothing
        self._chunks = [text] if text else []
        self._length = len(text)
        self._joined: str | None = text
        self._reindex()

    def _reindex(self) -> None:
        self._starts = _starts_of(self._chunks, 0)
        # chunk k starts at _starts[k], plus _shift from chunk _shift_from on: typing keeps
        # moving the same later chunks, so their shift waits instead of being added to each
        # start on every keystroke (lists are never changed in place: copies share them)
        self._shift_from, self._shift = len(self._starts), 0

    def _start(self, k: int) -> int:
        return self._starts[k] + (self._shift if k >= self._shift_from else 0)

    def __len__(self) -> int:
        return self._length

    def __str__(self) -> str:
        if self._joined is None:
            self._joined = "".join(self._chunks)
        return self._joined

    def joined(self) -> str:
        """The whole text without caching it: for work that reads it once (opening, the idle
        check), so the rope does not hold the text twice, as chunks and joined, until the next
        edit (36 MB for 9 M characters with one emoji per chunk)."""
        return self._joined if self._joined is not None else "".join(self._chunks)

    def __getitem__(self, key: int | slice) -> str:
        """``rope[a:b]`` (step 1) or ``rope[i]``, like the same on the joined string."""
        if isinstance(key, slice):
            start, stop, step = key.indices(self._length)
            if step != 1:
                return str(self)[key]
            return self.slice(start, stop)
        if key < 0:
            key += self._length
        if not 0 <= key < self._length:
            raise IndexError("rope index out of range")
        return self.slice(key, key + 1)

    def leading_chunks(self, count: int) -> tuple[str, ...]:
        """The chunks holding the first ``count`` characters. An edit leaves the chunks before
        it the same objects, so two ropes whose leading chunks are identical (``is``) begin
        with the same text: a cheaper test than slicing and comparing that text."""
        if not self._chunks or count <= 0:
            return ()
        return tuple(self._chunks[: self._chunk_at(min(count, self._length) - 1) + 1])

    def isascii(self) -> bool:
        return all(chunk.isascii() for chunk in self._chunks)  # O(chunks): str caches it

    def _chunk_at(self, offset: int) -> int:
        """Index of the chunk holding ``offset`` (the last chunk for the end)."""
        starts, shift_from = self._starts, self._shift_from
        k = bisect.bisect_right(starts, offset, 0, shift_from)
        if k == shift_from:  # at or past the shifted chunks' first start, if any
            k = bisect.bisect_right(starts, offset - self._shift, shift_from)
        return max(0, k - 1)

    def slice(self, start: int, end: int) -> str:
        start, end = max(0, start), min(end, self._length)
        if end <= start:
            return ""
        if self._joined is not None:
            return self._joined[start:end]
        i, j = self._chunk_at(start), self._chunk_at(end - 1)
        if i == j:
            base = self._start(i)
            return self._chunks[i][start - base : end - base]
        parts = [self._chunks[i][start - self._start(i) :]]
        parts.extend(self._chunks[i + 1 : j])
        parts.append(self._chunks[j][: end - self._start(j)])
        return "".join(parts)

    def replaced(self, start: int, end: int, new_text: str) -> Rope:
        """A new rope with ``[start, end)`` replaced; this one is unchanged. O(chunks) plus
        the touched chunks."""
        copy = Rope.__new__(Rope)
        copy._chunks, copy._starts = list(self._chunks), self._starts
        copy._shift_from, copy._shift = self._shift_from, self._shift
        copy._length, copy._joined = self._length, self._joined
        copy.replace(start, end, new_text)
        return copy

    def replace(self, start: int, end: int, new_text: str) -> None:
        """Replace characters ``[start, end)`` with ``new_text``."""
        if not self._chunks:
            self.__init__(new_text)
            return
        i = self._chunk_at(start)
        j = i if end == start else self._chunk_at(end)
        first_start = self._start(i)
        # keep chunk sizes in bounds: take in a neighbour when the result would be tiny
        head, tail = self._chunks[i][: start - first_start], self._chunks[j][end - self._start(j) :]
        middle = "".join((head, new_text, tail))
        if len(middle) < CHUNK_CHARS // 4 and j + 1 < len(self._chunks):
            j += 1
            middle += self._chunks[j]
        pieces = _split(middle)
        self._chunks[i : j + 1] = pieces
        delta = len(new_text) - (end - start)
        self._length += delta
        self._joined = None
        # only the rebuilt chunks' starts are summed (exact); the later ones move by delta,
        # added to the pending shift when that covers exactly the chunks after the edit (typing
        # in one place), else the pending shift is settled first (an edit elsewhere)
        starts, shift = self._starts, self._shift
        if shift and not i <= self._shift_from <= j + 1:
            starts = starts[: self._shift_from] + [s + shift for s in starts[self._shift_from :]]
            shift = 0
        shift += delta
        # one chunk rebuilt as one (typing) whose start stands as listed: the list holds as it is
        if not (j == i and len(pieces) == 1 and starts[i] == first_start):
            starts = starts[:i] + _starts_of(pieces, first_start) + starts[j + 1 :]
        self._starts = starts
        self._shift_from, self._shift = (i + len(pieces), shift) if shift else (len(starts), 0)


def _starts_of(chunks: list[str], base: int) -> list[int]:
    return list(itertools.accumulate(map(len, chunks[:-1]), initial=base)) if chunks else []


def _split(text: str) -> list[str]:
    if len(text) <= 2 * CHUNK_CHARS:
        return [text] if text else []
    return [text[k : k + CHUNK_CHARS] for k in range(0, len(text), CHUNK_CHARS)]

"""A text document as the server stores it: its text, an incremental line index and
conversions between character offsets and (line, column) in a position encoding.

No LSP types here: positions are plain ``(line, column)`` pairs and the encoding is
one of ``"utf-8"``, ``"utf-16"`` or ``"utf-32"`` (the LSP ``PositionEncodingKind``
values). A *character offset* is an index into the Python string, i.e. a code point,
which is what the tokenizer layer uses.

A :class:`Snapshot` is immutable: edits make a new one, so a snapshot can be read
from any thread while the document moves on. Its text is a persistent rope: an edit
copies the chunk it touches, not the document (1 MB with one emoji is a 4 MB ``str``),
and the whole string is joined only when someone asks for ``text``.

A column is counted from the line's text when the line is short, and from a
:class:`UnitIndex` (code units per block of text) when it is long: a keystroke on a
10 MB line with emoji costs a scan of one block, not of the line.
"""

from __future__ import annotations

import numpy as np

from ..tokenization.rope import Rope
from ..tokenization.textfile import looks_binary
from .line_index import LineIndex
from .unit_index import UTF8, UTF16, UTF32, UnitIndex, cumulative_units, extra_units

ENCODINGS = (UTF8, UTF16, UTF32)
__all__ = ["ENCODINGS", "UTF8", "UTF16", "UTF32", "Document", "LineIndex", "Snapshot", "cumulative_units"]

# Spans of text longer than this between a line start and an offset are counted by the
# unit index (a bisection and one block), shorter ones by encoding the span itself.
LONG_SPAN = 8192
# positions_at scans the text from the first line start to the last offset when that is
# no longer than this (a viewport), else it asks the unit index.
SCANNED_SPAN = 1 << 16


class _EditedLines:
    """A line index not worked out yet: ``previous`` after an edit (see LineIndex.edited).
    Typing answers first and updates the index after (see Snapshot.settle_lines)."""

    __slots__ = ("previous", "content", "start", "end", "inserted_length")

    def __init__(self, previous: Snapshot, content: Rope, start: int, end: int, inserted_length: int):
        self.previous, self.content = previous, content
        self.start, self.end, self.inserted_length = start, end, inserted_length

    def resolve(self) -> LineIndex:
        return self.previous.lines.edited(self.content, self.start, self.end, self.inserted_length)


class _EditedUnits:
    """A unit index not worked out yet: ``previous`` (an index) after an edit."""

    __slots__ = ("previous", "content", "start", "end", "inserted_length", "result")

    def __init__(self, previous: UnitIndex, content: Rope, start: int, end: int, inserted_length: int):
        self.previous, self.content = previous, content
        self.start, self.end, self.inserted_length = start, end, inserted_length
        self.result: UnitIndex | None = None  # snapshots of one text (with_version) share it

    def resolve(self) -> UnitIndex:
        if self.result is None:
            self.result = self.previous.edited(self.content, self.start, self.end, self.inserted_length)
        return self.result


class Snapshot:
    """One version of a document's text with its line index. Immutable: edits make a new
    one; the attributes set after construction are caches of facts about this text."""

    __slots__ = (
        "version", "content", "encoding", "has_nul", "_lines", "_unit_index", "_ascii", "_plain_line"
    )

    def __init__(
        self,
        version: int,
        content: Rope,
        line_index: LineIndex | _EditedLines | None,  # None: scanned from the text on first use
        encoding: str = UTF16,
        unit_index: UnitIndex | _EditedUnits | None = None,  # None: built on first use
        _ascii: list | None = None,  # [whether all ASCII] once known
        # whether the text holds a NUL character (a binary file); kept up to date by the
        # edits, which look only at the inserted text, so no edit scans the document for it
        has_nul: bool | None = None,
        # a short line known to have one code unit per character (-1: none): typing on it
        # keeps that while it types no wider character, so a keystroke need not re-read it
        plain_line: int = -1,
    ):
        self.version, self.content, self.encoding, self.has_nul = version, content, encoding, has_nul
        self._lines = line_index
        self._unit_index = unit_index
        self._ascii = [] if _ascii is None else _ascii
        self._plain_line = plain_line

    def __repr__(self) -> str:
        return f"Snapshot(version={self.version}, length={self.length})"

    @property
    def line_index(self) -> LineIndex | None:
        """The line index if it is known already, else None."""
        lines = self._lines
        return lines if isinstance(lines, LineIndex) else None

    @property
    def lines(self) -> LineIndex:
        """The line index; a document just opened scans its text on first use (a worker
        does that while the first encode runs, so opening need not wait for it), an edited
        one updates its predecessor's."""
        lines = self._lines
        if isinstance(lines, LineIndex):
            return lines
        index = LineIndex.of(self.text) if lines is None else lines.resolve()
        self._lines = index  # a cache, not a change
        return index

    def settle_lines(self) -> None:
        """Work out an edit's line index (and unit index, if the text has one) now: after the
        edit is answered, before the next."""
        lines = self._lines
        if isinstance(lines, _EditedLines):
            self._lines = lines.resolve()
        if isinstance(self._unit_index, _EditedUnits):
            self._unit_index = self._unit_index.resolve()

    def prepare_positions(self) -> None:
        """Scan for the line index, and for the unit index when a line is long enough to
        need it (a worker does that after a document's first encode)."""
        lines = self.lines
        if not self._plain and lines.longest_line(self.length) > LONG_SPAN:
            _ = self.units

    @property
    def text(self) -> str:
        """The whole text (joined once per snapshot on first use; prefer ``slice``)."""
        return str(self.content)

    @property
    def length(self) -> int:
        return len(self.content)

    def slice(self, start: int, end: int) -> str:
        return self.content.slice(start, end)

    def with_version(self, version: int) -> Snapshot:
        # the same text: its caches hold for the new version too
        return Snapshot(
            version, self.content, self._lines, self.encoding, self._unit_index, self._ascii, self.has_nul,
            self._plain_line,
        )

    def contains_nul(self) -> bool:
        if self.has_nul is None:
            self.has_nul = looks_binary(self.text)  # a cache, not a change
        return self.has_nul

    # -- lines ---------------------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return len(self.lines)

    def line_start(self, line: int) -> int:
        return self.lines.start(line)

    def line_starts(self, first: int, last: int) -> np.ndarray:
        """Starts of the lines ``[first, last)`` (clamped to the lines there are)."""
        return self.lines.starts_between(first, last)

    def line_of(self, offset: int) -> int:
        return self.lines.line_of(offset)

    def line_end(self, line: int) -> int:
        """Offset of the end of the line's content (before its line break)."""
        if line + 1 >= len(self.lines):
            return self.length
        end = self.lines.start(line + 1)
        if self.content[end - 1] == "\n":
            end -= 1
            if end > 0 and self.content[end - 1] == "\r":
                end -= 1
        else:  # a lone "\r"
            end -= 1
        return end

    def next_line_start(self, line: int) -> int:
        return self.lines.start(line + 1) if line + 1 < len(self.lines) else self.length

    def content_ends(self, lines: np.ndarray) -> np.ndarray:
        """``line_end`` for many lines at once."""
        lines = np.asarray(lines, np.int64)
        has_break = lines + 1 < len(self.lines)
        ends = np.full(len(lines), self.length, np.int64)
        nxt = self.lines.starts_at(lines[has_break] + 1)
        content = self.content
        crlf = np.fromiter((content.slice(e - 2, e) == "\r\n" for e in nxt.tolist()), bool, len(nxt))
        ends[has_break] = nxt - 1 - crlf
        return ends

    def cut_at_lines(self, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Spans ``[starts[i], ends[i])`` cut into one piece per line they touch, without the
        line breaks (an editor range of one line each): (starts, ends, index of the span)."""
        starts, ends = np.asarray(starts, np.int64), np.asarray(ends, np.int64)
        if not len(starts):
            return starts, ends, np.zeros(0, np.int64)
        lines = self.lines
        first_lines = lines.lines_of(starts)
        last_lines = lines.lines_of(np.maximum(ends - 1, starts))
        per_span = last_lines - first_lines + 1  # most spans touch one line
        span = np.repeat(np.arange(len(starts)), per_span)
        nth_line = np.arange(len(span)) - np.repeat(np.cumsum(per_span) - per_span, per_span)
        piece_lines = first_lines[span] + nth_line
        p_starts = np.maximum(starts[span], lines.starts_at(piece_lines))
        p_ends = np.minimum(ends[span], self.content_ends(piece_lines))
        keep = p_ends > p_starts  # line breaks and empty spans go
        return p_starts[keep], p_ends[keep], span[keep]

    @property
    def is_ascii(self) -> bool:
        if not self._ascii:
            self._ascii.append(self.content.isascii())
        return self._ascii[0]

    @property
    def _plain(self) -> bool:
        """One code unit per character in the whole text: columns are character counts."""
        return self.encoding == UTF32 or self.is_ascii

    @property
    def units(self) -> UnitIndex:
        """The unit index: built on first use (a long line asked for), then kept by edits."""
        index = self._unit_index
        if isinstance(index, UnitIndex):
            return index
        index = UnitIndex.of(self.content, self.encoding) if index is None else index.resolve()
        self._unit_index = index  # a cache, not a change
        return index

    def _units_between(self, start: int, end: int) -> int:
        """Code units of the characters ``[start, end)`` (a text that is not plain)."""
        if end - start <= LONG_SPAN:
            return end - start + extra_units(self.slice(start, end), self.encoding)
        index, content = self.units, self.content
        return index.units_at(content, end) - index.units_at(content, start)

    # -- offsets <-> positions ----------------------------------------------------------------

    def position_at(self, offset: int) -> tuple[int, int]:
        offset = min(max(offset, 0), self.length)
        line = self.lines.line_of(offset)
        start = self.line_start(line)
        if self._plain or line == self._plain_line:
            return line, offset - start
        return line, self._units_between(start, offset)

    def positions_at(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorized ``position_at`` for many offsets (any order): one scan of the text they
        cover when that is short (a viewport), else the unit index's (one block per place)."""
        offsets = np.clip(np.asarray(offsets, np.int64), 0, self.length)
        lines, line_starts = self.lines.locate(offsets)
        columns = offsets - line_starts
        if self._plain or not len(offsets):
            return lines, columns
        base, top = int(line_starts.min()), int(offsets.max())
        if top - base <= SCANNED_SPAN:
            span = self.slice(base, top)
            if not span.isascii():
                units = cumulative_units(span, self.encoding)
                columns = units[offsets - base] - units[line_starts - base]
        elif self.units.extra:
            both = self.units.units_at_many(self.content, np.concatenate((offsets, line_starts)))
            columns = both[: len(offsets)] - both[len(offsets) :]
        return lines, columns

    def offset_at(self, line: int, column: int) -> int:
        """The offset of a position; out-of-range lines and columns clamp to the nearest
        valid place (as LSP asks), a column inside a character snaps to its start."""
        lines = self.lines
        if line < 0:
            return 0
        if line >= len(lines):
            return self.length
        start = lines.start(line)
        column = max(column, 0)
        next_start = lines.start(line + 1) if line + 1 < len(lines) else self.length
        if self._plain or line == self._plain_line:
            k = column
        elif next_start - start <= LONG_SPAN:
            text = self.slice(start, next_start)
            if extra_units(text, self.encoding):
                k = int(cumulative_units(text, self.encoding).searchsorted(column, "right")) - 1
            else:
                k, self._plain_line = column, line  # a cache, not a change
        else:
            index, content = self.units, self.content
            k = index.offset_of(content, index.units_at(content, start) + column) - start
        # the line's content ends at most two characters (a CRLF) before the next line: a
        # column short of that needs no look at the line break (typing, on every keystroke)
        if line + 1 < len(lines) and start + k <= next_start - 2:
            return start + k
        return min(start + k, self.line_end(line))

    def line_length(self, line: int) -> int:
        """Length of the line's content in code units of the encoding."""
        start, end = self.line_start(line), self.line_end(line)
        return end - start if self._plain else self._units_between(start, end)

    def end_position(self) -> tuple[int, int]:
        return self.position_at(self.length)


class Document:
    """An open document: the newest snapshot plus its identity. Edits replace the snapshot."""

    def __init__(self, uri: str, language_id: str, version: int, text: str, encoding: str = UTF16):
        self.uri = uri
        self.language_id = language_id
        self.encoding = encoding
        self.snapshot = _whole_snapshot(version, text, encoding)

    @property
    def version(self) -> int:
        return self.snapshot.version

    @property
    def text(self) -> str:
        return self.snapshot.text

    def replace_all(self, text: str, version: int) -> tuple[int, int, str]:
        old = self.snapshot
        self.snapshot = _whole_snapshot(version, text, self.encoding)
        return 0, old.length, text

    def apply_change(
        self, start: tuple[int, int], end: tuple[int, int], new_text: str, version: int
    ) -> tuple[int, int, str]:
        """Replace the text between two positions; returns the edit as character offsets
        ``(start, end, new_text)`` of the text before it."""
        old = self.snapshot
        a = old.offset_at(*start)
        b = a if end == start else old.offset_at(*end)  # typing inserts at one position
        if b < a:
            a, b = b, a
        content = old.content.replaced(a, b, new_text)
        if old.has_nul is False:
            has_nul = looks_binary(new_text)  # only the inserted text can bring one in
        else:
            has_nul = None  # a NUL may have been deleted: look again when asked
        # "all ASCII" carries over while only ASCII is typed; "maybe not" is safe to keep
        # (lines are then checked one by one), so no edit rescans the document for it
        ascii_ = [old._ascii[0] and new_text.isascii()] if old._ascii else []
        lines = _EditedLines(old, content, a, b, len(new_text))
        line = start[0]
        plain_line = line if (
            old._plain_line == line and end[0] == line and "\n" not in new_text and "\r" not in new_text
            and not extra_units(new_text, self.encoding)
        ) else -1
        # a unit index, once a long line needed one, follows the edits (worked out later)
        units = None if old._unit_index is None else _EditedUnits(old.units, content, a, b, len(new_text))
        self.snapshot = Snapshot(version, content, lines, self.encoding, units, ascii_, has_nul, plain_line)
        return a, b, new_text


def _whole_snapshot(version: int, text: str, encoding: str) -> Snapshot:
    return Snapshot(version, Rope(text), None, encoding, has_nul=looks_binary(text))

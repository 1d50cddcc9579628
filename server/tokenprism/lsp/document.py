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
"""

from __future__ import annotations

import re

import numpy as np

from ..tokenization.rope import Rope
from ..tokenization.textfile import looks_binary
from .line_index import LineIndex

UTF8 = "utf-8"
UTF16 = "utf-16"
UTF32 = "utf-32"
ENCODINGS = (UTF8, UTF16, UTF32)

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # two UTF-16 code units each


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
    units = np.zeros(len(text) + 1, np.int64)
    np.cumsum(_unit_widths(text, encoding), out=units[1:])
    return units


class _EditedLines:
    """A line index not worked out yet: ``previous`` after an edit (see LineIndex.edited).
    Typing answers first and updates the index after (see Snapshot.settle_lines)."""

    __slots__ = ("previous", "content", "start", "end", "inserted_length")

    def __init__(self, previous: Snapshot, content: Rope, start: int, end: int, inserted_length: int):
        self.previous, self.content = previous, content
        self.start, self.end, self.inserted_length = start, end, inserted_length

    def resolve(self) -> LineIndex:
        return self.previous.lines.edited(self.content, self.start, self.end, self.inserted_length)


class Snapshot:
    """One version of a document's text with its line index. Immutable: edits make a new
    one; the attributes set after construction are caches of facts about this text."""

    __slots__ = ("version", "content", "encoding", "has_nul", "_lines", "_units", "_ascii")

    def __init__(
        self,
        version: int,
        content: Rope,
        line_index: LineIndex | _EditedLines | None,  # None: scanned from the text on first use
        encoding: str = UTF16,
        _units: dict | None = None,  # line -> cumulative units (None: one per character)
        _ascii: list | None = None,  # [whether all ASCII] once known
        # whether the text holds a NUL character (a binary file); kept up to date by the
        # edits, which look only at the inserted text, so no edit scans the document for it
        has_nul: bool | None = None,
    ):
        self.version, self.content, self.encoding, self.has_nul = version, content, encoding, has_nul
        self._lines = line_index
        self._units = {} if _units is None else _units
        self._ascii = [] if _ascii is None else _ascii

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
        """Work out an edit's line index now (after the edit is answered, before the next)."""
        lines = self._lines
        if isinstance(lines, _EditedLines):
            self._lines = lines.resolve()

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
        return Snapshot(version, self.content, self._lines, self.encoding, self._units, self._ascii, self.has_nul)

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

    def _cumulative_units(self, line: int) -> np.ndarray | None:
        """units[k] = code units in the first k characters of the line; None when they are equal."""
        if self.encoding == UTF32 or self.is_ascii:
            return None
        if line in self._units:
            return self._units[line]
        text = self.slice(self.line_start(line), self.next_line_start(line))
        if text.isascii() or (self.encoding == UTF16 and _ASTRAL.search(text) is None):
            units = None  # one code unit per character (Korean, accents: no astral characters)
        else:
            units = cumulative_units(text, self.encoding)
        if len(self._units) > 4096:
            self._units.clear()
        self._units[line] = units
        return units

    # -- offsets <-> positions ----------------------------------------------------------------

    def position_at(self, offset: int) -> tuple[int, int]:
        offset = min(max(offset, 0), self.length)
        line = self.lines.line_of(offset)
        column = offset - self.line_start(line)
        units = self._cumulative_units(line)
        return line, column if units is None else int(units[column])

    def positions_at(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorized ``position_at`` for many offsets (any order): one pass over the span
        of text they cover, never a loop per line."""
        offsets = np.clip(np.asarray(offsets, np.int64), 0, self.length)
        lines, line_starts = self.lines.locate(offsets)
        columns = offsets - line_starts
        if self.encoding != UTF32 and not self.is_ascii and len(offsets):
            base = int(line_starts.min())
            span = self.slice(base, int(offsets.max()))
            if not span.isascii():
                units = cumulative_units(span, self.encoding)
                columns = units[offsets - base] - units[line_starts - base]
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
        units = self._cumulative_units(line)
        k = column if units is None else int(units.searchsorted(column, "right")) - 1
        # the line's content ends at most two characters (a CRLF) before the next line: a
        # column short of that needs no look at the line break (typing, on every keystroke)
        if line + 1 < len(lines) and start + k <= lines.start(line + 1) - 2:
            return start + k
        return min(start + k, self.line_end(line))

    def line_length(self, line: int) -> int:
        """Length of the line's content in code units of the encoding."""
        start, end = self.line_start(line), self.line_end(line)
        units = self._cumulative_units(line)
        return end - start if units is None else int(units[end - start])

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
        # a line with one code unit per character keeps that while typing on it adds none
        # wider: the next keystroke need not re-read the line to find its column
        line, units = start[0], None
        if (
            old._units.get(line, False) is None
            and end[0] == line
            and "\n" not in new_text
            and "\r" not in new_text
            and (new_text.isascii() or (self.encoding == UTF16 and _ASTRAL.search(new_text) is None))
        ):
            units = {line: None}
        lines = _EditedLines(old, content, a, b, len(new_text))
        self.snapshot = Snapshot(version, content, lines, self.encoding, units, ascii_, has_nul)
        return a, b, new_text


def _whole_snapshot(version: int, text: str, encoding: str) -> Snapshot:
    return Snapshot(version, Rope(text), None, encoding, has_nul=looks_binary(text))

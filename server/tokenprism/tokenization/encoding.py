"""The result of tokenizing a text: compact parallel arrays, no object per token.

Token spans *tile* the text: token ``i`` covers characters ``[ends[i-1], ends[i])``
(``ends[-1] == len(text)``). A character belongs to the token that holds its first
byte, so a token that carries only the tail bytes of a character split by
byte-level BPE covers no characters; such a token is flagged ``CONTINUES`` and
shares a *display segment* with the token before it. Segments never cut a
character, so nothing shown to a person needs U+FFFD.
"""

from __future__ import annotations

import numpy as np

from .queries import CONTINUES, SPECIAL, Token, TokenQueries, as_needles

_SPECIAL_BIT, _CONTINUES_BIT = SPECIAL.bit_length() - 1, CONTINUES.bit_length() - 1

ID_DTYPE = np.int32
OFFSET_DTYPE = np.int32
FLAG_DTYPE = np.uint8
# Tokens per entry of an Encoding's running count of continuations (built on first use).
_MARK_EVERY = 4096


def search(sorted_array: np.ndarray, value: int, side: str = "right") -> int:
    """``sorted_array.searchsorted(value, side)`` as an int. A Python int is made an int32
    first when the array is one: numpy would otherwise copy the whole array to int64 to
    compare it with the int, which made every lookup O(tokens)."""
    if sorted_array.dtype == OFFSET_DTYPE and -(1 << 31) <= value < 1 << 31:
        value = OFFSET_DTYPE(value)
    return int(sorted_array.searchsorted(value, side))


class Encoding(TokenQueries):
    """Token ids, span ends and flags of one text, as numpy arrays (9 bytes per token)."""

    __slots__ = ("ids", "ends", "flags", "text_length", "_marks")

    def __init__(self, ids: np.ndarray, ends: np.ndarray, flags: np.ndarray, text_length: int):
        self.ids = ids
        self.ends = ends
        self.flags = flags
        self.text_length = text_length
        self._marks: np.ndarray | None = None  # continuations before every _MARK_EVERY-th token

    @classmethod
    def empty(cls, text_length: int = 0) -> Encoding:
        return cls(
            np.zeros(0, ID_DTYPE), np.zeros(0, OFFSET_DTYPE), np.zeros(0, FLAG_DTYPE), text_length
        )

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def starts(self) -> np.ndarray:
        starts = np.empty_like(self.ends)
        if len(starts):
            starts[0] = 0
            starts[1:] = self.ends[:-1]
        return starts

    @property
    def nbytes(self) -> int:
        return self.ids.nbytes + self.ends.nbytes + self.flags.nbytes

    def start_of(self, i: int) -> int:
        return int(self.ends[i - 1]) if i > 0 else 0

    def token(self, i: int) -> Token:
        flags = int(self.flags[i])
        return Token(
            index=i,
            id=int(self.ids[i]),
            start=self.start_of(i),
            end=int(self.ends[i]),
            special=bool(flags & SPECIAL),
            continues=bool(flags & CONTINUES),
        )

    def __iter__(self):
        return (self.token(i) for i in range(len(self)))

    # -- the primitives of TokenQueries -------------------------------------------------------

    def _ranks(self, offsets: np.ndarray, side: str) -> np.ndarray:
        return self.ends.searchsorted(as_needles(offsets, self.ends.dtype), side).astype(np.int64)

    def _flags_at(self, indices: np.ndarray) -> np.ndarray:
        return self.flags[indices]

    def _arrays(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.ids[first:last], self.ends[first:last].astype(np.int64), self.flags[first:last]

    def _continuations_before(self, i: int) -> int:
        if self._marks is None:  # one pass, once: a count per _MARK_EVERY tokens
            continues = (self.flags & CONTINUES) != 0
            cuts = np.arange(0, len(self), _MARK_EVERY)
            counts = np.add.reduceat(continues, cuts, dtype=np.int64) if len(self) else []
            self._marks = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
        mark = i // _MARK_EVERY
        tail = self.flags[mark * _MARK_EVERY : i]
        return int(self._marks[mark]) + int(np.count_nonzero(tail & CONTINUES))

    def equals(self, other: Encoding) -> bool:
        return (
            self.text_length == other.text_length
            and np.array_equal(self.ids, other.ids)
            and np.array_equal(self.ends, other.ends)
            and np.array_equal(self.flags, other.flags)
        )


def tile_from_char_spans(
    ids: np.ndarray, spans: np.ndarray, special: np.ndarray, text_length: int
) -> Encoding:
    """Build a tiling ``Encoding`` from per-token char spans that may overlap (split
    characters) or leave gaps (normalizers that drop characters).

    ``spans`` is an (n, 2) array. A token whose span starts before the previous
    token's end shares that token's display segment.
    """
    n = len(ids)
    if n == 0:
        return Encoding.empty(text_length)
    spans = np.asarray(spans, dtype=np.int64).reshape(n, 2)
    raw_ends = spans[:, 1]
    # Running maximum: each token ends no earlier than the previous one.
    ends = np.maximum.accumulate(raw_ends)
    ends[-1] = text_length
    ends = np.minimum(ends, text_length)
    flags = np.zeros(n, FLAG_DTYPE)
    prev_end = np.empty(n, np.int64)
    prev_end[0] = 0
    prev_end[1:] = np.maximum.accumulate(raw_ends)[:-1]
    overlaps = spans[:, 0] < prev_end
    overlaps[0] = False
    flags[overlaps] |= CONTINUES
    flags[np.asarray(special, dtype=bool)] |= SPECIAL
    return Encoding(np.asarray(ids, ID_DTYPE), ends.astype(OFFSET_DTYPE), flags, text_length)


def utf8_char_tables(token_bytes: list[bytes], special_ids=()) -> tuple[np.ndarray, np.ndarray]:
    """Per token id, from its bytes: how many characters start in it (its bytes that are not
    UTF-8 continuation bytes), and the flags it carries wherever it appears: ``CONTINUES``
    when it starts inside a character, ``SPECIAL`` for the ids in ``special_ids``."""
    lengths = np.fromiter(map(len, token_bytes), np.int64, len(token_bytes))
    data = np.frombuffer(b"".join(token_bytes), np.uint8)
    starts_char = (data & 0xC0) != 0x80
    before = np.zeros(len(data) + 1, np.int64)  # characters starting before each byte
    np.cumsum(starts_char, out=before[1:])
    bounds = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=bounds[1:])
    counts = before[bounds[1:]] - before[bounds[:-1]]
    flags = np.zeros(len(lengths), FLAG_DTYPE)
    nonempty = lengths > 0
    flags[nonempty] = (~starts_char[bounds[:-1][nonempty]]).view(FLAG_DTYPE) << _CONTINUES_BIT
    flags[list(special_ids)] |= SPECIAL
    return counts.astype(np.uint8 if counts.max(initial=0) < 256 else np.int32), flags


def tile_from_char_counts(
    ids: np.ndarray, char_counts: np.ndarray, flags: np.ndarray, text_length: int
) -> Encoding | None:
    """Build a tiling ``Encoding`` from per-token facts (the tables of :func:`utf8_char_tables`
    gathered for ``ids``; ``flags`` is a fresh array, changed in place), when the tokens'
    bytes concatenate to exactly the text's UTF-8: a token ends after the characters that
    start in it or before it. Works on the tokens alone, never on the text's bytes, in three
    numpy calls per window. None if the counts do not add up to the text's length."""
    if not len(ids):
        return Encoding.empty(text_length) if text_length == 0 else None
    ends = np.add.accumulate(char_counts, dtype=OFFSET_DTYPE)
    if int(ends[-1]) != text_length:
        return None
    if flags[0] & CONTINUES:  # the first token has nothing before it to continue
        flags[0] ^= CONTINUES
    return Encoding(np.asarray(ids, ID_DTYPE), ends, flags, text_length)


def tile_from_byte_lengths(
    ids: np.ndarray, byte_lengths: np.ndarray, special: np.ndarray, text: str, utf8: bytes | None = None
) -> Encoding | None:
    """Build a tiling ``Encoding`` from each token's byte length, when the tokens'
    bytes concatenate to exactly the text's UTF-8 (no normalization). Returns None
    otherwise, so the caller can fall back to the tokenizer's own offsets."""
    data = text.encode("utf-8", "surrogatepass") if utf8 is None else utf8
    n = len(ids)
    if n == 0:
        return Encoding.empty(len(text)) if not data else None
    byte_ends = np.cumsum(byte_lengths, dtype=np.int64)
    if int(byte_ends[-1]) != len(data):
        return None
    if len(data) == len(text):
        # all ASCII (the usual edit window): byte offsets are character offsets and no
        # token starts inside a character
        flags = np.left_shift(np.asarray(special, dtype=bool).view(FLAG_DTYPE), _SPECIAL_BIT)
        return Encoding(np.asarray(ids, ID_DTYPE), byte_ends.astype(OFFSET_DTYPE), flags, len(text))
    raw = np.frombuffer(data, dtype=np.uint8)
    is_char_start = (raw & 0xC0) != 0x80
    # chars_before[b] = number of characters starting before byte b
    chars_before = np.zeros(len(raw) + 1, np.int64)
    np.cumsum(is_char_start, out=chars_before[1:])
    ends = chars_before[byte_ends]
    byte_starts = byte_ends - byte_lengths
    if byte_starts[-1] < len(raw):  # no empty token at the very end: every start is a byte
        mid_char = ~is_char_start[byte_starts]
    else:
        mid_char = np.zeros(n, bool)
        inside = byte_starts < len(raw)
        mid_char[inside] = ~is_char_start[byte_starts[inside]]
    mid_char[0] = False
    # the flags as two shifted masks (fewer calls than masked updates, on every edit's window)
    flags = np.left_shift(mid_char.view(FLAG_DTYPE), _CONTINUES_BIT) | np.left_shift(
        np.asarray(special, dtype=bool).view(FLAG_DTYPE), _SPECIAL_BIT
    )
    return Encoding(np.asarray(ids, ID_DTYPE), ends.astype(OFFSET_DTYPE), flags, len(text))

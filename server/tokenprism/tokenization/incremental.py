"""The tokens of a changing document.

``TokenState`` is what the language server keeps per open document. Its query API
(``token``, ``token_at``, ``tokens_in``, ``segment_of``, ``count_in``, ``__len__``)
matches :class:`Encoding`, and after any sequence of ``apply_edit`` calls it must equal
a fresh ``tokenizer.encode(text)``.

This first version re-encodes the whole text on every edit; the incremental version
replaces the internals, not the API.
"""

from __future__ import annotations

from .base import SpecialTokens, Tokenizer
from .encoding import Encoding, Segment, Token


class TokenState:
    def __init__(self, tokenizer: Tokenizer, text: str, special: SpecialTokens = SpecialTokens.SPECIAL):
        self.tokenizer = tokenizer
        self.special = special
        self.text = text
        self._encoding = tokenizer.encode(text, special)

    # -- edits --------------------------------------------------------------------------------

    def apply_edit(self, start: int, end: int, new_text: str) -> None:
        """Replace characters ``[start, end)`` of the text with ``new_text``."""
        if not (0 <= start <= end <= len(self.text)):
            raise IndexError(f"edit [{start}, {end}) outside a text of {len(self.text)} characters")
        self.text = self.text[:start] + new_text + self.text[end:]
        self._encoding = self.tokenizer.encode(self.text, self.special)

    def apply_edits(self, edits: list[tuple[int, int, str]]) -> None:
        """Apply edits in order (each in the coordinates left by the previous one)."""
        for start, end, new_text in edits:
            self.apply_edit(start, end, new_text)

    # -- queries (same as Encoding) -----------------------------------------------------------

    def __len__(self) -> int:
        return len(self._encoding)

    def encoding(self) -> Encoding:
        """The whole state as one Encoding (a copy or view; O(tokens))."""
        return self._encoding

    @property
    def nbytes(self) -> int:
        return self._encoding.nbytes

    def token(self, i: int) -> Token:
        return self._encoding.token(i)

    def token_at(self, offset: int) -> int:
        return self._encoding.token_at(offset)

    def tokens_in(self, start: int, end: int) -> range:
        return self._encoding.tokens_in(start, end)

    def segment_of(self, i: int) -> Segment:
        return self._encoding.segment_of(i)

    def segments(self, first: int = 0, last: int | None = None):
        return self._encoding.segments(first, last)

    def count_in(self, start: int, end: int) -> int:
        return self._encoding.count_in(start, end)

    def ids_in(self, first: int, last: int):
        """Token ids for token indices ``[first, last)`` as a numpy array."""
        return self._encoding.ids[first:last]

    def ends_in(self, first: int, last: int):
        return self._encoding.ends[first:last]

    def flags_in(self, first: int, last: int):
        return self._encoding.flags[first:last]

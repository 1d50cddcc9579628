"""Token queries answered from a :class:`~.blocks.BlockStore`, and the frozen snapshot of one
version that requests read while edits go on.

Each primitive of :class:`~.queries.TokenQueries` touches only the blocks its tokens lie in
(and the small per-block arrays), so every query stays O(log n + k) on a document of any size.
"""

from __future__ import annotations

import numpy as np

from .blocks import BlockStore
from .encoding import Encoding
from .queries import TokenQueries


class BlockQueries(TokenQueries):
    """:class:`TokenQueries` over ``self._store``; subclasses give ``text_length``."""

    _store: BlockStore

    def __len__(self) -> int:
        return len(self._store)

    def encoding(self) -> Encoding:
        """All tokens as one fresh Encoding (an explicit copy, O(tokens): verification, CLI,
        tests; never a request's path)."""
        return self._store.to_encoding(self.text_length)

    @property
    def nbytes(self) -> int:
        """Bytes held for the tokens (arrays and block bookkeeping; not the text)."""
        return self._store.nbytes

    def _ranks(self, offsets: np.ndarray, side: str) -> np.ndarray:
        return self._store.ranks(offsets, side)

    def _flags_at(self, indices: np.ndarray) -> np.ndarray:
        return self._store.flags_at(indices)

    def _arrays(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        piece = self._store.slice(first, last)
        return piece.ids, piece.ends, piece.flags

    def _continuations_before(self, i: int) -> int:
        return self._store.continuations_before(i)

    def start_of(self, i: int) -> int:
        return self._store.start(i)


class TokenSnapshot(BlockQueries):
    """The tokens of one version, frozen (``TokenState.snapshot()``, O(blocks)): what a request
    reads while edits go on. Only the queries; ``encoding()`` copies all tokens when asked."""

    def __init__(self, store: BlockStore, text_length: int):
        self._store = store
        self.text_length = text_length

    def equals(self, other) -> bool:
        return self.encoding().equals(other if isinstance(other, Encoding) else other.encoding())

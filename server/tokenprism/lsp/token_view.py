"""What requests read: a :class:`TokenView`, one version of a document's text and its tokens,
immutable, published by the document's owner (:mod:`.open_document`) after each advance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tokenization import Encoding, SpecialTokens, Tokenizer, TokenQueries
from ..tokenization.incremental import TokenState
from .document import Snapshot


class DocumentError(Exception):
    """A request named a document the server cannot answer for (closed, not tokenized)."""


@dataclass(eq=False)
class TokenView:
    """A consistent pair: one version of a document's text and its tokens."""

    uri: str
    snapshot: Snapshot
    encoding: TokenQueries  # a fresh Encoding or the TokenState's frozen TokenSnapshot
    tokenizer: Tokenizer
    special: SpecialTokens
    spec: str = ""  # the model spec this view counts for ("claude-sonnet-4-5"); "": the tokenizer's name

    @property
    def version(self) -> int:
        return self.snapshot.version

    @property
    def text(self) -> str:
        return self.snapshot.text

    @property
    def model(self) -> str:
        return self.tokenizer.name

    @property
    def model_spec(self) -> str:
        """What the view counts for: the API model name or tokenizer spec the user chose."""
        return self.spec or self.tokenizer.name

    def __len__(self) -> int:
        return len(self.encoding)

    def count(self, start: int, end: int) -> int:
        """Tokens counted in ``[start, end)``; adjacent ranges add up to the document's count."""
        return self.encoding.count_in(start, end)

    def counts_between(self, bounds) -> np.ndarray:
        """``count(bounds[i], bounds[i+1])`` for consecutive bounds, vectorized."""
        return self.encoding.counts_between(bounds)


def frozen_tokens(state: TokenState):
    """Tokens that later edits of the state cannot change, with the query API of
    :class:`Encoding`: the state's immutable snapshot when it has one (O(blocks)); else a
    copy of ``encoding()``, which may share arrays with the state."""
    snapshot = getattr(state, "snapshot", None)
    if callable(snapshot):
        return snapshot()
    enc = state.encoding()
    return Encoding(enc.ids.copy(), enc.ends.copy(), enc.flags.copy(), enc.text_length)

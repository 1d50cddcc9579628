"""What requests read: a :class:`TokenView`, one version of a document's text and its tokens,
immutable, published by the document's owner (:mod:`.open_document`) after each advance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tokenization import SpecialTokens, Tokenizer, TokenQueries
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


"""The vocabulary explorer: what tokens a model has, how long they are and how early BPE
learned them.

The *rank* is a proxy for how common a token was in the tokenizer's training data: lower
means learned earlier, so more frequent.

- Hugging Face BPE (byte-level and SentencePiece-converted): the index of the merge that
  produces the token (SentencePiece scores become this merge order on conversion);
- Unigram: the position in descending score order;
- tiktoken: the id itself (tiktoken ids *are* merge ranks);
- anything else: the id.

Base symbols (single bytes or characters that no merge produces) have no rank (None).
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from .base import Tokenizer, visible_whitespace

NO_RANK = -1

# A whole word: one leading space (the word boundary BPE vocabularies mark) and letters only.
_WHOLE_WORD = re.compile(r" [^\W\d_]+")


@dataclass(frozen=True)
class RankTable:
    ranks: np.ndarray  # per token id; NO_RANK for base symbols and special tokens
    source: str  # what the rank means, for display


@dataclass(frozen=True)
class VocabEntry:
    id: int
    text: str  # as written in the vocabulary ("Ġthe", "▁the")
    decoded: str  # the text it stands for (" the")
    length: int  # characters of ``decoded``
    rank: int | None
    special: bool
    whole_word: bool

    @property
    def display(self) -> str:
        return visible_whitespace(self.decoded)

    def to_json(self) -> dict:
        return {
            "id": self.id, "text": self.text, "decoded": self.decoded, "length": self.length,
            "rank": self.rank, "special": self.special, "wholeWord": self.whole_word,
        }


_tables: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_tables_lock = threading.Lock()


def rank_table(tokenizer: Tokenizer) -> RankTable:
    """The rank of every token id, computed once per tokenizer."""
    with _tables_lock:
        table = _tables.get(tokenizer)
    if table is None:
        table = _build_rank_table(tokenizer)
        with _tables_lock:
            _tables[tokenizer] = table
    return table


def _build_rank_table(tokenizer: Tokenizer) -> RankTable:
    size = tokenizer.info.vocab_size
    if tokenizer.info.kind == "tiktoken":
        # the id less the ids before rank 0 (Tekken puts its special tokens first)
        ranks = np.arange(size, dtype=np.int64) - getattr(tokenizer, "first_rank_id", 0)
        for token_id in tokenizer.special_tokens.values():
            ranks[token_id] = NO_RANK
        return RankTable(ranks, "tiktoken rank (the id)")
    model = _model_description(tokenizer)
    if model.get("type") == "BPE" and model.get("merges") is not None:
        vocab = model.get("vocab") or {}
        ranks_list = [NO_RANK] * size  # a plain list: per-item numpy access is slow here
        for index, merge in enumerate(model["merges"]):
            left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
            token_id = vocab.get(left + right)
            if token_id is not None and token_id < size and ranks_list[token_id] == NO_RANK:
                ranks_list[token_id] = index
        return RankTable(np.array(ranks_list, dtype=np.int64), "BPE merge order")
    ranks = np.full(size, NO_RANK, dtype=np.int64)
    if model.get("type") == "Unigram" and model.get("vocab"):
        scores = np.array([score for _, score in model["vocab"]], dtype=np.float64)
        order = np.argsort(-scores, kind="stable")
        ranks[order[order < size]] = np.arange(len(order))[order < size]
        return RankTable(ranks, "SentencePiece score order")
    ranks = np.arange(size, dtype=np.int64)
    return RankTable(ranks, "token id")


def _model_description(tokenizer: Tokenizer) -> dict:
    """The ``model`` section of the tokenizer's tokenizer.json (vocab, merges, scores).
    Serializing a 128k vocabulary takes seconds: callers build the rank table once, off
    any event loop."""
    backend = getattr(tokenizer, "backend", None)
    if backend is None:
        return {}
    return json.loads(backend.to_str()).get("model") or {}


def merge_rank(tokenizer: Tokenizer, token_id: int) -> int | None:
    ranks = rank_table(tokenizer).ranks
    if not 0 <= token_id < len(ranks):
        return None
    rank = int(ranks[token_id])
    return None if rank == NO_RANK else rank


def decoded_text(tokenizer: Tokenizer, token_id: int) -> str:
    """The text a token stands for; bytes that are only part of a character show as \\xNN."""
    return tokenizer.token_bytes(token_id).decode("utf-8", "backslashreplace")


def is_whole_word(text: str) -> bool:
    return _WHOLE_WORD.fullmatch(text) is not None


def whole_word_info(tokenizer: Tokenizer, token_id: int) -> tuple[bool, int | None] | None:
    """For the hover: is this token a whole word (a leading space and letters only, like
    `` the``), and its rank (None for base symbols). None for special tokens and ids outside
    the vocabulary.

    The first call per tokenizer builds the rank table (a few seconds for a 128k BPE
    vocabulary, instant for tiktoken); call :func:`rank_table` in a worker thread after
    loading to have every later call take microseconds."""
    if not 0 <= token_id < tokenizer.info.vocab_size or tokenizer.is_special(token_id):
        return None
    try:
        text = decoded_text(tokenizer, token_id)
    except (IndexError, KeyError):
        return None
    return is_whole_word(text), merge_rank(tokenizer, token_id)


def entry(tokenizer: Tokenizer, token_id: int, ranks: np.ndarray | None = None) -> VocabEntry:
    ranks = rank_table(tokenizer).ranks if ranks is None else ranks
    decoded = decoded_text(tokenizer, token_id)
    rank = int(ranks[token_id]) if token_id < len(ranks) else NO_RANK
    special = tokenizer.is_special(token_id)
    return VocabEntry(
        token_id, tokenizer.token_text(token_id), decoded, len(decoded),
        None if rank == NO_RANK else rank, special, not special and is_whole_word(decoded),
    )


def explore(
    tokenizer: Tokenizer,
    longest: int | None = None,
    contains: str | None = None,
    words: bool = False,
    limit: int | None = 50,
    include_special: bool = False,
) -> list[VocabEntry]:
    """Tokens matching the filters: the ``longest`` N by length when given, else in rank
    order (most common first), at most ``limit``."""
    ranks = rank_table(tokenizer).ranks
    found = []
    for token_id in range(tokenizer.info.vocab_size):
        try:
            item = entry(tokenizer, token_id, ranks)
        except (IndexError, KeyError):
            continue  # a gap in the id space (tiktoken's special ids are not contiguous)
        if item.special and not include_special:
            continue
        if contains and contains not in item.decoded:
            continue
        if words and not item.whole_word:
            continue
        found.append(item)
    if longest is not None:
        found.sort(key=lambda e: (-e.length, e.id))
        return found[:longest]
    found.sort(key=lambda e: (e.rank is None, e.rank if e.rank is not None else e.id, e.id))
    return found if limit is None else found[:limit]

"""Where a text can be cut so that its pieces tokenize exactly like the whole.

A *sync point* is a character offset ``p`` at which every tokenizer we load starts a fresh
token, no matter what came before or what follows. Right after a ``"\n"``: regex
pre-tokenizers (tiktoken, GPT-2/Llama 3/Qwen2 style) never let a match run from a newline
into a following non-space character, SentencePiece vocabularies have no token containing a
newline (it is the ``<0x0A>`` byte token), and WordPiece splits on whitespace. Inside a line
(so a single long line is not one piece): before a space that follows a non-space character
and precedes a letter, the start of a space-prefixed word, where those pre-tokenizers start a
piece too. How permissive the rule can be depends on the tokenizer, so it is chosen per
tokenizer by :func:`sync_rule_for`, which checks each candidate rule on probe texts (long
lines among them).

A piece ``(lo, hi]`` is encoded from ``lo - 1`` — the character before it, so a tokenizer
that treats the start of its input specially (prefix space, SentencePiece ``▁``, BOS)
spends that on it, and its tokens are dropped — to a little past ``hi``, so the
pre-tokenizer sees the same look-ahead as in the whole text; tokens ending after ``hi``
are dropped too.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import weakref
from dataclasses import dataclass, replace

import numpy as np

from .base import SpecialTokens, Tokenizer
from .encoding import search

log = logging.getLogger("tokenprism.incremental")

# Extra characters encoded past a piece's right end, beyond the rule's witness, unless
# the probes show none are needed (SyncRule.margin).
RIGHT_MARGIN = 64

# "\s" in Python's ``re`` is a superset of Unicode White_Space (it adds U+001C-U+001F),
# so "not whitespace" here is also "not whitespace" for the Rust regex engines. "/" is
# excluded because o200k's pattern glues "/" to a newline after punctuation (".\n//").
_LINE_NONSPACE = re.compile(r"[^\s/]")
# the leading blanks of a line (no CR/LF among them) followed by such a character
_LINE_NONBLANK = re.compile(r"[^\S\r\n]*[^\s/]")
# Candidates for a cut: a newline, or (rules with ``inline``) a single space after a
# non-space character and before a letter, the start of a space-prefixed word, which every
# regex pre-tokenizer of these families begins a fresh piece at. ``[^\W\d_]`` holds every
# letter (and a few numerals, filtered out by ``isalpha``): a long line gets cut points too.
_CANDIDATE = re.compile(r"\n|(?<=\S) (?=[^\W\d_])")
# how far back a search for cut points first looks (doubled while too few are found)
_BACK_SPAN = 256


@dataclass(frozen=True)
class SyncRule:
    """Which offsets just after a newline are safe cuts, and how far right of the
    cut the text must be unchanged for the cut to be valid (the *witness*)."""

    name: str
    # characters encoded past a piece's right end beyond its witness: look-ahead a
    # pre-tokenizer may need there (0 when the probes show the witness is enough)
    margin: int = RIGHT_MARGIN
    # also cut inside a line, before " word" (see _CANDIDATE), when the probes allow it
    inline: bool = False

    def witness_end(self, text: str, p: int) -> int:
        """-1 if ``p`` is not a sync point of ``text``, else the end (exclusive) of the
        characters that make it one (they, and the one before ``p``, must be unchanged on
        both sides of a splice)."""
        if p <= 0 or p >= len(text):
            return -1
        if text[p - 1] != "\n":
            if self.inline and text[p] == " " and p + 1 < len(text) and text[p + 1].isalpha():
                return p + 2 if not text[p - 1].isspace() else -1
            return -1
        if self.name == "line":
            return p + 1
        if self.name == "line_nonspace":
            return p + 1 if _LINE_NONSPACE.match(text, p) else -1
        m = _LINE_NONBLANK.match(text, p)  # "line_nonblank"
        return m.end() if m else -1

    def _candidates(self, text: str, a: int, b: int):
        """Sync points ``p`` with ``a <= p - 1 < b`` in order, as ``(p, witness_end)``."""
        if not self.inline:
            nl = text.find("\n", a, b)
            while nl >= 0:
                w = self.witness_end(text, nl + 1)
                if w >= 0:
                    yield nl + 1, w
                nl = text.find("\n", nl + 1, b)
            return
        # a match at m is the newline before p = m + 1, or the space at p = m (after a)
        for m in _CANDIDATE.finditer(text, a, min(len(text), b + 2)):
            at = m.start()
            p = at + 1 if text[at] == "\n" else at
            if p - 1 >= b:
                break
            if p - 1 >= a:
                w = self.witness_end(text, p)
                if w >= 0:
                    yield p, w

    def before(self, text: str, limit: int, count: int, stop: int = 0) -> list[int]:
        """Up to ``count`` sync points ``p >= stop``, nearest first, whose witness ends at or
        before ``limit``."""
        found: list[int] = []
        pos, span = limit, _BACK_SPAN
        while len(found) < count and pos > stop:
            a = max(stop, pos - span)
            # sync points whose character before lies in [a, pos), nearest first
            points = reversed(list(self._candidates(text, a, pos)))
            found += [p for p, w in points if w <= limit and p >= stop]
            pos, span = a, span * 2
        return found[:count]

    def after(self, text: str, limit: int, count: int, stop: int | None = None) -> list[tuple[int, int]]:
        """Up to ``count`` sync points ``p`` with ``p - 1 >= limit`` (the character before
        ``p`` lies at or after ``limit``), nearest first, as ``(p, witness_end)``."""
        found: list[tuple[int, int]] = []
        stop = len(text) if stop is None else stop
        for point in self._candidates(text, limit, stop):
            found.append(point)
            if len(found) >= count:
                break
        return found


RULES = (SyncRule("line"), SyncRule("line_nonblank"), SyncRule("line_nonspace"))


@dataclass
class Piece:
    """Tokens of one piece: ids, absolute ends, flags (numpy arrays)."""

    ids: np.ndarray
    ends: np.ndarray  # absolute character offsets in the whole text (int64)
    flags: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def between(self, lo: int, hi: int, include_start: bool = False) -> Piece:
        """Tokens whose end lies in ``(lo, hi]`` (``[lo, hi]`` with include_start)."""
        a = search(self.ends, lo, "left" if include_start else "right")
        b = search(self.ends, hi, "right")
        return Piece(self.ids[a:b], self.ends[a:b], self.flags[a:b])

    def head(self, k: int) -> Piece:
        return Piece(self.ids[:k], self.ends[:k], self.flags[:k])

    def tail(self, k: int) -> Piece:
        return Piece(self.ids[k:], self.ends[k:], self.flags[k:])

    def equals(self, other: Piece, shift: int = 0) -> bool:
        """Same tokens, this piece's ends being ``shift`` characters after the other's."""
        if len(self.ids) != len(other.ids):
            return False
        ends = self.ends - shift if shift else self.ends
        return _same(self.ids, other.ids) and _same(ends, other.ends) and _same(self.flags, other.flags)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    # on every edit, for a few dozen tokens: comparing the bytes is one call, where
    # ``(a == b).all()`` is two and np.array_equal several (each costs more than the data)
    if a.dtype == b.dtype and len(a) <= 4096:
        return a.tobytes() == b.tobytes()
    return bool((a == b).all())


def window_bounds(text: str, lo: int, hi: int, rule: SyncRule | None) -> tuple[int, int]:
    """The slice of ``text`` to encode for the piece ``(lo, hi]``."""
    left = lo - 1 if lo > 0 else 0
    if hi >= len(text):
        return left, len(text)
    right = hi + (RIGHT_MARGIN if rule is None else rule.margin)
    if rule is not None:
        w = rule.witness_end(text, hi)
        right = max(right, w + 1)
    return left, min(right, len(text))


def select(encoding, text_len: int, window_start: int, lo: int, hi: int) -> Piece:
    """The tokens of an encoded window that belong to the piece ``(lo, hi]``."""
    ends = np.add(encoding.ends, window_start, dtype=np.int64)  # one call: widen and shift
    whole = Piece(encoding.ids, ends, encoding.flags)
    if lo == 0 and hi >= text_len:
        return whole
    # at the start of the text nothing is dropped (zero-width tokens included)
    return whole.between(lo, hi, include_start=lo == 0)


# Texts up to this many characters are encoded with a plain ``encode`` (see encode_one).
SMALL_WINDOW = 8192


def encode_one(tokenizer: Tokenizer, text: str, special: SpecialTokens):
    """One text's encoding: a plain encode for a short one (an edit's window, a small
    document; a batch of one would cross to the Rust thread pool and back, which costs more
    than encoding a few lines), else a batch of one, because the Rust tokenizers release
    the GIL only in encode_batch."""
    if len(text) <= SMALL_WINDOW:
        return tokenizer.encode(text, special)
    return tokenizer.encode_batch([text], special)[0]


def encode_pieces(
    tokenizer: Tokenizer,
    text: str,
    bounds: list[tuple[int, int]],
    special: SpecialTokens,
    rule: SyncRule | None,
) -> list[Piece]:
    """Encode several pieces ``(lo, hi]`` of ``text`` in one batch (both cores)."""
    windows = [window_bounds(text, lo, hi, rule) for lo, hi in bounds]
    texts = [text[a:b] for a, b in windows]
    if len(texts) == 1:
        encodings = [encode_one(tokenizer, texts[0], special)]
    else:  # the Rust tokenizers release the GIL (and use both cores) only in encode_batch
        encodings = tokenizer.encode_batch(texts, special)
    return [
        select(enc, len(text), a, lo, hi) for enc, (a, _), (lo, hi) in zip(encodings, windows, bounds)
    ]


def concat(pieces: list[Piece]) -> Piece:
    if not pieces:
        return Piece(np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.uint8))
    return Piece(
        np.concatenate([p.ids for p in pieces]),
        np.concatenate([p.ends for p in pieces]),
        np.concatenate([p.flags for p in pieces]),
    )


# -- choosing the rule for a tokenizer ------------------------------------------------------------

_FRAGMENTS = (
    "def f(x):", "    return x + 1", "\tif (a && b) {", "  }", "", "   ", " \t ", "x = [1, 2, 3];",
    "Hello, world! It's fine.", "한국어 문장입니다.", "日本語のテキスト", "emoji 🙂👍🏽 here", "1234567 89",
    "// comment ...", "  # heading", "<|endoftext|>", "<|im_start|>user", "<s> </s>", "  \r", "\r",
    "foo  ", "   bar", "!!!", "'s 're", "\u00a0nbsp", "\u00a0\u00a0x", " \u00a0 y", "ÄÖÜ ß", "    ", "}}}",
    "\x1c", "\u3000wide", "\x0b\x0c", "\u2028z", "\u0301e", "\t\tdeep",
)


# words and joins for the long-line probes (a space before a letter is an in-line cut)
_WORDS = ("word", "Word", "WORD", "x", "é", "ß", "한국어", "日本", "s", "t", "re", "ll", "ǅ", "ʰ", "\u0301a")
_JOINS = (
    " ", " ", "", "  ", "\t", ", ", ":", '": "', '","', "'", " '", "\u00a0", "\u3000", " \u0301", "_", "1 ",
)


def _probe_texts(count: int = 48, extra: tuple[str, ...] = ()) -> list[str]:
    rng = random.Random(20240611)
    fragments = _FRAGMENTS + extra
    texts = []
    for _ in range(count):
        lines = [rng.choice(fragments) for _ in range(rng.randint(2, 7))]
        seps = [rng.choice(("\n", "\n", "\r\n", "\n\n", "\n \n", "\n\t")) for _ in lines]
        texts.append("".join(line + sep for line, sep in zip(lines, seps)) + rng.choice(("", "end", " ")))
    # long lines: fragments and words run together, as in minified code or one-line prose
    for _ in range(count // 2):
        parts = [rng.choice(fragments + _WORDS) for _ in range(rng.randint(4, 12))]
        texts.append("".join(part + rng.choice(_JOINS) for part in parts))
    return texts
def probe_texts_for(tokenizer: Tokenizer) -> list[str]:
    """The texts a rule is checked on: the fragments plus the tokenizer's own special
    tokens, above all any that hold a newline."""
    specials = sorted(tokenizer.special_tokens)
    extra = tuple(t for t in specials if "\n" in t or " " in t)
    extra += tuple(random.Random(5).sample(specials, min(12, len(specials))))
    return _probe_texts(extra=extra)


def rule_holds(tokenizer: Tokenizer, rule: SyncRule, texts: list[str], special: SpecialTokens) -> bool:
    for text in texts:
        full = tokenizer.encode(text, special)
        points = [0] + [p for p in range(1, len(text)) if rule.witness_end(text, p) >= 0] + [len(text)]
        bounds = list(zip(points, points[1:]))
        pieces = encode_pieces(tokenizer, text, bounds, special, rule)
        joined = concat(pieces)
        whole = Piece(full.ids, full.ends.astype(np.int64), full.flags)
        if not joined.equals(whole):
            return False
    return True


_rules: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_rules_lock = threading.Lock()


def sync_rule_for(tokenizer: Tokenizer, special: SpecialTokens = SpecialTokens.SPECIAL) -> SyncRule | None:
    """The most permissive rule that cuts the probe texts exactly, or None (then a
    document is only ever encoded whole). Computed once per tokenizer and mode."""
    with _rules_lock:
        per = _rules.setdefault(tokenizer, {})
        if special in per:
            return per[special]
    texts = probe_texts_for(tokenizer)
    chosen = next((r for r in RULES if rule_holds(tokenizer, r, texts, special)), None)
    if chosen is not None:
        # cuts inside a line too, so a long line is not re-encoded whole on every keystroke
        inline = replace(chosen, inline=True)
        if rule_holds(tokenizer, inline, texts, special):
            chosen = inline
        # the witness alone is look-ahead enough for most tokenizers; an edit's window is
        # then ~30 % shorter. Not for GPT-2-style "\s+(?!\S)" after a bare newline cut.
        tight = replace(chosen, margin=0)
        if rule_holds(tokenizer, tight, texts, special):
            chosen = tight
    else:
        log.warning("no safe place to cut text for %s: every edit re-encodes the whole document",
                    tokenizer.name)
    with _rules_lock:
        per[special] = chosen
    return chosen

"""The tokens of a changing document, re-tokenized incrementally and exactly.

``TokenState`` is what the language server keeps per open document. It answers the
:class:`~.queries.TokenQueries` like an :class:`Encoding` (from its blocks), and after any
sequence of ``apply_edit`` calls it equals a fresh ``tokenizer.encode(text)``.

An edit re-encodes only a window around it, cut at *sync points* (:mod:`.chunking`):
offsets after a newline or before a space-prefixed word where the tokenizer provably
starts afresh. The window carries extra context (a sync span) on both sides whose new tokens must equal
the old ones (shifted by the edit's length on the right); if they do not, the window
widens, up to the whole document. Opening a large document encodes pieces cut at sync
points a few at a time on both cores, and checks every seam the same way.
:meth:`TokenState.verify_and_repair` is the safety net: an idle, cancellable encode of
the whole text, in pieces, that repairs (and logs) any difference.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from .base import SpecialTokens, Tokenizer
from .blocks import BlockStore
from .chunking import (
    Piece,
    SyncRule,
    encode_one,
    select,
    sync_rule_for,
    window_bounds,
)
from .encoding import OFFSET_DTYPE, Encoding, search
from .memory import trim_after
from .rope import Rope
from .snapshot import BlockQueries, TokenSnapshot

log = logging.getLogger("tokenprism.incremental")

# Documents shorter than this are encoded in one call when opened.
SMALL_DOCUMENT = 32_768
# Target size of the pieces a large document is encoded in (two threads share them).
PIECE_CHARS = 65_536
# Pieces encoded in one batch (both cores), so memory is bounded by a group, not the document.
GROUP_PIECES = 8
# Characters a verification encodes per piece (the same seams as an open), a group at a time:
# two pieces, one per core, as the Rust tokenizers' per-token objects (~90 bytes a token, plus
# 16 bytes of alignment per byte of text while pre-tokenizing) of eight made a 200 MiB peak.
VERIFY_CHARS = 262_144
VERIFY_GROUP = 2
# Lines of context on each side of an edit's window (quadrupled on every retry).
CONTEXT_LINES = 1
# Characters either side of an edit first searched for sync points (doubled while too few).
SEARCH_CHARS = 2048


class WindowTooLarge(Exception):
    """An edit would re-encode more than the caller's ``max_window`` characters; the state
    is left as it was before that edit."""


def _as_piece(encoding: Encoding) -> Piece:
    return Piece(encoding.ids, encoding.ends.astype(np.int64), encoding.flags)


def _context_matches(
    window: Piece, old: Piece, inner_lo: int, inner_hi: int, delta: int, check_right: bool
) -> bool:
    """The window's new tokens on its context lines equal the old ones: those ending up to
    ``inner_lo``, and (``check_right``) those ending after ``inner_hi`` (``inner_hi - delta``
    before the edit), shifted by ``delta``. ``window`` holds the new tokens of the window and
    ``old`` the old tokens it replaces; both begin at the window's left cut."""
    new_left = search(window.ends, inner_lo, "right")
    old_left = search(old.ends, inner_lo, "right")
    if (new_left or old_left) and not window.head(new_left).equals(old.head(old_left)):
        return False
    if check_right:
        right = search(window.ends, inner_hi, "right")
        old_right = search(old.ends, inner_hi - delta, "right")
        return window.tail(right).equals(old.tail(old_right), delta)
    return True


def _encoded_in_groups(
    tokenizer: Tokenizer, text: str, windows: list[tuple[int, int]], special, size: int = GROUP_PIECES
):
    """The encodings of ``text[a:b]`` for each window, in order, encoded ``size`` at a time:
    a batch uses both cores, and only a group's encodings (the backend's per-token objects
    included) are alive at once, not a whole document's."""
    for g in range(0, len(windows), size):
        group = windows[g : g + size]
        # the Rust tokenizers release the GIL (and use both cores) only in encode_batch
        yield from tokenizer.encode_batch([text[a:b] for a, b in group], special)


def _tokens_between(encoding: Encoding, first: int, last: int) -> Piece:
    return Piece(encoding.ids[first:last], encoding.ends[first:last], encoding.flags[first:last])


def _window_in_block(
    encoded: Encoding, origin: int, block_base: int, lo: int, inner_lo: int, inner_hi: int, hi: int
) -> tuple[Piece, int, int]:
    """The tokens of an encoded window (its text starting at ``origin``) that end in
    ``(lo, hi]``, with ends made relative to ``block_base``, and the number of them that
    end by ``inner_lo`` and by ``inner_hi`` (one search for all four offsets)."""
    needles = np.array([lo - origin, inner_lo - origin, inner_hi - origin, hi - origin], OFFSET_DTYPE)
    a, left, right, z = encoded.ends.searchsorted(needles, "right").tolist()
    ends = encoded.ends[a:z] + (origin - block_base)
    return Piece(encoded.ids[a:z], ends, encoded.flags[a:z]), left - a, right - a


class TokenState(BlockQueries):
    """Per-document token state: the text plus its tokens in compact blocks."""

    def __init__(
        self, tokenizer: Tokenizer, text: str | Rope, special: SpecialTokens = SpecialTokens.SPECIAL
    ):
        self.tokenizer = tokenizer
        self.special = special
        # ropes are persistent (an edit makes a new one), so the state can share the
        # document's own: the language server's snapshots and this state hold one text
        self._rope = text if isinstance(text, Rope) else Rope(text)
        text = self._rope.joined()  # read once: the rope (often a document's) keeps no copy
        self.version = 0  # bumped by every edit; lets a background check detect staleness
        self.stats = {"edits": 0, "widened": 0, "whole": 0, "window_chars": 0, "repairs": 0}
        self._lock = threading.RLock()
        self.rule: SyncRule | None = sync_rule_for(tokenizer, special) if len(text) else None
        self._store = self._encode_document(text)

    @property
    def text_length(self) -> int:
        return len(self._rope)

    @property
    def text(self) -> str:
        """The whole text (joined on demand, O(n) after an edit; cached until the next)."""
        return str(self._rope)

    # -- opening ------------------------------------------------------------------------------

    def _rule(self) -> SyncRule | None:
        if self.rule is None and len(self._rope):
            self.rule = sync_rule_for(self.tokenizer, self.special)
        return self.rule

    def _encode_whole(self, text: str) -> Piece:
        return _as_piece(encode_one(self.tokenizer, text, self.special))

    def _store_of_whole(self, text: str) -> BlockStore:
        enc = encode_one(self.tokenizer, text, self.special)
        return BlockStore.of_parts([(0, enc.ids, enc.ends, enc.flags)])

    def _encode_document(self, text: str) -> BlockStore:
        rule = self.rule
        if len(text) < SMALL_DOCUMENT or rule is None:
            return self._store_of_whole(text)
        cuts = [0]
        while True:
            found = rule.after(text, cuts[-1] + PIECE_CHARS, 1)
            if not found or found[0][0] >= len(text) - PIECE_CHARS // 4:
                break
            cuts.append(found[0][0])
        cuts.append(len(text))
        if len(cuts) == 2:
            return self._store_of_whole(text)
        # each piece reaches one sync point into the next, so neighbours can be compared
        reach = []
        for hi in cuts[1:-1]:
            nxt = rule.after(text, hi, 1)
            reach.append(nxt[0][0] if nxt else len(text))
        reach.append(len(text))
        windows = [window_bounds(text, lo, hi, rule) for lo, hi in zip(cuts[:-1], reach)]
        encodings = _encoded_in_groups(self.tokenizer, text, windows, self.special)
        # The tokens piece k keeps end in (cut k, cut k+1] (its window starts one character
        # early, at the one before its cut); those ending past its cut up to its reach
        # must equal the next piece's own. Kept tokens become blocks as they are, their ends
        # still counted from the window's start (no whole-document arrays are built).
        parts = []
        enc, nxt = None, next(encodings)
        for k, (origin, _) in enumerate(windows):
            enc, nxt = nxt, next(encodings, None)
            lo, hi = cuts[k], cuts[k + 1]
            first = search(enc.ends, lo - origin, "right") if lo else 0
            last = search(enc.ends, hi - origin, "right")
            if nxt is not None:
                nxt_origin = windows[k + 1][0]
                own = _tokens_between(enc, last, search(enc.ends, reach[k] - origin, "right"))
                a, b = (search(nxt.ends, x - nxt_origin, "right") for x in (hi, reach[k]))
                if not own.equals(_tokens_between(nxt, a, b), nxt_origin - origin):
                    log.warning("seam at offset %d does not match; encoding the document whole", hi)
                    del parts, enc, nxt, encodings
                    return self._store_of_whole(text)
            # copies, so the window's arrays (its tokens past the cut too) are not kept alive
            parts.append((origin, enc.ids[first:last].copy(), enc.ends[first:last].copy(),
                          enc.flags[first:last].copy()))
        del enc, nxt, encodings
        trim_after(len(text))  # the encodings' memory, freed in the tokenizer's threads
        return BlockStore.of_parts(parts)

    # -- edits --------------------------------------------------------------------------------

    def apply_edit(
        self, start: int, end: int, new_text: str, max_window: int | None = None,
        text_after: Rope | None = None,
    ) -> None:
        """Replace characters ``[start, end)`` of the text with ``new_text``. With
        ``max_window``, an edit that needs a bigger re-encode raises WindowTooLarge instead
        (and changes nothing): a caller on a latency-sensitive thread hands it elsewhere.
        ``text_after``, the caller's rope of the edited text if it has one, is taken over
        instead of editing this state's rope a second time."""
        with self._lock:
            before = self._rope
            n = len(before)
            if not (0 <= start <= end <= n):
                raise IndexError(f"edit [{start}, {end}) outside a text of {n} characters")
            if text_after is not None and len(text_after) == n - (end - start) + len(new_text):
                self._rope = text_after
            else:
                self._rope = before.replaced(start, end, new_text)
            try:
                self._retokenize(start, start + len(new_text), len(new_text) - (end - start), max_window)
            except BaseException:  # e.g. text the tokenizer refuses: leave the state as it was
                self._rope = before
                raise
            self.version += 1
            self.stats["edits"] += 1

    def apply_edits(self, edits: list[tuple], max_window: int | None = None) -> int:
        """Apply edits ``(start, end, new_text[, text_after])`` in order (each in the
        coordinates left by the previous one). Returns how many were applied: all of them,
        or with ``max_window`` those before the first that would re-encode more characters
        than that."""
        for applied, edit in enumerate(edits):
            try:
                self.apply_edit(*edit[:3], max_window, *edit[3:])
            except WindowTooLarge:
                return applied
        return len(edits)

    def _retokenize(self, start: int, new_end: int, delta: int, max_window: int | None = None) -> None:
        """Re-encode around ``[start, new_end)`` of the new text and splice the result in.

        The work happens on a local stretch of the text, ``[base, base + len(local))``,
        widened until it holds the sync points the window needs."""
        store, rope = self._store, self._rope
        rule = self._rule()
        n = len(rope)
        context, reach = CONTEXT_LINES, SEARCH_CHARS
        while rule is not None and len(store):
            base = max(0, start - reach)
            local = rope.slice(base, new_end + reach)
            at_start, at_end = base == 0, base + len(local) == n
            # inner cuts nearest the edit; outer cuts ``context`` sync points further out
            lefts = rule.before(local, start - base, context + 1)
            rights = [p for p, w in rule.after(local, new_end - base, context + 1)
                      if at_end or w + rule.margin < len(local)]
            if (len(lefts) <= context and not at_start) or (len(rights) <= context and not at_end):
                reach *= 2  # too few sync points in reach: look further
                continue
            inner_lo = lefts[0] if lefts else 0
            lo = lefts[context] if len(lefts) > context else 0
            inner_hi = rights[0] if rights else len(local)
            hi = rights[context] if len(rights) > context else len(local)
            if at_start and at_end and lo == 0 and hi == len(local):
                break  # the window is the whole text
            if max_window is not None and hi - lo > max_window:
                raise WindowTooLarge(hi - lo)
            self.stats["window_chars"] += hi - lo
            start_at, stop_at = window_bounds(local, lo, hi, rule)
            encoded = encode_one(self.tokenizer, local[start_at:stop_at], self.special)
            origin = base + start_at  # where the encoded text starts in the document
            lo, inner_lo, inner_hi, hi = lo + base, inner_lo + base, inner_hi + base, hi + base
            run = None
            if lo > 0:
                run = store.run_in_block(lo, hi - delta if hi < n else None, (inner_lo, inner_hi - delta))
            if run is not None:
                # the usual edit: one block holds the old tokens; the window's tokens go
                # straight into the block's own coordinates, where they are compared and
                # spliced (no whole-document indices, no int64 copies)
                b, (first, old_left, old_right, last) = run
                block_base = int(store.bases[b])
                window, new_left, new_right = _window_in_block(
                    encoded, origin, block_base, lo, inner_lo, inner_hi, hi
                )
                matches = window.head(new_left).equals(store.block_piece(b, first, old_left)) and (
                    hi >= n or window.tail(new_right).equals(store.block_piece(b, old_right, last), delta)
                )
                if matches and store.splice_in_block(b, first, last, window, delta):
                    return
                first, last = first + int(store.first_index[b]), last + int(store.first_index[b])
                window = Piece(window.ids, window.ends.astype(np.int64) + block_base, window.flags)
            else:
                window = select(encoded, n, origin, lo, hi)
                first = store.rank(lo) if lo > 0 else 0
                last = store.rank(hi - delta) if hi < n else len(store)
                matches = _context_matches(window, store.slice(first, last), inner_lo, inner_hi, delta,
                                           hi < n)
            if matches:  # (a block that would leave its size bounds is re-cut here)
                store.splice(first, last, window, delta)
                return
            self.stats["widened"] += 1
            log.debug("context around edit at %d did not match; widening to %d lines", start, context * 4)
            context *= 4
        if max_window is not None and n > max_window:
            raise WindowTooLarge(n)
        self.stats["whole"] += 1
        whole = self._encode_whole(self._rope.joined())
        store.splice(0, len(store), whole, 0)

    # -- the safety net -----------------------------------------------------------------------

    def verify_and_repair(self, cancel: threading.Event | None = None) -> int:
        """Encode the whole text afresh (meant for an idle worker thread) and repair the
        state if it differs. Returns the number of differing tokens (0: all good), or -1
        if cancelled or the text changed meanwhile (run it again when idle).

        A large document is encoded in pieces of ~VERIFY_CHARS, a group at a time, each
        compared with the stored tokens it covers: memory stays bounded by a group. Each
        piece reaches one sync point into the next, and the two must agree there (as when
        opening), so a wrong cut shows as a difference too. Only a difference (never seen
        in tests or benchmarks) costs a whole-document encode, which repairs it."""
        with self._lock:
            rope, version, store = self._rope, self.version, self._store.frozen()
        if cancel is not None and cancel.is_set():
            return -1
        text = rope.joined()  # dropped after the check: the rope keeps only its chunks
        agree = self._pieces_agree(text, store, cancel)
        trim_after(len(text))
        with self._lock:
            if agree is None or self.version != version:
                return -1
        return 0 if agree else self._repair(text, version, cancel)

    def _pieces_agree(self, text: str, store: BlockStore, cancel: threading.Event | None) -> bool | None:
        """Whether ``store`` holds the tokens of ``text``, checked piece by piece (None if
        cancelled). A text without sync points is one piece."""
        rule, n = self._rule(), len(text)
        cuts = [0]
        while rule is not None and cuts[-1] < n:
            found = rule.after(text, cuts[-1] + VERIFY_CHARS, 1)
            cuts.append(found[0][0] if found else n)
        if cuts[-1] != n:
            cuts.append(n)
        if n == 0:
            return len(store) == 0
        # each piece reaches one sync point into the next, where the two must agree
        reach = [next(iter(rule.after(text, hi, 1)), (n,))[0] if hi < n else n for hi in cuts[1:]]
        windows = [window_bounds(text, lo, hi, rule) for lo, hi in zip(cuts[:-1], reach)]
        previous: Piece | None = None  # the previous piece's tokens past its cut
        for k, enc in enumerate(
            _encoded_in_groups(self.tokenizer, text, windows, self.special, VERIFY_GROUP)
        ):
            if cancel is not None and cancel.is_set():
                return None
            lo, hi = cuts[k], cuts[k + 1]
            tokens = select(enc, n, windows[k][0], lo, reach[k])
            del enc
            split = search(tokens.ends, hi, "right")
            if previous is not None:
                overlap = search(tokens.ends, reach[k - 1], "right")
                if not tokens.head(overlap).equals(previous):
                    return False
            first = store.rank(lo) if lo > 0 else 0
            last = store.rank(hi) if hi < n else len(store)
            if not tokens.head(split).equals(store.slice(first, last)):
                return False
            previous = tokens.tail(split)
        return True

    def _repair(self, text: str, version: int, cancel: threading.Event | None) -> int:
        # one whole encode, independent of the pieces
        fresh = _as_piece(self.tokenizer.encode_batch([text], self.special)[0])
        if cancel is not None and cancel.is_set():
            return -1
        with self._lock:
            if self.version != version:
                return -1
            current = self._store.slice(0, len(self._store))
            if current.equals(fresh):
                return 0
            differing = _differing_tokens(current, fresh)
            log.warning(
                "incremental tokens differed from a full encode (%d tokens, %s); repaired",
                differing, self.tokenizer.name,
            )
            self.stats["repairs"] += 1
            self._store = BlockStore(fresh)
            return differing

    def snapshot(self) -> TokenSnapshot:
        """An immutable view of the current tokens, in O(blocks): later edits do not change it."""
        with self._lock:
            return TokenSnapshot(self._store.frozen(), len(self._rope))


def _differing_tokens(a: Piece, b: Piece) -> int:
    """Size of the region between the first and last difference (in the longer one)."""
    n = min(len(a), len(b))
    same = (a.ids[:n] == b.ids[:n]) & (a.ends[:n] == b.ends[:n]) & (a.flags[:n] == b.flags[:n])
    head = int(np.argmin(same)) if not same.all() else n
    m = n - head
    tail_same = np.ones(m, bool)
    for x, y in ((a.ids, b.ids), (a.ends, b.ends), (a.flags, b.flags)):
        tail_same &= x[::-1][:m] == y[::-1][:m]
    tail = int(np.argmin(tail_same)) if m and not tail_same.all() else m
    return max(len(a), len(b)) - head - tail

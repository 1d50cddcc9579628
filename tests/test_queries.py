"""The token-query interface (``TokenQueries``): a ``TokenSnapshot`` kept up to date through
edits answers every query like a fresh ``Encoding`` of its text, and both count where
tiktoken's own token bytes say."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import tiktoken
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenprism.tokenization import CONTINUES, SPECIAL, blocks, encoding, incremental, load_tokenizer
from tokenprism.tokenization.incremental import TokenState
from tokenprism.tokenization.openai import openai_definition

SPLIT_TEXTS = [
    "a 𠜎 b",
    "rare 𠜎\n𠜎𠜎 and 👨\u200d👩\u200d👧\n𠜎",
    "a 🫠\u3000\n!🫠👍🏽🪿👍🏽 x 🫠🫠\n",
    "🧑\u200d💻👍🏽🀄!한 🀄𝔘 <|endoftext|> 𓀀",
]
ALPHABET = st.sampled_from(
    ["a", "b", " ", "\n", "  ", "한", "🫠", "🪿", "𠜎", "👍🏽", "🀄", "𝔘", "é", "<|endoftext|>", "\u3000",
     "x y"]
)
TEXTS = st.lists(ALPHABET, max_size=40).map("".join)
EDITS = st.lists(st.tuples(st.floats(0, 1), st.integers(0, 6), st.lists(ALPHABET, max_size=4).map("".join)),
                 max_size=6)


@functools.cache
def raw_tiktoken(name: str) -> tiktoken.Encoding:
    """tiktoken itself (its ranks from the packaged file), not TokenPrism's tokenizer."""
    d = openai_definition(name, name)
    return tiktoken.Encoding(name=d.name, pat_str=d.pat_str, mergeable_ranks=d.mergeable_ranks,
                             special_tokens=d.special_tokens)


def reference_counted_before(name: str, text: str) -> list[int]:
    """For every offset ``0..len(text)``, the tokens counted before it, from tiktoken's bytes
    alone: a token counts at the character holding the first byte of its display segment (the
    nearest token at or before it that starts on a character boundary); the end takes all."""
    tt = raw_tiktoken(name)
    ids = tt.encode(text, allowed_special="all")
    data = text.encode("utf-8")
    chars_before = np.concatenate(([0], np.cumsum([(b & 0xC0) != 0x80 for b in data])))
    anchors, position, anchor = [], 0, 0
    for token_id in ids:
        if (data[position] & 0xC0) != 0x80:
            anchor = int(chars_before[position])
        anchors.append(anchor)
        position += len(tt.decode_single_token_bytes(token_id))
    assert position == len(data)
    anchors = np.asarray(anchors, np.int64)
    return [int(np.count_nonzero(anchors < x)) for x in range(len(text))] + [len(ids)]


def edited_snapshot(tokenizer, text: str, edits) -> tuple[incremental.TokenSnapshot, str]:
    """A snapshot of a TokenState opened on ``text`` and edited (small blocks and pieces)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(blocks, "BLOCK_TOKENS", 4)
        mp.setattr(incremental, "SMALL_DOCUMENT", 0)
        mp.setattr(incremental, "PIECE_CHARS", 16)
        state = TokenState(tokenizer, text)
        for where, removed, inserted in edits:
            start = min(int(where * (len(state.text) + 1)), len(state.text))
            state.apply_edit(start, min(len(state.text), start + removed), inserted)
        return state.snapshot(), state.text


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
@pytest.mark.parametrize("text", SPLIT_TEXTS)
def test_counts_at_every_offset_follow_tiktokens_bytes(name, text):
    """Counting at every character offset, split characters included: kills a counted_before
    that forgets to keep a split character's tail tokens with it."""
    tokenizer = load_tokenizer(name)
    fresh = tokenizer.encode(text)
    assert any(t.continues for t in fresh)  # the texts must split characters
    expected = reference_counted_before(name, text)
    snapshot, edited = edited_snapshot(tokenizer, text[: len(text) // 2], [(1.0, 0, text[len(text) // 2 :])])
    assert edited == text
    offsets = np.arange(len(text) + 1)
    for tokens in (fresh, snapshot):
        assert tokens.counted_before(offsets).tolist() == expected
        assert tokens.counts_between(offsets).tolist() == np.diff(expected).tolist()
        assert [tokens.count_in(a, a + 1) for a in range(len(text))] == np.diff(expected).tolist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS, edits=EDITS, probes=st.lists(st.floats(0, 1), min_size=2, max_size=6))
def test_every_query_on_an_edited_snapshot_equals_a_fresh_encoding(text, edits, probes):
    tokenizer = load_tokenizer("o200k_base")
    snapshot, edited = edited_snapshot(tokenizer, text, edits)
    fresh = tokenizer.encode(edited)
    n, length = len(fresh), len(edited)
    assert len(snapshot) == n and snapshot.text_length == length
    offsets = np.arange(-1, length + 2)
    assert snapshot.counted_before(offsets).tolist() == fresh.counted_before(offsets).tolist()
    assert snapshot.counted_before(offsets).tolist()[1:-1] == reference_counted_before("o200k_base", edited)
    points = sorted({min(int(p * (length + 1)), length) for p in probes})
    assert snapshot.counts_between(points).tolist() == fresh.counts_between(points).tolist()
    for a in points:
        assert snapshot.token_at(a) == fresh.token_at(a)
        assert snapshot.segment_at(a) == fresh.segment_at(a)
        for b in points:
            assert snapshot.tokens_in(a, b) == fresh.tokens_in(a, b)
            assert snapshot.count_in(a, b) == fresh.count_in(a, b)
    # runs against the raw arrays of the fresh encode (independent of the shared code)
    starts = np.concatenate(([0], fresh.ends[:-1])) if n else np.zeros(0)
    tokens = sorted({min(int(p * (n + 1)), n) for p in probes})
    for first in tokens:
        for last in tokens:
            run = snapshot.token_run(first, last)
            span = slice(first, max(first, last))
            assert run.first == first and len(run) == max(0, last - first)
            assert run.ids.tolist() == fresh.ids[span].tolist()
            assert (run.starts.tolist() == starts[span].tolist()
                    and run.ends.tolist() == fresh.ends[span].tolist())
            assert run.special.tolist() == ((fresh.flags[span] & SPECIAL) != 0).tolist()
            assert run.continues.tolist() == ((fresh.flags[span] & CONTINUES) != 0).tolist()
            assert snapshot.segments(first, last) == fresh.segments(first, last)
            assert snapshot.whole_segments(first, last) == fresh.whole_segments(first, last)
    continuations = np.concatenate(([0], np.cumsum((fresh.flags & CONTINUES) != 0)))
    for i in range(n + 1):
        assert snapshot.segments_before(i) == fresh.segments_before(i) == i - int(continuations[i])
    for i in range(n):
        assert snapshot.token(i) == fresh.token(i)
        assert snapshot.segment_of(i) == fresh.segment_of(i)
        assert snapshot.start_of(i) == fresh.start_of(i) == int(starts[i])


def test_segments_tile_the_text_and_count_as_heads():
    text = "".join(SPLIT_TEXTS) * 3
    fresh = load_tokenizer("o200k_base").encode(text)
    segments = fresh.segments()
    assert segments[0].start == 0 and segments[-1].end == len(text)
    assert all(a.end == b.start and a.last_token + 1 == b.first_token for a, b in zip(segments, segments[1:]))
    assert len(segments) == fresh.segments_before(len(fresh))
    assert [s.first_token for s in segments] == np.flatnonzero((fresh.flags & CONTINUES) == 0).tolist()


def test_segments_before_on_a_long_encoding_uses_its_marks(monkeypatch):
    """An Encoding counts continuations by marks every few thousand tokens: check across them."""
    monkeypatch.setattr(encoding, "_MARK_EVERY", 7)
    fresh = load_tokenizer("o200k_base").encode("".join(SPLIT_TEXTS) * 5)
    continuations = np.concatenate(([0], np.cumsum((fresh.flags & CONTINUES) != 0)))
    assert [fresh.segments_before(i) for i in range(len(fresh) + 1)] == (
        np.arange(len(fresh) + 1) - continuations
    ).tolist()

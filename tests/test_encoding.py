"""The Encoding contract, for all seven tokenizers on the mixed corpus: spans tile the text,
display segments hold exactly their tokens' bytes and never cut a character, special-token
text is one SPECIAL token (or plain text on request), counts leave BOS/EOS out."""

from __future__ import annotations

import random

import numpy as np
import pytest

from conftest import CORPUS, TOKENIZER_NAMES
from tokenprism.tokenization import CONTINUES, SPECIAL, AddedTokens, SpecialTokens
from tokenprism.tokenization.encoding import (
    Encoding,
    search,
    tile_from_byte_lengths,
    tile_from_char_counts,
    tile_from_char_spans,
    utf8_char_tables,
)

# SentencePiece vocabularies whose normalizer puts "▁" (a space) in front of every run of
# text — at the start and after each special token — so the first token of such a run
# carries one space byte more than the text has (llama.cpp's add_space_prefix).
PREFIX_SPACE = {"phi3"}
CANDIDATE_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<s>", "</s>", "<|user|>"
)


def assert_tiles(enc: Encoding, text: str) -> None:
    n = len(enc)
    assert len(enc.ids) == len(enc.ends) == len(enc.flags) == n
    assert enc.text_length == len(text)
    if not n:
        assert text == ""
        return
    assert (np.diff(enc.ends) >= 0).all(), "ends must not go backwards"
    assert enc.ends[0] >= 0 and enc.ends[-1] == len(text)
    assert not enc.flags[0] & CONTINUES


def expected_segment_bytes(tok, enc: Encoding, text: str, segment) -> bytes:
    data = text[segment.start : segment.end].encode("utf-8")
    if tok.name not in PREFIX_SPACE:
        return data
    # A run of text starts the text or follows an added token (special like <s>, or
    # user-defined like Phi-3's </s>): both are cut out before the normalizer runs.
    added = set(tok.backend.get_added_tokens_decoder())
    first = segment.first_token
    starts_a_run = first == 0 or int(enc.ids[first - 1]) in added
    if starts_a_run and int(enc.ids[first]) not in added:
        data = b" " + data
    return data


def check_segments(tok, enc: Encoding, text: str) -> None:
    segments = list(enc.segments())
    if not segments:
        return
    assert segments[0].start == 0 and segments[-1].end == len(text)
    assert segments[0].first_token == 0 and segments[-1].last_token == len(enc) - 1
    for before, after in zip(segments, segments[1:]):
        assert before.end == after.start and before.last_token + 1 == after.first_token
    for seg in segments:
        token_bytes = b"".join(tok.token_bytes(int(enc.ids[i])) for i in seg.token_indices)
        assert token_bytes == expected_segment_bytes(tok, enc, text, seg), (
            f"segment {text[seg.start:seg.end]!r} tokens "
            f"{[tok.token_text(int(enc.ids[i])) for i in seg.token_indices]}"
        )
        for i in list(seg.token_indices)[1:]:
            assert enc.flags[i] & CONTINUES  # only the first token of a segment starts it


@pytest.mark.parametrize("special", list(SpecialTokens))
@pytest.mark.parametrize("sample", list(CORPUS))
def test_segments_hold_exactly_their_tokens_bytes(each_tokenizer, sample, special):
    text = CORPUS[sample]
    enc = each_tokenizer.encode(text, special)
    assert_tiles(enc, text)
    check_segments(each_tokenizer, enc, text)


def test_whole_corpus_at_once(each_tokenizer):
    text = "".join(CORPUS.values())
    for special in SpecialTokens:
        enc = each_tokenizer.encode(text, special)
        assert_tiles(enc, text)
        check_segments(each_tokenizer, enc, text)
    # a batch gives what one-by-one gives
    texts = list(CORPUS.values())
    for single, batched in zip([each_tokenizer.encode(t) for t in texts], each_tokenizer.encode_batch(texts)):
        assert single.equals(batched)


def test_tokens_holding_only_continuation_bytes_continue_a_segment(each_tokenizer):
    text = CORPUS["emoji"] + CORPUS["korean"] + CORPUS["cjk"]
    enc = each_tokenizer.encode(text)
    for i, token_id in enumerate(enc.ids.tolist()):
        data = each_tokenizer.token_bytes(token_id)
        if data and (data[0] & 0xC0) == 0x80:  # starts inside a character
            assert enc.flags[i] & CONTINUES, each_tokenizer.token_text(token_id)


def test_segment_boundaries_fall_between_characters(each_tokenizer):
    """No boundary inside a surrogate pair (as an editor counts UTF-16) or a Hangul syllable."""
    text = CORPUS["emoji"] + CORPUS["korean"]
    enc = each_tokenizer.encode(text)
    utf16_ends = set()
    for seg in enc.segments():
        piece = text[: seg.end].encode("utf-16-le")
        utf16_ends.add(len(piece) // 2)
        assert len(piece) % 2 == 0
        if 0 < seg.end < len(text):
            assert text[seg.end - 1 : seg.end + 1].encode("utf-8").decode("utf-8")  # both whole characters
    family = "👨\u200d👩\u200d👧\u200d👦"
    start = text.index(family)
    inside = enc.segment_at(start)
    assert inside.start <= start < inside.end
    assert text[inside.start : inside.end].encode("utf-8") in (
        b"".join(each_tokenizer.token_bytes(int(enc.ids[i])) for i in inside.token_indices),
        b"".join(each_tokenizer.token_bytes(int(enc.ids[i])) for i in inside.token_indices)[1:],
    )


def _specials_of(tok) -> list[str]:
    return [s for s in CANDIDATE_SPECIALS if s in tok.special_tokens]


def test_special_token_text_is_one_special_token_or_plain_text(each_tokenizer):
    tok = each_tokenizer
    specials = _specials_of(tok)
    if tok.name in ("o200k_base", "cl100k_base", "gpt2", "qwen2", "starcoder2"):
        assert "<|endoftext|>" in specials
    assert specials, f"{tok.name} has none of {CANDIDATE_SPECIALS}"
    for special_text in specials:
        text = f"before {special_text} after"
        at = text.index(special_text)
        enc = tok.encode(text)
        flagged = np.flatnonzero(enc.flags & SPECIAL)
        assert len(flagged) == 1, special_text
        token = enc.token(int(flagged[0]))
        assert token.id == tok.special_tokens[special_text]
        assert (token.start, token.end) == (at, at + len(special_text))
        assert tok.is_special(token.id) and tok.token_bytes(token.id) == special_text.encode()
        plain = tok.encode(text, SpecialTokens.TEXT)
        assert not (plain.flags & SPECIAL).any(), special_text
        assert tok.special_tokens[special_text] not in plain.ids.tolist()
        check_segments(tok, plain, text)


def test_counts_leave_out_bos_and_eos_and_added_tokens_says_what_is_added(each_tokenizer):
    tok = each_tokenizer
    added = tok.added_tokens
    assert isinstance(added, AddedTokens)
    for text in CORPUS.values():
        assert tok.count(text, SpecialTokens.TEXT) == len(tok.encode(text, SpecialTokens.TEXT))
        enc = tok.encode(text)
        assert tok.count(text) == len(enc)
        assert not set(added.prefix) & {int(enc.ids[0])}
        assert not set(added.suffix) & {int(enc.ids[-1])}
        if hasattr(tok, "backend"):  # what the model's own tokenizer feeds the model
            full = tok.backend.encode(text, add_special_tokens=True).ids
            assert full[: len(added.prefix)] == list(added.prefix)
            assert len(full) == len(enc) + len(added.prefix) + len(added.suffix)
    if tok.name in ("o200k_base", "cl100k_base"):
        assert added == AddedTokens() and added.describe(tok) == "nothing"
    else:
        assert added.describe(tok) != ""
    assert tok.count("") == 0 and len(tok.encode("")) == 0


# -- counting and lookup over real encodings ----------------------------------------------------


def _first_char_counts(enc: Encoding, start: int, end: int) -> int:
    """The documented rule, token by token: a token counts where its segment's first character is;
    tokens of a segment that starts at or after the end of the text count in the last range."""
    total = 0
    for seg in enc.segments():
        anchor = min(seg.start, enc.text_length - 1) if enc.text_length else 0
        if start <= anchor < end:
            total += seg.last_token - seg.first_token + 1
    return total


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
def test_counts_of_adjacent_ranges_add_up(name, tokenizer):
    tok = tokenizer(name)
    rng = random.Random(7)
    for sample in ("emoji", "korean", "mixed", "crlf"):
        text = CORPUS[sample]
        enc = tok.encode(text)
        assert enc.count_in(0, len(text)) == len(enc)
        for _ in range(30):
            a, b = sorted(rng.sample(range(len(text) + 1), 2))
            parts = enc.count_in(0, a) + enc.count_in(a, b) + enc.count_in(b, len(text))
            assert parts == len(enc), (sample, a, b)
            assert enc.count_in(a, b) == _first_char_counts(enc, a, b), (sample, a, b)


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
def test_token_at_and_tokens_in_agree_with_spans(name, tokenizer):
    tok = tokenizer(name)
    text = CORPUS["mixed"] + CORPUS["emoji"]
    enc = tok.encode(text)
    starts = enc.starts
    for offset in range(len(text)):
        i = enc.token_at(offset)
        assert starts[i] <= offset < enc.ends[i]
    rng = random.Random(3)
    for _ in range(50):
        a, b = sorted(rng.sample(range(len(text) + 1), 2))
        indices = set(enc.tokens_in(a, b))
        for i in range(len(enc)):
            if starts[i] < b and enc.ends[i] > a:  # overlaps [a, b)
                assert i in indices


# -- the tiling builders, on hand-made input ----------------------------------------------------


def test_tile_from_byte_lengths_marks_split_characters():
    text = "a🙂b"  # 1 + 4 + 1 bytes; the emoji is split 2 + 2 over two tokens
    enc = tile_from_byte_lengths(np.array([1, 2, 3, 4]), np.array([1, 2, 2, 1]), np.zeros(4, bool), text)
    assert enc.ends.tolist() == [1, 2, 2, 3]
    assert enc.flags.tolist() == [0, 0, CONTINUES, 0]
    assert [(s.start, s.end) for s in enc.segments()] == [(0, 1), (1, 2), (2, 3)]
    assert tile_from_byte_lengths(np.array([1]), np.array([5]), np.zeros(1, bool), text) is None


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_search_equals_searchsorted_for_any_int(dtype):
    ends = np.array([0, 2, 2, 7, 40], dtype)
    for value in (-(2**40), -1, 0, 1, 2, 3, 7, 39, 40, 41, 2**31 - 1, 2**31, 2**40):
        for side in ("left", "right"):
            assert search(ends, value, side) == int(
                np.searchsorted(ends.astype(object), value, side)
            ), (value, side)


def test_tile_from_char_counts_agrees_with_byte_lengths():
    # a vocabulary of byte strings: whole characters, halves of an emoji, a 3-byte character;
    # id 3 is special
    vocab = [b"a", b"\xf0\x9f", b"\x99\x82", b"b", b"\xe4\xb8\x80x", b"", b"\x82"]
    counts, flags = utf8_char_tables(vocab, [3])
    assert counts.tolist() == [1, 1, 0, 1, 2, 0, 0]
    assert flags.tolist() == [0, 0, CONTINUES, SPECIAL, 0, 0, CONTINUES]
    text = "a🙂b一x"
    ids = np.array([0, 1, 2, 3, 4])
    enc = tile_from_char_counts(ids, counts[ids], flags[ids], len(text))
    lengths = np.array([len(vocab[i]) for i in ids])
    assert enc.equals(tile_from_byte_lengths(ids, lengths, flags[ids] == SPECIAL, text))
    assert enc.flags.tolist() == [0, 0, CONTINUES, SPECIAL, 0]
    # tokens that do not add up to the text, and a text starting with a tail byte
    assert tile_from_char_counts(ids[:2], counts[ids[:2]], flags[ids[:2]], len(text)) is None
    tail = tile_from_char_counts(np.array([6]), counts[[6]], flags[[6]], 0)
    assert tail.flags.tolist() == [0] and tail.ends.tolist() == [0]


def test_tile_from_char_spans_handles_overlaps_and_gaps():
    # token 1 overlaps token 0 (a split character); a gap before token 2 (a dropped character)
    spans = np.array([[0, 2], [1, 2], [3, 5]])
    enc = tile_from_char_spans(np.array([7, 8, 9]), spans, np.array([False, False, True]), 5)
    assert enc.ends.tolist() == [2, 2, 5]
    assert enc.flags.tolist() == [0, CONTINUES, SPECIAL]
    assert Encoding.empty(3).count_in(0, 3) == 0 and len(Encoding.empty()) == 0


def test_lone_surrogates_count_as_replacement_characters(each_tokenizer):
    """An editor buffer can hold a lone surrogate; it is read as U+FFFD (what a UTF-8 save writes)."""
    broken, replaced = "a\ud800b 🙂 \udfff", "a\ufffdb 🙂 \ufffd"
    enc = each_tokenizer.encode(broken)
    assert enc.ids.tolist() == each_tokenizer.encode(replaced).ids.tolist()
    assert_tiles(enc, broken)
    batch = each_tokenizer.encode_batch([broken, "plain"])
    assert batch[0].equals(enc) and batch[1].equals(each_tokenizer.encode("plain"))

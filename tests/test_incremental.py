"""Incremental re-tokenization equals a full encode after every edit.

Every test tokenizer (tiktoken o200k/cl100k, the GGUF vocabularies of Llama 3, Phi-3,
Qwen2, StarCoder2 and GPT-2, and a WordPiece tokenizer built here) is checked against its
own full ``encode`` of the edited text: ids, span ends and flags. The pieces a document is
opened in and the blocks tokens are stored in are made tiny here, so short random texts
exercise every seam and block boundary.

More examples: ``TOKENPRISM_HYPOTHESIS_EXAMPLES=500 pytest tests/test_incremental.py``; the long
session on a large document: ``TOKENPRISM_SLOW=1 pytest -m slow tests/test_incremental.py``.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TOKENIZER_NAMES
from tokenprism.tokenization import CONTINUES, SpecialTokens, TokenizerInfo, blocks, incremental
from tokenprism.tokenization.chunking import RULES, Piece, sync_rule_for
from tokenprism.tokenization.incremental import TokenState

EXAMPLES = int(os.environ.get("TOKENPRISM_HYPOTHESIS_EXAMPLES", "20"))

FRAGMENTS = [
    "a", "b", "Z", "the", "word", "don't", " ", "  ", "    ", "\t", "\n", "\n", "\r\n", "\r", "\n\n",
    " \n", "\n   ", "한", "국어", "입니다", "日本", "🙂", "👍🏽", "é", "e\u0301", "1", "234", "3.14", ".",
    ",", "'s", "!", "(", ")", "{", "}", ";", "=", "<|endoftext|>", "<|endof", "text|>", "<|im_start|>",
    "<s>", "</s>", "[CLS]", "\u00a0", "\u3000", "<|end|>", "def f(x):\n    return x\n", "## ",
]

texts = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
# one long line: words, CJK, emoji and minified-JSON punctuation, no line break
LINE_FRAGMENTS = [f for f in FRAGMENTS if "\n" not in f and "\r" not in f] + [
    " word", " Word", " x", " 한국어", " 日本語", " 🙂", " é", '{"role":"user","content":"', '"},', '":"',
    " the", "\u200d", "🙂 a", " ǅ", " ʰ",
]
long_lines = st.lists(st.sampled_from(LINE_FRAGMENTS), min_size=10, max_size=80).map("".join)
line_edits = st.lists(
    st.tuples(
        st.floats(0, 1),
        st.integers(0, 12),
        st.lists(st.sampled_from(LINE_FRAGMENTS), max_size=5).map("".join),
    ),
    min_size=1,
    max_size=8,
)
edits = st.lists(
    st.tuples(
        st.floats(0, 1),  # where, as a share of the text
        st.integers(0, 12),  # characters removed
        st.lists(st.sampled_from(FRAGMENTS), max_size=5).map("".join),  # inserted
    ),
    min_size=1,
    max_size=8,
)


def wordpiece_tokenizer():
    """A small BERT-style WordPiece tokenizer (lower-casing normalizer, whitespace and
    punctuation pre-tokenizer), wrapped like any Hugging Face tokenizer."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece

    from tokenprism.tokenization.huggingface import HuggingFaceTokenizer

    words = ["the", "word", "don", "def", "return", "end", "text", "im", "start", "s", "x", "f", "a", "b",
             "z"]
    pieces = ["##s", "##t", "##a", "##b", "##e", "##x", "##rd", "##or"] + [f"##{c}" for c in "0123456789"]
    symbols = list("()[]{}<>|:;,.!'=#_") + list("0123456789") + ["한", "국", "어", "日", "本", "é"]
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + words + pieces + symbols)}
    backend = Tokenizer(WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=20))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    backend.add_special_tokens(["[CLS]", "[SEP]"])
    info = TokenizerInfo("wordpiece-test", "wordpiece-test", "huggingface", "built in the test", len(vocab))
    return HuggingFaceTokenizer(backend, info)


ALL_NAMES = TOKENIZER_NAMES + ("wordpiece",)
_wordpiece = []


@pytest.fixture(params=ALL_NAMES)
def any_tokenizer(request, tokenizer):
    if request.param == "wordpiece":
        if not _wordpiece:
            _wordpiece.append(wordpiece_tokenizer())
        return _wordpiece[0]
    return tokenizer(request.param)


@contextmanager
def tiny_pieces():
    """Blocks of 4 tokens, documents opened in pieces of ~16 characters."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(blocks, "BLOCK_TOKENS", 4)
        mp.setattr(incremental, "SMALL_DOCUMENT", 0)
        mp.setattr(incremental, "PIECE_CHARS", 16)
        yield


def assert_same(state: TokenState, tokenizer, special=SpecialTokens.SPECIAL, context=""):
    fresh = tokenizer.encode(state.text, special)
    got = state.encoding()
    assert got.text_length == len(state.text)
    assert np.array_equal(got.ids, fresh.ids), f"ids differ {context} in {state.text!r}"
    assert np.array_equal(got.ends, fresh.ends), f"ends differ {context} in {state.text!r}"
    assert np.array_equal(got.flags, fresh.flags), f"flags differ {context} in {state.text!r}"
    assert len(state) == len(fresh)


def edit_positions(text: str, where: float, removed: int) -> tuple[int, int]:
    start = min(int(where * (len(text) + 1)), len(text))
    return start, min(len(text), start + removed)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, changes=edits)
def test_edits_equal_full_encode(any_tokenizer, text, changes):
    with tiny_pieces():
        state = TokenState(any_tokenizer, text)
        assert_same(state, any_tokenizer, context="after opening")
        for where, removed, inserted in changes:
            start, end = edit_positions(state.text, where, removed)
            state.apply_edit(start, end, inserted)
            assert_same(state, any_tokenizer, context=f"after replacing [{start}, {end}) by {inserted!r}")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=long_lines, changes=line_edits)
def test_edits_in_one_long_line_equal_full_encode(any_tokenizer, text, changes):
    """Single-line documents (prose, CJK, emoji, minified JSON) are cut inside the line."""
    test_edits_equal_full_encode.hypothesis.inner_test(any_tokenizer, text, changes)


@settings(max_examples=max(5, EXAMPLES // 2), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, changes=edits)
def test_edits_with_special_text_read_as_text(any_tokenizer, text, changes):
    special = SpecialTokens.TEXT
    with tiny_pieces():
        state = TokenState(any_tokenizer, text, special)
        for where, removed, inserted in changes:
            start, end = edit_positions(state.text, where, removed)
            state.apply_edit(start, end, inserted)
            assert_same(state, any_tokenizer, special, context=f"after replacing [{start}, {end})")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, offsets=st.lists(st.floats(0, 1), min_size=1, max_size=6))
def test_queries_match_the_encoding(any_tokenizer, text, offsets):
    with tiny_pieces():
        state = TokenState(any_tokenizer, text)
        full = any_tokenizer.encode(text)
        n = len(text)
        points = sorted(min(int(x * (n + 1)), n) for x in offsets)
        for a in points:
            assert state.token_at(a) == full.token_at(a)
            for b in points:
                assert state.tokens_in(a, b) == full.tokens_in(a, b)
                assert state.count_in(a, b) == full.count_in(a, b)
        for i in range(len(full)):
            assert state.token(i) == full.token(i)
            assert state.segment_of(i) == full.segment_of(i)
        assert list(state.segments()) == list(full.segments())
        k = len(full) // 2
        run = state.token_run(k // 2, k + 3)
        assert np.array_equal(run.ids, full.ids[k // 2 : k + 3])
        assert np.array_equal(run.ends, full.ends[k // 2 : k + 3])
        assert np.array_equal(run.continues, (full.flags[k // 2 : k + 3] & CONTINUES) != 0)


@pytest.mark.parametrize("name", ["o200k_base", "llama3"])
def test_special_token_text_created_and_destroyed_by_edits(tokenizer, name):
    tok = tokenizer(name)
    eot = "<|endoftext|>" if name == "o200k_base" else "<|begin_of_text|>"
    half = len(eot) // 2
    with tiny_pieces():
        state = TokenState(tok, "line one\n" + eot[:half] + "\n" + eot[half:] + " three\n")
        state.apply_edit(9 + half, 10 + half, "")  # joins the halves: the special token appears
        assert_same(state, tok)
        assert any(state.token(i).special for i in range(len(state)))
        state.apply_edit(9 + 2, 9 + 3, "")  # breaks it again
        assert_same(state, tok)
        assert not any(state.token(i).special for i in range(len(state)))


def big_document(lines: int = 3000) -> str:
    parts = []
    for i in range(lines):
        kind = i % 7
        if kind == 0:
            parts.append(f"def function_{i}(argument, other={i}):\n")
        elif kind in (1, 2):
            parts.append(f"    value = argument * {i} + other  # 한국어 주석 {i} 🙂\n")
        elif kind == 3:
            parts.append("\n")
        else:
            parts.append(f"Prose line {i}: the quick brown fox jumps over the lazy dog.\n")
    return "".join(parts)


@pytest.mark.parametrize("name", ["o200k_base", "llama3", "phi3"])
def test_large_document_opens_in_pieces_and_edits_locally(tokenizer, name, caplog):
    tok = tokenizer(name)
    text = big_document()
    state = TokenState(tok, text)
    assert_same(state, tok, context="after the parallel open")
    assert "does not match" not in caplog.text  # the pieces' seams agreed: no whole encode
    assert state._store.block_count > 1
    middle = len(text) // 2
    state.apply_edit(middle, middle, "x")
    state.apply_edit(middle + 1, middle + 1, " 한")
    state.apply_edit(middle - 40, middle - 10, "")
    assert_same(state, tok)
    assert state.stats["whole"] == 0
    # a typing edit re-encodes a few lines, not the document
    assert state.stats["window_chars"] < 3 * 2000
    assert state.nbytes / len(state) <= 16


class EncodeBudget:
    """A tokenizer that counts the characters it is asked to encode, per call, and refuses
    a call longer than ``longest`` (so a test on code that encodes whole lines ends at once)."""

    def __init__(self, tokenizer, longest: int):
        self._tokenizer, self.longest, self.calls = tokenizer, longest, []

    def __getattr__(self, name):
        return getattr(self._tokenizer, name)

    def _count(self, texts):
        self.calls += [len(t) for t in texts]
        if max(map(len, texts), default=0) > self.longest:
            raise AssertionError(f"asked to encode {max(map(len, texts)):,} characters at once")

    def encode(self, text, special=SpecialTokens.SPECIAL):
        self._count([text])
        return self._tokenizer.encode(text, special)

    def encode_batch(self, texts, special=SpecialTokens.SPECIAL):
        texts = list(texts)
        self._count(texts)
        return self._tokenizer.encode_batch(texts, special)


def one_long_line(size: int, seed: int = 3) -> str:
    import random

    rng = random.Random(seed)
    words = ["the", "quick", "fox", "한국어", "日本語のテキスト", "🙂👍🏽", "résumé", "x=1;", "(a, b)",
             "don't"]
    return " ".join(rng.choice(words) for _ in range(size // 6))[:size]


def minified_chat(size: int) -> str:
    import json

    line = one_long_line(size)
    roles = ("user", "assistant")
    messages = [{"role": roles[k % 2], "content": line[k : k + 300]} for k in range(0, size, 300)]
    return json.dumps({"messages": messages}, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    "name, make",
    [("o200k_base", one_long_line), ("qwen2", one_long_line), ("llama3", minified_chat)],
    ids=["o200k-line", "qwen2-line", "llama3-minified-json"],
)
def test_a_keystroke_in_one_long_line_re_encodes_a_few_words(tokenizer, name, make):
    """A 1 MB document without a line break is opened in pieces and verified in pieces, and
    typing in its middle re-encodes a few words, not the line."""
    tok = tokenizer(name)
    text = make(1_000_000)
    assert "\n" not in text
    budget = EncodeBudget(tok, longest=300_000)  # open and verification pieces, not the line
    state = TokenState(budget, text)
    assert state._store.block_count > 1
    budget.longest, budget.calls = 4096, []  # from here on: windows of a few words
    middle = len(text) // 2
    for i in range(20):
        state.apply_edit(middle + i, middle + i, "xy "[i % 3])
    state.apply_edit(middle - 500, middle - 400, "")
    assert sum(budget.calls) < 21 * 1000, budget.calls
    assert_same(state, tok)
    budget.longest = 300_000
    assert state.verify_and_repair() == 0


def test_rules_found_for_every_test_tokenizer(tokenizer):
    """Each test tokenizer gets a sync rule, so none falls back to whole-document encodes."""
    for name in TOKENIZER_NAMES:
        assert sync_rule_for(tokenizer(name)).name in {r.name for r in RULES}, name
    assert sync_rule_for(wordpiece_tokenizer()).name in {r.name for r in RULES}


def test_the_look_ahead_margin_is_cut_only_where_the_probes_allow_it(tokenizer):
    """A rule drops the look-ahead past its witness only if pieces cut that tightly still
    encode every probe text exactly; GPT-2-style whitespace look-ahead after a bare
    newline cut needs it, so both kinds must occur among the test tokenizers."""
    from tokenprism.tokenization.chunking import SyncRule, probe_texts_for, rule_holds

    margins = {}
    for name in TOKENIZER_NAMES:
        tok = tokenizer(name)
        rule = sync_rule_for(tok)
        texts = probe_texts_for(tok)
        assert rule_holds(tok, rule, texts, SpecialTokens.SPECIAL), name
        tight = SyncRule(rule.name, 0)
        assert (rule.margin == 0) == rule_holds(tok, tight, texts, SpecialTokens.SPECIAL), name
        margins[name] = rule.margin
    assert 0 in margins.values() and any(margins.values()), margins


def test_verify_and_repair_finds_and_fixes_a_wrong_state(tokenizer):
    tok = tokenizer("o200k_base")
    state = TokenState(tok, big_document(200))
    assert state.verify_and_repair() == 0
    # corrupt three tokens in the middle, as a bug in the splice would
    right = state._store.slice(100, 103)
    wrong = Piece(right.ids[::-1] + 1, right.ends, right.flags)
    state._store.splice(100, 103, wrong, 0)
    assert not state.encoding().equals(tok.encode(state.text))
    assert state.verify_and_repair() == 3
    assert_same(state, tok)
    assert state.stats["repairs"] == 1


def test_verify_and_repair_gives_up_when_cancelled_or_stale(tokenizer):
    tok = tokenizer("o200k_base")
    state = TokenState(tok, big_document(100))
    cancelled = threading.Event()
    cancelled.set()
    assert state.verify_and_repair(cancelled) == -1

    class EditWhileEncoding:
        """A tokenizer that lets an edit land while the check encodes."""

        def __getattr__(self, name):
            return getattr(tok, name)

        def encode_batch(self, texts, special):
            result = tok.encode_batch(texts, special)
            state.tokenizer = tok
            state.apply_edit(0, 0, "x")
            return result

    state.tokenizer = EditWhileEncoding()
    assert state.verify_and_repair() == -1
    assert_same(state, tok)


def test_max_window_hands_back_the_edits_it_would_not_do(tokenizer):
    """With ``max_window`` an edit needing a bigger re-encode is refused without a trace;
    the rest can be applied later (as the server does in a worker) and end exact."""
    tok = tokenizer("qwen2")
    lines = [f"line {k}: 한국어 text with words {k * 7}\n" for k in range(400)]
    text = "".join(lines)
    state = TokenState(tok, text)
    small = (len(lines[0]) * 3, len(lines[0]) * 3, "new ")
    paste = (len(text) // 2, len(text) // 2, "".join(lines[:200]))  # ~7,000 characters
    after = (10, 12, "XY")
    assert state.apply_edits([small, paste, after], max_window=2048) == 1
    assert state.version == 1 and state.stats["edits"] == 1
    expected = text[: small[0]] + small[2] + text[small[1] :]
    assert state.text == expected
    assert state.snapshot().encoding().equals(tok.encode(expected))
    assert state.apply_edits([paste, after]) == 2
    for start, end, new in (paste, after):
        expected = expected[:start] + new + expected[end:]
    assert state.text == expected
    assert state.snapshot().encoding().equals(tok.encode(expected))


def test_bad_edit_range_is_a_clear_error(tokenizer):
    state = TokenState(tokenizer("o200k_base"), "abc")
    with pytest.raises(IndexError, match="outside a text of 3 characters"):
        state.apply_edit(2, 9, "x")
    assert state.text == "abc"


def test_snapshot_is_frozen_and_answers_like_an_encoding(tokenizer):
    tok = tokenizer("llama3")
    with tiny_pieces():
        state = TokenState(tok, big_document(60))
        before = tok.encode(state.text)
        snap = state.snapshot()
        for k in range(5):
            state.apply_edit(100 * k, 100 * k + 3, "새 text\n")
        assert_same(state, tok)
        assert snap.encoding().equals(before)  # the edits did not reach the snapshot
        assert len(snap) == len(before) and snap.text_length == before.text_length
        assert np.array_equal(snap.token_run(0, len(snap)).ends, before.ends)
        assert snap.start_of(7) == before.start_of(7)
        for offset in (0, 55, 1234, before.text_length):
            assert snap.token_at(offset) == before.token_at(offset)
            assert snap.tokens_in(offset, offset + 40) == before.tokens_in(offset, offset + 40)
        assert state.snapshot().encoding().equals(tok.encode(state.text))


def test_snapshots_taken_between_keystrokes_keep_their_tokens(tokenizer):
    """Typing inside one block (the spliced-in-place path) must never reach an earlier
    snapshot: each one keeps the tokens of its version."""
    tok = tokenizer("o200k_base")
    state = TokenState(tok, big_document(400))
    cursor = len(state.text) // 2
    taken = []
    for k in range(12):
        taken.append((state.snapshot(), tok.encode(state.text)))
        state.apply_edit(cursor, cursor, "xy"[k % 2])
        cursor += 1
    assert_same(state, tok)
    assert state.stats["whole"] == 0 and state.stats["widened"] == 0
    for snap, expected in taken:
        assert snap.encoding().equals(expected)


def test_a_wrong_cut_is_caught_by_the_context_check(tokenizer, monkeypatch, caplog):
    """o200k glues "//" to the newline after punctuation (".\n//"). Force the rule that
    wrongly cuts after every newline: the context lines must disagree, the window widen,
    and the result still equal a full encode."""
    tok = tokenizer("o200k_base")
    from tokenprism.tokenization.chunking import SyncRule

    monkeypatch.setattr(incremental, "sync_rule_for", lambda *_: SyncRule("line"))
    with tiny_pieces():  # the open's seams disagree too: it falls back to one encode
        state = TokenState(tok, "// y = 1.\n" * 60)  # every cut after a newline is wrong here
        assert_same(state, tok)
        assert "does not match; encoding the document whole" in caplog.text
        middle = len(state.text) // 2
        state.apply_edit(middle, middle, "z")
        assert_same(state, tok)
        assert state.stats["widened"] > 0


@pytest.mark.parametrize("tiny_blocks", [False, True], ids=["in-one-block", "across-blocks"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_each_context_side_alone_catches_a_wrong_cut(tokenizer, monkeypatch, side, tiny_blocks):
    """With the wrong rule forced on o200k (a cut after every newline), ".\n//" is one token
    that a cut after its newline splits. Left: the window's outer left cut falls inside such
    a token and the right side is clean, so only the left context check can see it. Right:
    typing "." before the newline of a line followed by "//" glues ".\n//" across the inner
    right cut, and nothing on the left changes. Each side's check alone must widen the window,
    on the usual path (old tokens in one block) and the general one (4-token blocks)."""
    tok = tokenizer("o200k_base")
    from tokenprism.tokenization.chunking import SyncRule

    monkeypatch.setattr(incremental, "sync_rule_for", lambda *_: SyncRule("line"))
    if tiny_blocks:
        monkeypatch.setattr(blocks, "BLOCK_TOKENS", 4)
    lines = ["x = 1\n"] * 40
    if side == "left":
        lines[19], lines[20] = "x = 1.\n", "// a\n"  # the window's left cut is the start of line 20
        at = sum(map(len, lines[:21])) + 1  # typing at column 1 of line 21
        typed = "z"
    else:
        lines[21] = "// y\n"
        at = sum(map(len, lines[:21])) - 1  # before the newline of line 20
        typed = "."
    state = TokenState(tok, "".join(lines))
    state.apply_edit(at, at, typed)
    assert_same(state, tok)
    assert state.stats["widened"] > 0


def test_an_edit_the_tokenizer_refuses_leaves_the_state_unchanged(tokenizer):
    tok = tokenizer("o200k_base")

    class Refusing:
        """Refuses any text with a NUL, as a backend may refuse text it cannot read."""

        def __getattr__(self, name):
            return getattr(tok, name)

        def encode(self, text, special):
            if "\x00" in text:
                raise ValueError("NUL in text")
            return tok.encode(text, special)

        def encode_batch(self, texts, special):
            return [self.encode(t, special) for t in texts]

    state = TokenState(Refusing(), "line one\nline two\n")
    with pytest.raises(ValueError, match="NUL"):
        state.apply_edit(9, 9, "\x00")
    assert state.text == "line one\nline two\n" and state.version == 0
    state.apply_edit(9, 9, "ok ")
    assert_same(state, tok)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("TOKENPRISM_SLOW"), reason="set TOKENPRISM_SLOW=1 for the long runs")
def test_long_random_session_on_a_large_document(any_tokenizer):
    """Default block, piece and window sizes: 300 random edits on a ~300 KB document."""
    import random

    rng = random.Random(1234)
    text = big_document(6000)
    state = TokenState(any_tokenizer, text)
    assert_same(state, any_tokenizer, context="after opening")
    for step in range(300):
        n = len(state.text)
        at = rng.randrange(n + 1)
        kind = rng.random()
        if kind < 0.6:  # typing
            state.apply_edit(at, at, rng.choice(FRAGMENTS))
        elif kind < 0.8:  # deleting
            state.apply_edit(at, min(n, at + rng.randint(1, 200)), "")
        else:  # pasting a block of lines copied from elsewhere
            src = rng.randrange(n)
            state.apply_edit(at, at, state.text[src : src + rng.randint(100, 5000)])
        if step % 50 == 49:
            assert_same(state, any_tokenizer, context=f"after {step + 1} edits")
    assert_same(state, any_tokenizer, context="at the end")
    assert state.verify_and_repair() == 0

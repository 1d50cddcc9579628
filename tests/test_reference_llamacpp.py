"""Every reference case llama.cpp ships for our five GGUF vocabularies gives the same ids.

The ``.inp``/``.out`` pairs are read exactly as llama.cpp's ``tests/test-tokenizer-0.cpp``
reads them: inputs are separated by ``"\\n__ggml_vocab_test__\\n"`` (the last one ends with
it), each ``.out`` line holds one case's ids. llama.cpp tokenizes them with
``add_special=false, parse_special=false``: no BOS/EOS, special-token text read as text.
"""

from __future__ import annotations

import pytest

from conftest import GGUF_FILES, GGUF_NAMES
from tokenprism.tokenization import SpecialTokens

SEPARATOR = "\n__ggml_vocab_test__\n"


def read_reference(models, alias: str) -> list[tuple[str, list[int]]]:
    base = models / GGUF_FILES[alias]
    raw = base.with_name(base.name + ".inp").read_bytes().decode("utf-8")
    inputs = []
    pos = 0
    while pos < len(raw):
        nxt = raw.find(SEPARATOR, pos)
        if nxt < 0:
            inputs.append(raw[pos:])
            break
        inputs.append(raw[pos:nxt])
        pos = nxt + len(SEPARATOR)
    lines = base.with_name(base.name + ".out").read_bytes().decode("utf-8").split("\n")
    if lines and lines[-1] == "":  # getline() yields no line after the final newline
        lines.pop()
    assert len(inputs) == len(lines), f"{alias}: {len(inputs)} inputs but {len(lines)} outputs"
    return [(text, [int(tok) for tok in line.split()]) for text, line in zip(inputs, lines)]


@pytest.mark.parametrize("alias", GGUF_NAMES)
def test_every_reference_case_matches_llama_cpp(alias, testdata_models, tokenizer):
    cases = read_reference(testdata_models, alias)
    assert len(cases) > 30  # the files hold ~46 cases each; fewer means we misread them
    tok = tokenizer(alias)
    mismatches = []
    for text, expected in cases:
        ours = tok.encode(text, SpecialTokens.TEXT).ids.tolist()
        if ours != expected:
            mismatches.append(f"{text!r}: ours {ours} llama.cpp {expected}")
    assert not mismatches, (f"{alias}: {len(mismatches)}/{len(cases)} cases differ:\n"
                            + "\n".join(mismatches[:10]))


@pytest.mark.parametrize("alias", GGUF_NAMES)
def test_reference_cases_agree_in_both_special_modes(alias, testdata_models, tokenizer):
    """None of the reference inputs contains special-token text, so both modes must agree."""
    tok = tokenizer(alias)
    for text, _ in read_reference(testdata_models, alias):
        assert tok.encode(text, SpecialTokens.SPECIAL).equals(tok.encode(text, SpecialTokens.TEXT)), text


def test_reference_file_reader_keeps_edge_cases(testdata_models):
    """The reader must keep empty, whitespace-only and newline-only inputs apart."""
    texts = [text for text, _ in read_reference(testdata_models, "llama3")]
    assert "" in texts and " " in texts and "\n" in texts and "\n\n\n" in texts and "\t\n" in texts

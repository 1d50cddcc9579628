"""Hover notes whether the token under the cursor is a whole word of the vocabulary and its
merge rank, checked against the vocabularies themselves: tiktoken's ranks (its ids) and the
merge list stored in the GGUF file."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from lsp_helpers import make_client_fixture, open_document, reference_offsets, reference_position, wait_stats
from lsprotocol import types

from conftest import _models_dir
from tokenprism.tokenization import load_tokenizer
from tokenprism.tokenization.gguf import read_header

pytestmark = pytest.mark.asyncio(loop_scope="module")

client = make_client_fixture(profiles=("visual-studio-code",))
qwen_client = make_client_fixture({"model": "qwen2"}, profiles=("neovim",))

VOCAB_LINE = re.compile(r"id `(\d+)`: (a whole word of the vocabulary|not a whole word) · "
                        r"(?:merge rank ([\d,]+)|a base symbol)")


async def vocabulary_notes(client, uri: str, text: str, offset: int, timeout: float = 60.0) -> list[tuple]:
    """(id, whole word, rank) from the hover at ``offset``, once the model's ranks are built
    (until then the hover leaves the line out)."""
    params = types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(**reference_position(text, offset, client.position_encoding)),
    )
    deadline = time.monotonic() + timeout
    while True:
        hover = await client.text_document_hover_async(params)
        notes = VOCAB_LINE.findall(hover.contents.value)
        if notes or time.monotonic() > deadline:
            return [(int(i), what.startswith("a whole"), int(r.replace(",", "")) if r else None)
                    for i, what, r in notes]
        await asyncio.sleep(0.1)


async def test_tiktoken_whole_word_and_rank(client):
    text = "print(greeting) # say hello\n"
    uri = "file:///vocab/o200k.py"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    tokenizer = load_tokenizer("o200k_base")
    (hello,) = tokenizer.encode(" hello").ids.tolist()  # tiktoken: the id is the merge rank
    assert await vocabulary_notes(client, uri, text, text.index("hello") + 2) == [(hello, True, hello)]
    ids = tokenizer.encode(text).ids.tolist()
    spans = reference_offsets(tokenizer, ids, text)
    at = text.index("(")
    (paren,) = [i for i, (a, b) in zip(ids, spans) if a <= at < b]  # "(" joined to what follows
    assert await vocabulary_notes(client, uri, text, at) == [(paren, False, paren)]


async def test_gguf_bpe_rank_is_the_index_of_the_merge_that_makes_the_token(qwen_client):
    text = "The tokenizer says hello to everyone\n"
    uri = "file:///vocab/qwen.txt"
    open_document(qwen_client, uri, text)
    await wait_stats(qwen_client, uri, 1)
    meta = read_header(_models_dir() / "ggml-vocab-qwen2.gguf", "qwen2").metadata
    tokens, merges = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.merges"]
    first_merge = {}
    for index, merge in enumerate(merges):
        first_merge.setdefault(merge.replace(" ", "", 1), index)

    notes = await vocabulary_notes(qwen_client, uri, text, text.index("hello") + 1)
    ((token_id, whole, rank),) = notes
    assert tokens[token_id] == "Ġhello" and whole
    assert rank == first_merge["Ġhello"]
    ((token_id, whole, rank),) = await vocabulary_notes(qwen_client, uri, text, text.index(" to ") + 1)
    assert tokens[token_id] == "Ġto" and whole and rank == first_merge["Ġto"]


async def test_until_the_ranks_are_built_the_hover_leaves_the_line_out(monkeypatch):
    """A hover never waits for (or starts) the seconds-long rank table build."""
    from tokenprism.lsp.document import Document
    from tokenprism.lsp.features import hover
    from tokenprism.lsp.token_view import TokenView
    from tokenprism.tokenization import SpecialTokens

    tokenizer = load_tokenizer("o200k_base")
    text = "say hello\n"
    snapshot = Document("file:///x.txt", "plaintext", 1, text).snapshot
    view = TokenView("file:///x.txt", snapshot, tokenizer.encode(text), tokenizer, SpecialTokens.SPECIAL)

    def no_build(_):
        raise AssertionError("the hover built the rank table")

    monkeypatch.setattr(hover, "rank_table", no_build)
    assert hover.vocabulary_lines(view, range(len(view)), hover.RankTables()) == []


async def test_the_first_hover_starts_the_build_and_a_quick_one_is_ready_for_it():
    """prepare() starts a model's build once and hands it back, so the hover that started it
    can wait a moment: tiktoken's table (its ids) is ready within that wait."""
    from tokenprism.lsp.features import hover

    tables = hover.RankTables()
    tokenizer = load_tokenizer("o200k_base")
    build = tables.prepare(tokenizer)
    assert build is not None and tables.prepare(tokenizer) is None  # one build per tokenizer
    await asyncio.wait_for(asyncio.shield(build), hover.FIRST_BUILD_WAIT * 100)
    assert tables.ready(tokenizer)

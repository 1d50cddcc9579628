"""A 5 MB document: tokenized off the event loop, requests keep answering meanwhile,
hints for a range near the end come from the cached state, and an edit catches up fast."""

from __future__ import annotations

import time

import pytest
from lsp_helpers import (
    line_spans,
    make_client_fixture,
    open_document,
    reference_position,
    request,
    wait_stats,
)
from lsprotocol import types

from conftest import CORPUS
from tokenprism.tokenization import load_tokenizer

client = make_client_fixture(profiles=("visual-studio-code",))
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

UNIT = CORPUS["python"] + CORPUS["korean"] + CORPUS["emoji"] + CORPUS["crlf"]


def big_text(size: int = 5_000_000) -> str:
    text = UNIT * (size // len(UNIT.encode("utf-8")) + 1)
    return text + "x" * 12_000 + "\n"  # and one line of 12,000 characters


async def test_five_megabytes(client):
    small = "file:///small.txt"
    open_document(client, small, "hello there\n")
    await wait_stats(client, small, 1)

    text = big_text()
    assert len(text.encode("utf-8")) > 5_000_000
    uri = "file:///big.txt"
    started = time.monotonic()
    open_document(client, uri, text)
    # while the big document is tokenized, other requests answer at once
    hover_started = time.monotonic()
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=small),
                          position=types.Position(line=0, character=1))
    )
    hover_seconds = time.monotonic() - hover_started
    assert hover is not None and hover_seconds < 1.0, hover_seconds
    stats = await wait_stats(client, uri, 1, timeout=120)
    open_seconds = time.monotonic() - started
    expected = load_tokenizer("o200k_base").encode(text)
    assert stats["tokens"] == len(expected)

    lines = len(line_spans(text)) - 1  # the last line (empty: the text ends with a break)
    started = time.monotonic()
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(line=lines - 60, character=0),
                              end=types.Position(line=lines, character=0)),
        )
    )
    hint_seconds = time.monotonic() - started
    assert len(hints) > 30 and hint_seconds < 1.0, hint_seconds
    assert hints[-1].position == types.Position(**reference_position(text, len(text) - 1, "utf-16"))
    assert int(hints[-1].label.split()[0].replace(",", "")) == len(
        load_tokenizer("o200k_base").encode("x" * 12_000 + "\n")
    )

    # an edit in the middle: the state catches up and matches a fresh encode
    middle = len(text) // 2
    middle -= text[middle - 1 : middle + 1] == "\r\n"
    position = types.Position(**reference_position(text, middle, "utf-16"))
    started = time.monotonic()
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=position, end=position), text="😀 new words")],
        )
    )
    stats = await wait_stats(client, uri, 2, timeout=120)
    edit_seconds = time.monotonic() - started
    text = text[:middle] + "😀 new words" + text[middle:]
    assert stats["tokens"] == len(load_tokenizer("o200k_base").encode(text))
    counted = await request(
        client,
        "tokenprism/count",
        {"textDocument": {"uri": uri},
         "ranges": [{"start": position, "end": {"line": position.line + 1, "character": 0}}]},
    )
    assert counted["version"] == 2 and counted["counts"][0] > 0

    # typing: 40 one-character edits sent at once, coalesced; the newest version is exact
    line = position.line + 3
    started = time.monotonic()
    for k in range(40):
        at = types.Position(line=line, character=k)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3 + k),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text="q")
                ],
            )
        )
    stats = await wait_stats(client, uri, 42, timeout=120)
    typing_seconds = time.monotonic() - started
    start = line_spans(text)[line][0]
    text = text[:start] + "q" * 40 + text[start:]
    assert stats["tokens"] == len(load_tokenizer("o200k_base").encode(text))
    print(
        f"\n5 MB document: open→stats {open_seconds:.2f}s, hover meanwhile {hover_seconds * 1000:.0f} ms,"
        f" 60-line hints {hint_seconds * 1000:.0f} ms, edit→stats {edit_seconds:.2f}s,"
        f" 40 keystrokes→stats {typing_seconds:.2f}s, {stats['tokens']:,} tokens"
    )

"""Incremental sync, configuration changes, failing models, GGUF aliases, and bad input —
end to end, with VS Code's and Neovim's capabilities."""

from __future__ import annotations

import asyncio
import random

import pytest
from lsp_helpers import (
    configured,
    make_client_fixture,
    open_document,
    reference_position,
    request,
    units,
    until,
    wait_refresh,
    wait_stats,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from conftest import CORPUS
from test_reference_llamacpp import read_reference
from tokenprism.tokenization import OPENAI_MODELS, SpecialTokens, load_tokenizer

client = make_client_fixture()
pytestmark = pytest.mark.asyncio(loop_scope="module")

PIECES = ["a", " ", "\t", "\r\n", "\n", "😀", "한국어", "é", "<|endoftext|>", "def f():", "1234567"]


def change(text: str, a: int, b: int, new: str, encoding: str) -> types.TextDocumentContentChangePartial:
    return types.TextDocumentContentChangePartial(
        range=types.Range(
            start=types.Position(**reference_position(text, a, encoding)),
            end=types.Position(**reference_position(text, b, encoding)),
        ),
        text=new,
    )


def safe_offset(text: str, offset: int) -> int:
    """LSP positions cannot point between "\\r" and "\\n"."""
    return offset - 1 if 0 < offset < len(text) and text[offset - 1 : offset + 1] == "\r\n" else offset


async def test_incremental_edits_end_in_the_fresh_tokenization(client):
    text = CORPUS["mixed"] + CORPUS["korean"]
    uri = "file:///edits.txt"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    rng = random.Random(3)
    enc = client.position_encoding
    version = 1
    for burst in range(6):
        # a burst of edits sent without waiting, several per notification sometimes
        for _ in range(8):
            version += 1
            changes = []
            for _ in range(rng.choice([1, 1, 2])):
                a = safe_offset(text, rng.randint(0, len(text)))
                b = safe_offset(text, min(len(text), a + rng.randint(0, 5)))
                new = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3)))
                changes.append(change(text, a, b, new, enc))
                text = text[:a] + new + text[b:]
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=changes,
                )
            )
        stats = await wait_stats(client, uri, version)
        result = await request(client, "tokenprism/tokens", {"textDocument": {"uri": uri}})
        expected = load_tokenizer("o200k_base").encode(text).ids.tolist()
        assert result["version"] == version
        assert [t["id"] for t in result["tokens"]] == expected, f"burst {burst}"
        assert stats["tokens"] == len(expected) and stats["characters"] == len(text)
        assert result["tokens"][-1]["range"]["end"] == reference_position(text, len(text), enc)
    # bursts are coalesced: fewer stats than versions, but the newest always has one
    versions = [s["version"] for s in client.stats if s["uri"] == uri]
    assert versions[-1] == version and len(versions) <= version
    # a full-text change replaces everything
    version += 1
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="short now\r\n")],
        )
    )
    stats = await wait_stats(client, uri, version)
    assert stats["tokens"] == len(load_tokenizer("o200k_base").encode("short now\r\n"))


async def test_model_change_retokenizes_and_a_bad_model_keeps_the_last_good_one(client):
    text = CORPUS["prose"] * 4
    uri = "file:///model.txt"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1, model="o200k_base")
    refreshes = len(client.refreshes)
    async with configured(client, model="cl100k_base"):
        stats = await wait_stats(client, uri, 1, model="cl100k_base")
        assert stats["tokens"] == len(load_tokenizer("cl100k_base").encode(text))
        # hints are refreshed where the client supports it (VS Code 1.65's profile does not)
        if client.inlay_hint_refresh:
            assert await wait_refresh(client, "inlayHint", refreshes)
        else:
            assert "inlayHint" not in client.refreshes[refreshes:]
        # the load was shown as work-done progress, begun and ended
        def progress():
            reports = [r for rs in client.progress_reports.values() for r in rs]
            return reports if any(isinstance(r, types.WorkDoneProgressEnd) for r in reports) else None

        reports = await until(progress) or []
        assert any(getattr(r, "message", "") == "loading cl100k_base" for r in reports)
        assert any(isinstance(r, types.WorkDoneProgressEnd) for r in reports)
        errors_before = [m for m in client.messages if m.type == types.MessageType.Error]
        async with configured(client, model="./no/such/tokenizer.gguf"):
            await until(lambda: len([m for m in client.messages if m.type == types.MessageType.Error])
                        > len(errors_before))
            await asyncio.sleep(0.3)  # time for a second message, which must not come
            errors = [m for m in client.messages if m.type == types.MessageType.Error][len(errors_before):]
            assert len(errors) == 1, errors
            assert "./no/such/tokenizer.gguf" in errors[0].message and "cl100k_base" in errors[0].message
            # still answering, with the previous model, also for a document opened now
            counted = await request(
                client, "tokenprism/count", {"textDocument": {"uri": uri}, "ranges": []}
            )
            assert counted["model"] == "cl100k_base"
            open_document(client, "file:///model-later.txt", "later text", version=3)
            later = await wait_stats(client, "file:///model-later.txt", 3)
            assert later["model"] == "cl100k_base"
    await wait_stats(client, uri, 1, model="o200k_base")


async def test_model_by_language_uses_a_gguf_alias_against_llama_cpp(client, testdata_models):
    """starcoder2 from the local GGUF, special-token text read as text (as llama.cpp's
    reference run does): every reference case gives llama.cpp's ids."""
    cases = read_reference(testdata_models, "starcoder2")[:24]
    async with configured(client, modelByLanguage={"python": "starcoder2"}, specialTokens="text"):
        for number, (text, expected) in enumerate(cases):
            uri = f"file:///ref/{number}.py"
            open_document(client, uri, text, language="python", version=7)
            # the first case waits for the GGUF's first load (a conversion: minutes on a busy machine)
            stats = await wait_stats(client, uri, 7, model="starcoder2", timeout=300 if number == 0 else 60)
            result = await request(client, "tokenprism/tokens", {"textDocument": {"uri": uri}})
            assert [t["id"] for t in result["tokens"]] == expected, repr(text)
            assert stats["tokens"] == len(expected)
            client.text_document_did_close(
                types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
        # other languages keep the default model
        open_document(client, "file:///ref/notes.md", "plain notes", language="markdown")
        assert (await wait_stats(client, "file:///ref/notes.md", 1))["model"] == "o200k_base"
    tokenizer = load_tokenizer("starcoder2")
    assert tokenizer.info.kind == "gguf"
    assert tokenizer.encode("x", SpecialTokens.TEXT).ids.tolist() != []


async def test_bad_requests_get_errors_and_the_server_keeps_going(client):
    uri = "file:///bad.txt"
    open_document(client, uri, "some text\n")
    await wait_stats(client, uri, 1)
    bad = [
        ("tokenprism/count", {"ranges": []}),  # no document
        ("tokenprism/count", {"textDocument": {"uri": uri}}),  # no ranges
        ("tokenprism/count", {"textDocument": {"uri": uri}, "ranges": [{"start": {"line": -1}}]}),
        ("tokenprism/tokens", {"textDocument": {"uri": uri}, "range": "everything"}),
        ("tokenprism/tokens", {"textDocument": {"uri": "file:///closed.txt"}}),
        ("tokenprism/tokens", {"textDocument": {"uri": uri}, "model": "./missing.json"}),
        ("tokenprism/count", [1, 2, 3]),
    ]
    for method, params in bad:
        with pytest.raises(JsonRpcException) as info:
            await request(client, method, params)
        assert info.value.message and "\n" not in info.value.message
    # out-of-range positions clamp to the document
    result = await request(
        client,
        "tokenprism/count",
        {"textDocument": {"uri": uri},
         "ranges": [{"start": {"line": 0, "character": 0}, "end": {"line": 50, "character": 9}}]},
    )
    assert result["counts"] == [len(load_tokenizer("o200k_base").encode("some text\n"))]
    # an edit past the end is clamped the way LSP asks, and the server keeps the text right
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=9, character=0),
                                      end=types.Position(line=9, character=4)),
                    text="tail",
                )
            ],
        )
    )
    await wait_stats(client, uri, 2)
    tokens = await request(client, "tokenprism/tokens", {"textDocument": {"uri": uri}})
    assert ([t["id"] for t in tokens["tokens"]]
            == load_tokenizer("o200k_base").encode("some text\ntail").ids.tolist())
    # changes for a document that is not open are ignored
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri="file:///never.txt", version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="x")],
        )
    )
    assert (await request(client, "tokenprism/count",
                          {"textDocument": {"uri": uri}, "ranges": []}))["total"] == 0


async def test_binary_content_is_not_tokenized_and_said_once(client):
    uri = "file:///blob.bin"
    before = len(client.messages)
    open_document(client, uri, "PK\x03\x04\x00\x00binary\x00" * 1000)
    for version in (2, 3):  # more edits to the same binary: still one message
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text="\x00 still binary")],
            )
        )
    await until(lambda: [m for m in client.messages[before:] if "blob.bin" in m.message])
    await asyncio.sleep(0.3)  # time for a second message, which must not come
    said = [m for m in client.messages[before:] if "blob.bin" in m.message]
    assert len(said) == 1 and "binary" in said[0].message
    with pytest.raises(JsonRpcException, match="binary"):
        await request(client, "tokenprism/tokens", {"textDocument": {"uri": uri}})
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(line=0, character=0),
                              end=types.Position(line=1, character=0)),
        )
    )
    assert list(hints or []) == []
    # documentStats says why, once, with no counts (the client shows the reason, not a spinner)
    sent = [s for s in client.stats if s["uri"] == uri]
    assert len(sent) == 1 and "binary" in sent[0]["skipped"] and sent[0]["model"] == "o200k_base"
    assert not {"tokens", "count", "characters", "budget"} & set(sent[0])


async def test_a_lone_surrogate_never_breaks_the_document(client):
    """JSON can carry a lone surrogate. The tokenizer layer may encode it (tiling the text)
    or refuse it; either way the server says so at most once and recovers when it is fixed."""
    uri = "file:///surrogate.txt"
    text = "broken \ud83d here\n"
    before = len(client.messages)
    open_document(client, uri, text)

    def said_or_counted():
        said = [m for m in client.messages[before:] if "surrogate.txt" in m.message]
        stats = [x for x in client.stats if x["uri"] == uri]
        return (said, stats) if said or stats else None

    said, stats = await until(said_or_counted, client) or ([], [])
    if stats:
        assert stats[0]["characters"] == len(text)
        result = await request(client, "tokenprism/tokens", {"textDocument": {"uri": uri}})
        assert result["tokens"][-1]["range"]["end"] == reference_position(
            text, len(text), client.position_encoding
        )
    else:
        assert len(said) == 1 and "surrogate" in said[0].message
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="fixed 😀 here\n")],
        )
    )
    stats = await wait_stats(client, uri, 2)
    assert stats["tokens"] == len(load_tokenizer("o200k_base").encode("fixed 😀 here\n"))


async def test_documents_over_the_size_limit_are_not_tokenized(client):
    uri = "file:///huge.txt"
    before = len(client.messages)
    async with configured(client, maxDocumentCharacters=1000):
        open_document(client, uri, "many words " * 200)
        said = await until(lambda: [m for m in client.messages[before:] if "huge.txt" in m.message])
        assert len(said) == 1 and "2,200 characters" in said[0].message and "1,000" in said[0].message
        skipped = await wait_stats(client, uri, 1, skipped=True)
        assert "2,200 characters" in skipped["skipped"] and "maxDocumentCharacters" in skipped["skipped"]
        with pytest.raises(JsonRpcException, match="maxDocumentCharacters"):
            await request(client, "tokenprism/tokens", {"textDocument": {"uri": uri}})
    # with the default limit back, the same document is tokenized
    stats = await wait_stats(client, uri, 1)
    assert stats["tokens"] == len(load_tokenizer("o200k_base").encode("many words " * 200))


async def test_models_lists_builtins_aliases_and_local_ggufs(client, testdata_models):
    async def listed():  # the settings reach the server a moment after the notification
        result = await request(client, "tokenprism/models", {})
        return result if any(m["group"] == "gguf" for m in result["models"]) else None

    async with configured(client, gguf={"searchPaths": [str(testdata_models)]}):
        result = await until(listed) or await request(client, "tokenprism/models", {})
    by_spec = {m["spec"]: m for m in result["models"]}
    assert by_spec["o200k_base"]["loadAs"] == "tiktoken"
    assert by_spec["gpt-4"]["target"] == "cl100k_base"
    assert by_spec["llama3"]["loadAs"] == "gguf"
    assert by_spec["llama3"]["target"].endswith("ggml-vocab-llama-bpe.gguf")
    ggufs = {m["spec"] for m in result["models"] if m["group"] == "gguf"}
    assert str(testdata_models / "ggml-vocab-qwen2.gguf") in ggufs
    # the picker's sections and wording come with the answer: the client has no list of its own
    assert [g["id"] for g in result["groups"][:4]] == ["builtin", "alias", "huggingface-cache", "gguf"] or \
        [g["id"] for g in result["groups"][:3]] == ["builtin", "alias", "gguf"]  # no HF cache here
    assert {m["group"] for m in result["models"]} <= {g["id"] for g in result["groups"]}
    assert by_spec["llama3"]["detail"] == f"loads from gguf: {by_spec['llama3']['target']}"
    # an encoding names the OpenAI models it counts for (the CLI's spec table, not a copy)
    o200k = [name for name in OPENAI_MODELS if OPENAI_MODELS[name] == "o200k_base" and name != "o200k_base"]
    assert by_spec["o200k_base"]["description"] == f"OpenAI {', '.join(o200k)} (tiktoken)"
    assert by_spec["gpt-4"]["description"] == "OpenAI gpt-4, counted with cl100k_base (tiktoken)"


async def test_utf16_and_utf8_columns_differ_for_korean_and_emoji(client):
    text = "한국어 😀 x\n"
    uri = "file:///columns.txt"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    result = await request(client, "tokenprism/tokens", {"textDocument": {"uri": uri}})
    line_end = max(t["range"]["end"]["character"] for t in result["tokens"] if t["range"]["end"]["line"] == 0)
    assert line_end == units("한국어 😀 x", client.position_encoding)
    assert line_end == {"utf-16": 8, "utf-8": 16}[client.position_encoding]

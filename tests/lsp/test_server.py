"""End to end over stdio, with VS Code's, Neovim's and Emacs eglot's client capabilities
(UTF-16, UTF-8 and UTF-32 positions): tokens, positions, inlay hints, hover, colours,
budget, custom requests."""

from __future__ import annotations

import pytest
from lsp_helpers import (
    configured,
    line_spans,
    make_client_fixture,
    open_document,
    reference_anchors,
    reference_offsets,
    reference_position,
    request,
    until,
    wait_refresh,
    wait_stats,
)
from lsprotocol import types

from conftest import CORPUS
from tokenprism.tokenization import load_tokenizer

client = make_client_fixture(profiles=("visual-studio-code", "neovim", "emacs"))
pytestmark = pytest.mark.asyncio(loop_scope="module")

MIXED = CORPUS["mixed"] + CORPUS["emoji"] + CORPUS["korean"] + CORPUS["crlf"] + CORPUS["whitespace"]


def doc_id(uri: str) -> dict:
    return {"uri": uri}


def expected_tokens(text: str, encoding: str, spec: str = "o200k_base") -> list[dict]:
    tokenizer = load_tokenizer(spec)
    ids = tokenizer.encode(text).ids.tolist()
    spans = reference_offsets(tokenizer, ids, text)
    return [
        {
            "id": token_id,
            "range": {
                "start": reference_position(text, a, encoding),
                "end": reference_position(text, b, encoding),
            },
        }
        for token_id, (a, b) in zip(ids, spans)
    ]


@pytest.mark.parametrize("name", ["mixed", "emoji", "korean", "crlf", "special_text"])
async def test_tokens_are_the_tokenizers_and_tile_the_document(client, name):
    text = CORPUS[name] * 3
    uri = f"file:///corpus/{name}.txt"
    open_document(client, uri, text)
    stats = await wait_stats(client, uri, 1)
    result = await request(client, "tokenprism/tokens", {"textDocument": doc_id(uri)})
    tokens = [{"id": t["id"], "range": t["range"]} for t in result["tokens"]]
    assert tokens == expected_tokens(text, client.position_encoding)
    assert result["model"] == stats["model"] == "o200k_base"
    assert stats["tokens"] == len(tokens) and stats["characters"] == len(text)
    # tiling: each token starts where the previous ended, from (0,0) to the end of the text
    assert tokens[0]["range"]["start"] == {"line": 0, "character": 0}
    assert all(a["range"]["end"] == b["range"]["start"] for a, b in zip(tokens, tokens[1:]))
    assert tokens[-1]["range"]["end"] == reference_position(text, len(text), client.position_encoding)


async def test_the_negotiated_encoding_follows_the_client(client):
    expected = {"visual-studio-code": "utf-16", "neovim": "utf-8", "emacs": "utf-32"}[client.profile]
    assert client.position_encoding == expected


async def test_tokens_in_a_range_and_counts(client):
    text = MIXED
    uri = "file:///range.txt"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    enc = client.position_encoding
    everything = expected_tokens(text, enc)
    lines = line_spans(text)
    a, b = lines[2][0] + 3, lines[4][1]
    rng = {"start": reference_position(text, a, enc), "end": reference_position(text, b, enc)}
    result = await request(client, "tokenprism/tokens", {"textDocument": doc_id(uri), "range": rng})
    tokenizer = load_tokenizer("o200k_base")
    spans = reference_offsets(tokenizer, tokenizer.encode(text).ids.tolist(), text)
    wanted = [i for i, (s, e) in enumerate(spans) if s < b and e > a]
    assert [t["id"] for t in result["tokens"]] == [everything[i]["id"] for i in wanted]
    assert [t["range"] for t in result["tokens"]] == [everything[i]["range"] for i in wanted]

    # counts: a token counts at the character holding its first byte
    whole = {"start": {"line": 0, "character": 0}, "end": reference_position(text, len(text), enc)}
    result = await request(
        client, "tokenprism/count", {"textDocument": doc_id(uri), "ranges": [rng, whole, rng]}
    )
    anchors = reference_anchors(tokenizer, tokenizer.encode(text).ids.tolist(), text)
    in_range = sum(1 for x in anchors if a <= x < b)
    assert result["counts"] == [in_range, len(spans), in_range]
    assert result["total"] == len(spans)
    other = await request(
        client, "tokenprism/count", {"textDocument": doc_id(uri), "ranges": [whole], "model": "cl100k_base"}
    )
    assert other["model"] == "cl100k_base"
    assert other["counts"] == [len(load_tokenizer("cl100k_base").encode(text))]


async def test_inlay_hint_counts_from_a_middle_line(client):
    text = MIXED
    uri = "file:///hints.txt"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    enc = client.position_encoding
    tokenizer = load_tokenizer("o200k_base")
    anchors = reference_anchors(tokenizer, tokenizer.encode(text).ids.tolist(), text)
    lines = line_spans(text)
    first, last = 3, 9
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(
                start=types.Position(line=first, character=5), end=types.Position(line=last, character=0)
            ),
        )
    )
    expected = []
    for number in range(first, last + 1):
        start, content_end, nxt = lines[number]
        if content_end > start:
            n = sum(1 for x in anchors if start <= x < nxt)
            expected.append((reference_position(text, content_end, enc), n))
    got = [
        ({"line": h.position.line, "character": h.position.character}, int(h.label.split()[0]))
        for h in hints
    ]
    assert got == expected
    assert sum(n for _, n in expected) > 0


async def test_boundary_hints_and_resolve(client):
    text = CORPUS["emoji"] + "plain words here\n"
    uri = "file:///boundaries.txt"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    enc = client.position_encoding
    tokenizer = load_tokenizer("o200k_base")
    ids = tokenizer.encode(text).ids.tolist()
    spans = reference_offsets(tokenizer, ids, text)
    # one marker per display segment: a token that starts inside a character joins the previous one
    segment_starts = sorted({s for i, (s, e) in enumerate(spans) if i == 0 or s >= spans[i - 1][1]})
    params = types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=2, character=0)),
    )
    refreshes = len(client.refreshes)

    async def boundary_hints():
        hints = await client.text_document_inlay_hint_async(params)
        return hints if hints and hints[0].label == "│" else None

    async with configured(client, inlayHints={"mode": "boundaries"}):
        hints = await until(boundary_hints)
        positions = [{"line": h.position.line, "character": h.position.character} for h in hints]
        assert positions == [reference_position(text, s, enc) for s in segment_starts]
        emoji = next(i for i, (s, e) in enumerate(spans) if "🙂" in text[s:e])
        start = types.Position(**reference_position(text, spans[emoji][0], enc))
        hint = next(h for h in hints if h.position == start)
        resolved = await client.inlay_hint_resolve_async(hint)
        assert f"id `{ids[emoji]}`" in resolved.tooltip.value
        # the client is told to ask again where it can be (the refresh may come after the
        # hints: it is sent a moment after the settings change)
        if client.inlay_hint_refresh:
            assert await wait_refresh(client, "inlayHint", refreshes)
        else:
            assert "inlayHint" not in client.refreshes[refreshes:]

    async def no_hints():
        return not await client.text_document_inlay_hint_async(params)

    async with configured(client, inlayHints={"mode": "off"}):
        await until(no_hints)
        assert list(await client.text_document_inlay_hint_async(params)) == []


async def test_hover_shows_the_tokens_of_a_split_emoji(client):
    text = "family 👨\u200d👩\u200d👧 and tabs\t\there\n"
    uri = "file:///hover.txt"
    open_document(client, uri, text)
    stats = await wait_stats(client, uri, 1)
    enc = client.position_encoding
    tokenizer = load_tokenizer("o200k_base")
    ids = tokenizer.encode(text).ids.tolist()
    spans = reference_offsets(tokenizer, ids, text)
    offset = text.index("👩")
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(**reference_position(text, offset, enc)),
        )
    )
    value = hover.contents.value
    covering = [i for i, (s, e) in enumerate(spans) if s <= offset < e or (s == e == offset)]
    for i in covering:
        assert f"id `{ids[i]}`" in value
        assert f"token {i + 1:,} of {len(ids):,}" in value
        assert tokenizer.token_bytes(ids[i]).hex(" ") in value
    assert f"document: {stats['tokens']:,} tokens" in value and "o200k_base" in value
    tab = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(**reference_position(text, text.index("\t"), enc)),
        )
    )
    assert "⇥" in tab.contents.value
    # out-of-range positions clamp; an unknown document gives nothing
    far = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri),
                          position=types.Position(line=99, character=99))
    )
    assert far is not None
    none = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri="file:///nope"),
                          position=types.Position(line=0, character=0))
    )
    assert none is None


def decode_semantic(data: list[int]) -> list[tuple[int, int, int, int]]:
    out, line, col = [], 0, 0
    for i in range(0, len(data), 5):
        dl, dc, length, kind, _ = data[i : i + 5]
        line += dl
        col = col + dc if dl == 0 else dc
        out.append((line, col, length, kind))
    return out


async def test_semantic_tokens_alternate_and_never_cross_a_line(client):
    text = CORPUS["crlf"] + "<|endoftext|>x 😀😀 한국어\n"
    uri = "file:///colours.txt"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    params = types.SemanticTokensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    off = await client.text_document_semantic_tokens_full_async(params)
    assert list(off.data) == []
    refreshes = len(client.refreshes)

    async def coloured():
        result = await client.text_document_semantic_tokens_full_async(params)
        return result if result.data else None

    async with configured(client, colorize=True):
        result = await until(coloured)
        # the client was told to ask again, if it can be
        if client.semantic_refresh:
            assert await wait_refresh(client, "semanticTokens", refreshes)
        else:
            assert "semanticTokens" not in client.refreshes[refreshes:]
        ranged = await client.text_document_semantic_tokens_range_async(
            types.SemanticTokensRangeParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=types.Position(line=3, character=0),
                                  end=types.Position(line=5, character=0)),
            )
        )
    pieces = decode_semantic(list(result.data))
    enc = client.position_encoding
    lines = line_spans(text)
    tokenizer = load_tokenizer("o200k_base")
    ids = tokenizer.encode(text).ids.tolist()
    spans = reference_offsets(tokenizer, ids, text)
    # expected: each non-empty segment cut at line ends, alternating 0/1, special = 2
    expected, parity = [], 0
    segments = []
    for i, (s, e) in enumerate(spans):
        if i and s < spans[i - 1][1] or (i and s == e):
            segments[-1][1] = max(segments[-1][1], e)
            segments[-1][2] |= tokenizer.is_special(ids[i])
        else:
            segments.append([s, e, tokenizer.is_special(ids[i])])
    for s, e, special in segments:
        kind = 2 if special else parity
        parity ^= 1
        for start, content_end, _ in lines:
            a, b = max(s, start), min(e, content_end)
            if a < b:
                pos = reference_position(text, a, enc)
                expected.append((pos["line"], pos["character"], units_between(text, a, b, enc), kind))
    assert pieces == expected
    assert any(kind == 2 for *_, kind in pieces)
    # a range request gives the same pieces for the lines it covers (parity included)
    ranged_pieces = decode_semantic(list(ranged.data))
    assert ranged_pieces == [p for p in expected if p[0] in (3, 4)] and ranged_pieces


def units_between(text: str, a: int, b: int, enc: str) -> int:
    from lsp_helpers import units

    return units(text[a:b], enc)


async def test_budget_warning_at_the_first_token_past_it(client):
    text = "one two three four five six seven eight nine ten\n"
    uri = "file:///budget.txt"
    open_document(client, uri, text)
    stats = await wait_stats(client, uri, 1)
    budget = 4
    async with configured(client, budget=budget):
        (diagnostic,) = await until(lambda: client.diagnostics.get(uri))
    tokenizer = load_tokenizer("o200k_base")
    spans = reference_offsets(tokenizer, tokenizer.encode(text).ids.tolist(), text)
    position = reference_position(text, spans[budget][0], client.position_encoding)
    assert diagnostic.range.start == types.Position(**position)
    assert f"{stats['tokens'] - budget} tokens over the budget of {budget}" in diagnostic.message
    assert "o200k_base" in diagnostic.message
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert await until(lambda: not client.diagnostics.get(uri))  # the budget is back to 0: the warning goes
    assert not client.diagnostics[uri]


async def test_counts_with_split_characters_at_the_edges(client):
    """A document ending in a character split over several tokens: the whole-document range,
    the per-line hints and the tokenizer layer's own count_in all agree."""
    text = "rare 𠜎\n𠜎𠜎 and 👨\u200d👩\u200d👧\n𠜎"
    uri = "file:///split-edges.txt"
    open_document(client, uri, text)
    stats = await wait_stats(client, uri, 1)
    enc = client.position_encoding
    encoding = load_tokenizer("o200k_base").encode(text)
    assert any(t.continues for t in encoding)  # the test needs split characters
    lines = line_spans(text)
    ranges = [
        {"start": reference_position(text, s, enc), "end": reference_position(text, nxt, enc)}
        for s, _, nxt in lines
    ]
    result = await request(client, "tokenprism/count", {"textDocument": {"uri": uri}, "ranges": ranges})
    assert result["counts"] == [encoding.count_in(s, nxt) for s, _, nxt in lines]
    assert sum(result["counts"]) == result["total"] == stats["tokens"] == len(encoding)
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(line=0, character=0),
                              end=types.Position(line=len(lines), character=0)),
        )
    )
    assert [int(h.label.split()[0]) for h in hints] == result["counts"]


@pytest.mark.parametrize("model", [None, "cl100k_base"])  # the open document's snapshot / a fresh encode
async def test_each_character_counts_its_split_tokens_with_it(client, model):
    """Counts of one-character ranges and per-line hints of a text full of split characters,
    against the tokens' bytes: a tail of a split character never counts apart from it."""
    text = "a 𠜎 b\n x 🫠🪿 👍🏽🀄\n𠜎𠜎 and 👨\u200d👩\u200d👧 🫠\n"
    uri = f"file:///split-each-{model}.txt"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    enc = client.position_encoding
    tokenizer = load_tokenizer(model or "o200k_base")
    ids = tokenizer.encode(text).ids.tolist()
    assert any(t.continues for t in tokenizer.encode(text))
    anchors = reference_anchors(tokenizer, ids, text)
    ranges = [
        {"start": reference_position(text, x, enc), "end": reference_position(text, x + 1, enc)}
        for x in range(len(text))
    ]
    params = {"textDocument": {"uri": uri}, "ranges": ranges} | ({"model": model} if model else {})
    result = await request(client, "tokenprism/count", params)
    assert result["counts"] == [anchors.count(x) for x in range(len(text))]
    if model is None:
        hints = await client.text_document_inlay_hint_async(
            types.InlayHintParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=types.Position(line=0, character=0),
                                  end=types.Position(line=3, character=0)),
            )
        )
        per_line = [sum(1 for x in anchors if s <= x < nxt) for s, _, nxt in line_spans(text)[:3]]
        assert [int(h.label.split()[0]) for h in hints] == per_line


async def test_tokens_carry_their_own_bytes(client):
    """``bytes`` is each token's share of the text's UTF-8, from the vocabulary: the two
    halves of a split character, not the character twice."""
    import tiktoken

    from tokenprism.tokenization.openai import openai_definition

    text = "a 𠜎 b"
    uri = "file:///token-bytes.txt"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    result = await request(client, "tokenprism/tokens", {"textDocument": doc_id(uri)})
    d = openai_definition("o200k_base", "o200k_base")
    raw = tiktoken.Encoding(name=d.name, pat_str=d.pat_str, mergeable_ranks=d.mergeable_ranks,
                            special_tokens=d.special_tokens)
    ids = raw.encode(text)
    assert [t["id"] for t in result["tokens"]] == ids
    assert [t["bytes"] for t in result["tokens"]] == [raw.decode_single_token_bytes(i).hex() for i in ids]
    split = [t for t in result["tokens"] if t["range"]["start"] == t["range"]["end"]]
    assert split, "the text must split a character"
    assert "".join(t["bytes"] for t in result["tokens"]) == text.encode("utf-8").hex()

"""``tokenprism/tokenRanges`` (the background colour mode) over stdio, in UTF-16 and UTF-8,
against pieces worked out here from an independent encode's bytes: segments, bands,
special tokens and split characters."""

from __future__ import annotations

import bisect

import pytest
from lsp_helpers import (
    configured,
    line_spans,
    make_client_fixture,
    open_document,
    reconfigure,
    reference_position,
    request,
    units,
    until,
    wait_stats,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from conftest import CORPUS
from tokenprism.tokenization import load_tokenizer

client = make_client_fixture()
pytestmark = pytest.mark.asyncio(loop_scope="module")

METHOD = "tokenprism/tokenRanges"
SPLIT = 4
TEXT = (
    "a 𠜎 b <|endoftext|> 😀😀 한국어\n"
    + CORPUS["crlf"]
    + CORPUS["cjk"]
    + "\n\nrare: 𠜎𠜱𠝹 𝔄𝔅 ꙮ ☃︎ 🧑‍🤝‍🧑 <|endoftext|>\n"
    + CORPUS["emoji"]
)


def reference_segments(text: str, spec: str = "o200k_base"):
    """Display segments ``[start, end, special]`` and split characters, from the tokens' bytes
    alone: a token starting with a UTF-8 continuation byte joins the previous token's segment,
    and the character whose bytes it continues is split."""
    tokenizer = load_tokenizer(spec)
    ids = tokenizer.encode(text).ids.tolist()
    data = text.encode("utf-8")
    lead = [0]  # lead[b]: characters starting before byte b
    for byte in data:
        lead.append(lead[-1] + ((byte & 0xC0) != 0x80))
    segments, split, position = [], set(), 0
    for token_id in ids:
        a, b = position, position + len(tokenizer.token_bytes(token_id))
        if a and data[a] & 0xC0 == 0x80:
            split.add(lead[a] - 1)
            segments[-1][1] = lead[b]
            segments[-1][2] |= tokenizer.is_special(token_id)
        else:
            segments.append([lead[a], lead[b], tokenizer.is_special(token_id)])
        position = b
    assert position == len(data)
    return segments, split


def expected_pieces(
    text: str, encoding: str, spec: str = "o200k_base", start: int = 0, end: int | None = None
) -> list[list[int]]:
    """[line, start, end, kind] of each piece of the segments that meet ``[start, end)``:
    segments alternate 0/1 from the start of the text (special: 2), a split character is a
    piece of its own with 4 added, and pieces are cut at line ends without the line break."""
    end = len(text) if end is None else end
    segments, split = reference_segments(text, spec)
    lines = line_spans(text)
    line_starts = [s for s, _, _ in lines]
    ordered_split = sorted(split)
    pieces = []
    for number, (s, e, special) in enumerate(segments):
        if not (e > start and s < end):
            continue
        kind = 2 if special else number % 2
        inside = ordered_split[bisect.bisect_left(ordered_split, s) : bisect.bisect_left(ordered_split, e)]
        cuts = sorted({s, e, *inside, *(c + 1 for c in inside)})
        for a, b in zip(cuts, cuts[1:]):
            line = bisect.bisect_right(line_starts, a) - 1
            while line < len(lines) and lines[line][0] < b:
                first, content_end, _ = lines[line]
                x, y = max(a, first), min(b, content_end)
                if x < y:
                    column = units(text[first:x], encoding)
                    width = units(text[x:y], encoding)
                    pieces.append([line, column, column + width, kind + (SPLIT if a in split else 0)])
                line += 1
    return pieces


def lsp_range(text: str, start: int, end: int, enc: str) -> dict:
    return {"start": reference_position(text, start, enc), "end": reference_position(text, end, enc)}


async def ranges_of(client, uri: str, text: str, start: int, end: int, **extra) -> dict:
    """The answer for characters ``[start, end)`` of ``text``, open as ``uri``."""
    rng = lsp_range(text, start, end, client.position_encoding)
    return await request(client, METHOD, {"textDocument": {"uri": uri}, "range": rng, **extra})


def piece_texts(text: str, pieces: list[list[int]], encoding: str) -> list[str]:
    lines = [text[s:c] for s, c, _ in line_spans(text)]
    out = []
    for line, a, b, _ in pieces:
        raw = lines[line].encode("utf-16-le" if encoding == "utf-16" else "utf-8", "surrogatepass")
        width = 2 if encoding == "utf-16" else 1
        out.append(raw[a * width : b * width].decode("utf-16-le" if encoding == "utf-16" else "utf-8"))
    return out


@pytest.mark.parametrize("spec", ["o200k_base", "cl100k_base"])
async def test_ranges_alternate_flag_special_and_split_characters(client, spec):
    uri = f"file:///bands-{spec}.txt"
    enc = client.position_encoding
    open_document(client, uri, TEXT)
    await wait_stats(client, uri, 1)
    result = await ranges_of(client, uri, TEXT, 0, len(TEXT), model=spec)
    assert result["version"] == 1 and result["model"] == spec and result["truncated"] is False
    pieces = result["ranges"]
    assert pieces == expected_pieces(TEXT, enc, spec)
    # they tile the text: each line's pieces join up and spell its content
    texts = piece_texts(TEXT, pieces, enc)
    by_line: dict[int, str] = {}
    for (line, *_), t in zip(pieces, texts):
        by_line[line] = by_line.get(line, "") + t
    assert by_line == {i: TEXT[s:c] for i, (s, c, _) in enumerate(line_spans(TEXT)) if c > s}
    kinds = {t: k for t, (*_, k) in zip(texts, pieces)}
    assert kinds["<|endoftext|>"] == 2
    assert kinds["𠜎"] & SPLIT  # split across tokens in both encodings
    assert all(k & SPLIT for t, (*_, k) in zip(texts, pieces) if t in ("𠜱", "𠝹"))


async def test_a_range_gets_the_same_pieces_as_the_whole_document(client):
    uri = "file:///bands-range.txt"
    enc = client.position_encoding
    text = TEXT * 3
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    lines = line_spans(text)
    a, b = lines[9][0], lines[12][0]  # lines 9 to 11, a crossing segment's other line included
    part = await ranges_of(client, uri, text, a, b)
    assert part["ranges"] == expected_pieces(text, enc, start=a, end=b) and part["ranges"]
    # a range of one character inside a split character's segment: that whole segment
    rare = text.index("𠜎", len(TEXT))
    one = await ranges_of(client, uri, text, rare, rare + 1)
    assert one["ranges"] == expected_pieces(text, enc, start=rare, end=rare + 1)
    assert one["ranges"][0][3] & SPLIT


async def test_an_edit_moves_the_bands(client):
    uri = "file:///bands-edit.txt"
    enc = client.position_encoding
    text = "one two three\nfour five six\n"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    edited = "one 𠜎 two three\nfour five six\n"
    at = types.Position(line=0, character=4)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=at, end=at),
                    text="𠜎 ",
                )
            ],
        )
    )
    await wait_stats(client, uri, 2)
    result = await ranges_of(client, uri, edited, 0, len(edited))
    assert result["version"] == 2 and result["ranges"] == expected_pieces(edited, enc)


async def test_a_large_document_answers_only_the_range(client):
    uri = "file:///bands-large.txt"
    enc = client.position_encoding
    text = TEXT * 400  # 97,000 characters, 66,000 tokens
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    lines = line_spans(text)
    a, b = lines[-10][0], lines[-5][0]
    part = await ranges_of(client, uri, text, a, b)
    assert part["ranges"] == expected_pieces(text, enc, start=a, end=b) and not part["truncated"]
    # the whole document at once stops after 50,000 tokens, and says so
    whole = await ranges_of(client, uri, text, 0, len(text))
    everything = expected_pieces(text, enc)
    assert whole["truncated"] is True and 0 < len(whole["ranges"]) < len(everything)
    assert whole["ranges"] == everything[: len(whole["ranges"])]


async def test_bad_requests_get_one_line_errors(client):
    uri = "file:///bands-bad.txt"
    open_document(client, uri, "hello\n")
    await wait_stats(client, uri, 1)
    with pytest.raises(JsonRpcException, match="range is required"):
        await request(client, METHOD, {"textDocument": {"uri": uri}})
    with pytest.raises(JsonRpcException, match="range.start.line"):
        bad = {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}}
        await request(client, METHOD, {"textDocument": {"uri": uri}, "range": bad})
    zero = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}
    with pytest.raises(JsonRpcException, match="not open"):
        await request(client, METHOD, {"textDocument": {"uri": "file:///nowhere.txt"}, "range": zero})
    # the empty document: no pieces
    open_document(client, "file:///bands-empty.txt", "")
    await wait_stats(client, "file:///bands-empty.txt", 1)
    empty = await request(client, METHOD, {"textDocument": {"uri": "file:///bands-empty.txt"}, "range": zero})
    assert empty["ranges"] == []


async def test_background_mode_turns_semantic_tokens_off(client):
    uri = "file:///bands-semantic.txt"
    open_document(client, uri, "alpha beta gamma\n")
    await wait_stats(client, uri, 1)
    params = types.SemanticTokensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    async with configured(client, colorize="foreground"):
        await wait_for_semantic(client, params, want=True)
        await reconfigure(client, colorize="background")
        await wait_for_semantic(client, params, want=False)
        # the bands are there all the same
        result = await ranges_of(client, uri, "alpha beta gamma\n", 0, 17)
        assert [k for *_, k in result["ranges"]] == [0, 1, 0]


async def wait_for_semantic(client, params, want: bool) -> None:
    async def state():
        data = (await client.text_document_semantic_tokens_full_async(params)).data
        return bool(data) == want

    assert await until(state, client, timeout=20)

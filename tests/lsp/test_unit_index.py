"""Code units at character offsets on long lines: the unit index alone and through a
document's snapshots, after random edits, against counts of the whole string's encoded
prefixes (``text[:offset].encode(...)``) in UTF-8, UTF-16 and UTF-32."""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_document import units  # code units of a text, from its encoded bytes

import tokenprism.lsp.document as document
import tokenprism.lsp.unit_index as unit_index
import tokenprism.tokenization.rope as rope
from tokenprism.lsp.document import UTF8, UTF16, UTF32, Document
from tokenprism.lsp.unit_index import UnitIndex
from tokenprism.tokenization.rope import Rope

# astral characters, a surrogate pair written as two code points, lone surrogates, CRLF
ALPHABET = ["a", "b", " ", "é", "한", "😀", "👍🏽", "\U0010ffff", "\ud83d", "\ude00", "\udfff", "\r\n", "\n",
            "\r"]
ONE_LINE = [c for c in ALPHABET if c not in ("\r\n", "\n", "\r")]


def random_text(rng: random.Random, n: int, alphabet=ALPHABET) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def reference_position(text: str, offset: int, encoding: str) -> tuple[int, int]:
    """(line, column) from the whole string: line breaks counted, the line's prefix encoded."""
    head = text[:offset]
    line = head.count("\r\n") + head.replace("\r\n", "").count("\n") + head.replace("\r\n", "").count("\r")
    start = max(head.rfind("\n"), head.rfind("\r")) + 1
    if offset < len(text) and text[offset - 1 : offset + 1] == "\r\n":  # between "\r" and "\n"
        line, start = line - 1, max(head[:-1].rfind("\n"), head[:-1].rfind("\r")) + 1
    return line, units(text[start:offset], encoding)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks, rope chunks and "long" spans of a few characters, so short random texts
    take the long-line paths across many blocks and chunks."""
    monkeypatch.setattr(unit_index, "BLOCK_CHARS", 8)
    monkeypatch.setattr(rope, "CHUNK_CHARS", 16)
    monkeypatch.setattr(document, "LONG_SPAN", 12)
    monkeypatch.setattr(document, "SCANNED_SPAN", 40)


def assert_index_of(index: UnitIndex, text: str, encoding: str) -> None:
    """Every offset's units, and the offset of every unit count, as the whole string says."""
    prefix = [units(text[:k], encoding) for k in range(len(text) + 1)]
    assert len(index) == len(text)
    assert [index.units_at(text, k) for k in range(len(text) + 1)] == prefix
    assert index.units_at_many(text, np.arange(len(text) + 1)[::-1]).tolist() == prefix[::-1]
    for u in range(prefix[-1] + 2):
        expected = max(k for k in range(len(text) + 1) if prefix[k] <= u)
        assert index.offset_of(text, u) == expected, (u, text)


@pytest.mark.parametrize("encoding", [UTF8, UTF16])
@pytest.mark.parametrize("seed", range(8))
def test_unit_index_after_random_edits_matches_the_encoded_prefixes(small_blocks, encoding, seed):
    rng = random.Random(seed)
    text = random_text(rng, rng.randint(0, 120))
    content = Rope(text)
    index = UnitIndex.of(content, encoding)
    kept = [(index, text)]
    for _ in range(40):
        a = rng.randint(0, len(text))
        b = min(len(text), a + rng.choice([0, 0, 1, 3, 40]))
        new = random_text(rng, rng.choice([0, 1, 1, 2, 30]))
        content = content.replaced(a, b, new)
        index = index.edited(content, a, b, len(new))
        text = text[:a] + new + text[b:]
        assert str(content) == text
        assert_index_of(index, text, encoding)
        # blocks stay between a quarter and twice BLOCK_CHARS: deletions merge, pastes split
        assert index.block_count <= max(1, len(text) // (unit_index.BLOCK_CHARS // 4))
        assert index.block_count >= len(text) / (2 * unit_index.BLOCK_CHARS)
        kept.append((index, text))
    for old, old_text in kept:  # an edit never reaches an older index
        assert_index_of(old, old_text, encoding)


@pytest.mark.parametrize("encoding", [UTF8, UTF16, UTF32])
@pytest.mark.parametrize("shape", ["one long line", "many short lines"])
@pytest.mark.parametrize("seed", range(4))
def test_positions_after_random_edits_match_the_whole_string(small_blocks, encoding, shape, seed):
    """position_at, positions_at, offset_at and line_length, with the unit index in use
    (long lines) and not (short ones), after each edit; older snapshots keep their answers."""
    rng = random.Random(seed)
    alphabet = ONE_LINE if shape == "one long line" else ALPHABET + ["\n"] * 4
    text = random_text(rng, 150, alphabet)
    doc = Document("file:///x", "plaintext", 0, text, encoding)
    kept = []
    for step in range(25):
        a = rng.randint(0, len(text))
        b = min(len(text), a + rng.choice([0, 0, 1, 20]))
        a -= 0 < a < len(text) and text[a - 1 : a + 1] == "\r\n"  # never between "\r" and "\n"
        b += 0 < b < len(text) and text[b - 1 : b + 1] == "\r\n"
        new = random_text(rng, rng.choice([1, 1, 2, 25]), alphabet)
        doc.apply_change(reference_position(text, a, encoding), reference_position(text, b, encoding), new,
                         step + 1)
        if rng.random() < 0.5:
            doc.snapshot.settle_lines()
        text = text[:a] + new + text[b:]
        assert doc.text == text
        check_positions(doc.snapshot, text, encoding, rng)
        kept.append((doc.snapshot, text))
    for snapshot, old_text in kept[::5]:
        check_positions(snapshot, old_text, encoding, rng)


def check_positions(snap, text: str, encoding: str, rng: random.Random) -> None:
    expected = [reference_position(text, k, encoding) for k in range(len(text) + 1)]
    offsets = np.array(rng.sample(range(len(text) + 1), min(len(text) + 1, 30)), np.int64)
    for many in (np.arange(len(text) + 1), offsets):  # a wide span and a scattered few
        lines, columns = snap.positions_at(many)
        assert list(zip(lines.tolist(), columns.tolist())) == [expected[k] for k in many.tolist()]
    for k in offsets.tolist():
        assert snap.position_at(k) == expected[k]
        if 0 < k < len(text) and text[k - 1 : k + 1] == "\r\n":
            continue
        assert snap.offset_at(*expected[k]) == k
        line = expected[k][0]
        # a column past the line's end clamps to it; one inside a character snaps to its start
        end = next((j for j in range(k, len(text) + 1) if j == len(text) or text[j] in "\r\n"), len(text))
        assert snap.offset_at(line, expected[end][1] + 5) == end
        assert snap.line_length(line) == expected[end][1]
        if encoding == UTF16 and k < len(text) and ord(text[k]) > 0xFFFF:
            assert snap.offset_at(line, expected[k][1] + 1) == k


@pytest.mark.parametrize("encoding", [UTF8, UTF16])
def test_a_long_line_at_real_block_sizes(encoding):
    """A 300k-character line (many 4k blocks) with emoji: columns in the middle and at the
    end, typing there, and the way back, as the encoded prefixes say."""
    rng = random.Random(5)
    text = "start\n" + random_text(rng, 300_000, ONE_LINE + ["x"] * 20) + "\nend"
    doc = Document("file:///x", "plaintext", 0, text, encoding)
    doc.snapshot.prepare_positions()
    assert doc.snapshot.units.block_count > 50  # the long line has its index, with many blocks
    for step in range(20):
        at = 150_000 + step
        position = doc.snapshot.position_at(at)
        assert position == (1, units(text[6:at], encoding))
        doc.apply_change(position, position, "😀", step + 1)
        text = text[:at] + "😀" + text[at:]
    snap = doc.snapshot
    offsets = np.array([6, 100_000, 150_010, 299_999, len(text) - 4, len(text)], np.int64)
    lines, columns = snap.positions_at(offsets)
    assert lines.tolist() == [1, 1, 1, 1, 1, 2]
    assert columns.tolist() == [units(text[6:k], encoding) for k in offsets[:-1].tolist()] + [3]
    for k in offsets[:-2].tolist():
        assert snap.offset_at(1, units(text[6:k], encoding)) == k
    assert snap.line_length(1) == units(text[6:-4], encoding)
    assert snap.offset_at(1, 10**9) == len(text) - 4


@pytest.mark.parametrize("encoding", [UTF8, UTF16])
def test_deleting_in_one_place_merges_blocks_instead_of_leaving_slivers(small_blocks, encoding):
    """Backspace held down: the shrinking block is rebuilt (with its neighbour once tiny)
    at every step, the blocks do not pile up and the index answers as before."""
    rng = random.Random(1)
    text = random_text(rng, 400, ONE_LINE)
    content = Rope(text)
    index = UnitIndex.of(content, encoding)
    at = 200
    for _ in range(150):
        at -= 1
        content = content.replaced(at, at + 1, "")
        index = index.edited(content, at, at + 1, 0)
        text = text[:at] + text[at + 1 :]
        assert index.block_count <= len(text) // (unit_index.BLOCK_CHARS // 4)
    assert_index_of(index, text, encoding)
